"""The batch dispatch page: every open, unshipped replacement re-planned together,
shown case by case, and applied when the planner agrees (only while its basis holds)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import redirect, render_template, request, session, url_for

from core import auth, clock
from core.db import UnitOfWork, read_only
from core.errors import DomainError
from core.web import uow
from planning.views import PLANNER, views
from planning.views.common import actor, failed
from rma.models import FAULT_LEVELS, Rma
from rma.service import customers, dispatch
from rma.service import queries as rma_queries

TEMPLATE = "planning/dispatch.html"
DISPATCH_REPORT_KEY = "planning.dispatch_report"


@dataclass(frozen=True)
class DispatchRow:
    """One open case of the proposal, with whom and where it goes to (English and
    Chinese names; the page shows the reader's first)."""

    case: dispatch.CaseProposal
    rma: Rma
    customer: str
    customer_zh: str
    city: str
    city_zh: str


@read_only
def _proposal_rows(u: UnitOfWork, proposal: dispatch.DispatchProposal) -> list[DispatchRow]:
    """The proposal's cases with their customer and city, changed and urgent first."""
    found = {rma.number: rma for rma in rma_queries.open_replacements(u)}
    rows = []
    for case in proposal.cases:
        rma = found.get(case.number)
        if rma is None:
            continue
        site = customers.require_site(u, rma.site_id)
        customer = customers.require_customer(u, rma.customer_id)
        city = customers.require_city(u, site.city_id)
        rows.append(
            DispatchRow(case, rma, customer.name, customer.name_zh, city.name, city.name_zh)
        )
    level = {name: i for i, name in enumerate(FAULT_LEVELS)}
    rows.sort(key=lambda r: (not r.case.changed, level.get(r.case.fault_level, 9), r.case.due))
    return rows


def _report_figures(report: dispatch.DispatchReport) -> dict[str, Any]:
    """What the page says once about an applied proposal (kept in the session as
    plain figures, so it is worded in the reader's language when shown)."""
    proposal = report.proposal
    return {
        "cases": len(proposal.cases),
        "met_after": proposal.met_due_after,
        "met_before": proposal.met_due_before,
        "changed": len(report.applied),
        "backorders": proposal.backorders,
        "cost": f"{proposal.total_cost:,.2f}",
        "applied": report.applied,
    }


def _dispatch_page(error: DomainError | None = None) -> Any:
    """The proposal, computed now; applying it posts its basis back."""
    report = session.pop(DISPATCH_REPORT_KEY, None)
    proposal = dispatch.propose(uow(), actor())
    context = {
        "proposal": proposal,
        "rows": _proposal_rows(uow(), proposal),
        "report": report,
        "now": clock.now(),
    }
    if error is not None:
        return failed(TEMPLATE, error, **context)
    return render_template(TEMPLATE, error=None, **context)


@views.route("/dispatch")
@auth.page_roles(PLANNER)
def dispatch_page() -> Any:
    return _dispatch_page()


@views.route("/dispatch", methods=["POST"])
@auth.page_roles(PLANNER)
def apply_dispatch() -> Any:
    try:
        report = dispatch.apply(uow(), actor(), request.form.get("basis", ""))
    except DomainError as error:
        return _dispatch_page(error)
    # Shown once on the page the browser is sent back to (so a reload does not apply again).
    session[DISPATCH_REPORT_KEY] = _report_figures(report)
    return redirect(url_for("planning.dispatch_page"))
