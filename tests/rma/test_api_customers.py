"""Customers, sites, contracts and the installed base through the API, and the
serial look-up an engineer starts an RMA from (entitlement for each kind, the
open case, which depot would ship)."""

from __future__ import annotations

from datetime import timedelta

from rma.models import Kind
from tests.rma.conftest import today


def _post(client, path, body, headers, status=201):
    answer = client.post(path, json=body, headers=headers)
    assert answer.status_code == status, answer.get_json()
    return answer.get_json()


def test_a_customer_with_a_site_contract_and_unit_is_recorded_and_listed(
    client, auth_for, make_part
):
    engineer, supervisor = auth_for("engineer"), auth_for("supervisor")
    part = make_part(serialized=True)
    customer = _post(
        client,
        "/api/v1/customers",
        {"code": "xj-grid", "name": "Xinjiang Grid", "name_zh": "新疆电网", "email": "it@xj.cn"},
        engineer,
    )
    assert (customer["code"], customer["name_zh"]) == ("XJ-GRID", "新疆电网")
    site = _post(
        client,
        "/api/v1/sites",
        {"customer_id": customer["id"], "name": "DC 2", "city": "urumqi", "address": "Wall Rd 1"},
        engineer,
    )
    assert site["city"]["name"] == "Urumqi" and site["city"]["name_zh"] == "乌鲁木齐"
    by_id = _post(
        client,
        "/api/v1/sites",
        {"customer_id": customer["id"], "name": "DC 3", "city": site["city"]["id"]},
        engineer,
    )
    assert by_id["city"] == site["city"]
    start, end = today() - timedelta(days=10), today() + timedelta(days=355)
    contract = _post(
        client,
        "/api/v1/contracts",
        {
            "customer_id": customer["id"],
            "number": "k-xj-1",
            "coverage": "7x24",
            "starts_on": start.isoformat(),
            "ends_on": end.isoformat(),
            "loaner": True,
        },
        supervisor,
    )
    assert (contract["number"], contract["coverage"], contract["active"]) == (
        "K-XJ-1",
        "7x24",
        True,
    )
    assert contract["loaner"] is True and contract["repair"] is True
    unit = _post(
        client,
        "/api/v1/installed-units",
        {
            "serial": "xj0001",
            "part_number": part,
            "site_id": site["id"],
            "contract_id": contract["id"],
            "shipped_on": (today() - timedelta(days=30)).isoformat(),
            "warranty_end": (today() + timedelta(days=335)).isoformat(),
        },
        engineer,
    )
    assert (unit["serial"], unit["phase"], unit["active"]) == ("XJ0001", "in_warranty", True)
    assert unit["customer"]["code"] == "XJ-GRID" and unit["city"]["name_zh"] == "乌鲁木齐"

    def listed(path: str) -> list:
        answer = client.get(path, headers=auth_for("depot_staff", "BJ"))  # anyone reads
        assert answer.status_code == 200, answer.get_json()
        return answer.get_json()

    assert [c["code"] for c in listed("/api/v1/customers?search=grid")] == ["XJ-GRID"]
    assert listed("/api/v1/customers?search=nobody") == []
    assert [s["name"] for s in listed(f"/api/v1/sites?customer_id={customer['id']}")] == [
        "DC 2",
        "DC 3",
    ]
    assert listed("/api/v1/sites?customer_id=999999") == []
    assert [c["number"] for c in listed(f"/api/v1/contracts?customer_id={customer['id']}")] == [
        "K-XJ-1"
    ]
    assert [u["serial"] for u in listed(f"/api/v1/installed-units?site_id={site['id']}")] == [
        "XJ0001"
    ]
    assert listed(f"/api/v1/installed-units?site_id={by_id['id']}") == []
    assert [u["serial"] for u in listed("/api/v1/installed-units?q=xj00")] == ["XJ0001"]
    assert listed(f"/api/v1/installed-units?q=xj00&site_id={by_id['id']}") == []
    assert [u["serial"] for u in listed(f"/api/v1/installed-units?customer_id={customer['id']}")]


def test_who_may_record_what(client, auth_for):
    def status(path: str, body: dict, role: str, depot: str | None = None) -> int:
        return client.post(path, json=body, headers=auth_for(role, depot)).status_code

    customer = {"code": "ACME", "name": "Acme"}
    assert status("/api/v1/customers", customer, "depot_staff", "SH") == 403
    assert status("/api/v1/customers", customer, "planner") == 201
    contract = {
        "customer_id": 1,
        "number": "K-1",
        "starts_on": "2026-01-01",
        "ends_on": "2026-12-31",
    }
    assert status("/api/v1/contracts", contract, "engineer") == 403
    assert status("/api/v1/contracts", contract, "depot_staff", "SH") == 403
    assert client.get("/api/v1/customers").status_code == 401


def test_a_serial_look_up_shows_entitlement_for_each_kind_and_the_open_case(
    client, auth_for, account, install, make_part, stock_up
):
    part = make_part(serialized=True)
    stock_up("XA", part, 1, serialized=True)
    acct = account("Lanzhou", coverage=None)  # no contract: warranty alone decides
    unit = install(acct, part)
    engineer = auth_for("engineer")
    answer = client.get(f"/api/v1/installed-units/{unit.serial.lower()}", headers=engineer)
    assert answer.status_code == 200, answer.get_json()
    found = answer.get_json()
    assert found["serial"] == unit.serial and found["city"]["name"] == "Lanzhou"
    entitlement = found["entitlement"]
    assert set(entitlement) == {k.value for k in Kind}
    assert entitlement["advance_replacement"]["entitled"] is True
    assert entitlement["repair"]["entitled"] is True
    assert entitlement["loaner"]["entitled"] is False  # a loaner needs a contract that has it
    assert entitlement["repair"]["coverage"] == "5x8"
    assert found["open_rma"] is None and found["replacement_preview"] is None

    opened = client.post(
        "/api/v1/rmas",
        json={"serial": unit.serial, "fault_level": "C-2", "kind": "repair", "symptom": "x"},
        headers=engineer,
    ).get_json()
    again = client.get(f"/api/v1/installed-units/{unit.serial}", headers=engineer).get_json()
    assert again["open_rma"] == opened["number"]


def test_the_serial_look_up_previews_which_depot_would_ship_without_reserving(
    client, engine, auth_for, account, install, make_part, stock_up
):
    part = make_part(serialized=True)
    stock_up("XA", part, 1, serialized=True)
    unit = install(account("Lanzhou"), part)
    engineer = auth_for("engineer")
    found = client.get(
        f"/api/v1/installed-units/{unit.serial}?fault_level=C-1", headers=engineer
    ).get_json()
    preview = found["replacement_preview"]
    assert (preview["depot"], preview["part_number"], preview["backorder"]) == ("XA", part, False)
    assert preview["promised_delivery"] and preview["cost"] > 0
    assert {a["depot"] for a in preview["alternatives"]} == {
        "BJ",
        "SH",
        "GZ",
        "CD",
        "WH",
        "XA",
        "SY",
        "JN",
    }
    assert next(a for a in preview["alternatives"] if a["depot"] == "BJ")["reason"] == "no stock"
    stock = client.get(f"/api/v1/stock?depot=XA&part_number={part}", headers=engineer).get_json()
    assert stock[0]["available"] == 1  # a preview holds nothing


def test_unknown_serial_is_404(client, auth_for):
    answer = client.get("/api/v1/installed-units/NOPE0001", headers=auth_for("engineer"))
    assert answer.status_code == 404 and answer.get_json()["error"] == "not_found"
