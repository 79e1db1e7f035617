"""Supervisors: escalations, approvals waiting, the escalation ladder."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import flash, redirect, render_template, request, url_for

from core import auth, clock
from core.errors import DomainError, Invalid
from core.web import uow
from rma.models import FAULT_LEVELS, Escalation, Rma, Status
from rma.service import escalations as escalation_service
from rma.service import ladder as ladder_rules
from rma.service import queries
from rma.views import views
from rma.views.common import (
    ADMIN,
    KIND_LABELS,
    LIST_LIMIT,
    SUPERVISOR,
    CaseRow,
    case_rows,
    current_actor,
    format_duration,
)

# --- supervisors: escalations and approvals --------------------------------------------------

LEVEL_ORDER = {level: index for index, level in enumerate(FAULT_LEVELS)}


def _severity(escalation: Escalation) -> int:
    """Higher is more severe: step 3 above 2 above 1; "at risk" (step 0) above them all."""
    return escalation.step if escalation.step else 4


@dataclass(frozen=True)
class EscalatedCase:
    """A case with the rungs of its ladder raised and not yet taken on, most severe first."""

    case: CaseRow
    raised: list[Escalation]

    @property
    def sort_key(self) -> tuple[int, int, datetime, int]:
        top = self.raised[0]
        return (
            LEVEL_ORDER.get(top.fault_level, 9),
            -_severity(top),
            min(e.raised_at for e in self.raised),
            self.case.rma.id or 0,
        )


def escalations_page(
    *, error: DomainError | None = None, failed: Mapping[str, str] | None = None
) -> tuple[str, int]:
    level = request.args.get("fault_level") or None
    now = clock.now()
    unit = uow()
    with unit.transaction(write=False):
        raised = escalation_service.list_escalations(unit, open_only=True, fault_level=level)
        by_case: dict[int, list[Escalation]] = {}
        rmas: dict[int, Rma] = {}
        for escalation, rma in raised:
            by_case.setdefault(rma.id or 0, []).append(escalation)
            rmas[rma.id or 0] = rma
        groups = [
            EscalatedCase(
                case,
                sorted(by_case[case.rma.id or 0], key=lambda e: (-_severity(e), e.raised_at)),
            )
            for case in case_rows(unit, rmas.values(), now)
        ]
        waiting = case_rows(
            unit,
            queries.list_rmas(
                unit, status=Status.REQUESTED.value, fault_level=level, limit=LIST_LIMIT
            ),
            now,
        )
    groups.sort(key=lambda g: g.sort_key)
    waiting.sort(key=lambda r: (LEVEL_ORDER.get(r.rma.fault_level, 9), r.rma.reported_at))
    per_level = {
        name: sum(len(g.raised) for g in groups if g.case.rma.fault_level == name)
        for name in FAULT_LEVELS
    }
    return (
        render_template(
            "rma/escalations.html",
            groups=groups,
            count=len(raised),
            per_level=per_level,
            waiting=waiting,
            level=level,
            levels=FAULT_LEVELS,
            kinds=KIND_LABELS,
            now=now,
            format_duration=format_duration,
            error=error.detail if error else None,
            failed=failed or {},
        ),
        error.status if error else 200,
    )


@views.route("/escalations")
@auth.page_roles(SUPERVISOR)
def escalations() -> Any:
    """Raised escalations nobody has taken yet, most severe first; billable cases to approve."""
    return escalations_page()


@views.route("/escalations/<int:escalation_id>/acknowledge", methods=["POST"])
@auth.page_roles(SUPERVISOR)
def acknowledge(escalation_id: int) -> Any:
    try:
        done = escalation_service.acknowledge(uow(), current_actor(), escalation_id)
    except DomainError as error:
        return escalations_page(error=error, failed={"escalation": str(escalation_id)})
    flash(f"Escalation {done.id} acknowledged: you have taken it on.", "ok")
    return redirect(url_for(".escalations"))


@views.route("/escalations/ladder", methods=["GET", "POST"])
@auth.page_roles(SUPERVISOR)
def ladder() -> Any:
    """The escalation ladder; administrators change a rung with the form on its row."""
    error: DomainError | None = None
    failed: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        level, step = request.form.get("fault_level", ""), request.form.get("step", "")
        failed = {"fault_level": level, "step": step}
        try:
            hours_text = request.form.get("after_hours", "").strip()
            try:
                hours = float(hours_text) if hours_text else None
            except ValueError:
                raise Invalid("after_hours must be a number of hours") from None
            if not step.isdigit():
                raise Invalid("step must be 1, 2 or 3")
            changed = ladder_rules.update_step(
                uow(),
                current_actor(),
                level,
                int(step),
                after_hours=hours,
                notify_title=request.form.get("notify_title") or None,
                notify_email=request.form.get("notify_email") or None,
            )
        except DomainError as caught:
            error, status = caught, caught.status
        else:
            flash(f"{changed.fault_level} step {changed.step} saved.", "ok")
            return redirect(url_for(".ladder"))
    steps = ladder_rules.list_ladder(uow())
    return render_template(
        "rma/ladder.html",
        steps=steps,
        error=error,
        failed=failed,
        can_edit=current_actor().role == ADMIN,
    ), status
