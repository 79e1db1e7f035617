"""Whatever arrives, the inventory API answers JSON 4xx, never 500; it is all in the
OpenAPI document; and the stock list stays fast with thousands of balance rows."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, insert

from core import auth
from core.db import UnitOfWork
from inventory.models import Part, PartIn, StockBalance
from inventory.service import catalog, moves, receipts, reservations, transfers
from inventory.service.ledger import rebuild_part_stock
from inventory.service.receipts import ReceivedLine
from inventory.service.transfers import LineIn
from tests.conftest import TEST_PASSWORD, bearer, make_test_app
from tests.inventory.conftest import new_serials


def _token(client, engine, role: str, depot: str | None = None) -> dict[str, str]:
    actor = auth.create_user(UnitOfWork(engine), f"{role}-x", TEST_PASSWORD, role, depot_code=depot)
    answer = client.post(
        "/api/v1/auth/token", json={"username": actor.username, "password": TEST_PASSWORD}
    )
    return bearer(answer.get_json()["token"])


def _world(engine) -> dict[str, Any]:
    """A part of each kind with stock at BJ, a reservation and a draft transfer."""
    uow = UnitOfWork(engine)
    admin = auth.system_actor()
    bulk = catalog.create_part(
        uow,
        admin,
        PartIn(
            part_number="FZ-BULK",
            description="b",
            family="cable",
            serialized=False,
            unit_cost=Decimal(1),
        ),
    ).part_number
    tracked = catalog.create_part(
        uow,
        admin,
        PartIn(
            part_number="FZ-SER",
            description="s",
            family="module",
            serialized=True,
            unit_cost=Decimal(1),
        ),
    ).part_number
    moves.receive(uow, admin, "BJ", bulk, 50)
    serials = new_serials(5)
    moves.receive(uow, admin, "BJ", tracked, 5, serials)
    held = reservations.reserve(uow, admin, "BJ", bulk, 1, "RMA-FZ")
    draft = transfers.create_transfer(uow, admin, "BJ", "SH", [LineIn(bulk, 1)])
    over = transfers.create_transfer(uow, admin, "BJ", "GZ", [LineIn(bulk, 1)])
    transfers.ship_transfer(uow, admin, over.transfer.id)
    received = receipts.receive_transfer(uow, admin, over.transfer.id, [ReceivedLine(bulk, qty=3)])
    [extra] = received.discrepancies
    return {
        "bulk": bulk,
        "tracked": tracked,
        "serials": serials,
        "reservation": held.id,
        "transfer": draft.transfer.id,
        "received": over.transfer.id,
        "extra": extra.id,
    }


def _templates(world: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    bulk, tracked, serials = world["bulk"], world["tracked"], world["serials"]
    part = {
        "part_number": "FZ-NEW",
        "description": "d",
        "family": "fan",
        "serialized": False,
        "unit_cost": 1,
    }
    move = {"depot": "BJ", "part_number": bulk, "qty": 1}
    res, tr = world["reservation"], world["transfer"]
    extra = f"/api/v1/transfers/{world['received']}/discrepancies/{world['extra']}"
    return [
        ("POST", "/api/v1/parts", part),
        ("PUT", f"/api/v1/parts/{bulk}", {k: v for k, v in part.items() if k != "part_number"}),
        ("POST", "/api/v1/stock/receipts", {**move, "serials": [], "reference": "PO"}),
        ("POST", "/api/v1/stock/adjustments", {**move, "reason": "r", "condition": "good"}),
        ("POST", "/api/v1/stock/scrap", {**move, "reason": "r", "condition": "good"}),
        (
            "POST",
            "/api/v1/stock/condition-changes",
            {**move, "from_condition": "good", "to_condition": "quarantine"},
        ),
        (
            "POST",
            "/api/v1/stock/counts",
            {"depot": "BJ", "part_number": tracked, "serials": serials},
        ),
        ("POST", "/api/v1/reservations", {**move, "reference": "RMA"}),
        ("POST", f"/api/v1/reservations/{res}/release", {"reason": "r"}),
        ("POST", f"/api/v1/reservations/{res}/pick", {"serials": []}),
        (
            "POST",
            "/api/v1/transfers",
            {"from_depot": "BJ", "to_depot": "GZ", "lines": [{"part_number": bulk, "qty": 1}]},
        ),
        ("POST", f"/api/v1/transfers/{tr}/ship", {"serials": {}}),
        ("POST", f"/api/v1/transfers/{tr}/receive", {"lines": [{"part_number": bulk, "qty": 1}]}),
        ("POST", f"/api/v1/transfers/{tr}/cancel", {}),
        ("POST", f"{extra}/accept", {"reason": "inspected"}),
        ("POST", f"{extra}/send-back", {}),
    ]


JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(
        ["", "BJ", "bj", "FZ-BULK", "FZ-SER", "good", "\u0000", "A" * 300, "乌鲁木齐", "-1", "0"]
    ),
)
JSON = st.recursive(
    JSON_LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=8,
)


def test_no_request_body_makes_a_write_endpoint_answer_5xx(any_engine):
    app = make_test_app(any_engine)
    client = app.test_client()
    world = _world(any_engine)
    templates = _templates(world)
    admin = _token(client, any_engine, "admin")

    @settings(
        max_examples=100,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        method, url, template = data.draw(st.sampled_from(templates))
        body: Any = dict(template)
        for key in data.draw(st.lists(st.sampled_from([*template, "extra"]), max_size=3)):
            body[key] = data.draw(JSON)
        if data.draw(st.booleans()):
            body = data.draw(JSON)  # not even the right shape
        answer = client.open(url, method=method, json=body, headers=admin)
        assert answer.status_code < 500, (method, url, body, answer.get_json())
        if answer.status_code >= 400:
            assert answer.is_json and answer.get_json()["error"], answer.get_data(as_text=True)

    check()


ODD_REQUESTS = [
    ("GET", "/api/v1/units/AB%00C"),
    ("GET", "/api/v1/parts/AB%00C"),
    ("GET", "/api/v1/parts?search=%00"),
    ("GET", "/api/v1/stock?search=a%00b"),
    ("GET", "/api/v1/ledger?reference=%00"),
    ("GET", "/api/v1/ledger?before_id=99999999999999999999999"),
    ("GET", "/api/v1/transfers/99999999999"),
    ("POST", "/api/v1/reservations/99999999999/release"),
    ("POST", "/api/v1/transfers/1/discrepancies/99999999999/accept"),
    ("POST", "/api/v1/transfers/99999/discrepancies/1/send-back"),
    ("GET", "/api/v1/units?offset=99999999999"),
    ("PUT", "/api/v1/parts/AB%00C"),
]


def test_odd_paths_and_queries_are_4xx_on_both_databases(any_engine):
    app = make_test_app(any_engine)
    client = app.test_client()
    admin = _token(client, any_engine, "admin")
    for method, url in ODD_REQUESTS:
        answer = client.open(url, method=method, headers=admin)
        assert 400 <= answer.status_code < 500, (method, url, answer.get_data(as_text=True))
        assert answer.get_json()["error"]


PLANNER = {"planner"}
STAFF = {"depot_staff"}
ANYONE_RESERVING = {"planner", "engineer", "depot_staff", "supervisor"}
WRITE_ROLES = {
    ("POST", "/api/v1/parts"): PLANNER,
    ("PUT", "/api/v1/parts/X1"): PLANNER,
    ("POST", "/api/v1/parts/import"): PLANNER,
    ("POST", "/api/v1/stock/import"): PLANNER,
    ("POST", "/api/v1/stock/receipts"): STAFF,
    ("POST", "/api/v1/stock/adjustments"): STAFF,
    ("POST", "/api/v1/stock/scrap"): STAFF,
    ("POST", "/api/v1/stock/condition-changes"): STAFF,
    ("POST", "/api/v1/stock/counts"): STAFF,
    ("POST", "/api/v1/reservations"): ANYONE_RESERVING,
    ("POST", "/api/v1/reservations/1/release"): ANYONE_RESERVING,
    ("POST", "/api/v1/reservations/1/pick"): STAFF,
    ("POST", "/api/v1/transfers"): {"planner", "depot_staff"},
    ("POST", "/api/v1/transfers/1/ship"): STAFF,
    ("POST", "/api/v1/transfers/1/receive"): STAFF,
    ("POST", "/api/v1/transfers/1/cancel"): {"planner", "depot_staff"},
    ("POST", "/api/v1/transfers/1/discrepancies/1/accept"): STAFF,
    ("POST", "/api/v1/transfers/1/discrepancies/1/send-back"): STAFF,
    ("POST", "/api/v1/transfers/1/late-parcels"): STAFF,
    ("POST", "/api/v1/transfers/1/write-off"): STAFF,
    ("POST", "/api/v1/units/SN0000001/bin"): {"planner", "depot_staff"},
    ("PUT", "/api/v1/stock/bins"): {"planner", "depot_staff"},
}


def test_every_write_refuses_other_roles_before_reading_the_body(client, api_token):
    tokens = {
        role: bearer(api_token(role, depot="BJ" if role == "depot_staff" else None))
        for role in ("planner", "engineer", "depot_staff", "supervisor")
    }
    refused = 0
    for (method, url), allowed in WRITE_ROLES.items():
        for role, headers in tokens.items():
            answer = client.open(url, method=method, json={"garbage": True}, headers=headers)
            if role in allowed:
                # Past the role check, the garbage body is what is refused.
                assert answer.status_code in (404, 415, 422), (method, url, role)
            else:
                assert answer.status_code == 403, (method, url, role, answer.get_json())
                refused += 1
    assert refused == 4 * 3 + 12 * 3 + 4 * 2


def test_every_inventory_route_is_documented_with_a_summary_and_errors(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    expected = {
        ("get", "/api/v1/parts"),
        ("post", "/api/v1/parts"),
        ("get", "/api/v1/parts/{part_number}"),
        ("put", "/api/v1/parts/{part_number}"),
        ("get", "/api/v1/stock"),
        ("post", "/api/v1/stock/receipts"),
        ("post", "/api/v1/stock/adjustments"),
        ("post", "/api/v1/stock/scrap"),
        ("post", "/api/v1/stock/condition-changes"),
        ("post", "/api/v1/stock/counts"),
        ("post", "/api/v1/reservations"),
        ("get", "/api/v1/reservations"),
        ("post", "/api/v1/reservations/{id}/release"),
        ("post", "/api/v1/reservations/{id}/pick"),
        ("post", "/api/v1/transfers"),
        ("get", "/api/v1/transfers"),
        ("get", "/api/v1/transfers/{id}"),
        ("post", "/api/v1/transfers/{id}/ship"),
        ("post", "/api/v1/transfers/{id}/receive"),
        ("post", "/api/v1/transfers/{id}/cancel"),
        ("post", "/api/v1/transfers/{id}/discrepancies/{discrepancy_id}/accept"),
        ("post", "/api/v1/transfers/{id}/discrepancies/{discrepancy_id}/send-back"),
        ("post", "/api/v1/transfers/{id}/late-parcels"),
        ("post", "/api/v1/transfers/{id}/write-off"),
        ("post", "/api/v1/units/{serial}/bin"),
        ("put", "/api/v1/stock/bins"),
        ("get", "/api/v1/ledger"),
        ("get", "/api/v1/units"),
        ("get", "/api/v1/units/{serial}"),
        ("get", "/api/v1/stock.csv"),
        ("get", "/api/v1/ledger.csv"),
        ("post", "/api/v1/parts/import"),
        ("post", "/api/v1/stock/import"),
    }
    documented = {
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "post", "put", "delete")
    }
    assert expected <= documented
    routes = {
        (
            method.lower(),
            rule.rule.replace("<int:id>", "{id}")
            .replace("<int:discrepancy_id>", "{discrepancy_id}")
            .replace("<part_number>", "{part_number}")
            .replace("<serial>", "{serial}"),
        )
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("inventory_api.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert routes == expected
    for method, path in expected:
        operation = document["paths"][path][method]
        assert operation["summary"], (method, path)
        assert {"200", "201"} & set(operation["responses"]), (method, path)
        assert "401" in operation["responses"], (method, path)
        assert operation["security"] == [{"bearer": []}]
    receipt = document["paths"]["/api/v1/stock/receipts"]["post"]["requestBody"]
    assert receipt["content"]["application/json"]["schema"]["$ref"].endswith("/ReceiptBody")


# --- speed ----------------------------------------------------------------------------------


def _seed_balances(engine, parts: int) -> int:
    """Parts with stock in several buckets at several depots, written straight to the
    tables: this measures reading, not booking."""
    depots = ("BJ", "SH", "GZ", "CD")
    with engine.begin() as connection:
        connection.execute(
            insert(Part),
            [
                {
                    "part_number": f"PERF-{i:05d}",
                    "description": f"perf part {i}",
                    "family": "optic",
                    "serialized": False,
                    "unit_cost": Decimal("10.00"),
                    "weight_kg": 0.1,
                    "criticality": "medium",
                    "created_at": auth.clock.now(),
                }
                for i in range(parts)
            ],
        )
        rows = [
            {
                "depot_code": depot,
                "part_number": f"PERF-{i:05d}",
                "bucket": bucket,
                "on_hand": 5,
                "reserved": 0,
            }
            for i in range(parts)
            for depot in depots
            for bucket in ("good", "defective")
        ]
        connection.execute(insert(StockBalance), rows)
        rebuild_part_stock(connection)
    return len(rows)


@pytest.mark.tampers_with_books
def test_stock_list_takes_a_fixed_number_of_queries_with_thousands_of_rows(
    app, client, engine, api_token
):
    headers = bearer(api_token("planner"))
    assert _seed_balances(engine, 600) == 4800
    statements: list[str] = []
    event.listen(
        engine, "before_cursor_execute", lambda conn, cursor, sql, *rest: statements.append(sql)
    )
    # Speed is measured by bench/bench_inventory.py, not here; this test pins
    # the query count, which is what keeps the answer fast as rows grow.
    for _ in range(5):
        answer = client.get("/api/v1/stock", headers=headers)
        assert answer.status_code == 200
        assert len(answer.get_json()) == 1000
    # One query for the token, one for the stock: no query per row (N+1).
    selects = [sql for sql in statements if sql.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 5 * 2, selects
