"""Customers, sites, contracts and the installed base through the API, and the
serial look-up an engineer starts an RMA from (entitlement for each kind, the
open case, which depot would ship)."""

from __future__ import annotations

import itertools
import re
import threading
from datetime import timedelta
from decimal import Decimal
from typing import Any

from core import auth
from core.db import UnitOfWork
from inventory.models import PartIn
from inventory.service import catalog
from rma.models import Kind
from rma.service import customers
from tests.conftest import TEST_PASSWORD, bearer, csrf_token, make_test_app
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
    assert status("/api/v1/customers", customer, "planner") == 403  # planners read
    assert status("/api/v1/customers", customer, "engineer") == 201
    contract = {
        "customer_id": 1,
        "number": "K-1",
        "starts_on": "2026-01-01",
        "ends_on": "2026-12-31",
    }
    assert status("/api/v1/contracts", contract, "engineer") == 403
    assert status("/api/v1/contracts", contract, "planner") == 403
    assert status("/api/v1/contracts", contract, "depot_staff", "SH") == 403
    assert status("/api/v1/contracts", contract, "supervisor") == 201
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


# --- edits ----------------------------------------------------------------------------------

CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}


def _call(client, method, path, headers, status, body=None):
    answer = client.open(path, method=method, json=body, headers=headers)
    assert answer.status_code == status, answer.get_json()
    return answer.get_json()


def test_a_customer_edit_changes_what_is_given_and_a_refused_one_nothing(client, auth_for):
    engineer = auth_for("engineer")
    customer = _post(
        client,
        "/api/v1/customers",
        {"code": "HN-BANK", "name": "Hunan Bank", "email": "it@hnbank.cn"},
        engineer,
    )
    path = f"/api/v1/customers/{customer['id']}"
    changed = _call(client, "PATCH", path, engineer, 200, {"name_zh": "湖南银行"})
    assert (changed["code"], changed["name"], changed["name_zh"]) == (
        "HN-BANK",
        "Hunan Bank",
        "湖南银行",
    )
    assert changed["email"] == "it@hnbank.cn"
    assert _call(client, "PATCH", path, engineer, 200, {"email": None})["email"] is None
    # Refused: nothing given, a name cleared, a bad e-mail; answered in English with a code
    # even to a Chinese browser (the API speaks English).
    assert _call(client, "PATCH", path, {**engineer, **CHINESE}, 422, {})["error"] == "invalid"
    refused = _call(client, "PATCH", path, {**engineer, **CHINESE}, 422, {"name": None})
    assert refused["error"] == "invalid" and "name cannot be null" in refused["detail"]
    _call(client, "PATCH", path, engineer, 422, {"name": "  ", "name_zh": "别的"})
    _call(client, "PATCH", path, engineer, 422, {"email": "not-an-address"})
    # Roles are checked before the body: a planner reads, and learns nothing of the route.
    assert _call(client, "PATCH", path, auth_for("planner"), 403, {"bogus": 1})["error"] == (
        "forbidden"
    )
    assert _call(client, "PATCH", "/api/v1/customers/999999", engineer, 404, {"name": "X"})[
        "error"
    ] == ("not_found")
    [now] = _call(client, "GET", "/api/v1/customers?search=湖南", engineer, 200)
    assert (now["name"], now["name_zh"], now["email"]) == ("Hunan Bank", "湖南银行", None)


def test_a_site_moves_city_only_without_open_cases(
    client, auth_for, account, install, make_part, stock_up
):
    engineer = auth_for("engineer")
    acct = account("Changsha")
    path = f"/api/v1/sites/{acct.site.id}"
    moved = _call(
        client, "PATCH", path, engineer, 200, {"city": "乌鲁木齐", "contact_name": "Ms. Gao"}
    )
    assert (moved["city"]["name"], moved["contact_name"], moved["name"]) == (
        "Urumqi",
        "Ms. Gao",
        acct.site.name,
    )
    assert _call(client, "PATCH", path, engineer, 404, {"city": "Atlantis"})["error"] == (
        "not_found"
    )
    part = make_part(serialized=True)
    stock_up("XA", part, 1, serialized=True)
    unit = install(acct, part)
    rma = _post(
        client,
        "/api/v1/rmas",
        {"serial": unit.serial, "fault_level": "C-2", "kind": "repair", "symptom": "no link"},
        engineer,
    )
    refused = _call(client, "PATCH", path, engineer, 409, {"city": "Lanzhou", "name": "Renamed"})
    assert (refused["error"], refused["rma"]) == ("site_has_open_cases", rma["number"])
    [site] = _call(client, "GET", f"/api/v1/sites?customer_id={acct.customer.id}", engineer, 200)
    assert (site["city"]["name"], site["name"]) == ("Urumqi", acct.site.name)  # nothing changed
    renamed = _call(client, "PATCH", path, engineer, 200, {"name": "Renamed"})
    assert (renamed["name"], renamed["city"]["name"]) == ("Renamed", "Urumqi")


