"""Pages of the planners: target stock, rebalancing plans, batch dispatch, and a
calculator showing which depot would ship a replacement.

A thin layer over the same services as the API and the CLI
(``inventory.service.targets``/``rebalancing``, ``planning.service.demand``,
``rma.service.dispatch``/``allocation``): pages read form fields, call a use case, and
show what came back. A refused form is shown again with the error and the
error's status (4xx), and nothing has changed; a successful one redirects with
a message. Every time is shown in Asia/Shanghai.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from core import auth, clock
from core.auth import Role
from core.db import UnitOfWork, read_only
from core.errors import DomainError, Invalid
from core.web import add_nav, uow
from depots.service import network
from inventory.models import RebalanceMove
from inventory.service import catalog, queries, rebalancing, targets
from inventory.service.rebalancing import PlanView
from optimizer.depot_choice import DepotDecision
from planning.service import demand
from rma.models import FAULT_LEVELS, Rma
from rma.service import allocation, customers, dispatch
from rma.service import queries as rma_queries
from rma.service.allocation import Options

views = Blueprint("planning", __name__, template_folder="templates")

PLANNER = Role.PLANNER.value
CHOICE_READERS = (PLANNER, Role.ENGINEER.value, Role.SUPERVISOR.value)

add_nav("Targets", "planning.targets_page", PLANNER, order=40)
add_nav("Rebalancing", "planning.rebalance_page", PLANNER, order=41)
add_nav("Dispatch", "planning.dispatch_page", PLANNER, order=42)
add_nav("Depot choice", "planning.depot_choice_page", *CHOICE_READERS, order=43)

TARGET_ROW_LIMIT = 500
STOCK_ROW_LIMIT = 50_000
PART_SUGGESTIONS = 300
PLAN_LIST_LIMIT = 50
DISPATCH_REPORT_KEY = "planning.dispatch_report"
LEVEL_HINTS = {
    "C-1": "whole network down; emergency courier allowed",
    "C-2": "part of the network misbehaves",
    "C-3": "performance degraded",
}


def _actor() -> auth.Actor:
    """The signed-in actor itself (services are given values, not request proxies)."""
    return current_user._get_current_object()  # type: ignore[attr-defined, no-any-return]


def _depots() -> list[network.DepotInfo]:
    return network.list_depots(uow())


def _part_numbers() -> list[str]:
    return [p.part_number for p in catalog.list_parts(uow(), limit=PART_SUGGESTIONS)]


def _number(raw: str | None, label: str, field: str, *, whole: bool = False) -> float | None:
    """A number typed into a form (blank: ``None``); ``Invalid`` naming the field otherwise."""
    value = (raw or "").strip().replace(",", ".")
    if not value:
        return None
    pattern = r"\d{1,9}" if whole else r"\d{1,9}(\.\d{1,6})?|\.\d{1,6}"
    if not re.fullmatch(pattern, value):
        kind = "a whole number" if whole else "a number"
        raise Invalid(f"{label}: {value!r} is not {kind}", field=field)
    return float(value)


def _failed(template: str, error: DomainError, **context: Any) -> Any:
    """The page again with the error; the answer's status is the error's (4xx)."""
    return (
        render_template(
            template, error=error.detail, error_field=error.extra.get("field"), **context
        ),
        error.status,
    )


# --- targets --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetFilters:
    depot: str | None
    part_number: str | None
    show_all: bool

    @classmethod
    def read(cls, values: Mapping[str, str]) -> TargetFilters:
        depot = (values.get("depot") or "").strip().upper() or None
        part = (values.get("part_number") or "").strip().upper() or None
        return cls(depot, part, values.get("all") == "1")

    def args(self) -> dict[str, str]:
        """The filters as query arguments (for links and redirects back to the list)."""
        args = {"depot": self.depot or "", "part_number": self.part_number or ""}
        if self.show_all:
            args["all"] = "1"
        return {k: v for k, v in args.items() if v}


@read_only
def _targets_listing(u: UnitOfWork, filters: TargetFilters) -> dict[str, Any]:
    """Targets matching the filters (``NotFound`` for an unknown depot or part), with the
    available stock beside each, read in one snapshot."""
    rows = targets.find_targets(
        u,
        depot=filters.depot,
        part_number=filters.part_number,
        nonzero=not filters.show_all,
        limit=TARGET_ROW_LIMIT + 1,
    )
    stock = {
        (row.depot, row.part_number): row.available
        for row in queries.stock(
            u,
            depot=filters.depot,
            part_number=filters.part_number,
            nonzero=False,
            limit=STOCK_ROW_LIMIT,
        )
    }
    return {
        "rows": rows[:TARGET_ROW_LIMIT],
        "truncated": len(rows) > TARGET_ROW_LIMIT,
        "available": stock,
    }


def _targets_page(
    filters: TargetFilters,
    *,
    error: DomainError | None = None,
    form: Mapping[str, str] | None = None,
) -> Any:
    context: dict[str, Any] = {
        "filters": filters,
        "depots": _depots(),
        "part_numbers": _part_numbers(),
        "form": form or {},
        "defaults": {
            "fill_rate": 95,
            "lead_time_days": demand.DEFAULT_LEAD_TIME_DAYS,
            "window_days": demand.DEFAULT_WINDOW_DAYS,
        },
        "max_target": targets.MAX_TARGET,
    }
    try:
        context.update(_targets_listing(uow(), filters))
    except DomainError as listing_error:
        # A filter naming an unknown depot or part: show the page, empty, with the reason.
        context.update(rows=[], truncated=False, available={})
        return _failed("planning/targets.html", listing_error, **context)
    if error is not None:
        return _failed("planning/targets.html", error, **context)
    return render_template("planning/targets.html", error=None, error_field=None, **context)


@views.route("/targets")
@auth.page_roles(PLANNER)
def targets_page() -> Any:
    return _targets_page(TargetFilters.read(request.args))


def _override_value(raw: str | None) -> int | None:
    value = (raw or "").strip()
    if not value:
        return None
    if not re.fullmatch(r"\d{1,9}", value):
        raise Invalid(
            f"Override: {value!r} is not a whole number of units (leave it blank to use the "
            "computed target)",
            field="override",
        )
    return int(value)


@views.route("/targets/override", methods=["POST"])
@auth.page_roles(PLANNER)
def set_target_override() -> Any:
    form = request.form
    filters = TargetFilters.read(
        {
            "depot": form.get("filter_depot", ""),
            "part_number": form.get("filter_part_number", ""),
            "all": form.get("filter_all", ""),
        }
    )
    try:
        saved = targets.set_override(
            uow(),
            _actor(),
            form.get("depot", ""),
            form.get("part_number", ""),
            _override_value(form.get("override")),
        )
    except DomainError as error:
        return _targets_page(filters, error=error, form=form)
    if saved.override is None:
        message = (
            f"{saved.part_number} at {saved.depot_code}: override removed; the target is the "
            f"computed {saved.computed}."
        )
    else:
        message = f"{saved.part_number} at {saved.depot_code}: target set to {saved.override}."
    flash(message, "ok")
    return redirect(url_for("planning.targets_page", **filters.args()))


@views.route("/targets/compute", methods=["POST"])
@auth.page_roles(PLANNER)
def compute_targets() -> Any:
    form = request.form
    filters = TargetFilters.read(
        {
            "depot": form.get("filter_depot", ""),
            "part_number": form.get("filter_part_number", ""),
            "all": form.get("filter_all", ""),
        }
    )
    try:
        options: dict[str, Any] = {}
        fill_percent = _number(form.get("fill_rate"), "Fill rate", "fill_rate")
        if fill_percent is not None:
            if not 0 < fill_percent < 100:
                raise Invalid("Fill rate: a percentage above 0 and below 100", field="fill_rate")
            options["fill_rate"] = fill_percent / 100
        lead_time = _number(form.get("lead_time_days"), "Lead time", "lead_time_days")
        if lead_time is not None:
            options["lead_time_days"] = lead_time
        window = _number(form.get("window_days"), "Demand window", "window_days", whole=True)
        if window is not None:
            options["window_days"] = int(window)
        report = demand.compute_targets(uow(), _actor(), **options)
    except DomainError as error:
        return _targets_page(filters, error=error, form=form)
    flash(f"Targets recomputed: {report.summary()}.", "ok")
    return redirect(url_for("planning.targets_page", **filters.args()))


# --- rebalancing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Lane:
    """The moves of a plan on one depot-to-depot lane (one draft transfer on approval)."""

    from_depot: str
    to_depot: str
    moves: list[RebalanceMove]

    @property
    def units(self) -> int:
        return sum(m.qty for m in self.moves)

    @property
    def cost(self) -> Decimal:
        return sum((m.cost for m in self.moves), Decimal("0.00"))


def lanes_of(moves: list[RebalanceMove]) -> list[Lane]:
    """Moves grouped by lane, lanes by source then destination, parts in order."""
    grouped: dict[tuple[str, str], list[RebalanceMove]] = defaultdict(list)
    for move in moves:
        grouped[(move.from_depot, move.to_depot)].append(move)
    return [
        Lane(source, target, sorted(items, key=lambda m: m.part_number))
        for (source, target), items in sorted(grouped.items())
    ]


def _plans_page(error: DomainError | None = None) -> Any:
    context = {"plans": rebalancing.list_plans(uow(), limit=PLAN_LIST_LIMIT)}
    if error is not None:
        return _failed("planning/rebalance.html", error, **context)
    return render_template("planning/rebalance.html", error=None, **context)


@views.route("/rebalance")
@auth.page_roles(PLANNER)
def rebalance_page() -> Any:
    return _plans_page()


@views.route("/rebalance", methods=["POST"])
@auth.page_roles(PLANNER)
def run_plan() -> Any:
    try:
        found = rebalancing.propose_plan(uow(), _actor())
    except DomainError as error:
        return _plans_page(error)
    plan = found.plan
    if plan.units_moved:
        flash(
            f"Plan {plan.id}: {plan.units_moved} units to move for {plan.cost} CNY; review it "
            "and approve it to draft the transfers.",
            "ok",
        )
    else:
        flash(f"Plan {plan.id} moves nothing: no depot can spare stock for a shortage.", "ok")
    return redirect(url_for("planning.plan_page", plan_id=plan.id))


def _plan_page(plan_id: int, error: DomainError | None = None) -> Any:
    found: PlanView = rebalancing.get_plan(uow(), plan_id)
    context = {
        "plan": found.plan,
        "stale": found.stale,
        "lanes": lanes_of(found.moves),
        "transfer_ids": found.transfer_ids,
        "depot_names": {d.code: d.name for d in _depots()},
    }
    if error is not None:
        return _failed("planning/plan.html", error, **context)
    return render_template("planning/plan.html", error=None, **context)


@views.route("/rebalance/<int:plan_id>")
@auth.page_roles(PLANNER)
def plan_page(plan_id: int) -> Any:
    return _plan_page(plan_id)


@views.route("/rebalance/<int:plan_id>/approve", methods=["POST"])
@auth.page_roles(PLANNER)
def approve_plan(plan_id: int) -> Any:
    try:
        found = rebalancing.approve_plan(uow(), _actor(), plan_id)
    except DomainError as error:
        return _plan_page(plan_id, error)
    count = len(found.transfer_ids)
    flash(
        f"Plan {plan_id} approved: {count} draft transfer{'' if count == 1 else 's'} to ship.",
        "ok",
    )
    return redirect(url_for("planning.plan_page", plan_id=plan_id))


@views.route("/rebalance/<int:plan_id>/discard", methods=["POST"])
@auth.page_roles(PLANNER)
def discard_plan(plan_id: int) -> Any:
    try:
        rebalancing.discard_plan(uow(), _actor(), plan_id)
    except DomainError as error:
        return _plan_page(plan_id, error)
    flash(f"Plan {plan_id} discarded.", "ok")
    return redirect(url_for("planning.plan_page", plan_id=plan_id))


# --- batch dispatch -------------------------------------------------------------------------


@dataclass(frozen=True)
class DispatchRow:
    """One open case of the proposal, with whom and where it goes to."""

    case: dispatch.CaseProposal
    rma: Rma
    customer: str
    city: str


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
        rows.append(DispatchRow(case, rma, customer.name, city.name))
    level = {name: i for i, name in enumerate(FAULT_LEVELS)}
    rows.sort(key=lambda r: (not r.case.changed, level.get(r.case.fault_level, 9), r.case.due))
    return rows


def _dispatch_page(error: DomainError | None = None) -> Any:
    """The proposal, computed now; applying it posts its basis back."""
    report = session.pop(DISPATCH_REPORT_KEY, None)
    proposal = dispatch.propose(uow(), _actor())
    context = {
        "proposal": proposal,
        "rows": _proposal_rows(uow(), proposal),
        "report": report,
        "now": clock.now(),
    }
    if error is not None:
        return _failed("planning/dispatch.html", error, **context)
    return render_template("planning/dispatch.html", error=None, **context)


@views.route("/dispatch")
@auth.page_roles(PLANNER)
def dispatch_page() -> Any:
    return _dispatch_page()


@views.route("/dispatch", methods=["POST"])
@auth.page_roles(PLANNER)
def apply_dispatch() -> Any:
    try:
        report = dispatch.apply(uow(), _actor(), request.form.get("basis", ""))
    except DomainError as error:
        return _dispatch_page(error)
    # Shown once on the page the browser is sent back to (so a reload does not apply again).
    session[DISPATCH_REPORT_KEY] = {"summary": report.summary(), "applied": report.applied}
    return redirect(url_for("planning.dispatch_page"))


# --- depot choice ---------------------------------------------------------------------------


def _local_instant(raw: str | None) -> datetime | None:
    """A ``datetime-local`` field (Asia/Shanghai wall-clock time) as an aware instant."""
    value = (raw or "").strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(f"Requested at: {value!r} is not a date and time", field="at") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=clock.SHANGHAI)
    if not 2000 <= parsed.year <= 2199:
        raise Invalid("Requested at: a date between the years 2000 and 2199", field="at")
    return clock.as_utc(parsed)


@dataclass(frozen=True)
class Choice:
    decision: DepotDecision
    options: Options
    requested: str


@views.route("/depot-choice")
@auth.page_roles(*CHOICE_READERS)
def depot_choice_page() -> Any:
    args = request.args
    part = (args.get("part_number") or "").strip().upper()
    city = (args.get("city") or "").strip()
    level = (args.get("fault_level") or "C-2").strip().upper()
    context: dict[str, Any] = {
        "form": {"part_number": part, "city": city, "fault_level": level, "at": args.get("at")},
        "cities": network.list_cities(uow()),
        "part_numbers": _part_numbers(),
        "levels": FAULT_LEVELS,
        "level_hints": LEVEL_HINTS,
        "choice": None,
    }
    if not (part or city or args.get("at")):
        return render_template("planning/depot_choice.html", error=None, **context)
    try:
        if not part:
            raise Invalid("Part number: enter the part to replace", field="part_number")
        if not city:
            raise Invalid("City: choose the customer's city", field="city")
        if level not in FAULT_LEVELS:
            raise Invalid(f"Fault level: one of {', '.join(FAULT_LEVELS)}", field="fault_level")
        at = _local_instant(args.get("at"))
        decision, options = allocation.preview(uow(), part, city, level, at)
    except DomainError as error:
        return _failed("planning/depot_choice.html", error, **context)
    context["choice"] = Choice(decision, options, part)
    return render_template("planning/depot_choice.html", error=None, **context)
