"""Supervisors: escalations waiting to be taken on, billable cases waiting for
approval, what was taken on, and the escalation ladder. Each list pages, sorts and
filters on the server and counts its whole selection."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import flash, redirect, render_template, request, url_for

from core import auth, clock
from core.errors import DomainError, Invalid
from core.i18n import gettext, ngettext
from core.pagination import Page, PageRequest
from core.web import uow
from rma.models import FAULT_LEVELS, Escalation, Status
from rma.service import acknowledgements, queries, wording
from rma.service import approvals as pricing
from rma.service import ladder as ladder_rules
from rma.service.acknowledgements import (
    ACKNOWLEDGED_SORTS,
    ESCALATION_SORTS,
    EscalatedCase,
    EscalationFilter,
)
from rma.service.approvals import ApprovalQuote
from rma.service.queries import CaseFilter
from rma.views import views
from rma.views.cases import rma_page
from rma.views.common import (
    ADMIN,
    KIND_LABELS,
    SUPERVISOR,
    CaseRow,
    bool_arg,
    current_actor,
    filter_args,
    format_duration,
    rows_of,
)

ESCALATION_FILTERS = ("fault_level", "at_risk", "q")
APPROVAL_FILTERS = ("fault_level", "q")
ACKNOWLEDGED_FILTERS = ("fault_level", "at_risk", "q", "mine")
APPROVAL_SORTS = ("number", "customer", "level", "part")


def _escalation_filter() -> EscalationFilter:
    args = request.args
    level = args.get("fault_level") or None
    return EscalationFilter(
        fault_level=level if level in FAULT_LEVELS else None,
        at_risk_only=bool_arg(args, "at_risk"),
        text=(args.get("q") or "").strip() or None,
    )


@dataclass(frozen=True)
class Waiting:
    """What the tabs count: escalations waiting to be taken on, cases to approve."""

    escalations: int
    approvals: int


def _waiting(unit: Any) -> Waiting:
    everything = acknowledgements.waiting_by_level(unit, EscalationFilter())
    requested = queries.count_cases(unit, CaseFilter(status=Status.REQUESTED.value), clock.now())
    return Waiting(sum(everything.values()), requested)


@dataclass(frozen=True)
class EscalatedRow:
    """A case with its waiting rungs, its customer's row and its running clock."""

    group: EscalatedCase
    case: CaseRow


def escalations_page(
    *, error: DomainError | None = None, failed: Mapping[str, str] | None = None
) -> tuple[str, int]:
    """Open escalations by case, most severe first (C-1 first; "at risk" above step 3
    above 2 above 1), a page at a time."""
    selected = _escalation_filter()
    page_request = PageRequest.from_args(
        request.args, sorts=ESCALATION_SORTS, default_sort="priority"
    )
    now = clock.now()
    unit = uow()
    with unit.transaction(write=False):
        found = acknowledgements.page_of_escalated_cases(unit, selected, page_request)
        cases = rows_of(unit, [(g.rma, g.customer, g.site, g.city) for g in found.items], now)
        per_level = acknowledgements.waiting_by_level(unit, selected)
        waiting = _waiting(unit)
    page = Page(
        [EscalatedRow(group, case) for group, case in zip(found.items, cases, strict=True)],
        found.total,
        found.request,
    )
    return (
        render_template(
            "rma/escalations.html",
            tab="waiting",
            page=page,
            count=sum(per_level.values()),
            per_level=per_level,
            waiting=waiting,
            selected=selected,
            args=filter_args((*ESCALATION_FILTERS, "per_page")),
            levels=FAULT_LEVELS,
            now=now,
            format_duration=format_duration,
            error=error.detail if error else None,
            failed=failed or {},
            here=request.full_path,
        ),
        error.status if error else 200,
    )


@views.route("/escalations")
@auth.page_roles(SUPERVISOR)
def escalations() -> Any:
    """Raised escalations nobody has taken on yet, most severe first."""
    return escalations_page()


# --- approvals -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ApprovalRow:
    case: CaseRow
    price: ApprovalQuote


def approvals_page(
    *,
    error: DomainError | None = None,
    failed: Mapping[str, str] | None = None,
    form: Mapping[str, str] | None = None,
) -> tuple[str, int]:
    """Billable cases waiting for a supervisor, each with its price, a page at a time."""
    args = request.args
    level = args.get("fault_level") or None
    selected = CaseFilter(
        status=Status.REQUESTED.value,
        fault_level=level if level in FAULT_LEVELS else None,
        text=(args.get("q") or "").strip() or None,
    )
    page_request = PageRequest.from_args(
        args, sorts=APPROVAL_SORTS, default_sort="level", per_page=25
    )
    now = clock.now()
    unit = uow()
    with unit.transaction(write=False):
        found = queries.page_of_cases(unit, selected, page_request, now)
        rows = [
            ApprovalRow(case, pricing.quote_for(unit, case.rma, now))
            for case in rows_of(unit, found.items, now)
        ]
        waiting = _waiting(unit)
    return (
        render_template(
            "rma/escalations.html",
            tab="approvals",
            page=Page(rows, found.total, found.request),
            waiting=waiting,
            selected=selected,
            args=filter_args((*APPROVAL_FILTERS, "per_page")),
            levels=FAULT_LEVELS,
            kinds=KIND_LABELS,
            now=now,
            format_duration=format_duration,
            error=error.detail if error else None,
            error_field=error.extra.get("field") if error else None,
            failed=failed or {},
            form=form or {},
        ),
        error.status if error else 200,
    )


