"""The offline rebalancer's scaling curve: time and peak memory at 10k, 100k and 1M parts.

    .venv/bin/python -m bench.bench_rebalance_scale [--sizes 10000,100000,1000000]
        [--repeat 3] [--workdir /tmp/spares-rebalance-scale]

Each size is written once by ``bench.generate`` (seed 2026, cached in ``--workdir``),
then ``optimizer.offline.rebalance_files`` runs end to end (read the three CSVs, solve,
write plan.csv) in a FRESH child process per run, so the peak resident set size
(``ru_maxrss`` of that child, from ``os.wait4``) is the run's own and includes the
interpreter and imports. Time is the child's wall time of ``rebalance_files`` alone,
best of ``--repeat``; the phases are those of the best run. The load average is printed
at the start and the end. Targets: 1,000,000 parts under 60 s and under 8 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from bench.generate import write_instance

_CHILD = """
import json, sys, time
from optimizer.offline import rebalance_files
d = sys.argv[1]
start = time.perf_counter()
s = rebalance_files(d + "/stock.csv", d + "/targets.csv", d + "/lanes.csv", d + "/plan.csv")
wall = time.perf_counter() - start
print(json.dumps({"wall": wall, "phases": s.seconds, "units": s.units_moved,
                  "cost": str(s.total_cost), "rows": s.plan_rows}))
"""


def run_once(directory: Path) -> tuple[dict[str, object], int]:
    """One child run: (its JSON summary, peak RSS in bytes)."""
    process = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(directory)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"child failed with {process.returncode} at {directory}")
    return json.loads(output), usage.ru_maxrss * 1024  # Linux reports KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/spares-rebalance-scale"))
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    print(f"| parts x 8 depots | wall (best of {args.repeat}) | phases (s) | peak RSS | plan |")
    print("|---|---|---|---|---|")
    ok = True
    for size in (int(text) for text in args.sizes.split(",")):
        directory = args.workdir / f"parts-{size}"
        if not (directory / "lanes.csv").exists():
            write_instance(directory, size)
        runs = [run_once(directory) for _ in range(args.repeat)]
        best, _ = min(runs, key=lambda run: run[0]["wall"])  # type: ignore[arg-type,return-value]
        peak = max(rss for _, rss in runs)
        phases = ", ".join(f"{k} {v:.2f}" for k, v in best["phases"].items())  # type: ignore[attr-defined]
        print(
            f"| {size:,} | {best['wall']:.2f} s | {phases} | {peak / 2**20:,.0f} MiB | "
            f"{best['rows']:,} rows, {best['units']:,} units, {best['cost']} CNY |"
        )
        if size >= 1_000_000:
            ok = ok and float(best["wall"]) < 60 and peak < 8 * 2**30  # type: ignore[arg-type]
    print(f"load average at end: {os.getloadavg()}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
