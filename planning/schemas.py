"""Request and response models of the planning API.

The same models validate requests and generate the OpenAPI document. Bodies
refuse unknown fields and take whole numbers as JSON integers only; instants
by the one rule of ``core.schemas.Instant`` (without an offset, Asia/Shanghai
time; years 2000-2199). Codes are accepted in any case and answered upper-case.
Whether a depot, part, city or plan *exists* is the service's business (404),
not the schema's (422). The shared building blocks come from ``core.schemas``.

Instants are answered as ISO 8601 in Asia/Shanghai with their offset, money as
CNY numbers (see ``core.web.SparesJSONProvider``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    RootModel,
    StrictInt,
)

from core.schemas import (
    MAX_ID,
    Body,
    DepotCode,
    Instant,
    Money,
    OptionalBody,
    PartNumber,
    upper_code,
)
from inventory.service import targets
from planning.service import demand
from rma.models import FAULT_LEVELS
from rma.schemas import AlternativeOut

# --- request models -------------------------------------------------------------------------


def _one_line(value: str) -> str:
    value = value.strip()
    if not value or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("must be a non-empty single line of text")
    return value


CityName = Annotated[
    str,
    Field(min_length=1, max_length=100, description="customer city (English name), e.g. Chengdu"),
    AfterValidator(_one_line),
]
# A required query parameter may not carry a list of ``examples`` (OpenAPI wants a map
# there), so the query's part number is declared without the body type's examples.
QueryPartNumber = Annotated[
    str,
    Field(
        pattern=r"^\s*[A-Za-z0-9][A-Za-z0-9._/+-]{1,39}\s*$",
        description="part number, e.g. SFP-10G-SR",
    ),
    AfterValidator(upper_code),
]
FaultLevel = Literal[FAULT_LEVELS]  # type: ignore[valid-type]


class DepotChoiceQuery(BaseModel):
    part_number: QueryPartNumber
    city: CityName
    fault_level: FaultLevel = Field(description="C-1, C-2 or C-3")
    at: Instant | None = Field(
        default=None,
        description="when the replacement would be requested (ISO 8601; without an offset "
        "Asia/Shanghai time); default now. The due time is 24 hours later.",
    )


class TargetsQuery(BaseModel):
    depot: DepotCode | None = None
    part_number: PartNumber | None = None
    nonzero: bool = Field(default=False, description="only targets above 0")
    limit: int = Field(default=1000, ge=1, le=5000)
    offset: int = Field(default=0, ge=0, le=MAX_ID)


class TargetBody(Body):
    """A planner's own target for a part at a depot; ``null`` returns to the computed one."""

    depot: DepotCode
    part_number: PartNumber
    override: Annotated[StrictInt, Field(ge=0, le=targets.MAX_TARGET)] | None = Field(
        description=f"whole units, 0 to {targets.MAX_TARGET}, or null"
    )


class ComputeBody(OptionalBody):
    fill_rate: float | None = Field(
        default=None,
        gt=0,
        lt=1,
        allow_inf_nan=False,
        description="share of demand met from stock, e.g. 0.95 (the default)",
    )
    lead_time_days: float | None = Field(
        default=None,
        gt=0,
        le=365,
        allow_inf_nan=False,
        description=f"replenishment lead time in days (default {demand.DEFAULT_LEAD_TIME_DAYS:g})",
    )
    window_days: Annotated[StrictInt, Field(ge=7, le=3650)] | None = Field(
        default=None,
        description=f"days of RMA history to count (default {demand.DEFAULT_WINDOW_DAYS})",
    )


class PlansQuery(BaseModel):
    limit: int = Field(default=50, ge=1, le=500)
    status: Literal["proposed", "approved", "discarded"] | None = Field(
        default=None, description="only plans of this status"
    )
    stale: bool | None = Field(
        default=None, description="true: only stale plans; false: only plans that are not"
    )


class PlanPath(BaseModel):
    id: int = Field(ge=1, le=MAX_ID)


# --- response models ------------------------------------------------------------------------


