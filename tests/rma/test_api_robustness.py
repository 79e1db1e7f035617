"""Whatever arrives, the RMA API answers JSON 4xx, never 500, and a refused request
changes nothing; roles are checked before the body is read; every route is in
the OpenAPI document."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import clock
from core.db import UnitOfWork
from inventory.service import ledger

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai


def _rma(client, headers: dict[str, str], number: str) -> dict[str, Any]:
    answer = client.get(f"/api/v1/rmas/{number}", headers=headers)
    assert answer.status_code == 200
    return answer.get_json()


def _count(client, headers) -> int:
    return len(client.get("/api/v1/rmas", headers=headers).get_json())


def _refused(answer, status: int = 422) -> dict[str, Any]:
    assert answer.status_code == status, answer.get_data(as_text=True)
    assert answer.is_json and answer.get_json()["error"]
    return answer.get_json()


@pytest.fixture
def unit(account, install, make_part, stock_up):
    part = make_part(serialized=True)
    stock_up("SH", part, 2, serialized=True)
    return install(account("Shanghai"), part)


# --- opening ------------------------------------------------------------------------------------


def test_malformed_json_is_refused_and_opens_nothing(client, auth_for, unit):
    headers = auth_for("engineer")
    for raw in ("{not json", '{"serial": ', "", "null", "[1, 2]", '"text"'):
        answer = client.post(
            "/api/v1/rmas", data=raw, content_type="application/json", headers=headers
        )
        assert 400 <= answer.status_code < 500, raw
        assert answer.get_json()["error"], raw
    form = client.post("/api/v1/rmas", data={"serial": unit.serial}, headers=headers)
    assert 400 <= form.status_code < 500
    assert _count(client, headers) == 0


def _open_body(unit_serial: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "serial": unit_serial,
        "fault_level": "C-2",
        "kind": "advance_replacement",
        "symptom": "no power",
    }
    for key, value in changes.items():
        if value is _DROP:
            body.pop(key, None)
        else:
            body[key] = value
    return body


_DROP = object()

BAD_OPEN_BODIES = [
    pytest.param({"fault_level": "C-4"}, id="unknown fault level"),
    pytest.param({"fault_level": "c-1"}, id="fault level in lower case"),
    pytest.param({"fault_level": 1}, id="fault level a number"),
    pytest.param({"kind": "swap"}, id="unknown kind"),
    pytest.param({"kind": None}, id="kind null"),
    pytest.param({"symptom": ""}, id="empty symptom"),
    pytest.param({"symptom": "   \n "}, id="blank symptom"),
    pytest.param({"symptom": 42}, id="symptom a number"),
    pytest.param({"symptom": "a\u0000b"}, id="symptom with NUL"),
    pytest.param({"symptom": "x" * 4001}, id="symptom too long"),
    pytest.param({"symptom": _DROP}, id="symptom missing"),
    pytest.param({"serial": 123456}, id="serial a number"),
    pytest.param({"serial": "no spaces allowed"}, id="serial malformed"),
    pytest.param({"serial": _DROP}, id="neither serial nor part and site"),
    pytest.param({"part_number": "SW-1", "site_id": 1}, id="serial and part both"),
    pytest.param({"serial": _DROP, "part_number": "SW-1"}, id="part without site"),
    pytest.param({"serial": _DROP, "part_number": "SW-1", "site_id": "1"}, id="site id a string"),
    pytest.param({"serial": _DROP, "part_number": "SW-1", "site_id": True}, id="site id true"),
    pytest.param({"serial": _DROP, "part_number": "SW-1", "site_id": 2**40}, id="site id huge"),
    pytest.param({"serial": _DROP, "part_number": "SW-1", "site_id": 0}, id="site id zero"),
    pytest.param({"reported_at": "1900-03-02T09:00:00+08:00"}, id="reported_at before 2000"),
    pytest.param({"reported_at": "0001-01-01T00:00:00+14:00"}, id="reported_at in year 1"),
    pytest.param({"reported_at": "2026-03-03T10:00:00+08:00"}, id="future reported_at"),
    pytest.param({"reported_at": "yesterday"}, id="reported_at not a time"),
    pytest.param({"priority": "high"}, id="unknown field"),
]


@pytest.mark.parametrize("changes", BAD_OPEN_BODIES)
def test_bad_open_bodies_are_422_and_open_nothing(client, auth_for, unit, changes):
    headers = auth_for("engineer")
    with clock.frozen(NOW):
        answer = client.post(
            "/api/v1/rmas", json=_open_body(unit.serial, **changes), headers=headers
        )
    _refused(answer, 422)
    assert _count(client, headers) == 0


def test_unknown_serial_site_or_part_is_404_and_opens_nothing(client, auth_for, unit):
    headers = auth_for("engineer")
    unknown_serial = client.post("/api/v1/rmas", json=_open_body("NOPE0001"), headers=headers)
    assert "NOPE0001" in _refused(unknown_serial, 404)["detail"]
    by_part = {"serial": _DROP, "part_number": unit.part_number, "site_id": 999_999}
    _refused(client.post("/api/v1/rmas", json=_open_body("", **by_part), headers=headers), 404)
    by_site = {"serial": _DROP, "part_number": "NO-SUCH-PART", "site_id": unit.site_id}
    _refused(client.post("/api/v1/rmas", json=_open_body("", **by_site), headers=headers), 404)
    assert _count(client, headers) == 0


def test_only_engineers_and_supervisors_open_and_roles_come_before_the_body(client, auth_for, unit):
    for role, depot in (("planner", None), ("depot_staff", "SH")):
        answer = client.post("/api/v1/rmas", json={"garbage": 1}, headers=auth_for(role, depot))
        assert answer.status_code == 403, role
    assert client.post("/api/v1/rmas", json=_open_body(unit.serial)).status_code == 401
    bad_scheme = client.post(
        "/api/v1/rmas", json=_open_body(unit.serial), headers={"Authorization": "Basic abc"}
    )
    assert bad_scheme.status_code == 401
    admin = client.post("/api/v1/rmas", json=_open_body(unit.serial), headers=auth_for("admin"))
    assert admin.status_code == 201


def test_an_idempotency_key_reused_for_another_request_is_refused(
    client, auth_for, unit, account, install
):
    other = install(account("Shanghai"), unit.part_number)
    headers = {**auth_for("engineer"), "Idempotency-Key": "k-1"}
    assert (
        client.post("/api/v1/rmas", json=_open_body(unit.serial), headers=headers).status_code
        == 201
    )
    reused = client.post("/api/v1/rmas", json=_open_body(other.serial), headers=headers)
    _refused(reused, 422)
    assert _count(client, headers) == 1


# --- steps --------------------------------------------------------------------------------------


@pytest.fixture
def shipped(client, auth_for, unit, stock_up):
    """An RMA shipped from SH at NOW + 1 h; returns its number."""
    engineer, sh = auth_for("engineer"), auth_for("depot_staff", "SH")
    with clock.frozen(NOW):
        rma = client.post("/api/v1/rmas", json=_open_body(unit.serial), headers=engineer).get_json()
    serial = _reserved_serial(client, sh, rma)
    with clock.frozen(NOW + timedelta(hours=1)):
        answer = client.post(
            f"/api/v1/rmas/{rma['number']}/ship", json={"serial": serial}, headers=sh
        )
    assert answer.status_code == 200, answer.get_json()
    return rma["number"]


def _reserved_serial(client, headers, rma) -> str:
    units = client.get(
        f"/api/v1/units?depot=SH&part_number={rma['part_number']}&location=depot", headers=headers
    ).get_json()
    return units[0]["serial"]


DELIVERED_AT = [
    pytest.param({"delivered_at": "9999-12-31T23:59:59-14:00"}, id="year 9999 at -14:00"),
    pytest.param({"delivered_at": "2099-01-01T00:00:00+08:00"}, id="future"),
    pytest.param({"delivered_at": "2026-03-02T10:30:00+08:00"}, id="before it shipped"),
    pytest.param({"delivered_at": "tomorrow"}, id="not a time"),
    pytest.param({"delivered_at": 5}, id="a number (1970)"),
    pytest.param({"delivered_at": None, "by": "courier"}, id="unknown field"),
    pytest.param([], id="not an object"),
]


@pytest.mark.parametrize("body", DELIVERED_AT)
def test_bad_delivery_times_are_422_and_the_rma_stays_shipped(client, auth_for, shipped, body):
    engineer = auth_for("engineer")
    with clock.frozen(NOW + timedelta(hours=5)):
        answer = client.post(f"/api/v1/rmas/{shipped}/deliver", json=body, headers=engineer)
    _refused(answer, 422)
    rma = _rma(client, engineer, shipped)
    assert (rma["status"], rma["delivered_at"]) == ("shipped", None)


def test_deliver_without_a_body_means_now(client, auth_for, shipped):
    engineer = auth_for("engineer")
    with clock.frozen(NOW + timedelta(hours=5)):
        answer = client.post(f"/api/v1/rmas/{shipped}/deliver", headers=engineer)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["delivered_at"] == "2026-03-02T15:00:00+08:00"


def test_shipping_needs_a_well_formed_scanned_serial_of_the_reserved_stock(
    client, engine, auth_for, unit, stock_up
):
    engineer, sh = auth_for("engineer"), auth_for("depot_staff", "SH")
    number = client.post("/api/v1/rmas", json=_open_body(unit.serial), headers=engineer).get_json()[
        "number"
    ]
    path = f"/api/v1/rmas/{number}/ship"
    _refused(client.post(path, json={"serial": "bad serial"}, headers=sh), 422)
    _refused(client.post(path, json={"serial": 12345}, headers=sh), 422)
    _refused(client.post(path, headers=sh), 422)  # a serialized part needs its serial scanned
    _refused(client.post(path, json={"serials": ["X"]}, headers=sh), 422)
    stranger = client.post(path, json={"serial": "NOTHERE0001"}, headers=sh)
    assert stranger.status_code in (404, 409, 422), stranger.get_json()
    assert _rma(client, engineer, number)["status"] == "allocated"
    assert ledger.check_books(UnitOfWork(engine)) == []


@pytest.fixture
def returned_repair(client, auth_for, account, install, make_part):
    """A repair RMA that came back to the customer: ready to close."""
    unit = install(account("Wuhan"), make_part(serialized=True))
    engineer, wh = auth_for("engineer"), auth_for("depot_staff", "WH")
    number = client.post(
        "/api/v1/rmas", json=_open_body(unit.serial, kind="repair"), headers=engineer
    ).get_json()["number"]
    steps = [("receive-defective", {"depot": "WH"}), ("start-repair", None)]
    steps += [("finish-repair", None), ("return-repaired", None)]
    for action, body in steps:
        answer = client.post(f"/api/v1/rmas/{number}/{action}", json=body, headers=wh)
        assert answer.status_code == 200, (action, answer.get_json())
    return number


BAD_CLOSE_BODIES = [
    pytest.param({"rating": 0, "signed_by": "Li"}, id="rating 0"),
    pytest.param({"rating": 6, "signed_by": "Li"}, id="rating 6"),
    pytest.param({"rating": -1, "signed_by": "Li"}, id="rating -1"),
    pytest.param({"rating": "5", "signed_by": "Li"}, id="rating a string"),
    pytest.param({"rating": 4.5, "signed_by": "Li"}, id="rating a fraction"),
    pytest.param({"rating": 5.0, "signed_by": "Li"}, id="rating a float"),
    pytest.param({"rating": True, "signed_by": "Li"}, id="rating true"),
    pytest.param({"rating": None, "signed_by": "Li"}, id="rating null"),
    pytest.param({"signed_by": "Li"}, id="rating missing"),
    pytest.param({"rating": 5}, id="signer missing"),
    pytest.param({"rating": 5, "signed_by": "   "}, id="signer blank"),
    pytest.param({"rating": 5, "signed_by": "x" * 121}, id="signer too long"),
    pytest.param({"rating": 5, "signed_by": "Li\u0000"}, id="signer with NUL"),
    pytest.param({"rating": 5, "signed_by": "Li", "remarks": "r" * 1001}, id="remarks too long"),
    pytest.param({"rating": 5, "signed_by": "Li", "remarks": 7}, id="remarks a number"),
    pytest.param({"rating": 5, "signed_by": "Li", "signed_at": "now"}, id="unknown field"),
    pytest.param(None, id="no body"),
]


@pytest.mark.parametrize("body", BAD_CLOSE_BODIES)
def test_bad_verdicts_are_422_and_the_case_stays_open(client, auth_for, returned_repair, body):
    engineer = auth_for("engineer")
    answer = client.post(f"/api/v1/rmas/{returned_repair}/close", json=body, headers=engineer)
    _refused(answer, 422)
    rma = _rma(client, engineer, returned_repair)
    assert (rma["status"], rma["rating"], rma["signed_by"]) == ("returned", None, None)


def test_a_good_verdict_closes_after_bad_ones(client, auth_for, returned_repair):
    engineer = auth_for("engineer")
    path = f"/api/v1/rmas/{returned_repair}/close"
    _refused(client.post(path, json={"rating": 6, "signed_by": "Li"}, headers=engineer))
    answer = client.post(path, json={"rating": 1, "signed_by": " Li "}, headers=engineer)
    assert answer.status_code == 200
    assert (answer.get_json()["rating"], answer.get_json()["signed_by"]) == (1, "Li")


def test_cancel_and_confirm_cause_need_their_text(client, auth_for, unit):
    engineer = auth_for("engineer")
    number = client.post("/api/v1/rmas", json=_open_body(unit.serial), headers=engineer).get_json()[
        "number"
    ]
    for action, body in (
        ("cancel", {"reason": ""}),
        ("cancel", {"reason": "  "}),
        ("cancel", {}),
        ("cancel", {"reason": "r" * 301}),
        ("confirm-cause", {"cause": ""}),
        ("confirm-cause", {"cause": None}),
    ):
        _refused(client.post(f"/api/v1/rmas/{number}/{action}", json=body, headers=engineer))
    rma = _rma(client, engineer, number)
    assert (rma["status"], rma["cause_confirmed_at"]) == ("allocated", None)
    first = client.post(
        f"/api/v1/rmas/{number}/confirm-cause", json={"cause": "PSU"}, headers=engineer
    )
    assert first.status_code == 200
    again = client.post(
        f"/api/v1/rmas/{number}/confirm-cause", json={"cause": "PSU"}, headers=engineer
    )
    _refused(again, 409)


def test_receiving_checks_the_depot_and_serial(client, engine, auth_for, shipped, unit):
    engineer, sh = auth_for("engineer"), auth_for("depot_staff", "SH")
    client.post(f"/api/v1/rmas/{shipped}/deliver", headers=engineer)
    path = f"/api/v1/rmas/{shipped}/receive-defective"
    _refused(client.post(path, json={"serial": unit.serial}, headers=sh))  # depot missing
    _refused(client.post(path, json={"depot": "SHANGHAI"}, headers=sh))  # not a depot code
    _refused(client.post(path, json={"depot": "BJ"}, headers=sh), 403)  # not my depot
    wrong_unit = client.post(path, json={"depot": "SH", "serial": "OTHER0001"}, headers=sh)
    assert "not OTHER0001" in _refused(wrong_unit)["detail"]
    _refused(client.post(path, json={"depot": "ZZ"}, headers=auth_for("admin")), 404)
    assert _rma(client, engineer, shipped)["status"] == "delivered"
    assert ledger.check_books(UnitOfWork(engine)) == []


UNKNOWN = "RMA-2026-999999"
STEP_BODIES = {
    "approve": {"confirm": True},
    "ship": {"serial": "SN0000001"},
    "deliver": {},
    "receive-defective": {"depot": "SH"},
    "start-repair": None,
    "finish-repair": None,
    "return-repaired": None,
    "loaner-back": {"depot": "SH"},
    "confirm-cause": {"cause": "x"},
    "close": {"rating": 5, "signed_by": "Li"},
    "cancel": {"reason": "x"},
}


def test_unknown_rmas_are_404_on_every_route(client, auth_for):
    admin = auth_for("admin")
    for number in (UNKNOWN, "rma-2026-999999", "x" * 40, "%E4%B9%8C"):
        assert client.get(f"/api/v1/rmas/{number}", headers=admin).status_code == 404
        pdf = client.get(f"/api/v1/rmas/{number}/service-record.pdf", headers=admin)
        assert pdf.status_code == 404 and pdf.is_json
    for action, body in STEP_BODIES.items():
        answer = client.post(f"/api/v1/rmas/{UNKNOWN}/{action}", json=body, headers=admin)
        assert answer.status_code == 404, (action, answer.get_json())
    assert client.post(f"/api/v1/rmas/{UNKNOWN}/reopen", headers=admin).status_code in (404, 405)


def test_odd_paths_and_queries_are_4xx(client, auth_for):
    admin = auth_for("admin")
    for url in (
        "/api/v1/rmas/AB%00C",
        "/api/v1/rmas/" + "x" * 41,
        "/api/v1/rmas?status=lost",
        "/api/v1/rmas?fault_level=C-9",
        "/api/v1/rmas?limit=0",
        "/api/v1/rmas?limit=100000",
        "/api/v1/rmas?offset=-1",
        "/api/v1/rmas?open=maybe",
        "/api/v1/rmas?depot=B%20J",
        "/api/v1/escalations?fault_level=C-0",
        "/api/v1/escalations?limit=5000",
        "/api/v1/installed-units/NOPE0001",
        "/api/v1/installed-units/AB%00C",
        "/api/v1/installed-units?q=%00",
        "/api/v1/installed-units?site_id=abc",
        "/api/v1/installed-units/NOPE0001?fault_level=C-5",
        "/api/v1/sites?customer_id=-4",
        "/api/v1/contracts?customer_id=99999999999",
    ):
        answer = client.get(url, headers=admin)
        assert 400 <= answer.status_code < 500, (url, answer.get_data(as_text=True))
        assert answer.get_json()["error"], url
    huge = client.post("/api/v1/escalations/99999999999/acknowledge", headers=admin)
    assert 400 <= huge.status_code < 500


STEP_ROLES = {
    "approve": {"supervisor"},
    "ship": {"depot_staff"},
    "deliver": {"engineer", "supervisor", "depot_staff"},
    "receive-defective": {"depot_staff"},
    "start-repair": {"depot_staff"},
    "finish-repair": {"depot_staff"},
    "return-repaired": {"depot_staff"},
    "loaner-back": {"depot_staff"},
    "confirm-cause": {"engineer", "supervisor"},
    "close": {"engineer", "supervisor"},
    "cancel": {"engineer", "supervisor"},
}
ROLES = ("planner", "engineer", "depot_staff", "supervisor")


def test_every_step_refuses_other_roles_before_reading_the_body(client, auth_for):
    refused = 0
    for action, allowed in STEP_ROLES.items():
        for role in ROLES:
            headers = auth_for(role, "SH" if role == "depot_staff" else None)
            answer = client.post(
                f"/api/v1/rmas/{UNKNOWN}/{action}", json={"garbage": True}, headers=headers
            )
            if role in allowed:
                assert answer.status_code in (404, 422), (action, role, answer.get_json())
            else:
                assert answer.status_code == 403, (action, role, answer.get_json())
                refused += 1
    assert refused == sum(len(ROLES) - len(allowed) for allowed in STEP_ROLES.values())


# --- customers, sites, contracts, installed base ------------------------------------------------


def test_customer_records_refuse_bad_input_and_change_nothing(client, auth_for, make_part):
    supervisor = auth_for("supervisor")
    part = make_part(serialized=True)

    def post(path: str, body: Any, status: int, headers=supervisor) -> None:
        answer = client.post(path, json=body, headers=headers)
        assert answer.status_code == status, (path, body, answer.get_json())

    post("/api/v1/customers", {"code": "a", "name": "A"}, 422)
    post("/api/v1/customers", {"code": "ACME", "name": ""}, 422)
    post("/api/v1/customers", {"code": "ACME", "name": "Acme", "email": "nope"}, 422)
    post("/api/v1/customers", {"code": "ACME", "name": "Acme", "vip": True}, 422)
    post("/api/v1/customers", {"code": "ACME", "name": "Acme"}, 403, auth_for("depot_staff", "SH"))
    created = client.post(
        "/api/v1/customers",
        json={"code": "acme", "name": "Acme", "name_zh": "顶点"},
        headers=supervisor,
    )
    assert created.status_code == 201
    customer_id = created.get_json()["id"]
    post("/api/v1/customers", {"code": "ACME", "name": "Acme again"}, 409)

    site = {"customer_id": customer_id, "name": "HQ", "city": "Urumqi"}
    post("/api/v1/sites", {**site, "city": "Atlantis"}, 404)
    post("/api/v1/sites", {**site, "customer_id": 999_999}, 404)
    post("/api/v1/sites", {**site, "city": 9_999_999}, 404)
    post("/api/v1/sites", {**site, "customer_id": "1"}, 422)
    post("/api/v1/sites", {**site, "city": None}, 422)

    contract = {
        "customer_id": customer_id,
        "number": "K-1",
        "coverage": "7x24",
        "starts_on": "2026-01-01",
        "ends_on": "2026-12-31",
    }
    post("/api/v1/contracts", {**contract, "ends_on": "2025-12-31"}, 422)
    post("/api/v1/contracts", {**contract, "coverage": "24x7"}, 422)
    post("/api/v1/contracts", {**contract, "starts_on": "2026-02-30"}, 422)
    post("/api/v1/contracts", {**contract, "loaner": "yes"}, 422)
    post("/api/v1/contracts", contract, 403, auth_for("engineer"))

    unit = {
        "serial": "ACME0001",
        "part_number": part,
        "site_id": 999_999,
        "shipped_on": "2025-01-01",
        "warranty_end": "2027-01-01",
    }
    post("/api/v1/installed-units", unit, 404)
    post("/api/v1/installed-units", {**unit, "phase": "broken"}, 422)
    assert client.get("/api/v1/sites", headers=supervisor).get_json() == []
    assert client.get("/api/v1/contracts", headers=supervisor).get_json() == []
    assert client.get("/api/v1/installed-units", headers=supervisor).get_json() == []


# --- fuzzing ------------------------------------------------------------------------------------

JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            "SH",
            "C-1",
            "repair",
            "loaner",
            "2026-03-02T10:00:00",
            "2026-03-02T10:00:00+08:00",
            "\u0000",
            "A" * 5000,
            "乌鲁木齐",
            "-1",
        ]
    ),
)
JSON = st.recursive(
    JSON_LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=8,
)


def test_no_request_body_makes_an_rma_route_answer_5xx(client, auth_for, unit, returned_repair):
    admin = auth_for("admin")
    opened = client.post("/api/v1/rmas", json=_open_body(unit.serial), headers=admin).get_json()
    templates = [
        ("/api/v1/rmas", _open_body(unit.serial)),
        ("/api/v1/customers", {"code": "FZ", "name": "Fuzz"}),
        ("/api/v1/sites", {"customer_id": 1, "name": "S", "city": "Lhasa"}),
        (
            "/api/v1/installed-units",
            {
                "serial": "FZ001",
                "part_number": unit.part_number,
                "site_id": unit.site_id,
                "shipped_on": "2026-01-01",
                "warranty_end": "2027-01-01",
            },
        ),
    ]
    for number in (opened["number"], returned_repair):
        for action, body in STEP_BODIES.items():
            templates.append((f"/api/v1/rmas/{number}/{action}", body or {}))

    @settings(
        max_examples=150,
        deadline=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,
        ],
    )
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        url, template = data.draw(st.sampled_from(templates))
        body: Any = dict(template)
        for key in data.draw(st.lists(st.sampled_from([*template, "extra"]), max_size=3)):
            body[key] = data.draw(JSON)
        if data.draw(st.booleans()):
            body = data.draw(JSON)
        answer = client.post(url, json=body, headers=admin)
        assert answer.status_code < 500, (url, body, answer.get_data(as_text=True))
        if answer.status_code >= 400:
            assert answer.is_json and answer.get_json()["error"]

    check()


# --- the document -------------------------------------------------------------------------------


def test_every_rma_route_is_documented_with_a_summary_and_its_errors(client):
    document = client.get("/api/v1/openapi.json").get_json()
    expected = {
        ("post", "/api/v1/rmas"),
        ("get", "/api/v1/rmas"),
        ("get", "/api/v1/rmas/{number}"),
        ("get", "/api/v1/rmas/{number}/service-record.pdf"),
        *{("post", f"/api/v1/rmas/{{number}}/{action}") for action in STEP_BODIES},
        ("get", "/api/v1/escalations"),
        ("get", "/api/v1/escalations/acknowledged"),
        ("post", "/api/v1/escalations/{id}/acknowledge"),
        ("post", "/api/v1/rmas/{number}/escalations/acknowledge"),
        ("get", "/api/v1/customers"),
        ("post", "/api/v1/customers"),
        ("get", "/api/v1/sites"),
        ("post", "/api/v1/sites"),
        ("get", "/api/v1/contracts"),
        ("post", "/api/v1/contracts"),
        ("get", "/api/v1/installed-units"),
        ("post", "/api/v1/installed-units"),
        ("get", "/api/v1/installed-units/{serial}"),
    }
    documented = {(method, path) for path, item in document["paths"].items() for method in item}
    assert expected <= documented, expected - documented
    for method, path in expected:
        operation = document["paths"][path][method]
        assert operation.get("summary"), (method, path)
        assert "401" in operation["responses"], (method, path)
        assert operation.get("security") or document.get("security"), (method, path)
    conflict = document["paths"]["/api/v1/rmas/{number}/ship"]["post"]["responses"]["409"]
    assert conflict  # the allowed next steps are documented with the 409
    pdf = document["paths"]["/api/v1/rmas/{number}/service-record.pdf"]["get"]
    assert "application/pdf" in pdf["responses"]["200"]["content"]
    # Money is answered as a JSON number, and documented as one.
    cost = document["components"]["schemas"]["AllocationOut"]["properties"]["cost"]
    assert {"type": "number"} in [{"type": branch.get("type")} for branch in cost["anyOf"]]
    rma_schema = document["components"]["schemas"]["RmaDetailOut"]["properties"]
    for field in ("number", "entitlement", "due", "due_in_hours", "allocation", "events"):
        assert field in rma_schema
    assert "approval_quote" in rma_schema  # the price a supervisor confirms
    approve = document["paths"]["/api/v1/rmas/{number}/approve"]["post"]["requestBody"]
    assert approve["content"]["application/json"]["schema"]["$ref"].endswith("ApproveBody")
    assert "confirm" in document["components"]["schemas"]["ApproveBody"]["required"]
