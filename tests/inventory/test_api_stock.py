"""The inventory API for parts and stock moves: answers, roles, depots, idempotency."""

from __future__ import annotations

import pytest

from core.db import UnitOfWork
from inventory.service import ledger, queries
from tests.inventory.conftest import new_serials


def _stock(engine, depot: str, part: str) -> queries.StockRow | None:
    rows = queries.stock(UnitOfWork(engine), depot=depot, part_number=part, nonzero=False)
    return rows[0] if rows else None


def _ledger(engine, part: str) -> list[queries.LedgerLine]:
    return queries.ledger_lines(UnitOfWork(engine), part_number=part)


PART = {
    "part_number": "sfp-10g-sr",
    "description": "10G SR optic",
    "family": "optic",
    "serialized": False,
    "unit_cost": "185.50",
}


# --- parts ----------------------------------------------------------------------------------


def test_planner_adds_a_part_and_finds_it(client, auth_for):
    planner = auth_for("planner")
    created = client.post("/api/v1/parts", json=PART, headers=planner)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["part_number"] == "SFP-10G-SR"
    assert created.get_json()["unit_cost"] == 185.5
    found = client.get("/api/v1/parts?search=10g&family=optic", headers=auth_for("engineer"))
    assert [p["part_number"] for p in found.get_json()] == ["SFP-10G-SR"]
    again = client.post("/api/v1/parts", json=PART, headers=planner)
    assert again.status_code == 409


def test_a_part_shows_its_supersession_chain(client, auth_for):
    planner = auth_for("planner")
    for number, successor in (("PSU-C", None), ("PSU-B", "PSU-C"), ("PSU-A", "psu-b")):
        body = {**PART, "part_number": number, "family": "power", "superseded_by": successor}
        assert client.post("/api/v1/parts", json=body, headers=planner).status_code == 201
    answer = client.get("/api/v1/parts/psu-a", headers=planner).get_json()
    assert answer["supersession_chain"] == ["PSU-A", "PSU-B", "PSU-C"]
    assert answer["substitutes"] == ["PSU-B", "PSU-C"]
    # Closing the loop C -> A is refused and changes nothing.
    loop = client.put(
        "/api/v1/parts/PSU-C",
        json={**PART, "part_number": "PSU-C", "family": "power", "superseded_by": "PSU-A"},
        headers=planner,
    )
    assert loop.status_code == 422
    assert "cycle" in loop.get_json()["detail"]
    assert client.get("/api/v1/parts/PSU-C", headers=planner).get_json()["superseded_by"] is None


def test_planner_replaces_a_part_and_the_path_names_it(client, auth_for, make_part):
    part = make_part()
    planner = auth_for("planner")
    body = {k: v for k, v in PART.items() if k != "part_number"}
    updated = client.put(
        f"/api/v1/parts/{part.lower()}", json={**body, "weight_kg": 0.2}, headers=planner
    )
    assert updated.status_code == 200, updated.get_json()
    assert (updated.get_json()["part_number"], updated.get_json()["weight_kg"]) == (part, 0.2)
    other = client.put(
        f"/api/v1/parts/{part}", json={**body, "part_number": "OTHER-1"}, headers=planner
    )
    assert other.status_code == 422
    assert client.put("/api/v1/parts/NO-SUCH", json=body, headers=planner).status_code == 404


def test_serialization_cannot_change_once_a_part_has_stock(client, auth_for, make_part, stock_up):
    part = make_part()
    stock_up("BJ", part, 1)
    body = {**PART, "part_number": part, "serialized": True}
    answer = client.put(f"/api/v1/parts/{part}", json=body, headers=auth_for("planner"))
    assert answer.status_code == 409


def test_only_planners_edit_the_catalogue_and_learn_it_before_validation(client, auth_for):
    staff = auth_for("depot_staff", "BJ")
    assert client.post("/api/v1/parts", json=PART, headers=staff).status_code == 403
    # A body the caller may not send anyway: 403, not a 422 about its fields.
    assert client.post("/api/v1/parts", json={}, headers=staff).status_code == 403
    assert client.get("/api/v1/parts/NO-SUCH-PART", headers=staff).status_code == 404


# --- stock and moves --------------------------------------------------------------------------


