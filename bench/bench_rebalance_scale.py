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
those of the best run. ``--baseline REV`` runs that revision's whole ``optimizer/``
package (unpacked with ``git archive`` into the workdir) interleaved with this one on the
same files; ``--reference`` runs ``bench.reference_rebalancer`` likewise, a STAND-IN for
issue 12's reference rebalancer (not the original, which is not in the repository). The
ratios of the best CPU times are printed. "process CPU" is the child's whole CPU time
(``os.wait4``), imports included. The load average is printed at the start and the end.
Targets: 1,000,000 parts under 60 s and under 8 GB.
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
directory, kind, tree = sys.argv[1:4]
if kind == "baseline":
    sys.path.insert(0, tree)  # that revision's optimizer package, not this one
if kind == "reference":
    from bench.reference_rebalancer import rebalance_csv as rebalance_files
else:
    from optimizer.offline import rebalance_files
d = directory
start, start_cpu = time.perf_counter(), time.process_time()
s = rebalance_files(d + "/stock.csv", d + "/targets.csv", d + "/lanes.csv", d + "/plan.csv")
wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
print(json.dumps({"wall": wall, "cpu": cpu, "phases": s.seconds, "units": s.units_moved,
                  "cost": str(s.total_cost), "rows": s.plan_rows}))
"""

Run = tuple[dict[str, object], int, float]


def run_once(directory: Path, kind: str = "this", tree: str = "") -> Run:
    """One child run: (its JSON summary, peak RSS in bytes, the child's whole CPU time).

    ``kind`` is "this", "baseline" (the ``optimizer`` package under ``tree``) or
    "reference" (the stand-in).
    """
    process = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(directory), kind, tree],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"child {kind} failed with {process.returncode} at {directory}")
    # Linux reports ru_maxrss in KiB.
    return json.loads(output), usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime


def unpack_revision(revision: str, workdir: Path) -> Path:
    """``revision``'s ``optimizer/`` package unpacked under ``workdir``; returns its root."""
    root = workdir / f"baseline-{revision}"
    if not (root / "optimizer" / "offline.py").exists():
        root.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "archive", revision, "optimizer"], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/spares-rebalance-scale"))
    parser.add_argument(
        "--baseline",
        default="",
        help="git revision whose optimizer package runs interleaved with this one "
        "(a row 'baseline' per size and the ratios)",
    )
    parser.add_argument(
        "--reference",
        action="store_true",
        help="also run bench.reference_rebalancer, the stand-in for issue 12's reference",
    )
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    versions = [("this", "")]
    if args.baseline:
        versions.append(("baseline", str(unpack_revision(args.baseline, args.workdir))))
    if args.reference:
        versions.append(("reference", ""))
    print(f"load average at start: {os.getloadavg()}")
    print(
        f"| parts x 8 depots | wall, CPU (best of {args.repeat}) | process CPU | phases, wall s "
        "| peak RSS | plan |"
    )
    print("|---|---|---|---|---|---|")
    ok = True
    for size in (int(text) for text in args.sizes.split(",")):
        directory = args.workdir / f"parts-{size}"
        if not (directory / "lanes.csv").exists():
            write_instance(directory, size)
        runs: dict[str, list[Run]] = {name: [] for name, _ in versions}
        for _ in range(args.repeat):  # interleaved, so background load hits all alike
            for name, tree in versions:
                runs[name].append(run_once(directory, name, tree))
        cpus: dict[str, float] = {}
        plans = set()
        for name, _ in versions:
            best = min(runs[name], key=lambda run: float(run[0]["wall"]))[0]  # type: ignore[arg-type]
            wall = float(best["wall"])  # type: ignore[arg-type]
            peak = max(run[1] for run in runs[name])
            cpus[name] = min(float(run[0]["cpu"]) for run in runs[name])  # type: ignore[arg-type]
            process_cpu = min(run[2] for run in runs[name])
            phases = ", ".join(f"{k} {v:.2f}" for k, v in best["phases"].items())  # type: ignore[attr-defined]
            plans.add((best["units"], best["cost"]))
            print(
                f"| {size:,} ({name}) | {wall:.2f} s, CPU {cpus[name]:.2f} s | "
                f"{process_cpu:.2f} s | {phases} | {peak / 2**20:,.0f} MiB | "
                f"{best['rows']:,} rows, {best['units']:,} units, {best['cost']} CNY |"
            )
            if size >= 1_000_000 and name == "this":
                ok = ok and wall < 60 and peak < 8 * 2**30
        if len(plans) != 1:
            print(f"| {size:,} | THE PLANS DIFFER (units, cost): {sorted(plans)} | | | | |")
            ok = False
        ratios = [
            f"{a} / {b} {cpus[a] / cpus[b]:.2f}"
            for a, b in (("this", "baseline"), ("this", "reference"), ("baseline", "reference"))
            if a in cpus and b in cpus
        ]
        if ratios:
            print(f"| {size:,} | CPU ratios: {', '.join(ratios)} | | | | |")
    print(f"load average at end: {os.getloadavg()}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
