"""Run every benchmark in ``bench/`` (``make bench``): each ``bench_*.py`` module's ``main()``.

``main`` may take an argv list (it is given ``[]``: defaults) or nothing, and
returns a non-zero status when a target is missed.

Modules run in name order, one after the other (they measure wall time, so they
must not compete for the CPU). The exit status is non-zero when any benchmark
misses its target or fails.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
from pathlib import Path


def main() -> int:
    names = sorted(
        info.name
        for info in pkgutil.iter_modules([str(Path(__file__).parent)])
        if info.name.startswith("bench_")
    )
    failed = []
    for name in names:
        print(f"\n## {name}\n", flush=True)
        module = importlib.import_module(f"bench.{name}")
        # Each benchmark parses its own options; run it with its defaults.
        takes_argv = bool(inspect.signature(module.main).parameters)
        status = module.main([]) if takes_argv else module.main()
        if status:
            failed.append(name)
    if failed:
        print(f"\nMissed targets or failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
