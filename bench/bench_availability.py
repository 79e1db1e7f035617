"""Availability-based planning (issue 13): stock saved against independent base stock at
equal predicted service, optimisation time, and the greedy's gap to the exact optimum.

    .venv/bin/python -m bench.bench_availability [--parts 10000] [--depots 8]
        [--demo /path/to/spares.db] [--seeds 40] [--skip-generated]

* Generated network (``bench.availability_network.generated_network``, seed 1):
  ``--parts`` x ``--depots``, 24 cities. For each fill rate of the independent
  base stock (``optimizer.targets`` per depot over its own region), its predicted
  service under the availability model is the goal the optimiser must reach; the
  inventory values are compared. Times: the per-part curves (once per network)
  and one goal.
* Demo network: ``planning.service.availability.service_network`` on a database
  made by ``spares db upgrade`` and ``spares demo`` (``--demo``: its SQLite file;
  without it the demo is skipped).
* Exactness: ``--seeds`` small instances (``small_instance``), greedy against the
  enumerated optimum at the same goal.

The load average is printed at the start and the end (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from bench.availability_network import generated_network, small_instance
from optimizer.availability import Optimiser, ServiceNetwork, exact_for_goal, for_class_goals

FILL_RATES = (0.90, 0.95, 0.99)


def compare(name: str, network: ServiceNetwork) -> None:
    parts, depots, cities = network.shape
    print(f"\n{name}: {parts} parts x {depots} depots, {cities} cities")
    started = time.perf_counter()
    optimiser = Optimiser(network)
    curves = time.perf_counter() - started
    print(f"  per-part curves: {curves:.1f} s; most service possible {optimiser.ceiling():.4f}")
    for fill in FILL_RATES:
        baseline = optimiser.baseline(fill)
        started = time.perf_counter()
        proposal = optimiser.for_goal(baseline.objective)
        took = time.perf_counter() - started
        plan = proposal.plan
        saved = 1 - plan.inventory_value / baseline.inventory_value
        print(
            f"  base stock at fill {fill:.0%}: service {baseline.objective:.4f}, "
            f"{baseline.inventory_value:,.0f} CNY | optimised: {plan.objective:.4f}, "
            f"{plan.inventory_value:,.0f} CNY | saved {saved:.1%} | goal {took:.1f} s "
            f"(total {curves + took:.1f} s)"
        )


def exactness(seeds: int) -> None:
    gaps = []
    for seed in range(seeds):
        network, goal, box = small_instance(seed)
        plan = Optimiser(network).for_goal(goal).plan
        exact = exact_for_goal(network, goal, box)
        if exact.base_stock is None or plan.base_stock.max() > box:
            continue
        gaps.append(
            plan.inventory_value / exact.inventory_value - 1 if exact.inventory_value else 0.0
        )
    gaps_array = np.array(gaps)
    print(
        f"\nexactness on {len(gaps)} small instances: greedy = optimum on "
        f"{int((gaps_array < 1e-9).sum())}, mean gap {gaps_array.mean():.2%}, "
        f"worst {gaps_array.max():.2%}"
    )


def class_goals(name: str, network: ServiceNetwork, goals: dict[str, float]) -> None:
    """A goal per contract class against independent base stock at the same goals."""
    if len(network.classes) < 2:
        return
    started = time.perf_counter()
    proposal = for_class_goals(network, goals)
    took = time.perf_counter() - started
    plan, baseline = proposal.plan, proposal.baseline
    shares = ", ".join(f"{k} {v:.4f}" for k, v in plan.prediction.by_class.items())
    base = ", ".join(f"{k} {v:.4f}" for k, v in baseline.prediction.by_class.items())
    print(
        f"  {name} class goals {goals}: optimised {shares}, {plan.inventory_value:,.0f} CNY "
        f"| baseline {base}, {baseline.inventory_value:,.0f} CNY | {took:.1f} s"
        + (f" | {plan.reason}" if plan.reason else "")
    )


def demo(path: str) -> None:
    from app import create_app
    from core.config import load_settings
    from core.db import UnitOfWork, make_engine
    from planning.service.availability import service_network

    url = f"sqlite:///{path}"
    engine = make_engine(url)
    create_app(load_settings(database_url=url, secret_key="bench"), engine=engine)
    started = time.perf_counter()
    network = service_network(UnitOfWork(engine))
    print(f"\ndemo network read in {time.perf_counter() - started:.1f} s")
    compare("demo", network)
    class_goals("demo", network, {"5x8": 0.85, "7x24": 0.90})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", type=int, default=10_000)
    parser.add_argument("--depots", type=int, default=8)
    parser.add_argument("--demo", default=None, help="SQLite file of a demo database")
    parser.add_argument("--seeds", type=int, default=40)
    parser.add_argument("--skip-generated", action="store_true")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    if args.demo:
        demo(args.demo)
    if not args.skip_generated:
        compare("generated", generated_network(1, args.parts, args.depots))
    if args.seeds:
        exactness(args.seeds)
    print(f"\nload average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