def _unit_answer(client, serial, headers):
    return _call(client, "GET", f"/api/v1/installed-units/{serial}", headers, 200)


def test_a_contract_extended_or_continued_carries_its_units_entitlement(
    client, auth_for, account, install, make_part
):
    supervisor, engineer = auth_for("supervisor"), auth_for("engineer")
    acct = account("Wuhan", coverage="5x8", contract_days=20)
    unit = install(acct, make_part(serialized=True), phase="out_of_warranty", warranty_days=-5)
    old = acct.contract
    path = f"/api/v1/contracts/{old.id}"
    assert _unit_answer(client, unit.serial, engineer)["entitlement"]["repair"]["entitled"]

    # Extending: later than the current end only, by supervisors only.
    sooner = (old.ends_on - timedelta(days=1)).isoformat()
    assert _call(client, "POST", f"{path}/extend", supervisor, 422, {"ends_on": sooner})
    later = (old.ends_on + timedelta(days=365)).isoformat()
    _call(client, "POST", f"{path}/extend", engineer, 403, {"ends_on": later})
    extended = _call(client, "POST", f"{path}/extend", supervisor, 200, {"ends_on": later})
    assert (extended["number"], extended["ends_on"], extended["coverage"]) == (
        old.number,
        later,
        "5x8",
    )

    # Continuing from today as 7x24 with loaners: the old one ends yesterday, the unit
    # moves, and its entitlement today comes from the new contract.
    body = {"number": "k-up-1", "starts_on": today().isoformat(), "ends_on": later}
    body |= {"coverage": "7x24", "loaner": True}
    done = _call(client, "POST", f"{path}/continue", supervisor, 201, body)
    assert done["units_moved"] == 1
    assert (done["contract"]["number"], done["contract"]["repair"]) == ("K-UP-1", True)
    assert done["previous"]["ends_on"] == (today() - timedelta(days=1)).isoformat()
    assert done["previous"]["active"] is False and done["contract"]["active"] is True
    found = _unit_answer(client, unit.serial, engineer)
    assert found["contract_id"] == done["contract"]["id"]
    assert found["entitlement"]["loaner"] == {
        **found["entitlement"]["loaner"],
        "entitled": True,
        "contract": "K-UP-1",
        "coverage": "7x24",
    }

    # Refused continuations change nothing: a number taken, a gap after the old end.
    new_path = f"/api/v1/contracts/{done['contract']['id']}"
    after = (old.ends_on + timedelta(days=800)).isoformat()
    taken = {"number": old.number, "ends_on": after}
    assert _call(client, "POST", f"{new_path}/continue", supervisor, 409, taken)["error"] == (
        "conflict"
    )
    gap = {"number": "K-GAP", "starts_on": "2099-01-01", "ends_on": "2099-12-31"}
    _call(client, "POST", f"{new_path}/continue", supervisor, 422, gap)
    listed = _call(
        client, "GET", f"/api/v1/contracts?customer_id={acct.customer.id}", engineer, 200
    )
    assert [(c["number"], c["ends_on"]) for c in listed] == [
        (old.number, (today() - timedelta(days=1)).isoformat()),
        ("K-UP-1", later),
    ]
    assert _unit_answer(client, unit.serial, engineer)["contract_id"] == done["contract"]["id"]


