"""The rebalancing report's PDF for a 10,000-line plan: how long it takes to write.

    .venv/bin/python -m bench.bench_report_rebalancing [--lines 10000] [--parts 3000]
        [--rows 60000] [--repeat 3] [--keep /tmp/spares-report-rebalancing.sqlite]

Builds (or, with ``--keep``, reuses) a SQLite database in a temporary folder:
migrated, seeded (depots and lanes), ``--rows`` ledger rows over ``--parts`` bulk
parts from ``bench.inventory_ledger``, computed targets at three depots per part,
and one proposed plan of ``--lines`` moves (distinct part and lane, 1-5 units,
freight at the lane's cost per unit, as the optimizer stores it) written straight
into the plan tables. Then it times the report as ``spares report rebalancing
--plan N --format pdf`` writes it - building the report (``KIND.build``) and
rendering the PDF (``reports.files.render``) - best of ``--repeat``, and prints the
pages, the size, the equivalent command and the load average. Target: under 10 s.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import insert

from app import create_app
from bench.inventory_ledger import load_ledger
from bench.inventory_ledger import part_numbers as bulk_part_numbers
from core.cli import SEEDERS_KEY
from core.config import load_settings
from core.db import UnitOfWork, make_engine
from core.schema import upgrade
from depots.service.network import list_lanes
from inventory.models import RebalanceMove, RebalancePlan
from inventory.service.targets import Computation, ComputedTarget, replace_computed
from reports.catalogue import kind_of
from reports.files import render
from reports.service.filters import Filters

DEPOTS = ["BJ", "SH", "GZ", "CD", "WH", "XA", "SY", "JN"]
TARGET_SECONDS = 10.0


def build(url: str, *, parts: int, rows: int, lines: int) -> int:
    """Make the database; answer the plan's id."""
    engine = make_engine(url)
    upgrade(engine)
    app = create_app(load_settings(database_url=url, secret_key="bench"), engine=engine)
    for seed in app.extensions[SEEDERS_KEY]:
        seed(UnitOfWork(engine))
    load_ledger(engine, entries=rows, parts=parts)
    rng = random.Random(2026)
    numbers = bulk_part_numbers(parts)
    targets = [
        ComputedTarget(depot, number, rng.randint(1, 6), 0.1)
        for number in numbers
        for depot in rng.sample(DEPOTS, 3)
    ]
    replace_computed(UnitOfWork(engine), targets, Computation(datetime.now(UTC), 14.0, 0.95))
    lane_cost = {
        (lane.from_depot, lane.to): Decimal(lane.cost)
        for lane in list_lanes(UnitOfWork(engine), kind="depot")
    }
    lanes = sorted(lane_cost)
    if lines > parts * len(lanes):
        raise SystemExit(f"--lines {lines} needs more than {parts} parts")
    chosen: set[tuple[str, str, str]] = set()
    while len(chosen) < lines:
        source, target = rng.choice(lanes)
        chosen.add((rng.choice(numbers), source, target))
    moves = []
    for part, source, target in sorted(chosen):
        qty = rng.randint(1, 5)
        unit = lane_cost[(source, target)].quantize(Decimal("0.01"))
        moves.append((part, source, target, qty, unit, unit * qty))
    with engine.begin() as connection:
        plan_id = connection.execute(
            insert(RebalancePlan.__table__).values(  # type: ignore[attr-defined]
                status="proposed",
                units_moved=sum(m[3] for m in moves),
                cost=sum((m[5] for m in moves), Decimal("0.00")),
                shortage_before=0,
                shortage_left=0,
                parts=len({m[0] for m in moves}),
                created_by="bench-planner",
                created_at=datetime.now(UTC),
                transfer_ids="[]",
            )
        ).inserted_primary_key[0]
        connection.execute(
            insert(RebalanceMove.__table__),  # type: ignore[attr-defined]
            [
                {
                    "plan_id": plan_id,
                    "part_number": part,
                    "from_depot": source,
                    "to_depot": target,
                    "qty": qty,
                    "unit_cost": unit,
                    "cost": cost,
                }
                for part, source, target, qty, unit, cost in moves
            ],
        )
    engine.dispose()
    return int(plan_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--parts", type=int, default=3_000)
    parser.add_argument("--rows", type=int, default=60_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None)
    args = parser.parse_args()
    path = args.keep or Path(tempfile.mkdtemp(prefix="spares-report-rebalancing-")) / "db.sqlite"
    url = f"sqlite:///{path}"
    if path.exists():
        plan_id = 1
    else:
        started = time.perf_counter()
        plan_id = build(url, parts=args.parts, rows=args.rows, lines=args.lines)
        print(f"built {path} in {time.perf_counter() - started:.0f} s")
    engine = make_engine(url)
    app = create_app(load_settings(database_url=url, secret_key="bench"), engine=engine)
    kind = kind_of("rebalancing")
    print(f"load average at start: {os.getloadavg()}")
    timings: list[tuple[float, float, float, int]] = []
    with app.test_request_context():
        for _ in range(args.repeat):
            cpu = time.process_time()
            start = time.perf_counter()
            filters = Filters.parse(UnitOfWork(engine), plan=plan_id, applies=kind.filters)
            report = kind.build(UnitOfWork(engine), filters)
            built = time.perf_counter()
            pdf = render(kind, report, "pdf", generated_by="bench")
            done = time.perf_counter()
            timings.append(
                (done - start, built - start, time.process_time() - cpu, len(pdf.content))
            )
    wall, data, cpu, size = min(timings)
    lines = len(report.tables["moves"])
    lanes = len(report.tables["lanes"])
    pages = pdf.content.count(b"/Type /Page\n") or pdf.content.count(b"/Type /Page")
    print(
        f"command: DATABASE_URL={url} spares report rebalancing --plan {plan_id} "
        f"--format pdf --out plan.pdf"
    )
    print(
        f"rebalancing PDF, {lines:,} lines on {lanes} lanes: {wall:.2f} s (best of "
        f"{args.repeat}; data {data:.2f} s, PDF {wall - data:.2f} s; CPU {cpu:.2f} s), "
        f"{size / 1e6:.1f} MB, about {pages} pages; target under {TARGET_SECONDS:.0f} s: "
        f"{'met' if wall < TARGET_SECONDS else 'NOT met'}"
    )
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
