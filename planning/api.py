"""JSON API of the planners: depot choice, target stock, rebalancing plans, batch dispatch.

Every route needs a bearer token. Anyone signed in may read (and ask which depot
would ship a replacement: that reserves nothing); writes need the planner role
(admins pass), checked before the input is validated. Every write runs through
``core.web.answer_once``, so a request repeated with the same
``Idempotency-Key`` gets the first answer again and writes nothing new.

Instants are answered as ISO 8601 in Asia/Shanghai with their offset, money as
CNY numbers (``core.web.SparesJSONProvider``). Bad input answers 4xx JSON
``{"error", "detail"}``: 422 for values that cannot be right, 404 for a depot,
part, city or plan that does not exist, 409 for a plan already decided or stale
(its inputs changed since it was made: ``"stale": true`` in its answer).
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, url_for
from flask_openapi3 import APIBlueprint, Tag

from core import auth
from core.db import UnitOfWork
from core.errors import ErrorOut
from core.pagination import PageRequest
from core.web import answer_once, uow
from inventory.models import RebalanceMove, StockTarget
from inventory.service import rebalancing, targets
from inventory.service.rebalancing import PlanSummary, PlanView
from optimizer.depot_choice import DepotDecision
from planning.schemas import (
    ComputeBody,
    DepotChoiceOut,
    DepotChoiceQuery,
    DispatchApplyBody,
    DispatchOut,
    DispatchProposalOut,
    ExchangeCurveOut,
    ExchangeCurveQuery,
    OptimizeBody,
    OptimizeOut,
    PlanList,
    PlanOut,
    PlanPath,
    PlansQuery,
    TargetBody,
    TargetList,
    TargetOut,
    TargetsQuery,
    TargetsReportOut,
)
from planning.service import availability, demand, plans, queries
from planning.service.demand import TargetsReport
from planning.service.plans import MoveLine, PlanDetail, Position, lanes_of
from rma.service import allocation, dispatch
from rma.service.allocation import Options
from rma.service.dispatch import DispatchProposal, DispatchReport

api = APIBlueprint(
    "planning_api",
    __name__,
    url_prefix="/api/v1",
    abp_security=[{"bearer": []}],
    abp_tags=[Tag(name="planning")],
)

READERS: tuple[str, ...] = ()  # anyone signed in
CSV_RESPONSE = {
    "description": "CSV text with a header line",
    "content": {"text/csv": {"schema": {"type": "string"}}},
}
PLANNERS = ("planner",)

READ_ERRORS: dict[int, Any] = {401: ErrorOut, 404: ErrorOut, 422: ErrorOut}
WRITE_ERRORS: dict[int, Any] = {
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
}


# --- serialising ----------------------------------------------------------------------------


def _json(body: Any, status: int = 200) -> Response:
    return current_app.response_class(
        current_app.json.dumps(body), status=status, mimetype="application/json"
    )


def decision_json(decision: DepotDecision, options: Options, part_number: str) -> dict[str, Any]:
    """The allocation object of a previewed depot choice (the RMA answer's shape)."""
    shipped = options.part_at.get(decision.depot) if decision.depot else None
    return {
        "depot": decision.depot,
        "part_number": shipped or part_number.strip().upper(),
        "service": decision.service,
        "ships_at": decision.ships_at,
        "promised_delivery": decision.promised_delivery,
        "cost": decision.cost,
        "at_risk": decision.at_risk,
        "backorder": decision.backorder,
        "due": decision.due,
        "alternatives": [
            {
                "depot": alt.depot,
                "part_number": options.part_at.get(alt.depot),
                "service": alt.service,
                "ships_at": alt.ships_at,
                "arrival": alt.arrives_at,
                "cost": alt.cost,
                "meets_due": alt.meets_due,
                "chosen": alt.chosen,
                "reason": alt.reason,
            }
            for alt in decision.alternatives
        ],
    }


def target_json(target: StockTarget) -> dict[str, Any]:
    """A stored (or absent: all zero) target and how it came about."""
    computed = target.computed_at is not None
    return {
        "depot": target.depot_code,
        "part_number": target.part_number,
        "target": target.effective,
        "source": "override" if target.override is not None else "computed",
        "computed": target.computed,
        "override": target.override,
        "demand_per_day": target.demand_per_day if computed else None,
        "demand_per_month": queries.per_month(target.demand_per_day) if computed else None,
        "lead_time_days": target.lead_time_days if computed else None,
        "fill_rate": target.fill_rate if computed else None,
        "computed_at": target.computed_at,
        "override_by": target.override_by,
        "override_at": target.override_at,
    }


def _plan_summary(found: PlanSummary) -> dict[str, Any]:
    plan = found.plan
    return {
        "id": plan.id,
        "status": plan.status,
        "created_by": plan.created_by,
        "created_at": plan.created_at,
        "decided_by": plan.decided_by,
        "decided_at": plan.decided_at,
        "parts": plan.parts,
        "units_moved": plan.units_moved,
        "cost": plan.cost,
        "shortage_before": plan.shortage_before,
        "shortage_left": plan.shortage_left,
        "transfer_ids": found.transfer_ids,
        "stale": found.stale,
        "reports": report_links(plan.id or 0),
    }


def report_links(plan_id: int) -> dict[str, str]:
    """The plan's report page and its PDF, XLSX and CSV downloads (the reports
    package serves them; the links are its URLs, so nothing of it is imported)."""
    links = {
        fmt: url_for("reports.download_file", name="rebalancing", fmt=fmt, plan=plan_id)
        for fmt in ("pdf", "xlsx", "csv")
    }
    return {"page": url_for("reports.page", name="rebalancing", plan=plan_id), **links}


def _stock(position: Position | None) -> int | None:
    return None if position is None else position.stock


def _target(position: Position | None) -> int | None:
    return None if position is None else position.target


def _move(move: RebalanceMove, line: MoveLine | None = None) -> dict[str, Any]:
    """A move; with its line, the stock and target at both depots before and after
    the plan (``null`` when not known: the plan is decided or stale)."""
    return {
        "part_number": move.part_number,
        "from_depot": move.from_depot,
        "to_depot": move.to_depot,
        "qty": move.qty,
        "unit_cost": move.unit_cost,
        "cost": move.cost,
        "from_stock_before": _stock(line.source_before if line else None),
        "from_stock_after": _stock(line.source_after if line else None),
        "from_target": _target(line.source_before if line else None),
        "to_stock_before": _stock(line.destination_before if line else None),
        "to_stock_after": _stock(line.destination_after if line else None),
        "to_target": _target(line.destination_before if line else None),
    }


def plan_json(found: PlanView) -> dict[str, Any]:
    """A saved plan with its moves (the contract's ``id, moves, units_moved, cost,
    shortage_left``, plus its status and history)."""
    return {
        **_plan_summary(found),
        "moves": [_move(m) for m in found.moves],
    }


def plan_detail_json(detail: PlanDetail) -> dict[str, Any]:
    """A saved plan with its moves and, while it is current, their positions."""
    return {
        **_plan_summary(detail.view),
        "lanes": [
            {
                "from_depot": lane.from_depot,
                "to_depot": lane.to_depot,
                "units": lane.units,
                "shipment_cost": lane.shipment,
                "handling": lane.handling,
                "freight": lane.freight,
            }
            for lane in lanes_of(detail.lines)
        ],
        "moves": [_move(line.move, line) for line in detail.lines],
    }


def targets_report_json(report: TargetsReport) -> dict[str, Any]:
    return {
        "parts": report.parts,
        "rows": report.rows,
        "depots": report.depots,
        "total_target": report.total_target,
        "fill_rate": report.fill_rate,
        "lead_time_days": report.lead_time_days,
        "window_days": report.window_days,
        "summary": report.summary(),
    }


def proposal_json(proposal: DispatchProposal) -> dict[str, Any]:
    return {
        "basis": proposal.basis,
        "computed_at": proposal.computed_at,
        "cases": [
            {
                "number": case.number,
                "kind": case.kind,
                "fault_level": case.fault_level,
                "status": case.status,
                "due": case.due,
                "depot_before": case.depot_before,
                "arrival_before": case.arrival_before,
                "met_before": case.met_before,
                "depot": case.plan.depot,
                "part_number": case.plan.part_number,
                "service": case.plan.service,
                "ships_at": case.plan.ships_at,
                "arrival": case.plan.arrives_at,
                "cost": case.plan.cost,
                "meets_due": case.plan.meets_due,
                "changed": case.changed,
            }
            for case in proposal.cases
        ],
        "met_due_before": proposal.met_due_before,
        "met_due_after": proposal.met_due_after,
        "changed": proposal.changed,
        "backorders": proposal.backorders,
        "total_cost": proposal.total_cost,
        "summary": proposal.summary(),
    }


def dispatch_json(report: DispatchReport) -> dict[str, Any]:
    return {
        **proposal_json(report.proposal),
        "applied": report.applied,
        "summary": report.summary(),
    }


# --- depot choice ---------------------------------------------------------------------------


@api.get(
    "/depot-choice",
    responses={200: DepotChoiceOut, **READ_ERRORS},
    summary="Which depot would ship a replacement now, and why the others lost (reserves nothing)",
)
@auth.api_roles(*READERS)
def get_depot_choice(query: DepotChoiceQuery) -> Any:
    decision, options = allocation.preview(
        uow(), query.part_number, query.city, query.fault_level, query.at
    )
    return _json(decision_json(decision, options, query.part_number))


# --- targets --------------------------------------------------------------------------------


@api.get(
    "/targets",
    responses={200: TargetList, **READ_ERRORS},
    summary="Target stock per depot and part: the effective target, the computed one, the "
    "override and how it was computed",
)
@auth.api_roles(*READERS)
def get_targets(query: TargetsQuery) -> Any:
    rows = targets.find_targets(
        uow(),
        depot=query.depot,
        part_number=query.part_number,
        nonzero=query.nonzero,
        limit=query.limit,
        offset=query.offset,
    )
    return _json([target_json(t) for t in rows])


@api.put(
    "/targets",
    responses={200: TargetOut, **WRITE_ERRORS},
    summary="Set or clear a planner's override of a target (planners)",
)
@auth.api_roles(*PLANNERS)
def put_target(body: TargetBody) -> Any:
    actor = auth.api_actor()

    def work(u: UnitOfWork) -> tuple[Any, int]:
        saved = targets.set_override(u, actor, body.depot, body.part_number, body.override)
        return target_json(saved), 200

    return answer_once(work)


@api.post(
    "/targets/compute",
    responses={200: TargetsReportOut, **WRITE_ERRORS},
    summary="Recompute every part's target at every depot from regional demand, replacing "
    "every earlier computation (planners; overrides are kept)",
)
@auth.api_roles(*PLANNERS)
def post_targets_compute(body: ComputeBody) -> Any:
    actor = auth.api_actor()
    options = body.model_dump(exclude_none=True)

    def work(u: UnitOfWork) -> tuple[Any, int]:
        return targets_report_json(demand.compute_targets(u, actor, **options)), 200

    return answer_once(work)


@api.post(
    "/targets/optimize",
    responses={200: OptimizeOut, **WRITE_ERRORS},
    summary="Propose targets reaching a share of replacements within a window at the least "
    "inventory value, with independent per-depot base stock at the same goal and today's "
    "targets (planners; saves nothing)",
)
@auth.api_roles(*PLANNERS)
def post_targets_optimize(body: OptimizeBody) -> Any:
    options = body.model_dump(exclude_none=True)
    return _json(availability.optimize(uow(), **options).as_dict())


@api.get(
    "/planning/exchange-curve",
    responses={200: ExchangeCurveOut, **READ_ERRORS},
    summary="Inventory value against the predicted share of replacements within the window, "
    "one point per budget step",
)
@auth.api_roles(*READERS)
def get_exchange_curve(query: ExchangeCurveQuery) -> Any:
    return _json(availability.exchange_curve(uow(), query.window_hours))


# --- rebalancing ----------------------------------------------------------------------------


@api.post(
    "/rebalance/plans",
    responses={201: PlanOut, **WRITE_ERRORS},
    summary="Plan transfers toward the target stock from current stock, and save the plan "
    "(planners)",
)
@auth.api_roles(*PLANNERS)
def post_plan() -> Any:
    actor = auth.api_actor()

    def work(u: UnitOfWork) -> tuple[Any, int]:
        proposed = rebalancing.propose_plan(u, actor)
        # Read back in the same transaction: the answer is what GET of the plan shows.
        return plan_detail_json(plans.plan_detail(u, proposed.plan.id)), 201

    return answer_once(work)


@api.get(
    "/rebalance/plans",
    responses={200: PlanList, **READ_ERRORS},
    summary="Rebalancing plans, newest first",
)
@auth.api_roles(*READERS)
def get_plans(query: PlansQuery) -> Any:
    filters = queries.PlanFilters(query.status, query.stale)
    newest_first = PageRequest(page=1, per_page=query.limit, sort="id", descending=True)
    listing = queries.plan_listing(uow(), filters, newest_first)
    return _json([_plan_summary(p) for p in listing.page.items])


@api.get(
    "/rebalance/plans/<int:id>",
    responses={200: PlanOut, **READ_ERRORS},
    summary="One rebalancing plan with its moves",
)
@auth.api_roles(*READERS)
def get_plan(path: PlanPath) -> Any:
    return _json(plan_detail_json(plans.plan_detail(uow(), path.id)))


@api.get(
    "/rebalance/plans/<int:id>/moves.csv",
    responses={200: CSV_RESPONSE, **READ_ERRORS},
    summary="One rebalancing plan's moves as CSV (" + ",".join(plans.CSV_COLUMNS) + "); the "
    "before/after columns are empty once the plan is decided or stale",
)
@auth.api_roles(*READERS)
def get_plan_csv(path: PlanPath) -> Any:
    text = plans.plan_csv(plans.plan_detail(uow(), path.id))
    return Response(
        text.encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="rebalancing-plan-{path.id}.csv"'},
    )


@api.post(
    "/rebalance/plans/<int:id>/approve",
    responses={200: PlanOut, **WRITE_ERRORS},
    summary="Approve a proposed plan: one draft transfer per lane; answers their ids; 409 when "
    "the plan is stale (planners)",
)
@auth.api_roles(*PLANNERS)
def post_plan_approve(path: PlanPath) -> Any:
    actor = auth.api_actor()
    return answer_once(lambda u: (plan_json(rebalancing.approve_plan(u, actor, path.id)), 200))


@api.post(
    "/rebalance/plans/<int:id>/discard",
    responses={200: PlanOut, **WRITE_ERRORS},
    summary="Discard a proposed plan (planners)",
)
@auth.api_roles(*PLANNERS)
def post_plan_discard(path: PlanPath) -> Any:
    actor = auth.api_actor()
    return answer_once(lambda u: (plan_json(rebalancing.discard_plan(u, actor, path.id)), 200))


# --- batch dispatch -------------------------------------------------------------------------


@api.get(
    "/dispatch/proposal",
    responses={200: DispatchProposalOut, **READ_ERRORS},
    summary="Propose a re-plan of every open, unshipped replacement together (changes nothing): "
    "most on time, C-1 first, earliest arrival for the late, targets kept, lowest cost "
    "(planners)",
)
@auth.api_roles(*PLANNERS)
def get_dispatch_proposal() -> Any:
    return _json(proposal_json(dispatch.propose(uow(), auth.api_actor())))


@api.post(
    "/dispatch/apply",
    responses={200: DispatchOut, **WRITE_ERRORS},
    summary="Apply the proposal with this basis; 409 when the cases or stock changed since "
    "(planners)",
)
@auth.api_roles(*PLANNERS)
def post_dispatch_apply(body: DispatchApplyBody) -> Any:
    actor = auth.api_actor()
    return answer_once(lambda u: (dispatch_json(dispatch.apply(u, actor, body.basis)), 200))