def test_a_phase_only_moves_forward(client, auth_for, account, install, make_part):
    engineer = auth_for("engineer")
    acct = account("Nanjing", coverage=None)
    unit = install(acct, make_part(serialized=True), phase="acceptance", warranty_days=-1)
    path = f"/api/v1/installed-units/{unit.serial.lower()}/phase"
    free = _unit_answer(client, unit.serial, engineer)["entitlement"]["advance_replacement"]
    assert free["entitled"] and free["reason"].startswith("before warranty (acceptance)")

    moved = _call(client, "POST", path, engineer, 200, {"phase": "installation"})
    assert moved["phase"] == "installation"
    back = _call(client, "POST", path, engineer, 409, {"phase": "acceptance"})
    assert (back["error"], back["phase"]) == ("phase_not_forward", "installation")
    assert back["allowed"] == ["trial_run", "in_warranty", "out_of_warranty"]
    _call(client, "POST", path, engineer, 409, {"phase": "installation"})  # already there
    _call(client, "POST", path, engineer, 422, {"phase": "scrapped"})
    _call(client, "POST", path, auth_for("planner"), 403, {"phase": "nonsense"})

    # Straight on out of warranty (no trial run): without a contract it is billable now.
    _call(client, "POST", path, engineer, 200, {"phase": "out_of_warranty"})
    found = _unit_answer(client, unit.serial, engineer)
    assert found["phase"] == "out_of_warranty"
    assert found["entitlement"]["advance_replacement"]["entitled"] is False
    assert "warranty ended" in found["entitlement"]["advance_replacement"]["reason"]


def test_a_decommissioned_unit_leaves_the_installed_base_but_not_while_a_case_holds_it(
    client, auth_for, account, install, make_part, stock_up
):
    engineer = auth_for("engineer")
    part = make_part(serialized=True)
    stock_up("WH", part, 1, serialized=True)
    acct = account("Wuhan")
    held, spare = install(acct, part), install(acct, part)
    rma = _post(
        client,
        "/api/v1/rmas",
        {"serial": held.serial, "fault_level": "C-3", "kind": "repair", "symptom": "fan"},
        engineer,
    )
    refused = _call(
        client, "POST", f"/api/v1/installed-units/{held.serial}/decommission", engineer, 409
    )
    assert (refused["error"], refused["rma"]) == ("open_rma", rma["number"])
    assert _unit_answer(client, held.serial, engineer)["active"] is True

    key = {**engineer, "Idempotency-Key": "decommission-spare-1"}
    path = f"/api/v1/installed-units/{spare.serial}/decommission"
    gone = _call(client, "POST", path, key, 200)
    assert (gone["serial"], gone["active"]) == (spare.serial, False)
    assert _call(client, "POST", path, key, 200) == gone  # the same request, answered again
    again = _call(client, "POST", path, engineer, 409)
    assert again["error"] == "unit_decommissioned"
    phase = _call(
        client,
        "POST",
        f"/api/v1/installed-units/{spare.serial}/phase",
        engineer,
        409,
        {"phase": "out_of_warranty"},
    )
    assert phase["error"] == "unit_decommissioned"
    # Out of the installed base, the serial may enter stock (one serial, one place).
    receipt = {"depot": "WH", "part_number": part, "qty": 1, "serials": [spare.serial]}
    _call(client, "POST", "/api/v1/stock/receipts", auth_for("depot_staff", "WH"), 201, receipt)


# --- on both databases ----------------------------------------------------------------------


def _world(engine):
    """A customer with a site, a contract and installed units, an app on ``engine`` and
    a token per role, all made on that database."""
    uow, admin = UnitOfWork(engine), auth.system_actor()
    part = catalog.create_part(
        uow,
        admin,
        PartIn(
            part_number="DB-SW-48",
            description="48-port switch",
            family="chassis",
            serialized=True,
            unit_cost=Decimal("1000.00"),
        ),
    ).part_number
    customer = customers.create_customer(uow, admin, "DB", "Both Databases Co", name_zh="两库公司")
    site = customers.create_site(uow, admin, customer.id, "HQ", "Wuhan")
    contract = customers.create_contract(
        uow, admin, customer.id, "K-DB-1", "5x8", today() - timedelta(days=30), today()
    )
    units = [
        customers.create_installed_unit(
            uow,
            admin,
            f"DBU{n:05d}",
            part,
            site.id,
            today() - timedelta(days=400),
            today() + timedelta(days=200),
            contract_id=contract.id,
        ).serial
        for n in range(6)
    ]
    app = make_test_app(engine)
    client = app.test_client()

    def headers(role: str) -> dict[str, str]:
        name = f"{role}-db{next(_db_names)}"
        auth.create_user(uow, name, TEST_PASSWORD, role)
        answer = client.post(
            "/api/v1/auth/token", json={"username": name, "password": TEST_PASSWORD}
        )
        return bearer(answer.get_json()["token"])

    return app, client, customer, contract, units, headers