def test_staff_receive_at_their_depot_and_stock_shows_it(client, auth_for, make_part, engine):
    part = make_part()
    staff = auth_for("depot_staff", "BJ")
    answer = client.post(
        "/api/v1/stock/receipts",
        json={"depot": "bj", "part_number": part.lower(), "qty": 7, "reference": "PO-77"},
        headers=staff,
    )
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert (body["kind"], body["reference"], body["stock"]["good"]) == ("receipt", "PO-77", 7)
    assert body["at"].endswith("+08:00")
    rows = client.get(f"/api/v1/stock?depot=BJ&part_number={part}", headers=staff).get_json()
    assert rows == [
        {
            "depot": "BJ",
            "part_number": part,
            "description": f"test part {part}",
            "family": "optic",
            "good": 7,
            "reserved": 0,
            "available": 7,
            "defective": 0,
            "in_repair": 0,
            "quarantine": 0,
            "in_transit": 0,
            "on_hand": 7,
        }
    ]


def test_staff_cannot_move_stock_at_another_depot_and_others_not_at_all(
    client, auth_for, make_part, engine
):
    part = make_part()
    body = {"depot": "SH", "part_number": part, "qty": 1}
    assert (
        client.post(
            "/api/v1/stock/receipts", json=body, headers=auth_for("depot_staff", "BJ")
        ).status_code
        == 403
    )
    assert (
        client.post("/api/v1/stock/receipts", json=body, headers=auth_for("planner")).status_code
        == 403
    )
    assert (
        client.post("/api/v1/stock/receipts", json=body, headers=auth_for("admin")).status_code
        == 201
    )
    assert [line.qty for line in _ledger(engine, part)] == [1]


BAD_RECEIPTS = [
    pytest.param({"part_number": "{part}", "qty": 1}, 422, id="depot missing"),
    pytest.param({"depot": "BJ", "part_number": "{part}", "qty": "5"}, 422, id="qty as text"),
    pytest.param({"depot": "BJ", "part_number": "{part}", "qty": True}, 422, id="qty as bool"),
    pytest.param({"depot": "BJ", "part_number": "{part}", "qty": 2.5}, 422, id="qty fraction"),
    pytest.param({"depot": "BJ", "part_number": "{part}", "qty": 0}, 422, id="qty zero"),
    pytest.param({"depot": "BJ", "part_number": "{part}", "qty": -3}, 422, id="qty negative"),
    pytest.param({"depot": "BJ", "part_number": "{part}", "qty": 10**30}, 422, id="qty huge"),
    pytest.param({"depot": "BJ", "part_number": "{part}", "qty": 100_001}, 422, id="qty > max"),
    pytest.param(
        {"depot": "BJ", "part_number": "{part}", "qty": 1, "serial": ["AB1"]},
        422,
        id="unknown field",
    ),
    pytest.param(
        {"depot": "BJ", "part_number": "{part}", "qty": 1, "serials": ["X1Y2"]},
        422,
        id="serials for a bulk part",
    ),
    pytest.param({"depot": "B J", "part_number": "{part}", "qty": 1}, 422, id="depot malformed"),
    pytest.param({"depot": "ZZ", "part_number": "{part}", "qty": 1}, 404, id="depot unknown"),
    pytest.param({"depot": "BJ", "part_number": "NO-SUCH", "qty": 1}, 404, id="part unknown"),
    pytest.param(
        {"depot": "BJ", "part_number": "{part}", "qty": 1, "reference": "R\u0000"},
        422,
        id="NUL in text",
    ),
    pytest.param(
        {"depot": "BJ", "part_number": "{part}", "qty": 1, "reference": "R" * 61},
        422,
        id="reference too long",
    ),
    pytest.param([1, 2], 422, id="not an object"),
]


@pytest.mark.parametrize(("body", "status"), BAD_RECEIPTS)
def test_a_bad_receipt_is_a_json_4xx_and_books_nothing(
    client, auth_for, make_part, engine, body, status
):
    part = make_part()
    if isinstance(body, dict):
        body = {k: v.replace("{part}", part) if isinstance(v, str) else v for k, v in body.items()}
    answer = client.post("/api/v1/stock/receipts", json=body, headers=auth_for("depot_staff", "BJ"))
    assert answer.status_code == status, answer.get_json()
    assert answer.get_json()["error"] and answer.get_json()["detail"]
    assert _ledger(engine, part) == []


def test_malformed_json_is_422_and_books_nothing(client, auth_for, make_part, engine):
    part = make_part()
    answer = client.post(
        "/api/v1/stock/receipts",
        data='{"depot": "BJ", "part_number": "' + part + '", "qty": 1',
        content_type="application/json",
        headers=auth_for("depot_staff", "BJ"),
    )
    assert answer.status_code == 422
    assert answer.get_json()["error"] == "invalid"
    assert _ledger(engine, part) == []


