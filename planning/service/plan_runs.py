"""A network-wide rebalancing plan made in the background, its progress readable meanwhile.

Planning the whole network takes seconds (about 10 s at 100,000 parts and a million
ledger rows), too long for a page to hang on one request. ``PlanRuns.start`` runs
``rebalancing.propose_plan`` in a thread of the web process and returns a run id at
once; every stage the use case reports ("reading", "building", "solving", "saving")
is written to a small JSON file per run, replaced atomically, in a folder that every
worker of the server shares. So whichever worker answers the page's next poll reads
the same progress, and the run ends "done" with the plan's id and figures, or
"failed" with a readable reason.

A run that was under way when its process stopped stays at its last stage; the page
then offers to go back and run a new plan (plans are only proposals: nothing is lost).
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import tempfile
import threading
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy.engine import Engine

from core.auth import Actor
from core.db import UnitOfWork
from core.errors import DomainError, NotFound
from core.i18n import gettext
from inventory.service import rebalancing

log = logging.getLogger(__name__)

STAGES = ("queued", "reading", "building", "solving", "saving", "done", "failed")
# Share of the whole run each working stage covers, from the 100,000-part benchmark
# (docs/PERFORMANCE.md): the bar moves roughly in step with the time left.
_SPAN = {"reading": (0, 45), "building": (45, 52), "solving": (52, 70), "saving": (70, 100)}
_RUN_ID = re.compile(r"[0-9a-f]{16}")


@dataclass(frozen=True)
class RunState:
    """Where a run stands: its stage, progress within it, and at the end the plan."""

    run_id: str
    started_by: str
    stage: str = "queued"
    done: int = 0
    total: int = 1
    plan_id: int | None = None
    units_moved: int = 0
    cost: str = "0.00"
    error: str | None = None
    # How the lane choice was solved ("exact" or "time limit") and its optimality gap.
    method: str | None = None
    gap: float | None = None

    @property
    def finished(self) -> bool:
        return self.stage in ("done", "failed")

    @property
    def percent(self) -> int:
        """0-100 over the whole run (stage spans weighted by their usual share of time)."""
        if self.stage == "done":
            return 100
        low, high = _SPAN.get(self.stage, (0, 0))
        share = self.done / self.total if self.total > 0 else 0.0
        return int(low + (high - low) * min(1.0, max(0.0, share)))


class PlanRuns:
    """Background plan runs whose progress lives in ``folder`` (one JSON file per run)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def start(self, engine: Engine, actor: Actor) -> str:
        """Start planning in a background thread; returns the run id to poll at once.

        The actor's role is checked by the use case itself; a refusal ends the run
        "failed" with its message.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        run_id = secrets.token_hex(8)
        self.save(RunState(run_id=run_id, started_by=actor.username))
        thread = threading.Thread(
            target=self._run, args=(engine, actor, run_id), name=f"plan-run-{run_id}", daemon=True
        )
        thread.start()
        return run_id

    def state(self, run_id: str) -> RunState:
        """The run's latest state; ``NotFound`` for an id that is not a run here."""
        path = self._path(run_id)
        try:
            fields = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise NotFound(gettext("unknown planning run %(id)s", id=run_id)) from None
        return RunState(**fields)

    def _run(self, engine: Engine, actor: Actor, run_id: str) -> None:
        base = RunState(run_id=run_id, started_by=actor.username)

        def progress(stage: str, done: int, total: int) -> None:
            self.save(_replace(base, stage=stage, done=done, total=max(1, total)))

        try:
            view = rebalancing.propose_plan(UnitOfWork(engine), actor, progress=progress)
        except DomainError as error:
            self.save(_replace(base, stage="failed", error=str(error)))
            return
        except Exception:  # a run must end readable, whatever went wrong
            log.exception("planning run %s failed", run_id)
            self.save(_replace(base, stage="failed", error="internal error"))
            return
        plan = view.plan
        self.save(
            _replace(
                base,
                stage="done",
                plan_id=plan.id,
                units_moved=plan.units_moved,
                cost=str(Decimal(plan.cost).quantize(Decimal("0.01"))),
                method=view.method,
                gap=view.gap,
            )
        )

    def _path(self, run_id: str) -> Path:
        if not _RUN_ID.fullmatch(run_id or ""):
            raise NotFound(gettext("unknown planning run %(id)s", id=run_id))
        return self.folder / f"{run_id}.json"

    def save(self, state: RunState) -> None:
        """Replace the run's file in one step, so a reader never sees half of it."""
        fd, temporary = tempfile.mkstemp(dir=self.folder, prefix=".run-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(asdict(state), handle)
        os.replace(temporary, self._path(state.run_id))


def _replace(state: RunState, **changes: object) -> RunState:
    return RunState(**{**asdict(state), **changes})  # type: ignore[arg-type]
