"""The offline rebalancer's scaling curve: time and peak memory at 10k, 100k and 1M parts.

    .venv/bin/python -m bench.bench_rebalance_scale [--sizes 10000,100000,1000000]
        [--repeat 3] [--workdir /tmp/spares-rebalance-scale]

Each size is written once by ``bench.generate`` (seed 2026, cached in ``--workdir``),
then ``optimizer.offline.rebalance_files`` runs end to end (read the three CSVs, solve,
write plan.csv) in a FRESH child process per run, so the peak resident set size
(``ru_maxrss`` of that child, from ``os.wait4``) is the run's own and includes the
interpreter and imports. Time is the child's wall time of ``rebalance_files`` alone,
best of ``--repeat``, with the best CPU time of the child beside it (everything runs
on one thread, so on a busy machine CPU time is the steadier figure); the phases are
those of the best run. ``--baseline REV`` runs that revision's ``optimizer/offline.py``
interleaved with this one on the same files and prints the ratio. The load average is printed
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
import importlib.util, json, sys, time
if sys.argv[2]:
    spec = importlib.util.spec_from_file_location("baseline_offline", sys.argv[2])
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    rebalance_files = module.rebalance_files
else:
    from optimizer.offline import rebalance_files
d = sys.argv[1]
start, start_cpu = time.perf_counter(), time.process_time()
s = rebalance_files(d + "/stock.csv", d + "/targets.csv", d + "/lanes.csv", d + "/plan.csv")
wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
print(json.dumps({"wall": wall, "cpu": cpu, "phases": s.seconds, "units": s.units_moved,
                  "cost": str(s.total_cost), "rows": s.plan_rows}))
"""


def run_once(directory: Path, module: str = "") -> tuple[dict[str, object], int]:
    """One child run: (its JSON summary, peak RSS in bytes); ``module`` is the file of
    another ``optimizer/offline.py`` to run instead (a baseline), "" for this one."""
    process = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(directory), module], stdout=subprocess.PIPE, text=True
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
    parser.add_argument(
        "--baseline",
        default="",
        help="git revision whose optimizer/offline.py runs interleaved with this one "
        "(a row 'baseline' per size and the ratio)",
    )
    args = parser.parse_args()
    baseline_file = ""
    if args.baseline:
        source = subprocess.run(
            ["git", "show", f"{args.baseline}:optimizer/offline.py"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        args.workdir.mkdir(parents=True, exist_ok=True)
        baseline_path = args.workdir / "baseline_offline.py"
        baseline_path.write_text(source, encoding="utf-8")
        baseline_file = str(baseline_path)
    print(f"load average at start: {os.getloadavg()}")
    print(f"| parts x 8 depots | wall (best of {args.repeat}) | phases (s) | peak RSS | plan |")
    print("|---|---|---|---|---|")
    ok = True
    for size in (int(text) for text in args.sizes.split(",")):
        directory = args.workdir / f"parts-{size}"
        if not (directory / "lanes.csv").exists():
            write_instance(directory, size)
        versions = [("this", "")] + ([("baseline", baseline_file)] if baseline_file else [])
        runs: dict[str, list[tuple[dict[str, object], int]]] = {name: [] for name, _ in versions}
        for _ in range(args.repeat):  # interleaved, so background load hits both alike
            for name, module in versions:
                runs[name].append(run_once(directory, module))
        walls = {}
        for name, _ in versions:
            best, _ = min(runs[name], key=lambda run: float(run[0]["wall"]))  # type: ignore[arg-type]
            peak = max(rss for _, rss in runs[name])
            walls[name] = float(best["wall"])  # type: ignore[arg-type]
            phases = ", ".join(f"{k} {v:.2f}" for k, v in best["phases"].items())  # type: ignore[attr-defined]
            cpu_best = min(float(run[0]["cpu"]) for run in runs[name])  # type: ignore[arg-type]
            print(
                f"| {size:,} ({name}) | {best['wall']:.2f} s (CPU {cpu_best:.2f} s) | {phases} | "
                f"{peak / 2**20:,.0f} MiB | "
                f"{best['rows']:,} rows, {best['units']:,} units, {best['cost']} CNY |"
            )
            if size >= 1_000_000 and name == "this":
                ok = ok and walls[name] < 60 and peak < 8 * 2**30
        if "baseline" in walls:
            cpus = {
                name: min(float(run[0]["cpu"]) for run in runs[name])  # type: ignore[arg-type]
                for name in walls
            }
            print(
                f"| {size:,} | this / baseline: wall {walls['this'] / walls['baseline']:.2f}, "
                f"CPU {cpus['this'] / cpus['baseline']:.2f} | | | |"
            )
    print(f"load average at end: {os.getloadavg()}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