@pytest.mark.parametrize(
    "serials",
    [
        pytest.param(["GOOD001"], id="too few"),
        pytest.param(["DUP0001", "DUP0001"], id="duplicate"),
        pytest.param(["ok00001", "bad serial"], id="malformed"),
        pytest.param(["OK00001", 7], id="not text"),
    ],
)
def test_bad_serials_are_refused(client, auth_for, make_part, engine, serials):
    part = make_part(serialized=True)
    answer = client.post(
        "/api/v1/stock/receipts",
        json={"depot": "BJ", "part_number": part, "qty": 2, "serials": serials},
        headers=auth_for("depot_staff", "BJ"),
    )
    assert answer.status_code == 422, answer.get_json()
    assert _ledger(engine, part) == []


def test_a_serial_already_on_the_books_is_a_conflict(client, auth_for, make_part, stock_up, engine):
    part = make_part(serialized=True)
    [serial] = stock_up("BJ", part, 1, serialized=True)
    answer = client.post(
        "/api/v1/stock/receipts",
        json={"depot": "BJ", "part_number": part, "qty": 1, "serials": [serial.lower()]},
        headers=auth_for("depot_staff", "BJ"),
    )
    assert answer.status_code == 409
    assert len(_ledger(engine, part)) == 1


def test_adjustments_need_a_reason_and_a_nonzero_signed_qty(
    client, auth_for, make_part, stock_up, engine
):
    part = make_part()
    stock_up("GZ", part, 5)
    staff = auth_for("depot_staff", "GZ")
    url = "/api/v1/stock/adjustments"
    assert (
        client.post(
            url, json={"depot": "GZ", "part_number": part, "qty": -2}, headers=staff
        ).status_code
        == 422
    )
    assert (
        client.post(
            url, json={"depot": "GZ", "part_number": part, "qty": 0, "reason": "x"}, headers=staff
        ).status_code
        == 422
    )
    assert (
        client.post(
            url,
            json={
                "depot": "GZ",
                "part_number": part,
                "qty": 1,
                "reason": "x",
                "condition": "broken",
            },
            headers=staff,
        ).status_code
        == 422
    )
    too_many = client.post(
        url, json={"depot": "GZ", "part_number": part, "qty": -6, "reason": "lost"}, headers=staff
    )
    assert too_many.status_code == 409
    done = client.post(
        url,
        json={"depot": "GZ", "part_number": part, "qty": -2, "reason": "water damage"},
        headers=staff,
    )
    assert done.status_code == 201
    assert done.get_json()["stock"]["good"] == 3
    assert done.get_json()["reason"] == "water damage"
    assert ledger.check_books(UnitOfWork(engine)) == []


def test_defective_units_go_to_repair_come_back_good_or_are_scrapped(
    client, auth_for, make_part, engine
):
    part = make_part(serialized=True)
    staff = auth_for("depot_staff", "WH")
    serials = new_serials(3)
    add = client.post(
        "/api/v1/stock/adjustments",
        json={
            "depot": "WH",
            "part_number": part,
            "qty": 3,
            "reason": "defective returns",
            "serials": serials,
            "condition": "defective",
        },
        headers=staff,
    )
    assert add.status_code == 201, add.get_json()
    repair = client.post(
        "/api/v1/stock/condition-changes",
        json={
            "depot": "WH",
            "part_number": part,
            "qty": 2,
            "from_condition": "defective",
            "to_condition": "in_repair",
            "serials": serials[:2],
        },
        headers=staff,
    )
    assert repair.status_code == 201
    assert (repair.get_json()["stock"]["defective"], repair.get_json()["stock"]["in_repair"]) == (
        1,
        2,
    )
    back = client.post(
        "/api/v1/stock/condition-changes",
        json={
            "depot": "WH",
            "part_number": part,
            "qty": 1,
            "from_condition": "in_repair",
            "to_condition": "good",
            "serials": [serials[0]],
        },
        headers=staff,
    )
    assert back.status_code == 201
    scrapped = client.post(
        "/api/v1/stock/scrap",
        json={
            "depot": "WH",
            "part_number": part,
            "qty": 1,
            "reason": "beyond repair",
            "serials": [serials[2]],
        },
        headers=staff,
    )
    assert scrapped.status_code == 201
    unit = client.get(f"/api/v1/units/{serials[0].lower()}", headers=staff).get_json()
    assert (unit["condition"], unit["refurbished"], unit["depot"]) == ("good", True, "WH")
    assert [h["kind"] for h in unit["history"]] == [
        "adjustment",
        "condition",
        "condition",
        "condition",
        "condition",
    ]
    gone = client.get(f"/api/v1/units/{serials[2]}", headers=staff).get_json()
    assert (gone["location"], gone["depot"]) == ("scrapped", None)
    wrong = client.post(
        "/api/v1/stock/condition-changes",
        json={
            "depot": "WH",
            "part_number": part,
            "qty": 1,
            "from_condition": "good",
            "to_condition": "sparkling",
            "serials": [serials[0]],
        },
        headers=staff,
    )
    assert wrong.status_code == 422
    assert ledger.check_books(UnitOfWork(engine)) == []


