"""Stock moves over HTTP at 1, 4 and 16 clients (issue 12): throughput and p95.

    .venv/bin/python -m bench.bench_moves [--count 120] [--clients 1,4,16]
        [--databases sqlite,postgresql] [--workers 4]

On a fresh database of each kind (a temporary SQLite file; a new PostgreSQL
database on ``TEST_POSTGRES_URL``, dropped afterwards) it prepares, through the
service layer, everything the requests act on - drafts to ship, RMAs allocated
at SH waiting to ship - then times, against `spares serve --workers N`, four
write endpoints, ``--count`` requests per endpoint and client count:

* ``POST /api/v1/stock/receipts`` (BJ staff, a bulk part);
* ``POST /api/v1/transfers/<id>/ship`` (BJ staff, a draft BJ -> SH of one bulk line);
* ``POST /api/v1/transfers/<id>/receive`` with ``as_shipped`` (SH staff);
* ``POST /api/v1/rmas/<number>/ship`` with the scanned serial (SH staff).

N closed-loop clients are N threads spread over up to 4 client processes, each
sending its share one request after the other. Latencies are p50/p95 over all
requests of a row; every answer must be the endpoint's success status, and
``spares check`` must be clean at the end. The machine is shared: the load
average at start and end is printed with the table; quote it beside the figures.

``--in-process`` instead sends the same four requests one at a time through the
Flask test client on a SQLite file, in this process, and prints statements and
CPU milliseconds per request: the cost of one request, which background load
stretches far less than it stretches latencies.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine

from bench.bench_inventory import (
    DEFAULT_PG_URL,
    PASSWORD,
    fresh_database,
    load_average,
    machine,
    percentile,
    postgres_reachable,
)
from core import auth, clock, schema
from core.db import UnitOfWork, make_engine
from depots.service.reference import seed_reference_data
from inventory.models import PartIn
from inventory.service import catalog, moves, transfers
from inventory.service.transfers import LineIn
from rma.service import customers, opening
from tests.drills.harness import Deployment, Request, Server, volley

BULK = "MOVE-SFP-10G"
UNIT = "MOVE-SW-48"


@dataclass(frozen=True)
class Figure:
    database: str
    endpoint: str
    clients: int
    count: int
    seconds: float
    p50_ms: float
    p95_ms: float
    statuses: dict[int, int]
    ok: bool

    def line(self) -> str:
        verdict = "" if self.ok else f" **FAILED {self.statuses}**"
        return (
            f"| {self.database} | {self.endpoint} | {self.clients} | "
            f"**{self.count / self.seconds:,.1f}/s** | {self.p50_ms:.1f} | "
            f"**{self.p95_ms:.1f}** |{verdict}"
        )


@dataclass(frozen=True)
class Work:
    """What the timed requests act on, prepared through the service layer."""

    drafts: list[int]
    rmas: list[tuple[str, str]]  # number, the serial reserved for it


def prepare(engine_url: str, needed: int) -> Work:
    """Migrate, seed, create users, parts, ``needed`` drafts BJ -> SH and ``needed`` RMAs
    allocated at SH (each with a reserved serial at SH)."""
    engine = make_engine(engine_url)
    try:
        schema.upgrade(engine)
        uow = UnitOfWork(engine)
        seed_reference_data(uow)
        admin = auth.system_actor()
        planner = auth.create_user(uow, "bench-planner", PASSWORD, "planner")
        auth.create_user(uow, "bench-engineer", PASSWORD, "engineer")
        for depot in ("BJ", "SH"):
            auth.create_user(
                uow, f"bench-{depot.lower()}", PASSWORD, "depot_staff", depot_code=depot
            )
        for number, serialized, family in ((BULK, False, "optic"), (UNIT, True, "chassis")):
            catalog.create_part(
                uow,
                admin,
                PartIn(
                    part_number=number,
                    description=number,
                    family=family,
                    serialized=serialized,
                    unit_cost=Decimal("100.00"),
                ),
            )
        moves.receive(uow, admin, "BJ", BULK, 100_000, reference="bench opening")
        serials = [f"MV{n:07d}" for n in range(needed)]
        moves.receive(uow, admin, "SH", UNIT, needed, serials, reference="bench opening")
        drafts = [
            transfers.create_transfer(uow, planner, "BJ", "SH", [LineIn(BULK, 1)]).transfer.id
            for _ in range(needed)
        ]
        customer = customers.create_customer(uow, admin, "MOVES", "Moves Bench Co")
        site = customers.create_site(uow, admin, customer.id, "HQ", "Shanghai")
        today = clock.local(clock.now()).date()
        rmas = []
        for n in range(needed):
            unit = customers.create_installed_unit(
                uow,
                admin,
                f"MVINST{n:06d}",
                UNIT,
                site.id,
                today - timedelta(days=400),
                today + timedelta(days=200),
            )
            rma = opening.open_rma(
                uow,
                admin,
                opening.OpenRequest("C-3", "advance_replacement", "bench", serial=unit.serial),
            )
            if rma.depot_code != "SH":
                raise RuntimeError(f"{rma.number} allocated at {rma.depot_code}, not SH")
            rmas.append(rma.number)
        # Which serial each case ships: any unit held by its reservation (the scanner's).
        reserved = _reserved_serials(engine, rmas)
        return Work(drafts, [(number, reserved[number]) for number in rmas])
    finally:
        engine.dispose()


def _reserved_serials(engine: Engine, numbers: list[str]) -> dict[str, str]:
    """The unit each case's reservation holds, or else a good unit at SH of its own."""
    with engine.connect() as connection:
        pinned = dict(
            connection.execute(
                text(
                    "SELECT rma.number, unit.serial FROM rma JOIN unit "
                    "ON unit.reservation_id = rma.reservation_id"
                )
            ).all()
        )
        free = [
            serial
            for (serial,) in connection.execute(
                text(
                    "SELECT serial FROM unit WHERE part_number = :p AND depot_code = 'SH' "
                    "AND reservation_id IS NULL ORDER BY serial"
                ),
                {"p": UNIT},
            )
        ]
    spare = iter(free)
    return {number: pinned.get(number) or next(spare) for number in numbers}


