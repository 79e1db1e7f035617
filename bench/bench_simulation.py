"""A year of simulated demand: time of ``optimizer.simulation.simulate``, and how
closely it agrees with ``optimizer.availability.predict``.

    .venv/bin/python -m bench.bench_simulation [--source demo|generated] [--parts 300]
        [--days 365] [--seeds 0,1,2] [--repeat 3] [--repair]

``--source demo`` builds the demo data set in a fresh SQLite database (``spares db
upgrade`` and ``spares demo`` in a temporary instance folder) and takes its network and
the targets ``planning.service.availability.optimize`` proposes (goal 0.95, 24 h);
``generated`` uses ``bench.availability_network.generated_network(2026, parts)`` with
base stock 1 everywhere. The time is the wall time of ``simulate`` alone (the best of
``--repeat``, CPU time beside it), the events it replayed, and per seed the simulated
and predicted share within the window and their gap in percentage points. The load
average is printed at the start and the end: the machine is shared, figures are noisy.
``--agreement-days`` (default 100 years) runs once more for the agreement figure: a
year of the demo is ~130 requests, whose sampling noise alone is +-2.5 points.
Target: a year for the demo network under 30 s; simulated within 3 points of predicted.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from optimizer.availability import ServiceNetwork
from optimizer.simulation import RepairLoop, simulate

SPARES = str(Path(sys.executable).with_name("spares"))


def demo_network() -> tuple[ServiceNetwork, np.ndarray]:
    """The demo data set's network and the optimize proposal's targets (goal 0.95, 24
    hours; the demo holds no targets of its own), from a fresh database."""
    from app import create_app
    from core.config import load_settings
    from planning.service import availability

    folder = Path(tempfile.mkdtemp(prefix="spares-bench-sim-"))
    env = {**os.environ, "SPARES_INSTANCE": str(folder)}
    env["DATABASE_URL"] = f"sqlite:///{folder / 'demo.db'}"
    for args in (["db", "upgrade"], ["demo"]):
        subprocess.run([SPARES, *args], env=env, check=True, capture_output=True, timeout=600)
    app = create_app(load_settings(database_url=env["DATABASE_URL"], secret_key="bench"))
    with app.app_context():
        from core.web import uow

        work = uow()
        proposal = availability.optimize(work)
    return proposal.network, proposal.optimized.base_stock


def generated(parts: int) -> tuple[ServiceNetwork, np.ndarray]:
    from bench.availability_network import generated_network

    network = generated_network(2026, parts)
    return network, np.ones((parts, len(network.depots)), dtype=np.int64)


def repair_loop(network: ServiceNetwork) -> RepairLoop:
    """A plausible loop: 85% back to good (10% no fault found), 5 days' turnaround,
    transfers as long as the network's resupply."""
    parts = len(network.parts)
    return RepairLoop(
        yield_share=np.full(parts, 0.85),
        no_fault_found_share=np.full(parts, 0.10),
        turnaround_days=np.full(parts, 5.0),
        transfer_days=network.resupply_days,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", choices=("demo", "generated"), default="demo")
    parser.add_argument("--parts", type=int, default=300)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--repair", action="store_true", help="Resupply through the repair loop")
    parser.add_argument(
        "--agreement-days",
        type=int,
        default=36_500,
        help="One long run for the agreement figure (the demo sees ~130 requests a year)",
    )
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    network, stock = demo_network() if args.source == "demo" else generated(args.parts)
    parts, depots, cities = network.shape
    print(f"network: {parts} parts, {depots} depots, {cities} cities; {args.days} days")
    loop = repair_loop(network) if args.repair else None
    if loop is not None:
        network = ServiceNetwork(
            **{**network.__dict__, "resupply_days": loop.mean_resupply_days(network)}
        )
    best_wall = best_cpu = float("inf")
    for _ in range(args.repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = simulate(network, stock, days=args.days, seed=0, repair=loop)
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    print(f"simulate: best {best_wall:.2f} s wall, {best_cpu:.2f} s CPU, {result.cases} cases")
    try:
        from optimizer.availability import predict
    except ImportError:
        predict = None
    predicted = predict(network, stock).within_window if predict else None
    for seed in (int(s) for s in args.seeds.split(",")):
        result = simulate(network, stock, days=args.days, seed=seed, repair=loop)
        shown = f"seed {seed}: simulated {100 * (result.within_window or 0):.2f}%"
        if predicted is not None:
            gap = 100 * ((result.within_window or 0) - predicted)
            shown += f", predicted {100 * predicted:.2f}%, gap {gap:+.2f} points"
        levels = {k: round(100 * (t.share or 0), 1) for k, t in result.by_fault_level.items()}
        print(f"{shown}; by fault level {levels}; backorders {result.backorders}")
    if predicted is not None and args.agreement_days:
        long = simulate(network, stock, days=args.agreement_days, seed=0, repair=loop)
        gap = 100 * ((long.within_window or 0) - predicted)
        print(
            f"{args.agreement_days} days, {long.cases} cases: simulated "
            f"{100 * (long.within_window or 0):.2f}%, predicted {100 * predicted:.2f}%, "
            f"gap {gap:+.2f} points"
        )
        if predict is not None:
            expected = predict(network, stock).by_fault_level
            for level, tally in long.by_fault_level.items():
                if level in expected and tally.share is not None:
                    print(
                        f"  {level}: simulated {100 * tally.share:.2f}%, predicted "
                        f"{100 * expected[level]:.2f}% ({tally.cases} cases)"
                    )
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