class DepotChoiceOut(BaseModel):
    """The depot that would ship now, and why the others lost; nothing is reserved."""

    depot: str | None = Field(description="null for a backorder")
    part_number: str = Field(description="the part that depot ships (requested or successor)")
    service: str | None = Field(description="standard or emergency")
    ships_at: datetime | None
    promised_delivery: datetime | None
    cost: Money | None = Field(description="CNY")
    at_risk: bool = Field(description="no depot can deliver by the due time")
    backorder: bool = Field(description="no depot holds the part or a successor")
    due: datetime = Field(description="at + 24 hours")
    alternatives: list[AlternativeOut] = Field(description="every depot, the chosen one first")


class TargetOut(BaseModel):
    depot: str
    part_number: str
    target: int = Field(description="the effective target: the override, else the computed one")
    source: Literal["computed", "override"]
    computed: int
    override: int | None
    demand_per_day: float | None = Field(description="units per day; null if never computed")
    demand_per_month: float | None = Field(
        description="the same demand in units per average month (30.44 days); null if never "
        "computed"
    )
    lead_time_days: float | None
    fill_rate: float | None
    computed_at: datetime | None
    override_by: str | None
    override_at: datetime | None


TargetList = RootModel[list[TargetOut]]


class TargetsReportOut(BaseModel):
    parts: int = Field(description="parts with a target or some demand")
    rows: int = Field(description="(depot, part) targets computed above 0 or with some demand")
    depots: int = Field(description="depots computed for")
    total_target: int = Field(description="units over all depots and parts (computed)")
    fill_rate: float
    lead_time_days: float
    window_days: int
    summary: str


class MoveOut(BaseModel):
    part_number: str
    from_depot: str
    to_depot: str
    qty: int
    unit_cost: Money = Field(description="handling per unit on the lane, CNY")
    cost: Money = Field(
        description="freight of the move: qty x unit_cost plus its share (by units) of the "
        "lane's shipment charge, which the lane pays once per plan; CNY"
    )
    from_stock_before: int | None = Field(
        default=None,
        description="stock at from_depot before the plan: available good stock, less what "
        "draft transfers take out, plus what is on its way in; null unless the plan is "
        "proposed and current (GET of one plan only)",
    )
    from_stock_after: int | None = Field(
        default=None, description="stock at from_depot once every move of the plan is done"
    )
    from_target: int | None = Field(default=None, description="effective target at from_depot")
    to_stock_before: int | None = Field(default=None, description="stock at to_depot before")
    to_stock_after: int | None = Field(
        default=None, description="stock at to_depot once every move of the plan is done"
    )
    to_target: int | None = Field(default=None, description="effective target at to_depot")


class PlanReportsOut(BaseModel):
    """Where the plan's report is read and downloaded (``/reports/rebalancing``)."""

    page: str = Field(description="the report's page")
    pdf: str = Field(description="the report with a packing list per lane, Code128 codes")
    xlsx: str = Field(description="one sheet per table")
    csv: str = Field(description="a ZIP of one CSV per table")


class PlanSummaryOut(BaseModel):
    id: int
    status: Literal["proposed", "approved", "discarded"]
    created_by: str
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    parts: int = Field(description="parts moved")
    units_moved: int
    cost: Money = Field(description="freight of every move, CNY")
    shortage_before: int = Field(description="units below target before the plan")
    shortage_left: int = Field(description="units still below target after it")
    transfer_ids: list[int] = Field(description="draft transfers made on approval")
    stale: bool = Field(
        description="proposed, but the stock, transfers under way, targets or lanes it was "
        "computed from have changed since: it cannot be approved; make a new plan"
    )
    reports: PlanReportsOut = Field(description="the plan's report: page and downloads")


PlanList = RootModel[list[PlanSummaryOut]]


class LaneFreightOut(BaseModel):
    """One lane of a plan: everything it carries travels as one shipment."""

    from_depot: str
    to_depot: str
    units: int
    shipment_cost: Money = Field(description="the lane's shipment charge, paid once, CNY")
    handling: Money = Field(description="handling: units x the lane's handling per unit, CNY")
    freight: Money = Field(description="shipment_cost + handling, CNY")