_db_names = itertools.count(1)


def test_edits_and_lists_work_alike_on_both_databases(any_engine):
    app, client, customer, contract, units, headers = _world(any_engine)
    supervisor = headers("supervisor")
    _call(client, "PATCH", f"/api/v1/customers/{customer.id}", supervisor, 200, {"name": "DB Co"})
    body = {"number": "K-DB-2", "ends_on": (today() + timedelta(days=365)).isoformat()}
    done = _call(client, "POST", f"/api/v1/contracts/{contract.id}/continue", supervisor, 201, body)
    assert done["units_moved"] == len(units)
    assert done["contract"]["starts_on"] == (today() + timedelta(days=1)).isoformat()
    _call(
        client,
        "POST",
        f"/api/v1/installed-units/{units[0]}/phase",
        supervisor,
        200,
        {"phase": "out_of_warranty"},
    )
    _call(client, "POST", f"/api/v1/installed-units/{units[1]}/decommission", supervisor, 200)

    page = app.test_client()
    name = f"engineer-db{next(_db_names)}"
    auth.create_user(UnitOfWork(any_engine), name, TEST_PASSWORD, "engineer")
    token = csrf_token(page)
    page.post("/login", data={"username": name, "password": TEST_PASSWORD, "csrf_token": token})
    listed = page.get("/customers?q=两库&sort=units&order=desc")
    assert listed.status_code == 200 and 'data-testid="customer-DB"' in listed.get_data(
        as_text=True
    )
    totals = re.search(r'data-testid="customer-totals".*?</p>', listed.get_data(as_text=True), re.S)
    assert f"{len(units) - 1} installed units" in " ".join(
        re.sub("<[^>]+>", " ", totals.group(0)).split()
    )
    base = page.get("/installed-base?sort=phase&order=desc&per_page=25").get_data(as_text=True)
    assert re.findall(r'<tr data-testid="unit-([^"]+)"', base)[0] == units[0]
    assert page.get(f"/customers/{customer.id}/contracts/{contract.id}").status_code == 200


def _at_once(app, requests: list[tuple[str, dict | None, dict]]) -> list[Any]:
    """POST each request at the same moment, each from its own thread and client."""
    barrier = threading.Barrier(len(requests))
    answers: list[Any] = [None] * len(requests)

    def send(index: int, url: str, body: dict | None, auth_headers: dict) -> None:
        racer = app.test_client()
        barrier.wait()
        answers[index] = racer.post(url, json=body, headers=auth_headers)

    threads = [threading.Thread(target=send, args=(i, *r)) for i, r in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def test_decommissioning_while_a_case_is_opened_never_leaves_a_case_on_a_unit_gone(any_engine):
    app, client, _, _, units, headers = _world(any_engine)
    engineer, supervisor = headers("engineer"), headers("supervisor")
    for serial in units:
        case = {"serial": serial, "fault_level": "C-3", "kind": "repair", "symptom": "fan"}
        opened, gone = _at_once(
            app,
            [
                ("/api/v1/rmas", case, engineer),
                (f"/api/v1/installed-units/{serial}/decommission", None, supervisor),
            ],
        )
        statuses = (opened.status_code, gone.status_code)
        assert statuses in ((201, 409), (409, 200)), statuses  # one of them, never both
        found = _call(client, "GET", f"/api/v1/installed-units/{serial}", engineer, 200)
        if opened.status_code == 201:
            assert gone.get_json()["error"] == "open_rma"
            assert (found["active"], found["open_rma"]) == (True, opened.get_json()["number"])
        else:
            assert (found["active"], found["open_rma"]) == (False, None)
