"""The rebalancing pages: the plans a page at a time (sorted, filtered by status and
staleness, counts of the whole selection), running a plan, one plan's moves lane by
lane with the stock and target at both depots before and after, approving or
discarding it, and the plan as a CSV file."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from itertools import chain
from typing import Any

from flask import (
    Response,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from core import auth
from core.config import instance_path
from core.errors import DomainError
from core.i18n import gettext, ngettext
from core.pagination import PageRequest
from core.web import ENGINE_KEY, uow
from inventory.service import rebalancing
from planning.service import plans, queries
from planning.service.plan_runs import PlanRuns
from planning.service.plans import PlanPage
from planning.service.queries import PlanFilters
from planning.views import PLANNER, views
from planning.views.common import actor, depots, failed

LIST_TEMPLATE = "planning/rebalance.html"
PLAN_TEMPLATE = "planning/plan.html"
RUN_TEMPLATE = "planning/plan_run.html"


# --- the list -------------------------------------------------------------------------------


def read_plan_filters(values: Mapping[str, str]) -> PlanFilters:
    """Status (one of the plan statuses, else any) and staleness (``yes``/``no``)."""
    status = (values.get("status") or "").strip().lower()
    stale = {"yes": True, "no": False}.get((values.get("stale") or "").strip().lower())
    return PlanFilters(status if status in queries.PLAN_STATUSES else None, stale)


def _plans_page(error: DomainError | None = None) -> Any:
    filters = read_plan_filters(request.args)
    page_request = PageRequest.from_args(
        request.args,
        sorts=queries.PLAN_SORTS,
        default_sort=queries.PLAN_DEFAULT_SORT,
        descending=True,
    )
    context = {
        "filters": filters,
        "statuses": queries.PLAN_STATUSES,
        "listing": queries.plan_listing(uow(), filters, page_request),
    }
    if error is not None:
        return failed(LIST_TEMPLATE, error, **context)
    return render_template(LIST_TEMPLATE, error=None, **context)


@views.route("/rebalance")
@auth.page_roles(PLANNER)
def rebalance_page() -> Any:
    return _plans_page()


@views.route("/rebalance", methods=["POST"])
@auth.page_roles(PLANNER)
def run_plan() -> Any:
    """Start planning in the background and show its progress (the run page)."""
    engine = current_app.extensions[ENGINE_KEY]
    run_id = _runs().start(engine, actor())
    return redirect(url_for("planning.plan_run_page", run_id=run_id))


def _runs() -> PlanRuns:
    return PlanRuns(instance_path() / "plan_runs")


@views.route("/rebalance/runs/<run_id>")
@auth.page_roles(PLANNER)
def plan_run_page(run_id: str) -> Any:
    """A plan being made: its stage and a bar, the page polling itself (meta refresh)
    until the plan is saved, then the plan's page."""
    try:
        state = _runs().state(run_id)
    except DomainError as error:
        return _plans_page(error)
    if state.stage != "done" or state.plan_id is None:
        page = make_response(render_template(RUN_TEMPLATE, state=state))
        if not state.finished:
            # The browser reloads the page each second: the poll needs no script.
            page.headers["Refresh"] = "1"
        return page
    if state.units_moved:
        flash(
            ngettext(
                "Plan %(id)s: %(num)d unit to move for %(cost)s CNY; review it and approve it "
                "to draft the transfers.",
                "Plan %(id)s: %(num)d units to move for %(cost)s CNY; review it and approve it "
                "to draft the transfers.",
                state.units_moved,
                id=state.plan_id,
                cost=f"{Decimal(state.cost):,.2f}",
            ),
            "ok",
        )
    else:
        flash(
            gettext(
                "Plan %(id)s moves nothing: no depot can spare stock for a shortage.",
                id=state.plan_id,
            ),
            "ok",
        )
    return redirect(url_for("planning.plan_page", plan_id=state.plan_id))


# --- one plan -------------------------------------------------------------------------------


def _plan_context(found: PlanPage) -> dict[str, Any]:
    view = found.view
    lanes = found.lanes
    return {
        "plan": view.plan,
        "stale": view.stale,
        "detail": found,
        "lanes": lanes,
        "lane_totals": {(lane.from_depot, lane.to_depot): lane for lane in lanes},
        "shown": found.shown,
        "shipment_total": sum((lane.shipment for lane in lanes), Decimal("0.00")),
        "handling_total": sum((lane.handling for lane in lanes), Decimal("0.00")),
        "transfer_ids": view.transfer_ids,
        "depot_names": {d.code: d for d in depots()},
    }


def _plan_page(plan_id: int, error: DomainError | None = None) -> Any:
    """The plan's page: every lane's totals and the lines of a small plan, or of one
    lane a page at a time (``?lane=BJ-SH&page=N``) of a large one."""
    found = plans.plan_page(
        uow(), plan_id, request.args.get("lane"), plans.line_page_request(request.args)
    )
    context = _plan_context(found)
    if error is not None:
        return failed(PLAN_TEMPLATE, error, **context)
    return render_template(PLAN_TEMPLATE, error=None, **context)


@views.route("/rebalance/<int:plan_id>")
@auth.page_roles(PLANNER)
def plan_page(plan_id: int) -> Any:
    return _plan_page(plan_id)


@views.route("/rebalance/<int:plan_id>/moves.csv")
@auth.page_roles(PLANNER)
def plan_csv(plan_id: int) -> Response:
    """The plan's moves as CSV (UTF-8 with a byte-order mark, so spreadsheets read it),
    every move, sent a block of rows at a time."""
    detail = plans.plan_detail(uow(), plan_id)
    blocks = plans.plan_csv_blocks(detail)
    return Response(
        (block.encode("utf-8") for block in chain(["\ufeff"], blocks)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="rebalancing-plan-{plan_id}.csv"'},
    )


@views.route("/rebalance/<int:plan_id>/approve", methods=["POST"])
@auth.page_roles(PLANNER)
def approve_plan(plan_id: int) -> Any:
    try:
        found = rebalancing.approve_plan(uow(), actor(), plan_id)
    except DomainError as error:
        return _plan_page(plan_id, error)
    count = len(found.transfer_ids)
    flash(
        ngettext(
            "Plan %(id)s approved: %(num)d draft transfer to ship.",
            "Plan %(id)s approved: %(num)d draft transfers to ship.",
            count,
            id=plan_id,
        ),
        "ok",
    )
    return redirect(url_for("planning.plan_page", plan_id=plan_id))


@views.route("/rebalance/<int:plan_id>/discard", methods=["POST"])
@auth.page_roles(PLANNER)
def discard_plan(plan_id: int) -> Any:
    try:
        rebalancing.discard_plan(uow(), actor(), plan_id)
    except DomainError as error:
        return _plan_page(plan_id, error)
    flash(gettext("Plan %(id)s discarded.", id=plan_id), "ok")
    return redirect(url_for("planning.plan_page", plan_id=plan_id))