def run(database: str, server: Server, work: Work, count: int, clients: list[int]) -> list[Figure]:
    tokens = {who: server.token(f"bench-{who}", PASSWORD) for who in ("bj", "sh")}
    drafts, rmas = list(work.drafts), list(work.rmas)
    figures = []
    for n in clients:
        shipped = [drafts.pop() for _ in range(count)]
        cases = [rmas.pop() for _ in range(count)]
        batches = (
            (
                "POST /stock/receipts",
                201,
                [
                    Request(
                        "POST",
                        "/api/v1/stock/receipts",
                        {"depot": "BJ", "part_number": BULK, "qty": 1, "reference": "bench"},
                        tokens["bj"],
                    )
                    for _ in range(count)
                ],
            ),
            (
                "POST /transfers/<id>/ship",
                200,
                [Request("POST", f"/api/v1/transfers/{t}/ship", {}, tokens["bj"]) for t in shipped],
            ),
            (
                "POST /transfers/<id>/receive",
                200,
                [
                    Request(
                        "POST", f"/api/v1/transfers/{t}/receive", {"as_shipped": True}, tokens["sh"]
                    )
                    for t in shipped
                ],
            ),
            (
                "POST /rmas/<number>/ship",
                200,
                [
                    Request("POST", f"/api/v1/rmas/{c}/ship", {"serial": s}, tokens["sh"])
                    for c, s in cases
                ],
            ),
        )
        for endpoint, status, requests in batches:
            processes = min(n, 4)
            result = volley(
                server.url, requests, processes=processes, threads=n // processes, timeout=900
            )
            latencies = [a.seconds for a in result.answers]
            statuses = result.statuses()
            ok = not result.failures and statuses == {status: count}
            if not ok:
                bad = next((a for a in result.answers if a.status != status), None)
                print(f"{endpoint} x{n}: {statuses} {result.failures[:1]} {bad}", file=sys.stderr)
            figure = Figure(
                database,
                endpoint,
                n,
                count,
                result.seconds,
                percentile(latencies, 0.5) * 1000,
                percentile(latencies, 0.95) * 1000,
                statuses,
                ok,
            )
            print(figure.line(), flush=True)
            figures.append(figure)
    return figures


