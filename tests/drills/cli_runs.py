"""`spares` commands run in processes started ahead and released together.

Starting `spares` costs seconds of imports, far longer than a run of `spares
escalate` itself: two runs started "at once" as plain subprocesses rarely overlap.
Here each process imports the app first, waits at ``harness.together``'s start
barrier, then runs the real command line (click's ``main``) with the
deployment's environment, so the runs do overlap.
"""

from __future__ import annotations

import contextlib
import io
import os


def run_cli(env: dict[str, str], args: list[str]) -> tuple[int, str, str]:
    """Run `spares ARGS` in this process: (exit code, stdout, stderr)."""
    os.environ.update(env)
    from app import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main.main(args=args, prog_name="spares", standalone_mode=False)
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
    return code, out.getvalue(), err.getvalue()
