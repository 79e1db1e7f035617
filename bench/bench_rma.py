"""RMA creation under load: entitled replacements opened over HTTP, depot choice included.

    .venv/bin/python -m bench.bench_rma [--clients 32] [--workers 4] [--requests 3000]
    .venv/bin/python -m bench.bench_rma --profile 200        # in-process: statements, CPU, cProfile
    .venv/bin/python -m bench.bench_rma --profile 300 --sample   # ... sampled CPU shares instead

On a fresh PostgreSQL database (a new database on ``TEST_POSTGRES_URL``, dropped
afterwards) migrated and loaded with the demo data set, with 5,000 more units of
eight non-serialized parts received at every depot (so the storm never runs out
of stock and every case is allocated), it

* (default) starts `spares serve --workers N` and lets ``--clients`` closed-loop
  clients (4 processes x clients/4 threads, each sending its next request when
  the last one is answered) open ``--requests`` RMAs with ``POST /api/v1/rmas``
  (part number + site of a customer whose contract covers advance replacement:
  approved and allocated in the same request). It prints creations per second,
  p50/p95/p99 latency, the answers by status, the CPU seconds the server's
  processes, the database's backends and the clients spent per creation, and whether
  `spares check` is clean afterwards. Target: p95 < 300 ms, >= 100/s, no 5xx.
* (``--profile N``) opens N RMAs through the application in this process (Flask's
  test client: no network), counting SQL statements per request by SQLAlchemy's
  ``before_cursor_execute`` event and CPU time per request of this process, then
  prints cProfile's top functions and the statements of one request.

The load average (1/5/15 min) is printed at the start and the end: other work on
the machine stretches every figure.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import resource
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from bench.bench_inventory import DEFAULT_PG_URL, fresh_database, load_average, percentile
from core.auth import system_actor
from core.db import UnitOfWork, make_engine
from inventory.service import moves
from tests.drills.harness import DEMO_PASSWORD, Deployment, Request, volley

ROOT = Path(__file__).resolve().parents[1]
STOCK_PER_DEPOT = 5_000
PARTS = 8
DEPOTS = ("BJ", "SH", "GZ", "CD", "WH", "XA", "SY", "JN")
FAULT_LEVELS = ("C-1", "C-2", "C-3")


def stock_up(engine: Engine) -> tuple[list[str], list[int]]:
    """Receive plenty of eight non-serialized parts everywhere; the parts and the sites
    of customers whose active contract covers advance replacement."""
    with engine.connect() as connection:
        parts = list(
            connection.scalars(
                text(
                    "SELECT part_number FROM part WHERE NOT serialized AND superseded_by IS NULL "
                    "ORDER BY part_number LIMIT :n"
                ),
                {"n": PARTS},
            )
        )
        sites = list(
            connection.scalars(
                text(
                    "SELECT DISTINCT s.id FROM site s "
                    "JOIN contract c ON c.customer_id = s.customer_id "
                    "WHERE c.advance_replacement AND c.starts_on <= CURRENT_DATE "
                    "AND c.ends_on >= CURRENT_DATE ORDER BY s.id"
                )
            )
        )
    uow = UnitOfWork(engine)
    operator = system_actor()
    for depot in DEPOTS:
        for part in parts:
            moves.receive(uow, operator, depot, part, STOCK_PER_DEPOT, reference="bench rma")
    return parts, sites


def open_requests(parts: list[str], sites: list[int], count: int, token: str) -> list[Request]:
    rng = random.Random(2026)
    return [
        Request(
            "POST",
            "/api/v1/rmas",
            {
                "fault_level": rng.choice(FAULT_LEVELS),
                "kind": "advance_replacement",
                "symptom": f"bench storm {i}: port flapping",
                "part_number": rng.choice(parts),
                "site_id": rng.choice(sites),
            },
            token,
        )
        for i in range(count)
    ]


# --- CPU of the processes serving ----------------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def _backend_pids(engine: Engine, database: str) -> list[int]:
    with engine.connect() as connection:
        return list(
            connection.scalars(
                text(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE datname = :d AND pid <> pg_backend_pid()"
                ),
                {"d": database},
            )
        )


def cpu_snapshot(pgid: int, engine: Engine, database: str) -> dict[str, dict[int, float]]:
    """CPU seconds so far of the server's process group and of the database's backends
    (the workers keep their pooled connections, so their backends live through the run)."""
    return {
        "app": {pid: _cpu_seconds(pid) for pid in _group_pids(pgid)},
        "db": {pid: _cpu_seconds(pid) for pid in _backend_pids(engine, database)},
    }


def cpu_spent(
    before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]
) -> dict[str, float]:
    return {
        side: sum(seconds - before[side].get(pid, 0.0) for pid, seconds in after[side].items())
        for side in after
    }


# --- the storm -----------------------------------------------------------------------------


def _children_cpu() -> float:
    """CPU seconds of this process's ended children: around a volley, its client
    processes' (they share the machine's two cores with the server)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def storm(url: str, folder: Path, args: argparse.Namespace) -> int:
    deployment = Deployment.create(url, folder)
    deployment.prepare()
    engine = make_engine(url)
    parts, sites = stock_up(engine)
    database = engine.url.database or ""
    print(f"{len(parts)} parts x {len(DEPOTS)} depots stocked, {len(sites)} entitled sites")
    with deployment.serve(workers=args.workers) as server:
        token = server.token("engineer", DEMO_PASSWORD)
        # Warm every worker (imports, pools, caches) before the clock starts.
        volley(
            server.url,
            open_requests(parts, sites, 4 * args.workers, token),
            processes=4,
            threads=args.workers,
        )
        requests = open_requests(parts, sites, args.requests, token)
        assert server.process is not None
        before = cpu_snapshot(server.process.pid, engine, database)
        load_start = load_average()
        clients_before = _children_cpu()
        result = volley(
            server.url,
            requests,
            processes=4,
            threads=max(1, args.clients // 4),
            timeout=max(120.0, args.requests / 5),
        )
        clients_cpu = _children_cpu() - clients_before
        load_end = load_average()
        spent = cpu_spent(before, cpu_snapshot(server.process.pid, engine, database))
    check = deployment.cli("check")
    latencies = [a.seconds for a in result.answers if a.status]
    statuses = result.statuses()
    created = statuses.get(201, 0)
    fivexx = sum(n for status, n in statuses.items() if status >= 500 or status == 0)
    rate = created / result.seconds if result.seconds else 0.0
    p95 = percentile(latencies, 0.95) * 1000
    print(f"command: {' '.join(sys.argv)}")
    print(f"load average at start {load_start}; at end {load_end}")
    print(
        f"{args.clients} clients, `spares serve --workers {args.workers}`, PostgreSQL: "
        f"{created:,} created in {result.seconds:.1f} s = {rate:.1f}/s; "
        f"p50 {percentile(latencies, 0.5) * 1000:.0f} ms, p95 {p95:.0f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms; statuses {statuses}"
    )
    if created:
        print(
            f"CPU per creation: app {spent['app'] / created * 1000:.1f} ms, "
            f"database {spent['db'] / created * 1000:.1f} ms, "
            f"the benchmark's clients {clients_cpu / created * 1000:.1f} ms"
        )
    print(f"`spares check` exit {check.returncode}: {check.stdout.strip()[-300:]}")
    for failure in result.failures:
        print(failure)
    ok = p95 < 300 and rate >= 100 and fivexx == 0 and check.returncode == 0
    print("targets met" if ok else "targets NOT met (p95 < 300 ms, >= 100/s, no 5xx, check clean)")
    engine.dispose()
    return 0 if ok else 1


# --- one process: statements and CPU per request -----------------------------------------


class CpuSampler:
    """A CPU-time sampling profiler: every ``interval`` seconds of this process's CPU
    (``ITIMER_PROF``) the main thread's stack is noted while enabled. Unlike cProfile it
    adds no cost per call, so code made of many small calls (SQLModel's constructors,
    attribute events) is not inflated; shares are of the samples taken."""

    def __init__(self, interval: float = 0.0005) -> None:
        self.samples: list[list[str]] = []
        self.enabled = False
        signal.signal(signal.SIGPROF, self._sample)
        signal.setitimer(signal.ITIMER_PROF, interval, interval)

    def _sample(self, _signum: int, frame: Any) -> None:
        if not self.enabled:
            return
        stack = []
        while frame is not None:
            code = frame.f_code
            where = Path(code.co_filename)
            stack.append(f"{where.parent.name}/{where.name}:{code.co_name}")
            frame = frame.f_back
        self.samples.append(stack)

    def enable(self) -> None:
        self.enabled = True

    def disable(self) -> None:
        self.enabled = False

    def report(self, top: int) -> None:
        signal.setitimer(signal.ITIMER_PROF, 0, 0)
        total = len(self.samples) or 1
        inclusive: Counter[str] = Counter()
        own: Counter[str] = Counter()
        for stack in self.samples:
            inclusive.update(set(stack))
            own[stack[0]] += 1
        print(f"{len(self.samples)} CPU samples; share of samples in (inclusive):")
        for name, n in inclusive.most_common(top):
            print(f"  {100 * n / total:5.1f} % {name}")
        print("share of samples on top of the stack (own):")
        for name, n in own.most_common(top // 2):
            print(f"  {100 * n / total:5.1f} % {name}")


def profile(url: str, folder: Path, args: argparse.Namespace) -> int:
    from app import create_app
    from core.config import load_settings

    deployment = Deployment.create(url, folder)
    deployment.prepare()
    engine = make_engine(url)
    parts, sites = stock_up(engine)
    settings = load_settings(
        database_url=url, secret_key="bench", ratelimit_storage_uri="memory://"
    )
    app = create_app(settings, engine=engine)
    client = app.test_client()
    answer = client.post(
        "/api/v1/auth/token", json={"username": "engineer", "password": DEMO_PASSWORD}
    )
    token = answer.get_json()["token"]
    requests = open_requests(parts, sites, 2 * args.profile + 10, token)
    statements: list[str] = []
    tracing = False

    @event.listens_for(engine, "before_cursor_execute")
    def count(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        if not tracing:
            statements.append(statement)
            return
        # Where it comes from: the innermost project frames (not the libraries').
        ours = [
            f"{Path(f.filename).stem}.{f.name}"
            for f in traceback.extract_stack(limit=40)
            if f.filename.startswith(str(ROOT)) and "/.venv/" not in f.filename
        ]
        statements.append(f"{' < '.join(reversed(ours[-4:-1]))} | {' '.join(statement.split())}")

    def send(request: Request) -> None:
        reply = client.post(
            request.path, json=request.body, headers={"Authorization": f"Bearer {token}"}
        )
        assert reply.status_code == 201, reply.get_data(as_text=True)

    for request in requests[:10]:  # warm up
        send(request)
    # Clean pass: statements and CPU time, nothing else watching.
    per_request: list[int] = []
    cpu: list[float] = []
    for request in requests[10 : 10 + args.profile]:
        statements.clear()
        started = time.process_time()
        send(request)
        cpu.append(time.process_time() - started)
        per_request.append(len(statements))
    # Profiled pass: where the time goes (nothing else watching), then one request
    # traced for where each statement comes from (walking the stack is slow).
    profiler: cProfile.Profile | CpuSampler = (
        CpuSampler() if args.sample else cProfile.Profile(time.process_time)
    )  # CPU, not waiting on the database
    for request in requests[10 + args.profile : -1]:
        profiler.enable()
        send(request)
        profiler.disable()
    tracing = True
    statements.clear()
    send(requests[-1])
    last = list(statements)
    print(f"command: {' '.join(sys.argv)}")
    print(
        f"{args.profile} creations in process: statements per request "
        f"min {min(per_request)} max {max(per_request)} "
        f"mean {sum(per_request) / len(per_request):.1f}; "
        f"app CPU per request p50 {percentile(cpu, 0.5) * 1000:.1f} ms, "
        f"mean {sum(cpu) / len(cpu) * 1000:.1f} ms"
    )
    tenth = max(1, len(cpu) // 10)
    print(
        f"app CPU per request, mean of the first tenth {sum(cpu[:tenth]) / tenth * 1000:.1f} "
        f"ms, of the last tenth {sum(cpu[-tenth:]) / tenth * 1000:.1f} ms "
        "(does it grow with the cases?)"
    )
    print("statements of the last request, by kind:")
    for statement, n in Counter(s[:220] for s in last).most_common():
        print(f"  {n:3d} x {statement}")
    if isinstance(profiler, CpuSampler):
        profiler.report(args.top)
    else:
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)
    engine.dispose()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--profile", type=int, default=0, help="profile N creations in process")
    parser.add_argument("--top", type=int, default=40, help="cProfile lines with --profile")
    parser.add_argument("--sort", default="tottime", help="cProfile order (tottime, cumulative)")
    parser.add_argument(
        "--sample",
        action="store_true",
        help="with --profile: a CPU-time sampling profiler instead of cProfile",
    )
    args = parser.parse_args(argv)
    postgres_url = os.environ.get("TEST_POSTGRES_URL", DEFAULT_PG_URL)
    with (
        tempfile.TemporaryDirectory() as tmp,
        fresh_database("postgresql", Path(tmp), postgres_url) as url,
    ):
        if args.profile:
            return profile(url, Path(tmp), args)
        return storm(url, Path(tmp), args)


if __name__ == "__main__":
    sys.exit(main())
