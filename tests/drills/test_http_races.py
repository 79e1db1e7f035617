"""No oversell under real races through the HTTP API, on PostgreSQL and SQLite.

`spares serve --workers 4` (gunicorn: four processes, each with its own
connection pool) answers volleys of concurrent requests sent from four client
processes:

* reservations of one unit each for a part with 10 in stock at Beijing: exactly
  10 win, every other one gets a clean 409, nothing fails with a 5xx;
* ships of drafted transfers in both directions between Beijing and Shanghai:
  each ships (200) or is refused short (409), and the stock is conserved.

After each, `spares check` must find the books balanced.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter

import pytest

from tests.drills.harness import Deployment, Request, Server, volley

pytestmark = pytest.mark.slow

IN_STOCK = 10
CLIENT_PROCESSES = 4
# SQLite serialises every writer on one lock: 40 racers make the point there.
RACERS = {"postgresql": 200, "sqlite": 40}


def new_part(server: Server, planner: str, prefix: str, *, serialized: bool = False) -> str:
    """A new part in the catalogue, created through the API by a planner."""
    number = f"{prefix}-{uuid.uuid4().hex[:8].upper()}"
    server.must(
        "POST",
        "/api/v1/parts",
        {
            "part_number": number,
            "description": f"drill part {number}",
            "family": "line_card",
            "serialized": serialized,
            "unit_cost": 1200.5,
        },
        planner,
        status=201,
    )
    return number


def test_concurrent_reservations_never_oversell(deployment: Deployment) -> None:
    requests = RACERS[deployment.dialect]
    with deployment.serve(workers=4) as server:
        planner, staff = server.token("planner"), server.token("staff-bj")
        part = new_part(server, planner, "RACE")
        server.must(
            "POST",
            "/api/v1/stock/receipts",
            {"depot": "BJ", "part_number": part, "qty": IN_STOCK, "serials": []},
            staff,
            status=201,
        )
        race = [
            Request(
                "POST",
                "/api/v1/reservations",
                {"depot": "BJ", "part_number": part, "qty": 1, "reference": f"race-{i}"},
                planner,
            )
            for i in range(requests)
        ]

        result = volley(server.url, race, processes=CLIENT_PROCESSES)

        assert result.failures == []
        statuses = result.statuses()
        assert statuses == {201: IN_STOCK, 409: requests - IN_STOCK}, (
            f"{statuses}\nserver log:\n{server.log()}"
        )
        refusals = Counter(a.body["error"] for a in result.answers if a.status == 409)
        assert refusals == {"insufficient_stock": requests - IN_STOCK}
        won = {a.body["reference"]: a.body["id"] for a in result.answers if a.status == 201}
        assert len(set(won.values())) == IN_STOCK
        [row] = server.must("GET", f"/api/v1/stock?depot=BJ&part_number={part}", token=planner)
        assert (row["good"], row["reserved"], row["available"]) == (IN_STOCK, IN_STOCK, 0)
        held = server.must("GET", "/api/v1/reservations?depot=BJ&status=active", token=planner)
        assert {r["reference"]: r["id"] for r in held if r["part_number"] == part} == won

    check = deployment.cli("check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "books balance" in check.stdout


# SQLite's single writer lock makes every ship wait its turn; fewer ships say the same.
SHIPS = {"postgresql": 60, "sqlite": 30}
STORM_STOCK = 20  # per part and depot


def test_concurrent_ships_both_ways_through_the_api_conserve_stock(
    deployment: Deployment,
) -> None:
    ships = SHIPS[deployment.dialect]
    rng = random.Random(ships)
    with deployment.serve(workers=4) as server:
        planner = server.token("planner")
        staff = {"BJ": server.token("staff-bj"), "SH": server.token("staff-sh")}
        parts = [new_part(server, planner, "HST"), new_part(server, planner, "HST")]
        serialized = new_part(server, planner, "HSS", serialized=True)
        for depot, token in staff.items():
            for part in [*parts, serialized]:
                serials = (
                    [f"{part}-{depot}-{n:03d}" for n in range(STORM_STOCK)]
                    if part == serialized
                    else []
                )
                server.must(
                    "POST",
                    "/api/v1/stock/receipts",
                    {"depot": depot, "part_number": part, "qty": STORM_STOCK, "serials": serials},
                    token,
                    status=201,
                )
        drafts = []
        for _ in range(ships):
            source, target = rng.choice([("BJ", "SH"), ("SH", "BJ")])
            lines = [
                {"part_number": part, "qty": rng.randint(1, 3)}
                for part in rng.sample([*parts, serialized], rng.randint(1, 3))
            ]
            body = {"from_depot": source, "to_depot": target, "lines": lines}
            draft = server.must("POST", "/api/v1/transfers", body, planner, status=201)
            assert draft["status"] == "draft"
            drafts.append(draft)

        result = volley(
            server.url,
            [
                Request("POST", f"/api/v1/transfers/{d['id']}/ship", {}, staff[d["from_depot"]])
                for d in drafts
            ],
            processes=CLIENT_PROCESSES,
        )

        assert result.failures == []
        statuses = result.statuses()
        assert set(statuses) <= {200, 409}, f"{statuses}\nserver log:\n{server.log()}"
        assert statuses.get(200, 0) > 0
        assert {a.body["error"] for a in result.answers if a.status == 409} <= {
            "insufficient_stock"
        }
        on_the_road: Counter[tuple[str, str]] = Counter()
        for draft, answer in zip(drafts, result.answers, strict=True):
            now = server.must("GET", f"/api/v1/transfers/{draft['id']}", token=planner)
            assert now["status"] == ("shipped" if answer.status == 200 else "draft")
            if answer.status == 200:
                for line in now["lines"]:
                    on_the_road[(draft["to_depot"], line["part_number"])] += line["qty"]
        for part in [*parts, serialized]:
            rows = server.must(
                "GET", f"/api/v1/stock?part_number={part}&include_empty=true", token=planner
            )
            by_depot = {row["depot"]: row for row in rows}
            assert sum(r["good"] + r["in_transit"] for r in rows) == 2 * STORM_STOCK
            for depot in ("BJ", "SH"):
                assert by_depot[depot]["in_transit"] == on_the_road[(depot, part)]
                assert by_depot[depot]["reserved"] == 0

    check = deployment.cli("check")
    assert check.returncode == 0, check.stdout + check.stderr
