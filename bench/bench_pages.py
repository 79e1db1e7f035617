"""Page timings at scale: every list page renders in under 200 ms p95 with a million
ledger rows and a hundred thousand stock rows.

The database is built as a deployment's would be: migrated and seeded, the demo
data set loaded (users, customers, installed base, RMAs, escalations), then a
played stock history bulk-loaded on top (``bench.inventory_ledger``: receipts,
picks, transfers, condition changes and scrap over enough bulk parts that the
stock page has ``--stock-rows`` (depot, part) rows). Each page is rendered by
the application itself (Flask's test client: no network, no browser), signed in
as the demo administrator, in Chinese; the first request warms caches and is
not counted, then ``--repeat`` requests are timed one after the other.

    .venv/bin/python -m bench.bench_pages                      # SQLite, 1,000,000 rows
    .venv/bin/python -m bench.bench_pages --database postgresql
    .venv/bin/python -m bench.bench_pages --rows 50000 --stock-rows 5000   # a quick look
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from app import create_app
from bench.inventory_ledger import load_ledger
from core.cli import DEMO_KEY, SEEDERS_KEY
from core.config import load_settings
from core.db import UnitOfWork, make_engine
from core.demo import load_demo
from core.schema import upgrade

DEPOTS = 8
TARGET_P95_MS = 200.0
CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}
# The list pages of the issue, with the filters and sorts people use most.
PAGES: tuple[tuple[str, str], ...] = (
    ("home", "/"),
    ("stock, all depots", "/stock"),
    ("stock of one depot, sorted by available", "/stock?depot=BJ&sort=available&order=desc"),
    ("stock, page 50", "/stock?page=50"),
    ("ledger", "/ledger"),
    ("ledger of one depot, page 20", "/ledger?depot=SH&page=20"),
    ("units", "/units"),
    ("reservations", "/stock/reservations"),
    ("transfers", "/transfers"),
    ("cases (all)", "/rmas?scope=all"),
    ("cases, open", "/rmas/open"),
    ("returns", "/rmas/returns"),
    ("escalations", "/escalations"),
    ("customers", "/customers"),
    ("installed base", "/installed-base"),
    ("targets", "/targets"),
    ("rebalancing plans", "/rebalance"),
    ("users", "/users"),
    ("a part with its ledger", "/parts/BLK-000001"),
    ("ledger of one part", "/ledger?part_number=BLK-000002"),
    ("search (Chinese city)", "/search?q=%E9%95%BF%E6%B2%99"),
    ("search (part number prefix)", "/search?q=BLK-0001"),
)


@dataclass(frozen=True)
class Timing:
    page: str
    path: str
    status: int
    p50_ms: float
    p95_ms: float
    rows_shown: int

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.p95_ms < TARGET_P95_MS


@contextmanager
def database(kind: str, folder: Path, postgres_url: str, keep: Path | None) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{keep or folder / 'pages.db'}"
        return
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    name = f"spares_bench_pages_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield postgres_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def build(engine: Engine, url: str, rows: int, stock_rows: int) -> tuple[object, str]:
    """Migrate, seed, load the demo and the bulk ledger; the app over ``engine``."""
    upgrade(engine)
    settings = load_settings(database_url=url, secret_key="bench-secret")
    app = create_app(settings, engine=engine)
    for seed in app.extensions[SEEDERS_KEY]:
        seed(UnitOfWork(engine))
    load_demo(UnitOfWork(engine), app.extensions[DEMO_KEY], seed=2026)
    parts = max(1, stock_rows // DEPOTS)
    report = load_ledger(engine, entries=rows, parts=parts)
    size = f"{report.entries:,} ledger rows, {report.balances:,} balance rows, {parts:,} bulk parts"
    return app, size


def reopen(engine: Engine, url: str) -> tuple[object, str]:
    """The app over a database built by an earlier run (``--keep``), migrated to head."""
    upgrade(engine)
    settings = load_settings(database_url=url, secret_key="bench-secret")
    app = create_app(settings, engine=engine)
    with engine.connect() as connection:
        entries = connection.scalar(text("SELECT count(*) FROM ledger_entry"))
        balances = connection.scalar(text("SELECT count(*) FROM stock_balance"))
    return app, f"{entries:,} ledger rows, {balances:,} balance rows (kept database)"


def signed_in_client(app: object) -> Any:
    """A test client signed in as the demo administrator."""
    client = app.test_client()  # type: ignore[attr-defined]
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token, "no CSRF token on the login page"
    signed_in = client.post(
        "/login",
        data={"username": "admin", "password": "spares-demo", "csrf_token": token.group(1)},
    )
    assert signed_in.status_code == 302, "the demo administrator could not sign in"
    return client


def profile_page(app: object, path: str, repeat: int) -> None:
    """Print where the time of ``repeat`` renders of one page goes."""
    client = signed_in_client(app)
    client.get(path, headers=CHINESE)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(repeat):
        client.get(path, headers=CHINESE)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)


def time_pages(app: object, repeat: int) -> list[Timing]:
    client = signed_in_client(app)
    timings = []
    for name, path in PAGES:
        first = client.get(path, headers=CHINESE)
        samples = []
        for _ in range(repeat):
            start = time.perf_counter()
            answer = client.get(path, headers=CHINESE)
            samples.append((time.perf_counter() - start) * 1000)
        body = first.get_data(as_text=True)
        shown = body.count("<tr") - body.count("<thead")
        timings.append(
            Timing(
                name,
                path,
                answer.status_code,
                statistics.median(samples),
                percentile(samples, 95),
                shown,
            )
        )
    return timings


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def markdown(timings: list[Timing]) -> str:
    lines = [
        "| page | path | status | p50 | p95 | rows on the page | < 200 ms p95 |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in timings:
        lines.append(
            f"| {t.page} | `{t.path}` | {t.status} | {t.p50_ms:.0f} ms | {t.p95_ms:.0f} ms | "
            f"{t.rows_shown} | {'yes' if t.ok else 'NO'} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Page timings at scale (markdown table).")
    parser.add_argument("--rows", type=int, default=1_000_000, help="ledger rows to bulk-load")
    parser.add_argument("--stock-rows", type=int, default=100_000, help="(depot, part) rows")
    parser.add_argument("--repeat", type=int, default=40, help="timed requests per page")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument(
        "--profile",
        metavar="PATH",
        help="instead of timing every page, profile this one (cProfile, top 40 by cumulative time)",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="FILE",
        help="SQLite only: build the database in FILE and keep it; reuse it when it exists",
    )
    args = parser.parse_args(argv)
    if args.keep and args.database != "sqlite":
        parser.error("--keep is for SQLite")
    with (
        tempfile.TemporaryDirectory() as folder,
        database(args.database, Path(folder), args.postgres_url, args.keep) as url,
    ):
        engine = make_engine(url)
        start = time.perf_counter()
        if args.keep and args.keep.exists():
            app, size = reopen(engine, url)
        else:
            app, size = build(engine, url, args.rows, args.stock_rows)
        loaded = time.perf_counter() - start
        load = os.getloadavg()[0]
        if args.profile:
            profile_page(app, args.profile, args.repeat)
            engine.dispose()
            return 0
        timings = time_pages(app, args.repeat)
        print(
            f"{args.database}: {size}; built in {loaded:.0f} s; load average {load:.1f} "
            f"at start, {os.getloadavg()[0]:.1f} at end; {args.repeat} timed requests per page"
        )
        print()
        print(markdown(timings))
        engine.dispose()
    return 0 if all(t.ok for t in timings) else 1


if __name__ == "__main__":
    raise SystemExit(main())
