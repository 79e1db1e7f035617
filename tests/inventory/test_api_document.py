"""Inventory answers carry what the API document promises (found by schemathesis:
tests/core/test_api_conformance.py)."""

from __future__ import annotations

REF = "#/components/schemas/"


def _component(client, ref: str) -> dict:
    document = client.get("/api/v1/openapi.json").get_json()
    return document["components"]["schemas"][ref.removeprefix(REF)]


def test_a_part_lists_the_parts_it_directly_supersedes(client, auth_for, make_part):
    newest = make_part()
    newer = make_part(superseded_by=newest)
    oldest = make_part(superseded_by=newer)
    also_old = make_part(superseded_by=newer)
    planner = auth_for("planner")

    answer = client.get(f"/api/v1/parts/{newer.lower()}", headers=planner).get_json()
    assert answer["supersedes"] == sorted([oldest, also_old])
    assert answer["supersession_chain"] == [newer, newest]
    assert client.get(f"/api/v1/parts/{oldest}", headers=planner).get_json()["supersedes"] == []

    document = client.get("/api/v1/openapi.json").get_json()
    ok = document["paths"]["/api/v1/parts/{part_number}"]["get"]["responses"]["200"]
    schema = _component(client, ok["content"]["application/json"]["schema"]["$ref"])
    assert set(schema["required"]) <= set(answer)


def test_a_transfer_ships_with_the_body_the_document_describes(
    client, auth_for, make_part, stock_up
):
    part = make_part(serialized=True)
    serials = stock_up("BJ", part, 2, serialized=True)
    draft = client.post(
        "/api/v1/transfers",
        json={"from_depot": "BJ", "to_depot": "SH", "lines": [{"part_number": part, "qty": 1}]},
        headers=auth_for("planner"),
    ).get_json()
    url = f"/api/v1/transfers/{draft['id']}/ship"
    document = client.get("/api/v1/openapi.json").get_json()
    body = document["paths"]["/api/v1/transfers/{id}/ship"]["post"]["requestBody"]
    schema = _component(client, body["content"]["application/json"]["schema"]["$ref"])
    assert "serial" not in schema["properties"] and schema["additionalProperties"] is False
    shipper = auth_for("depot_staff", "BJ")

    refused = client.post(url, json={"serial": serials[0]}, headers=shipper)
    assert refused.status_code == 422
    assert refused.get_json()["fields"][0]["field"] == "serial"
    shipped = client.post(url, json={"serials": {part: serials[:1]}}, headers=shipper)
    assert shipped.status_code == 200, shipped.get_json()
    assert [s["serial"] for s in shipped.get_json()["serials"]] == serials[:1]