@views.route("/escalations/approvals")
@auth.page_roles(SUPERVISOR)
def approvals() -> Any:
    """Billable cases waiting for approval, with what each would cost the customer."""
    return approvals_page()


# --- what was taken on ------------------------------------------------------------------------


@views.route("/escalations/acknowledged")
@auth.page_roles(SUPERVISOR)
def acknowledged() -> Any:
    """The history of escalations taken on: by whom, when, with which note."""
    selected = _escalation_filter()
    page_request = PageRequest.from_args(
        request.args, sorts=ACKNOWLEDGED_SORTS, default_sort="acknowledged", descending=True
    )
    mine = bool_arg(request.args, "mine")
    unit = uow()
    with unit.transaction(write=False):
        page = acknowledgements.page_of_acknowledged(
            unit, selected, page_request, by=current_actor().username if mine else None
        )
        waiting = _waiting(unit)
    return render_template(
        "rma/escalations.html",
        tab="acknowledged",
        page=page,
        waiting=waiting,
        selected=selected,
        mine=mine,
        args=filter_args((*ACKNOWLEDGED_FILTERS, "per_page")),
        levels=FAULT_LEVELS,
    )


# --- taking escalations on ----------------------------------------------------------------


def _next(default: str) -> str:
    """Where to go back after taking an escalation on: the page (with its filters and
    sorting) the form was posted from, when it is one of ours."""
    target = (request.form.get("next") or "").strip()
    if target.startswith(("/escalations", "/rmas/")) and not target.startswith("//"):
        return target
    return default


def _taken_on(escalation: Escalation, number: str) -> str:
    return gettext(
        "%(rma)s %(step)s acknowledged: you have taken it on.",
        rma=number,
        step=wording.escalation_step(escalation.step),
    )


@views.route("/escalations/<int:escalation_id>/acknowledge", methods=["POST"])
@auth.page_roles(SUPERVISOR)
def acknowledge(escalation_id: int) -> Any:
    """Take one escalation on, with a note."""
    try:
        done = acknowledgements.acknowledge(
            uow(), current_actor(), escalation_id, request.form.get("note")
        )
    except DomainError as error:
        return escalations_page(error=error, failed={"escalation": str(escalation_id)})
    number = _number_of(done)
    flash(_taken_on(done, number), "ok")
    return redirect(_next(url_for(".escalations")))


@views.route("/escalations/case/<number>/acknowledge", methods=["POST"])
@auth.page_roles(SUPERVISOR)
def acknowledge_case(number: str) -> Any:
    """Take on every waiting escalation of a case at once, with one note."""
    try:
        done = acknowledgements.acknowledge_case(
            uow(), current_actor(), number, request.form.get("note")
        )
    except DomainError as error:
        if _next("").startswith("/rmas/"):
            return rma_page(number, status=error.status, error=error)
        return escalations_page(error=error, failed={"number": number.strip().upper()})
    rungs = ", ".join(wording.escalation_step(e.step) for e in done)
    flash(
        ngettext(
            "%(rma)s: %(num)s escalation taken on (%(rungs)s).",
            "%(rma)s: %(num)s escalations taken on (%(rungs)s).",
            len(done),
            rma=number.strip().upper(),
            rungs=rungs,
        ),
        "ok",
    )
    return redirect(_next(url_for(".escalations")))


def _number_of(escalation: Escalation) -> str:
    unit = uow()
    with unit.transaction(write=False):
        return queries.number_of(unit, escalation.rma_id)


# --- the ladder ---------------------------------------------------------------------------


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
                raise Invalid(
                    gettext("after_hours must be a number of hours"), field="after_hours"
                ) from None
            if not step.isdigit():
                raise Invalid(gettext("step must be 1, 2 or 3"), field="step")
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
            flash(
                gettext(
                    "%(level)s step %(step)s saved.", level=changed.fault_level, step=changed.step
                ),
                "ok",
            )
            return redirect(url_for(".ladder"))
    unit = uow()
    with unit.transaction(write=False):
        steps = ladder_rules.list_ladder(unit)
        waiting = _waiting(unit)
    return render_template(
        "rma/ladder.html",
        steps=steps,
        error=error,
        failed=failed,
        waiting=waiting,
        can_edit=current_actor().role == ADMIN,
    ), status