def in_process(folder: Path, count: int) -> None:
    """Statements and CPU ms per request of each endpoint, one request at a time through
    the Flask test client (SQLite), after ``count // 10`` requests of warm-up."""
    from sqlalchemy import event

    from app import create_app
    from core.config import load_settings

    warm = max(count // 10, 1)
    url = f"sqlite:///{folder / 'in-process.db'}"
    work = prepare(url, count + warm)
    engine = make_engine(url)
    settings = load_settings(
        database_url=url,
        secret_key="bench-secret",
        ratelimit_storage_uri="memory://",
        login_rate_limit="100000 per minute",
    )
    client = create_app(settings, engine=engine).test_client()
    headers = {}
    for who in ("bj", "sh"):
        answer = client.post(
            "/api/v1/auth/token", json={"username": f"bench-{who}", "password": PASSWORD}
        )
        headers[who] = {"Authorization": f"Bearer {answer.get_json()['token']}"}
    statements = [0]

    def count_statement(*_: object) -> None:
        statements[0] += 1

    event.listen(engine, "before_cursor_execute", count_statement)
    drafts, rmas = list(work.drafts), list(work.rmas)
    receipt = {"depot": "BJ", "part_number": BULK, "qty": 1, "reference": "bench"}
    kinds = (
        ("POST /stock/receipts", 201, lambda i: ("/api/v1/stock/receipts", receipt, "bj")),
        (
            "POST /transfers/<id>/ship",
            200,
            lambda i: (f"/api/v1/transfers/{drafts[i]}/ship", {}, "bj"),
        ),
        (
            "POST /transfers/<id>/receive",
            200,
            lambda i: (f"/api/v1/transfers/{drafts[i]}/receive", {"as_shipped": True}, "sh"),
        ),
        (
            "POST /rmas/<number>/ship",
            200,
            lambda i: (f"/api/v1/rmas/{rmas[i][0]}/ship", {"serial": rmas[i][1]}, "sh"),
        ),
    )
    print("| endpoint | statements per request | CPU ms per request | wall ms per request |")
    print("|---|---|---|---|")
    for endpoint, status, make in kinds:
        for i in range(warm):
            path, body, who = make(count + i)
            client.post(path, json=body, headers=headers[who])
        statements[0] = 0
        cpu, wall = time.process_time(), time.perf_counter()
        for i in range(count):
            path, body, who = make(i)
            answer = client.post(path, json=body, headers=headers[who])
            if answer.status_code != status:
                raise RuntimeError(f"{endpoint}: {answer.status_code} {answer.get_json()}")
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        print(
            f"| {endpoint} | {statements[0] / count:.1f} | **{cpu * 1000 / count:.1f}** "
            f"| {wall * 1000 / count:.1f} |",
            flush=True,
        )
    engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Stock moves over HTTP (markdown table).")
    parser.add_argument("--count", type=int, default=120, help="requests per endpoint and row")
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="statements and CPU ms per request through the test client (SQLite)",
    )
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--workers", type=int, default=4, help="`spares serve --workers`")
    parser.add_argument(
        "--postgres-url", default=os.environ.get("TEST_POSTGRES_URL", DEFAULT_PG_URL)
    )
    args = parser.parse_args(argv)
    clients = [int(c) for c in args.clients.split(",")]
    kinds = [k.strip() for k in args.databases.split(",") if k.strip()]
    if "postgresql" in kinds and not postgres_reachable(args.postgres_url):
        kinds.remove("postgresql")
        print(f"PostgreSQL skipped: not reachable at {args.postgres_url}")
    command = "python -m bench.bench_moves " + " ".join(argv if argv is not None else sys.argv[1:])
    print(f"Command: `.venv/bin/{command.strip()}`")
    print(f"Machine: {machine(args.postgres_url if 'postgresql' in kinds else None)}")
    print(f"Load average (1/5/15 min) at the start: {load_average()}", flush=True)
    if args.in_process:
        with tempfile.TemporaryDirectory(prefix="bench-moves-") as tmp:
            in_process(Path(tmp), args.count)
        print(f"Load average (1/5/15 min) at the end: {load_average()}", flush=True)
        return 0
    print("| database | endpoint | clients | throughput | p50 ms | p95 ms |")
    print("|---|---|---|---|---|---|", flush=True)
    figures: list[Figure] = []
    checks_ok = True
    with tempfile.TemporaryDirectory(prefix="bench-moves-") as tmp:
        for kind in kinds:
            folder = Path(tmp) / kind
            folder.mkdir()
            with fresh_database(kind, folder, args.postgres_url) as url:
                started = time.perf_counter()
                work = prepare(url, args.count * len(clients))
                print(f"({kind}: prepared in {time.perf_counter() - started:.0f} s)", flush=True)
                deployment = Deployment.create(url, folder)
                with deployment.serve(workers=args.workers) as server:
                    figures += run(kind, server, work, args.count, clients)
                check = deployment.cli("check", timeout=600)
                print(f"({kind}: `spares check` exit {check.returncode})", flush=True)
                checks_ok = checks_ok and check.returncode == 0
    print(f"Load average (1/5/15 min) at the end: {load_average()}", flush=True)
    return 0 if checks_ok and all(f.ok for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