def test_a_count_turns_differences_into_adjustments(client, auth_for, make_part, stock_up):
    bulk, tracked = make_part(), make_part(serialized=True)
    stock_up("XA", bulk, 10)
    on_shelf = stock_up("XA", tracked, 3, serialized=True)
    staff = auth_for("depot_staff", "XA")
    counted = client.post(
        "/api/v1/stock/counts",
        json={"depot": "XA", "part_number": bulk, "counted": 8},
        headers=staff,
    )
    assert counted.status_code == 201, counted.get_json()
    body = counted.get_json()
    assert (body["expected"], body["counted"], body["difference"]) == (10, 8, -2)
    assert body["stock"]["good"] == 8
    extra = new_serials(1)
    scanned = client.post(
        "/api/v1/stock/counts",
        json={"depot": "XA", "part_number": tracked, "serials": [*on_shelf[1:], *extra]},
        headers=staff,
    )
    body = scanned.get_json()
    assert (body["missing"], body["found"]) == ([on_shelf[0]], extra)
    assert (
        client.post(
            "/api/v1/stock/counts",
            json={"depot": "XA", "part_number": bulk, "counted": -1},
            headers=staff,
        ).status_code
        == 422
    )


def test_stock_filters_by_depot_part_and_condition(client, auth_for, make_part, stock_up):
    first, second = make_part(), make_part()
    stock_up("BJ", first, 2)
    stock_up("SH", first, 3)
    stock_up("SH", second, 4)
    reader = auth_for("engineer")
    everything = client.get("/api/v1/stock", headers=reader).get_json()
    assert {(r["depot"], r["part_number"]) for r in everything} == {
        ("BJ", first),
        ("SH", first),
        ("SH", second),
    }
    at_sh = client.get("/api/v1/stock?depot=sh", headers=reader).get_json()
    assert {r["part_number"] for r in at_sh} == {first, second}
    assert client.get("/api/v1/stock?condition=defective", headers=reader).get_json() == []
    assert client.get("/api/v1/stock?condition=shiny", headers=reader).status_code == 422
    assert client.get("/api/v1/stock?limit=0", headers=reader).status_code == 422


# --- idempotency --------------------------------------------------------------------------


def test_a_replayed_receipt_gets_the_first_answer_and_books_once(
    client, auth_for, make_part, engine
):
    part = make_part()
    headers = {**auth_for("depot_staff", "BJ"), "Idempotency-Key": "receipt-42"}
    body = {"depot": "BJ", "part_number": part, "qty": 3}
    first = client.post("/api/v1/stock/receipts", json=body, headers=headers)
    second = client.post("/api/v1/stock/receipts", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert second.get_json() == first.get_json()
    assert [line.qty for line in _ledger(engine, part)] == [3]
    changed = client.post("/api/v1/stock/receipts", json={**body, "qty": 4}, headers=headers)
    assert changed.status_code == 422
    assert [line.qty for line in _ledger(engine, part)] == [3]
    assert _stock(engine, "BJ", part).good == 3


def test_a_refused_request_can_be_retried_with_the_same_key(
    client, auth_for, make_part, stock_up, engine
):
    part = make_part()
    headers = {**auth_for("engineer"), "Idempotency-Key": "hold-1"}
    body = {"depot": "CD", "part_number": part, "qty": 2, "reference": "RMA-9"}
    assert client.post("/api/v1/reservations", json=body, headers=headers).status_code == 409
    stock_up("CD", part, 2)
    assert client.post("/api/v1/reservations", json=body, headers=headers).status_code == 201
    assert _stock(engine, "CD", part).reserved == 2
