"""The stock-status report at scale: build time (wall and CPU) and PDF time.

A migrated SQLite database gets ``--parts`` bulk parts over the eight depots with
about ``--rows`` ledger rows (``bench.inventory_ledger``) and a computed target on
``--targeted`` of the (depot, part) pairs holding stock; then the report is built
for the whole network, one depot and one family. ``--keep FILE`` builds the
database once and reuses it.

    .venv/bin/python -m bench.bench_stock_status --keep /tmp/stock1m.db
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask
from sqlalchemy import text
from sqlalchemy.engine import Engine

from app import create_app
from bench.inventory_ledger import load_ledger
from core.cli import SEEDERS_KEY
from core.config import load_settings
from core.db import UnitOfWork, make_engine
from core.schema import upgrade
from inventory.service import targets
from reports.catalogue import kind_of
from reports.files import render
from reports.service.filters import Filters
from reports.service.stock_status import stock_status

CASES: tuple[dict[str, str], ...] = ({}, {"depot": "BJ"}, {"family": "optic"})


def prepare(path: Path, rows: int, parts: int, targeted: float) -> tuple[Flask, Engine]:
    """The app and engine over ``path``, loaded unless it already was."""
    url = f"sqlite:///{path}"
    fresh = not path.exists()
    engine = make_engine(url)
    upgrade(engine)
    app = create_app(load_settings(database_url=url, secret_key="bench"), engine=engine)
    if fresh:
        for seed in app.extensions[SEEDERS_KEY]:
            seed(UnitOfWork(engine))
        load_ledger(engine, entries=rows, parts=parts)
        rng = random.Random(2026)
        with engine.connect() as connection:
            pairs = connection.execute(text("SELECT depot_code, part_number FROM part_stock"))
            chosen = [
                targets.ComputedTarget(depot, part, rng.randint(0, 6), 0.1)
                for depot, part in pairs
                if rng.random() < targeted
            ]
        computation = targets.Computation(datetime.now(UTC), 14.0, 0.95)
        targets.replace_computed(UnitOfWork(engine), chosen, computation)
    return app, engine


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The stock-status report at scale.")
    parser.add_argument("--rows", type=int, default=1_000_000, help="ledger rows to bulk-load")
    parser.add_argument("--parts", type=int, default=100_000, help="bulk parts")
    parser.add_argument("--targeted", type=float, default=0.6, help="share of pairs with a target")
    parser.add_argument(
        "--keep", type=Path, metavar="FILE", help="build the database here, reuse it"
    )
    parser.add_argument("--pdf", action="store_true", help="also time the PDF")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        path = args.keep or Path(folder) / "stock.db"
        start = time.perf_counter()
        app, engine = prepare(path, args.rows, args.parts, args.targeted)
        print(
            f"database ready in {time.perf_counter() - start:.0f} s; load {os.getloadavg()[0]:.1f}"
        )
        with app.app_context():
            uow = UnitOfWork(engine)
            for case in CASES:
                chosen = Filters.parse(uow, applies=("depot", "family"), **case)
                wall, cpu = time.perf_counter(), time.process_time()
                report = stock_status(uow, chosen)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                line = f"{case or 'whole network'}: built in {wall:.2f} s wall, {cpu:.2f} s CPU"
                if args.pdf:
                    wall = time.perf_counter()
                    size = len(render(kind_of("stock-status"), report, "pdf").content)
                    line += f"; PDF {time.perf_counter() - wall:.2f} s ({size:,} bytes)"
                print(line, {figure.key: figure.value for figure in report.figures})
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
