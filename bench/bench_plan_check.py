"""What telling a rebalancing plan's staleness costs: the inputs mark against the exact
check, on a database built by ``bench.bench_plan_db``.

    .venv/bin/python -m bench.bench_plan_check --db /tmp/plan/plan100k.sqlite [--repeat 3]

Times ``rebalancing.inputs_mark`` (what the plan's page reads while nothing changed)
and ``read_inputs(...).basis()`` (the exact check: every balance, draft line and target
read again), each in a read-only transaction of its own: wall and CPU time, best of
``--repeat``, and the SQL statements each runs. The load average is printed at the
start and the end.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, event, func, select

from core.db import UnitOfWork, make_engine, read_only
from inventory.models import Movement
from inventory.service import rebalancing


def _measure(engine: Engine, check: Callable[[UnitOfWork], Any], repeat: int) -> str:
    statements = [0]

    def count(*_: Any) -> None:
        statements[0] += 1

    best: tuple[float, float, int] | None = None
    event.listen(engine, "before_cursor_execute", count)
    try:
        for _ in range(repeat):
            statements[0] = 0
            wall, cpu = time.perf_counter(), time.process_time()
            read_only(check)(UnitOfWork(engine))
            run = (time.perf_counter() - wall, time.process_time() - cpu, statements[0])
            best = run if best is None or run[0] < best[0] else best
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert best is not None
    return f"wall {best[0]:.3f} s, CPU {best[1]:.3f} s, {best[2]} statements"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="a database built by bench.bench_plan_db")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    engine = make_engine(f"sqlite:///{args.db}")
    print(f"load average at start: {os.getloadavg()}")
    with engine.connect() as connection:
        movements = connection.scalar(select(func.count()).select_from(Movement))
    print(f"database: {movements:,} movements")
    print(f"inputs mark: {_measure(engine, rebalancing.inputs_mark, args.repeat)}")
    exact = _measure(engine, lambda u: rebalancing.read_inputs(u).basis(), args.repeat)
    print(f"exact check: {exact}")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
