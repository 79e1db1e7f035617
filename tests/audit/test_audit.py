"""The audit trail: every change of configuration, master data and state is recorded
(who, when, what, before and after, request id), append-only in the database, and
read by administrators only (API, page with CSV, CLI)."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import SQLModel

from core import auth, clock
from core.audit import recorder
from core.auth import system_actor
from core.db import UnitOfWork, transactional
from core.errors import Conflict
from core.schema import load_models
from inventory.models import PartIn
from inventory.service import catalog, targets
from rma.service import customers, lifecycle
from tests.conftest import TEST_PASSWORD, bearer, make_test_app
from tests.rma.conftest import today

MONDAY_10_SHANGHAI = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}


def _audit(client, headers, **query) -> list[dict]:
    answer = client.get("/api/v1/audit", query_string=query, headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["items"]


def _ok(answer, status=200):
    assert answer.status_code == status, answer.get_json()
    return answer.get_json()


# --- configuration ------------------------------------------------------------------------


def test_configuration_changes_are_recorded_with_who_before_after_and_request_id(client, auth_for):
    admin, planner = auth_for("admin"), auth_for("planner")
    lane = _ok(client.get("/api/v1/lanes?from_depot=BJ&to=Shanghai", headers=planner))[0]
    traced = {**planner, "X-Request-ID": "req-lane-1"}
    body = {"mode": "road", "hours": 20, "cost": 300}
    _ok(client.put(f"/api/v1/lanes/{lane['id']}", json=body, headers=traced))
    _ok(
        client.put(
            "/api/v1/calendars/5x8/days/2027-02-10",
            json={"kind": "holiday", "name": "Spring Festival"},
            headers=admin,
        ),
        201,
    )
    _ok(client.put("/api/v1/escalation-ladder/C-1/2", json={"after_hours": 6}, headers=admin))

    # the seeded lanes were recorded when the reference data was loaded
    lane_entry, seeded = _audit(client, admin, entity=f"lane:{lane['id']}")
    assert seeded["action"] == "create" and seeded["after"]["mode"] == "air"
    assert lane_entry["action"] == "update" and lane_entry["request_id"] == "req-lane-1"
    assert lane_entry["actor"] == client.get("/api/v1/auth/me", headers=planner).json["username"]
    assert lane_entry["before"]["mode"] == "air" and lane_entry["after"]["mode"] == "road"
    assert lane_entry["before"]["edited"] is False and lane_entry["after"]["edited"] is True
    assert lane_entry["after"]["hours"] == "20.00"

    [day] = _audit(client, admin, entity="calendar_day:5x8/2027-02-10")
    assert day["action"] == "create" and day["entity_key"] == "5x8/2027-02-10"
    assert day["after"]["kind"] == "holiday" and day["before"] is None
    [rung] = [e for e in _audit(client, admin, entity="ladder_step") if e["action"] == "update"]
    assert rung["before"] == {"after_hours": 8.0} and rung["after"] == {"after_hours": 6.0}


def test_a_refused_change_changes_nothing_and_records_nothing(client, auth_for):
    admin, planner = auth_for("admin"), auth_for("planner")
    lane = _ok(client.get("/api/v1/lanes?from_depot=BJ&to=Shanghai", headers=planner))[0]
    body = {"mode": "boat", "hours": 5, "cost": 1}
    assert client.put(f"/api/v1/lanes/{lane['id']}", json=body, headers=planner).status_code == 422
    assert [e for e in _audit(client, admin, entity="lane") if e["action"] != "create"] == []


def test_target_overrides_and_a_recomputation_are_recorded(client, auth_for, make_part):
    admin, planner = auth_for("admin"), auth_for("planner")
    part = make_part()
    body = {"depot": "GZ", "part_number": part, "override": 7}
    _ok(client.put("/api/v1/targets", json=body, headers=planner))
    _ok(client.put("/api/v1/targets", json={**body, "override": 9}, headers=planner))
    entries = _audit(client, admin, entity=f"target:GZ/{part}")
    assert [e["action"] for e in entries] == ["update", "create"]  # newest first
    assert entries[0]["before"]["override"] == 7 and entries[0]["after"]["override"] == 9
    assert entries[1]["after"]["override"] == 7

    _ok(client.post("/api/v1/targets/compute", json={}, headers=planner))
    # Computed targets are replaced by bulk statements: recorded as changes of many.
    bulk = [e for e in _audit(client, admin, entity="target") if e["entity_key"] == "*"]
    assert bulk and {e["action"] for e in bulk} <= {"create", "update", "delete"}


# --- users and master data ----------------------------------------------------------------


def test_user_changes_are_recorded_and_a_password_never_copied(app, client, auth_for, make_user):
    admin = auth_for("admin")
    person = make_user("engineer")
    runner = app.test_cli_runner()
    changed = runner.invoke(args=["user", "set-role", person.username, "--role", "planner"])
    assert changed.exit_code == 0, changed.output
    reset = runner.invoke(
        args=["user", "reset-password", person.username, "--password-stdin"],
        input="another-password-9\n",
    )
    assert reset.exit_code == 0, reset.output

    entries = _audit(client, admin, entity=f"user:{person.id}")
    created, role, password = entries[::-1]
    assert created["action"] == "create" and created["after"]["password_hash"] == "***"
    assert role["before"]["role"] == "engineer" and role["after"]["role"] == "planner"
    assert role["actor"].startswith("cli:")  # the terminal's operator
    assert password["before"] == {"password_hash": "***"}
    for entry in entries:
        assert "scrypt" not in str(entry)


def test_customers_contracts_and_installed_base_are_recorded(client, auth_for, make_part):
    admin, engineer, supervisor = auth_for("admin"), auth_for("engineer"), auth_for("supervisor")
    part = make_part(serialized=True)
    customer = _ok(
        client.post(
            "/api/v1/customers",
            json={"code": "xj-grid", "name": "Xinjiang Grid", "name_zh": "新疆电网"},
            headers=engineer,
        ),
        201,
    )
    _ok(
        client.patch(
            f"/api/v1/customers/{customer['id']}", json={"name": "XJ Grid"}, headers=engineer
        )
    )
    site = _ok(
        client.post(
            "/api/v1/sites",
            json={"customer_id": customer["id"], "name": "DC 2", "city": "urumqi"},
            headers=engineer,
        ),
        201,
    )
    contract = _ok(
        client.post(
            "/api/v1/contracts",
            json={
                "customer_id": customer["id"],
                "number": "k-xj-1",
                "coverage": "7x24",
                "starts_on": (today() - timedelta(days=10)).isoformat(),
                "ends_on": (today() + timedelta(days=355)).isoformat(),
            },
            headers=supervisor,
        ),
        201,
    )
    _ok(
        client.post(
            "/api/v1/installed-units",
            json={
                "serial": "xj0001",
                "part_number": part,
                "site_id": site["id"],
                "contract_id": contract["id"],
                "shipped_on": (today() - timedelta(days=30)).isoformat(),
                "warranty_end": (today() + timedelta(days=335)).isoformat(),
            },
            headers=engineer,
        ),
        201,
    )
    updated, created = _audit(client, admin, entity=f"customer:{customer['id']}")
    assert created["after"]["name_zh"] == "新疆电网"
    assert updated["before"] == {"name": "Xinjiang Grid"} and updated["after"] == {
        "name": "XJ Grid"
    }
    [made] = _audit(client, admin, entity=f"contract:{contract['id']}")
    assert made["after"]["number"] == "K-XJ-1" and made["after"]["coverage"] == "7x24"
    [unit] = _audit(client, admin, entity="installed_unit")
    assert unit["after"]["serial"] == "XJ0001" and unit["after"]["site_id"] == site["id"]


# --- state: RMA steps, plans, dispatch ----------------------------------------------------


def test_every_rma_step_is_an_entry_named_after_the_step(
    engine, client, auth_for, staff, account, install, make_part, stock_up
):
    admin, engineer = auth_for("admin"), auth_for("engineer")
    part = make_part(serialized=True)
    [serial] = stock_up("GZ", part, 1, serialized=True)
    unit = install(account("Shenzhen"), part)
    with clock.frozen(MONDAY_10_SHANGHAI):
        rma = _ok(
            client.post(
                "/api/v1/rmas",
                json={
                    "serial": unit.serial,
                    "fault_level": "C-1",
                    "kind": "advance_replacement",
                    "symptom": "no power",
                },
                headers={**engineer, "X-Request-ID": "req-open-7"},
            ),
            201,
        )
        gz = staff("GZ")
        lifecycle.ship(UnitOfWork(engine), gz, rma["number"], serial)
    entries = _audit(client, admin, entity="rma")
    steps = [e["action"] for e in reversed(entries)]
    assert steps[0] == "create" and {"open", "approve", "allocate", "ship"} <= set(steps)
    opened = [e for e in entries if e["request_id"] == "req-open-7"]
    assert {e["action"] for e in opened} >= {"create", "open", "allocate"}
    [ship] = [e for e in entries if e["action"] == "ship"]
    assert ship["actor"] == gz.username and ship["before"]["status"] == "allocated"
    assert ship["after"]["status"] == "shipped" and ship["after"]["shipped_serial"] == serial
    # the unit held for the case is state too
    [held] = [e for e in _audit(client, admin, entity="reservation") if e["action"] == "update"]
    assert held["after"]["status"] == "picked"


def test_plan_approval_and_a_dispatch_run_are_recorded(
    engine, client, auth_for, planner, make_part, stock_up
):
    admin, planners = auth_for("admin"), auth_for("planner")
    part = make_part()
    stock_up("BJ", part, 10)
    targets.set_override(UnitOfWork(engine), planner, "BJ", part, 4)
    targets.set_override(UnitOfWork(engine), planner, "SY", part, 5)
    plan = _ok(client.post("/api/v1/rebalance/plans", headers=planners), 201)
    _ok(client.post(f"/api/v1/rebalance/plans/{plan['id']}/approve", headers=planners))
    approved = _audit(client, admin, entity=f"plan:{plan['id']}")[0]
    assert approved["before"]["status"] == "proposed" and approved["after"]["status"] == "approved"
    [drafted] = _audit(client, admin, entity="transfer")
    assert drafted["after"]["reference"] == f"PLAN-{plan['id']}"

    proposal = _ok(client.get("/api/v1/dispatch/proposal", headers=planners))
    _ok(client.post("/api/v1/dispatch/apply", json={"basis": proposal["basis"]}, headers=planners))
    [run] = _audit(client, admin, entity="dispatch")
    assert run["action"] == "apply" and run["after"]["changed"] == []
    assert run["entity_key"] == proposal["basis"][:16]


# --- append-only, on both databases -------------------------------------------------------


def test_the_trail_is_append_only_in_the_database(any_engine):
    person = _user(any_engine, "engineer")
    with any_engine.connect() as connection:
        count = connection.execute(text("SELECT count(*) FROM audit_entry")).scalar_one()
        entry_id = connection.execute(
            text("SELECT id FROM audit_entry WHERE entity = 'user' AND entity_key = :k"),
            {"k": str(person.id)},
        ).scalar_one()
    statements = [
        "UPDATE audit_entry SET actor = 'someone else' WHERE id = :id",
        "DELETE FROM audit_entry WHERE id = :id",
    ]
    if any_engine.dialect.name == "postgresql":
        statements.append("TRUNCATE audit_entry")
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"), any_engine.begin() as connection:
            connection.execute(text(statement), {"id": entry_id})
    with any_engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM audit_entry")).scalar_one() == count
        actor = connection.execute(
            text("SELECT actor FROM audit_entry WHERE id = :id"), {"id": entry_id}
        ).scalar_one()
    assert actor != "someone else"


def test_recorded_values_read_back_alike_on_both_databases(any_engine):
    client = make_test_app(any_engine).test_client()
    admin = _user(any_engine, "admin")
    token = client.post(
        "/api/v1/auth/token", json={"username": admin.username, "password": TEST_PASSWORD}
    ).get_json()["token"]
    client_headers = bearer(token)
    planner = _user(any_engine, "planner")
    with clock.frozen(MONDAY_10_SHANGHAI):
        targets.set_override(UnitOfWork(any_engine), planner, "BJ", _part(any_engine), 3)
    [entry] = _audit(client, client_headers, entity="target", actor=planner.username)
    assert entry["after"]["override"] == 3 and entry["after"]["override_by"] == planner.username
    assert entry["at"] == "2026-03-02T10:00:00+08:00"


def _part(engine, number: str = "AUD-1") -> str:
    spec = PartIn(
        part_number=number, description="audit test part", family="optic", unit_cost=Decimal("100")
    )
    return catalog.create_part(UnitOfWork(engine), system_actor(), spec).part_number


def _user(engine, role: str) -> auth.Actor:
    name = f"{role}-{uuid.uuid4().hex[:6]}"
    return auth.create_user(UnitOfWork(engine), name, TEST_PASSWORD, role, full_name=name)


# --- reading: who may, filters, pages -----------------------------------------------------


@pytest.mark.parametrize(
    ("role", "depot"),
    [("planner", None), ("engineer", None), ("supervisor", None), ("depot_staff", "SH")],
)
def test_only_administrators_read_the_trail(client, auth_for, role, depot):
    answer = client.get("/api/v1/audit", headers=auth_for(role, depot))
    assert answer.status_code == 403 and answer.get_json()["error"] == "forbidden"
    assert client.get("/api/v1/audit").status_code == 401


def test_there_is_no_route_that_writes_the_trail(client, auth_for):
    admin = auth_for("admin")
    for method in ("post", "put", "patch", "delete"):
        assert getattr(client, method)("/api/v1/audit", json={}, headers=admin).status_code == 405
    document = client.get("/api/v1/openapi.json").get_json()
    assert set(document["paths"]["/api/v1/audit"]) == {"get"}
    parameters = {p["name"] for p in document["paths"]["/api/v1/audit"]["get"]["parameters"]}
    assert {"entity", "actor", "from", "to", "before_id", "limit"} <= parameters


def test_filters_by_entity_actor_and_period_and_pages_by_before_id(
    client, engine, auth_for, make_user
):
    admin = auth_for("admin")
    planner = make_user("planner")
    with clock.frozen(datetime(2026, 3, 1, 15, 0, tzinfo=UTC)):  # Mar 1 23:00 Shanghai
        targets.set_override(UnitOfWork(engine), planner, "BJ", _part(engine), 1)
    with clock.frozen(datetime(2026, 3, 1, 17, 0, tzinfo=UTC)):  # Mar 2 01:00 Shanghai
        targets.set_override(UnitOfWork(engine), planner, "SH", "AUD-1", 2)
        targets.set_override(UnitOfWork(engine), planner, "GZ", "AUD-1", 3)
    mine = _audit(client, admin, actor=planner.username)
    assert [e["entity_key"] for e in mine] == ["GZ/AUD-1", "SH/AUD-1", "BJ/AUD-1"]
    assert _audit(client, admin, actor=planner.username, to="2026-03-01") == mine[2:]
    assert _audit(client, admin, actor=planner.username, **{"from": "2026-03-02"}) == mine[:2]
    window = {"from": "2026-03-02T00:30+08:00", "to": "2026-03-02T01:00+08:00"}
    assert _audit(client, admin, actor=planner.username, **window) == []
    assert _audit(client, admin, entity="target:SH/AUD-1") == [mine[1]]

    first = client.get(
        "/api/v1/audit", query_string={"actor": planner.username, "limit": 2}, headers=admin
    ).get_json()
    assert first["items"] == mine[:2] and first["next_before_id"] == mine[1]["id"]
    rest = _audit(client, admin, actor=planner.username, before_id=first["next_before_id"])
    assert rest == mine[2:]


@pytest.mark.parametrize(
    "query",
    [
        {"entity": "ledger"},
        {"from": "yesterday"},
        {"to": "2026-03-01T10:00"},  # an instant needs its offset
        {"from": "2026-03-02", "to": "2026-03-01"},
        {"from": "0001-01-01T00:00+14:00"},
        {"to": "9999-12-31T23:59-14:00"},
        {"limit": 0},
        {"actor": "x" * 65},
    ],
)
def test_bad_filters_are_a_422_with_a_message(client, auth_for, query):
    answer = client.get("/api/v1/audit", query_string=query, headers=auth_for("admin"))
    assert answer.status_code == 422
    assert answer.get_json()["error"] == "invalid" and answer.get_json()["detail"]


# --- the page, the CSV, the CLI -----------------------------------------------------------


def test_the_page_in_chinese_filters_and_pages_on_the_server(client, engine, login, make_user):
    planner = make_user("planner")
    part = _part(engine)
    for depot in ("BJ", "SH", "GZ"):
        targets.set_override(UnitOfWork(engine), planner, depot, part, 2)
    login("admin")
    html = client.get(
        "/audit",
        query_string={"actor": planner.username, "per_page": 25, "sort": "at", "order": "desc"},
        headers=CHINESE,
    ).get_data(as_text=True)
    assert "审计" in html and "库存目标" in html and "新建" in html
    assert "GZ/AUD-1" in html and "BJ/AUD-1" in html
    assert "3 条" in html  # the selection's own count
    english = client.get("/audit", query_string={"entity": "target"}).get_data(as_text=True)
    assert "Audit trail" in english and "stock target" in english
    nav = client.get("/", headers=CHINESE).get_data(as_text=True)
    assert 'href="/audit"' in nav

    refused = client.get("/audit", query_string={"from": "soon"}, headers=CHINESE)
    assert refused.status_code == 422 and 'role="alert"' in refused.get_data(as_text=True)


def test_the_page_is_for_administrators_only(client, login):
    login("planner")
    assert client.get("/audit").status_code == 403
    assert client.get("/audit.csv").status_code == 403
    assert 'href="/audit"' not in client.get("/").get_data(as_text=True)


def test_the_csv_holds_the_filtered_selection_and_no_formula(client, engine, login):
    operator = system_actor()
    customers.create_customer(UnitOfWork(engine), operator, "EVIL", "=HYPERLINK(1)")
    customers.create_customer(UnitOfWork(engine), operator, "GOOD", "Good Co")
    login("admin")
    answer = client.get("/audit.csv", query_string={"entity": "customer"})
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert [row["entity"] for row in rows] == ["customer", "customer"]
    assert list(rows[0]) == list(
        ("id", "at", "actor", "entity", "entity_key", "action", "before", "after", "request_id")
    )
    for row in rows:
        assert all(not value.startswith(("=", "+", "-", "@")) for value in row.values())
    assert '"name": "=HYPERLINK(1)"' in rows[1]["after"]


def test_the_cli_lists_entries(app, engine):
    customers.create_customer(UnitOfWork(engine), system_actor(), "CLI-1", "Terminal Co")
    result = app.test_cli_runner().invoke(args=["audit", "--entity", "customer"])
    assert result.exit_code == 0, result.output
    assert "customer:" in result.output and "Terminal Co" in result.output
    bad = app.test_cli_runner().invoke(args=["audit", "--entity", "nothing"])
    assert bad.exit_code == 2 and "unknown entity" in bad.output


# --- every table is accounted for ---------------------------------------------------------


def test_every_table_is_audited_or_excluded_with_a_reason():
    load_models()
    tables = set(SQLModel.metadata.tables)
    classified = set(recorder.AUDITED) | set(recorder.NOT_AUDITED)
    assert tables - classified == set(), (
        "a new table: list it in core/audit/recorder.py, AUDITED or NOT_AUDITED with a reason"
    )
    assert set(recorder.AUDITED) & set(recorder.NOT_AUDITED) == set()


def test_a_use_case_that_fails_after_flushing_records_nothing(client, engine, auth_for, planner):
    part = _part(engine)

    @transactional
    def set_then_refuse(uow: UnitOfWork) -> None:
        targets.set_override(uow, planner, "BJ", part, 5)  # joins, flushes its row
        raise Conflict("refused after the change was flushed")

    with pytest.raises(Conflict):
        set_then_refuse(UnitOfWork(engine))
    assert _audit(client, auth_for("admin"), entity=f"target:BJ/{part}") == []
    targets.set_override(UnitOfWork(engine), planner, "BJ", part, 5)
    [entry] = _audit(client, auth_for("admin"), entity=f"target:BJ/{part}")
    assert entry["actor"] == planner.username and entry["after"]["override"] == 5