class PlanOut(PlanSummaryOut):
    lanes: list[LaneFreightOut] = Field(description="the plan's freight lane by lane")
    moves: list[MoveOut]


class DispatchCaseOut(BaseModel):
    number: str
    kind: str
    fault_level: str
    status: str
    due: datetime
    depot_before: str | None = Field(description="where its unit comes from now")
    arrival_before: datetime | None = Field(description="its current allocation, shipped now")
    met_before: bool
    depot: str | None = Field(description="where the proposal takes it from; null: backorder")
    part_number: str | None
    service: str | None
    ships_at: datetime | None
    arrival: datetime | None
    cost: Money | None
    meets_due: bool
    changed: bool = Field(description="applying the proposal changes this case")


class DispatchProposalOut(BaseModel):
    basis: str = Field(description="give it back to apply exactly this proposal")
    computed_at: datetime
    cases: list[DispatchCaseOut]
    met_due_before: int
    met_due_after: int
    changed: list[str]
    backorders: int
    total_cost: Money = Field(description="CNY")
    summary: str


class DispatchApplyBody(BaseModel):
    basis: str = Field(min_length=1, max_length=64, description="the proposal's basis")


class DispatchOut(DispatchProposalOut):
    applied: list[str] = Field(description="the cases changed (each with a reallocate event)")


# --- availability-based targets (issue 13) ----------------------------------------------------


class OptimizeBody(OptionalBody):
    goal: float | None = Field(
        default=None,
        gt=0,
        lt=1,
        allow_inf_nan=False,
        description="share of replacements to arrive within the window, e.g. 0.95 (default)",
    )
    window_hours: float | None = Field(
        default=None,
        ge=1,
        le=240,
        allow_inf_nan=False,
        description="hours from approval to arrival, e.g. 24 (default)",
    )
    c1_weight: float | None = Field(
        default=None,
        gt=0,
        le=100,
        allow_inf_nan=False,
        description="a C-1 replacement counts this many times toward the goal (default 1)",
    )
    goals_by_class: dict[str, float] | None = Field(
        default=None,
        description='a goal per contract coverage class, e.g. {"7x24": 0.98, "5x8": 0.95}; '
        "a class left out keeps goal; each class's share within the window must reach "
        "its own goal",
    )


class ExchangeCurveQuery(BaseModel):
    window_hours: float = Field(default=24.0, ge=1, le=240, allow_inf_nan=False)


class PredictedOut(BaseModel):
    within_window: float | None = Field(
        description="predicted share of replacements within the window (null: no demand)"
    )
    inventory_value: float = Field(description="CNY of the base stock")
    units: int
    by_fault_level: dict[str, float | None] = Field(description='"C-1" and "other"')
    by_class: dict[str, float | None] = Field(
        default_factory=dict, description='per contract coverage class, "5x8" and "7x24"'
    )


class OptimizedTargetOut(BaseModel):
    depot: str
    part_number: str
    target: int = Field(description="proposed")
    current: int = Field(description="today's effective target")
    baseline: int = Field(description="independent per-depot base stock at the same goal")


class DepotComparisonOut(BaseModel):
    depot: str
    optimized_units: int
    optimized_value: float
    baseline_units: int
    baseline_value: float
    current_units: int
    current_value: float


class OptimizeOut(BaseModel):
    goal: float
    window_hours: float
    targets: list[OptimizedTargetOut]
    predicted: PredictedOut
    baseline: PredictedOut
    current: PredictedOut
    by_depot: list[DepotComparisonOut]
    goals_by_class: dict[str, float] | None = Field(
        default=None, description="the goal of each contract class, when asked for by class"
    )
    reason: str | None = Field(default=None, description="why the goal cannot be reached")


class CurvePointOut(BaseModel):
    inventory_value: float
    within_window: float


ExchangeCurveOut = RootModel[list[CurvePointOut]]
