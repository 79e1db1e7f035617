"""Request and response models of the RMA API.

The same models validate requests and generate the OpenAPI document. Bodies
refuse unknown fields, take whole numbers as JSON integers only (no ``"5"``,
``5.0`` or ``true`` for a rating) and instants by the one rule of
``core.schemas.Instant`` (without an offset, Asia/Shanghai time; years 2000-2199).
Whether a serial, site, RMA or depot *exists* is the service's business (404),
not the schema's (422).

Instants are answered as ISO 8601 in Asia/Shanghai with their offset, money as
CNY numbers (see ``core.web.SparesJSONProvider``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    StrictBool,
    StrictInt,
    model_validator,
)

from core.errors import ErrorOut
from core.schemas import (
    MAX_ID,
    Body,
    DepotCode,
    Instant,
    Money,
    OptionalBody,
    PartNumber,
    PathText,
    Serial,
)
from rma.models import COVERAGES, FAULT_LEVELS, PHASES, Kind, Status
from rma.service.opening import MAX_SYMPTOM

FaultLevel = Literal[FAULT_LEVELS]  # type: ignore[valid-type]
KindName = Literal[tuple(k.value for k in Kind)]  # type: ignore[valid-type]
StatusName = Literal[tuple(s.value for s in Status)]  # type: ignore[valid-type]
Coverage = Literal[COVERAGES]  # type: ignore[valid-type]
Phase = Literal[PHASES]  # type: ignore[valid-type]
Id = Annotated[StrictInt, Field(ge=1, le=MAX_ID)]


def _one_line(value: str) -> str:
    value = value.strip()
    # PostgreSQL refuses NUL in text; other control characters are never meant.
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("must not contain control characters")
    return value


def _multi_line(value: str) -> str:
    value = value.strip()
    if any((ord(ch) < 32 and ch not in "\n\r\t") or ord(ch) == 127 for ch in value):
        raise ValueError("must not contain control characters other than line breaks and tabs")
    return value


def _required(value: str) -> str:
    if not value:
        raise ValueError("must not be empty")
    return value


def _line(max_length: int, *, required: bool = False) -> Any:
    """A one-line text type of at most ``max_length`` characters, trimmed."""
    length = (
        Field(min_length=1, max_length=max_length) if required else Field(max_length=max_length)
    )
    checks: list[Any] = [length]
    checks.append(AfterValidator(_one_line))
    if required:
        checks.append(AfterValidator(_required))
    return Annotated[(str, *checks)]


Name = _line(120, required=True)
NameZh = _line(60)
CityName = _line(60, required=True)
Address = _line(200)
ContactName = _line(80)
Phone = _line(40)
Signer = _line(120, required=True)
CancelReason = _line(300, required=True)


Symptom = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_SYMPTOM,
        description="what the customer sees; line breaks allowed",
    ),
    AfterValidator(_multi_line),
    AfterValidator(_required),
]
Remarks = Annotated[str, Field(max_length=1000), AfterValidator(_multi_line)]
Email = Annotated[
    str,
    Field(max_length=200, pattern=r"^\s*[^@\s]+@[^@\s]+\.[^@\s]+\s*$"),
    AfterValidator(_one_line),
]


# --- paths and queries ----------------------------------------------------------------------


class RmaPath(BaseModel):
    number: PathText = Field(max_length=40, description="e.g. RMA-2026-000042")


class SerialPath(BaseModel):
    serial: PathText = Field(max_length=64)


class IdPath(BaseModel):
    id: int = Field(ge=1, le=MAX_ID)


class RmasQuery(BaseModel):
    status: StatusName | None = None
    depot: DepotCode | None = Field(default=None, description="shipping or receiving depot")
    fault_level: FaultLevel | None = None
    open: bool = Field(default=False, description="only cases not closed or cancelled")
    mine: bool = Field(
        default=False,
        description="only my cases: reported by me, or for depot staff, those of my depot",
    )
    limit: int = Field(default=100, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=MAX_ID)


class EscalationsQuery(BaseModel):
    open: bool = Field(
        default=True, description="only those not yet acknowledged of open cases (default)"
    )
    fault_level: FaultLevel | None = None
    limit: int = Field(default=200, ge=1, le=1000)


class AcknowledgedQuery(BaseModel):
    fault_level: FaultLevel | None = None
    by: Annotated[str, Field(max_length=64), AfterValidator(_one_line)] | None = Field(
        default=None, description="only those this supervisor (user name) acknowledged"
    )
    since: Instant | None = Field(default=None, description="acknowledged at or after this instant")
    limit: int = Field(default=200, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=MAX_ID)


class CustomersQuery(BaseModel):
    search: Annotated[str, Field(max_length=100), AfterValidator(_one_line)] | None = Field(
        default=None, description="part of the customer's name"
    )
    limit: int = Field(default=200, ge=1, le=1000)


class ByCustomerQuery(BaseModel):
    customer_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class InstalledUnitsQuery(BaseModel):
    customer_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    site_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    q: Annotated[str, Field(max_length=64), AfterValidator(_one_line)] | None = Field(
        default=None, description="start of the serial, or part of the customer's name"
    )
    limit: int = Field(default=200, ge=1, le=1000)


class InstalledUnitQuery(BaseModel):
    fault_level: FaultLevel | None = Field(
        default=None,
        description="also preview which depot would ship a replacement now for this level",
    )


# --- request bodies -------------------------------------------------------------------------


class OpenRmaBody(Body):
    """A faulty unit: by its serial, or by part number and site when the serial is unknown."""

    serial: Serial | None = None
    part_number: PartNumber | None = Field(default=None, description="only without a serial")
    site_id: Id | None = Field(default=None, description="only without a serial")
    fault_level: FaultLevel
    kind: KindName
    symptom: Symptom
    reported_at: Instant | None = Field(
        default=None, description="when the customer reported it; default now; not in the future"
    )

    @model_validator(mode="after")
    def _unit_named_once(self) -> OpenRmaBody:
        by_part = self.part_number is not None or self.site_id is not None
        if self.serial is not None and by_part:
            raise ValueError("give the serial, or part_number and site_id, not both")
        if self.serial is None and (self.part_number is None or self.site_id is None):
            raise ValueError("give the unit's serial, or part_number and site_id")
        return self


class RmaShipBody(OptionalBody):
    serial: Serial | None = Field(
        default=None, description="scanned serial of the unit shipped (serialized parts)"
    )


class DeliverBody(OptionalBody):
    delivered_at: Instant | None = Field(
        default=None, description="courier's proof of delivery; default now; not in the future"
    )


class ReturnBody(Body):
    """A unit coming back to a depot: the customer's defective unit, or the loaner."""

    depot: DepotCode
    serial: Serial | None = Field(default=None, description="default: the serial on the case")


class DefectiveReturnBody(ReturnBody):
    """The customer's unit arrived at a depot, with what the depot found (optional)."""

    finding: Literal["fault_confirmed", "no_fault_found"] | None = Field(
        default=None,
        description="advance replacement only: the fault is confirmed, or no fault was "
        "found; counted in the repair yield and the no-fault-found rate",
    )


class CloseBody(Body):
    rating: Annotated[StrictInt, Field(ge=1, le=5, description="the customer's rating, 1-5")]
    remarks: Remarks = ""
    signed_by: Signer = Field(description="name of the customer's signer")


class CancelBody(Body):
    reason: CancelReason


Note = Annotated[str, Field(max_length=500), AfterValidator(_multi_line)]


class AcknowledgeBody(OptionalBody):
    note: Note = Field(default="", description="what the supervisor is doing about it")


class ApproveBody(Body):
    """A supervisor's approval of a billable case: the price is confirmed explicitly."""

    confirm: Literal[True] = Field(
        description="must be true: the supervisor has checked the price (approval_quote) "
        "with the customer"
    )
    comment: Note = Field(default="", description="recorded in the case history")
    confirmed_charge: Money | None = Field(
        default=None,
        description="the charge (CNY) the supervisor confirmed; when the price has changed "
        "since, the approval is refused (409 with the new charge) and nothing changes",
    )


class ConfirmCauseBody(Body):
    cause: Annotated[
        str,
        Field(min_length=1, max_length=1000),
        AfterValidator(_multi_line),
        AfterValidator(_required),
    ]


class CustomerBody(Body):
    code: Annotated[str, Field(pattern=r"^\s*[A-Za-z0-9][A-Za-z0-9-]{1,19}\s*$")]
    name: Name
    name_zh: NameZh = ""
    email: Email | None = None


class SiteBody(Body):
    customer_id: Id
    name: Name
    city: CityName | Id = Field(description="city name (e.g. Urumqi) or id")
    address: Address = ""
    contact_name: ContactName = ""
    contact_phone: Phone = ""
    contact_email: Email | None = None


class ContractBody(Body):
    customer_id: Id
    number: Annotated[str, Field(pattern=r"^\s*[A-Za-z0-9][A-Za-z0-9-]{1,29}\s*$")]
    coverage: Coverage = "5x8"
    starts_on: date
    ends_on: date
    advance_replacement: StrictBool = True
    repair: StrictBool = True
    loaner: StrictBool = False


class InstalledUnitBody(Body):
    serial: Serial
    part_number: PartNumber
    site_id: Id
    shipped_on: date
    warranty_end: date
    phase: Phase = "in_warranty"
    contract_id: Id | None = None


# --- answers --------------------------------------------------------------------------------


class ConflictOut(ErrorOut):
    status: str | None = Field(default=None, description="the case's status now")
    allowed: list[str] = Field(default_factory=list, description="the steps allowed now")


class CityRef(BaseModel):
    id: int
    name: str
    name_zh: str
    province: str


class CustomerRef(BaseModel):
    id: int
    code: str
    name: str
    name_zh: str


class CustomerOut(CustomerRef):
    email: str | None
    created_at: datetime


CustomerList = RootModel[list[CustomerOut]]


class SiteOut(BaseModel):
    id: int
    customer_id: int
    name: str
    city: CityRef
    address: str
    contact_name: str
    contact_phone: str
    contact_email: str | None


SiteList = RootModel[list[SiteOut]]


class ContractOut(BaseModel):
    id: int
    number: str
    customer_id: int
    coverage: str = Field(description="5x8 or 7x24")
    starts_on: date
    ends_on: date
    advance_replacement: bool
    repair: bool
    loaner: bool
    active: bool = Field(description="today (Asia/Shanghai) is within its dates")


ContractList = RootModel[list[ContractOut]]


class EntitlementOut(BaseModel):
    entitled: bool = Field(description="free of charge; otherwise billable")
    reason: str
    phase: str | None
    warranty_end: date | None
    contract: str | None = Field(description="contract number")
    coverage: str = Field(description="5x8 or 7x24")


class EmergencyOut(BaseModel):
    """A depot's emergency-courier option (C-1 only), booked or not, and why."""

    ships_at: datetime | None
    arrival: datetime | None
    cost: Money | None
    booked: bool
    note: str
    note_code: str = Field(
        default="",
        description="the note as a code: not_booked_standard_on_time, booked_sooner, "
        "not_booked_no_sooner",
    )
    note_args: dict[str, Any] = Field(default_factory=dict, description="the code's arguments")


class AlternativeOut(BaseModel):
    depot: str
    part_number: str | None = Field(description="what that depot would ship")
    service: str | None = Field(description="standard or emergency")
    ships_at: datetime | None
    arrival: datetime | None
    cost: Money | None
    meets_due: bool
    chosen: bool
    reason: str
    reason_code: str = Field(
        default="",
        description="the reason as a code: chosen, no_stock, no_lane, late, "
        "later_than_winner, below_target, costlier, later_same_cost, tie_by_code, "
        "dispatch_chosen, dispatch_not_chosen",
    )
    reason_args: dict[str, Any] = Field(
        default_factory=dict,
        description="the code's arguments: instants ISO 8601, durations in minutes, CNY as text",
    )
    emergency: EmergencyOut | None = Field(
        default=None, description="the depot's emergency-courier option (C-1 cases)"
    )


class PromiseOut(BaseModel):
    """The live delivery promise of a replacement or loaner."""

    due: datetime = Field(description="approval + 24 hours: the commitment")
    original: datetime | None = Field(description="the first promised delivery")
    current: datetime | None = Field(
        description="the promise now, recomputed from now once a promise passed unmet; "
        "null when none can be given (backorder, or shipped and past its promise)"
    )
    ships_by: datetime | None = Field(description="the pick-up the current promise rests on")
    service: str | None


class PreviewOut(BaseModel):
    """The depot choice if a replacement were approved now (nothing is reserved)."""

    fault_level: str
    due: datetime = Field(description="now + 24 hours")
    depot: str | None
    part_number: str | None
    service: str | None
    ships_at: datetime | None
    promised_delivery: datetime | None
    cost: Money | None
    at_risk: bool
    backorder: bool
    alternatives: list[AlternativeOut]


class InstalledUnitOut(BaseModel):
    serial: str
    part_number: str
    site_id: int
    site_name: str
    customer: CustomerRef
    city: CityRef
    contract_id: int | None
    shipped_on: date
    warranty_end: date
    phase: str
    active: bool = Field(description="false once replaced and taken back")


InstalledUnitList = RootModel[list[InstalledUnitOut]]


class EntitlementByKind(BaseModel):
    advance_replacement: EntitlementOut
    repair: EntitlementOut
    loaner: EntitlementOut


class InstalledUnitDetailOut(InstalledUnitOut):
    entitlement: EntitlementByKind = Field(description="what each kind of RMA would be today")
    open_rma: str | None = Field(description="the open RMA of this serial, if any")
    replacement_preview: PreviewOut | None = Field(description="with ?fault_level= only")


class RmaDueOut(BaseModel):
    replacement_delivery: datetime | None = Field(description="approval + 24 hours")
    repair_return: datetime | None = Field(description="receipt + 72 working hours")
    defective_return: datetime | None = Field(
        description="delivery + 15 days (the defective unit, or the loaner, back); for a "
        "case cancelled after shipping, cancellation + 15 days (the shipped unit back)"
    )


class DueHoursOut(BaseModel):
    """Hours from now to each due time while it is still to be met; negative when overdue,
    null when met, missed or not applicable."""

    replacement_delivery: float | None
    repair_return: float | None
    defective_return: float | None


class DueMetOut(BaseModel):
    """Whether each promise was kept, once the step happened (null until then)."""

    replacement_delivery: bool | None
    repair_return: bool | None
    defective_return: bool | None


class AllocationOut(BaseModel):
    depot: str
    part_number: str = Field(description="the part shipped (the requested one or a successor)")
    service: str | None = Field(description="standard or emergency")
    ships_at: datetime | None = Field(description="the departure the promise was quoted on")
    ship_by: datetime | None = Field(
        description="the last collection that still makes that pick-up (the cut-off of the "
        "day it leaves in); the case is at risk once it passes unshipped"
    )
    promised_delivery: datetime | None
    cost: Money | None
    lane_id: int | None
    alternatives: list[AlternativeOut] = Field(description="every depot, the chosen one first")


class EventOut(BaseModel):
    at: datetime
    actor: str
    action: str
    from_status: str | None
    to_status: str | None
    detail: dict[str, Any]


class RmaEscalationOut(BaseModel):
    id: int
    step: int = Field(description="1-3 the ladder, 0 at risk")
    notify_title: str
    support_hours: float
    due_at: datetime
    raised_at: datetime
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    acknowledge_note: str = Field(description="the supervisor's note when taking it on")


class ApprovalQuoteOut(BaseModel):
    """What approving the billable case now would charge the customer, in CNY."""

    part_number: str = Field(description="the part charged for (the one that would ship)")
    unit_cost: Money
    depot: str | None = Field(description="the depot that would ship (replacements, loaners)")
    service: str | None
    shipping: Money | None = Field(description="the shipping quote of that depot")
    backorder: bool = Field(description="no depot holds the part now: no shipping quote")
    charge: Money = Field(description="unit cost plus shipping")


class RmaOut(BaseModel):
    number: str
    status: str
    kind: str
    fault_level: str
    symptom: str
    serial: str | None
    part_number: str
    customer: CustomerRef
    site: SiteOut
    reported_by: str
    reported_at: datetime
    billable: bool
    entitlement: EntitlementOut
    due: RmaDueOut
    due_in_hours: DueHoursOut
    due_met: DueMetOut
    at_risk: bool = Field(
        description="the replacement promise cannot be kept: no depot can meet the due time, "
        "or a promised pick-up or delivery passed unmet, or a backorder"
    )
    at_risk_reason: str | None = Field(description="why the case is at risk")
    promise: PromiseOut | None = Field(description="replacements and loaners once approved")
    backorder: bool = Field(description="no depot holds the part or a successor")
    allocation: AllocationOut | None = Field(description="null until a depot is allocated")
    shipped_serial: str | None
    return_depot: str | None
    returned_serial: str | None
    approved_at: datetime | None
    approved_by: str | None
    allocated_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    defective_received_at: datetime | None
    repair_started_at: datetime | None
    repaired_at: datetime | None
    returned_at: datetime | None
    back_at: datetime | None
    cause_confirmed_at: datetime | None
    closed_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str
    rating: int | None = Field(description="the customer's verdict, 1-5")
    remarks: str
    signed_by: str | None
    signed_at: datetime | None
    allowed_actions: list[str] = Field(description="the steps that may be taken now")


RmaList = RootModel[list[RmaOut]]


class RmaDetailOut(RmaOut):
    events: list[EventOut] = Field(description="the case history, oldest first")
    escalations: list[RmaEscalationOut]
    approval_quote: ApprovalQuoteOut | None = Field(
        default=None, description="while the case waits for approval: the price to confirm"
    )
    finding: Literal["fault_confirmed", "no_fault_found"] | None = Field(
        default=None, description="what the depot found on receipt of the defective unit"
    )
    repair_outcome: Literal["repaired", "no_fault_found", "scrapped"] | None = Field(
        default=None,
        description="how the defective unit left defective stock (none while it is there)",
    )


class EscalationOut(BaseModel):
    id: int
    rma: str = Field(description="RMA number")
    rma_status: str
    kind: str
    customer: CustomerRef
    step: int = Field(description="1-3 the ladder, 0 at risk")
    fault_level: str
    notify_title: str
    notify_email: str
    support_hours: float
    due_at: datetime
    raised_at: datetime
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    acknowledge_note: str = Field(description="the supervisor's note when taking it on")


EscalationList = RootModel[list[EscalationOut]]


class LadderStepOut(BaseModel):
    fault_level: str
    step: int
    after_hours: float = Field(
        description="support hours (working hours; calendar hours for C-1 on 7x24)"
    )
    notify_title: str
    notify_email: str


LadderOut = RootModel[list[LadderStepOut]]


class LadderStepPath(BaseModel):
    fault_level: str = Field(pattern=r"^C-[123]$")
    step: int = Field(ge=1, le=3)


class LadderStepBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    after_hours: float | None = Field(default=None, gt=0, le=10_000)
    notify_title: str | None = Field(default=None, min_length=1, max_length=80)
    notify_email: str | None = Field(default=None, min_length=3, max_length=200)


# --- customers, sites, contracts and the installed base: edits -------------------------------


class _Patch(Body):
    """A PATCH body: the fields given change, those left out stay; at least one is given,
    and only the fields named in ``_clearable`` may be null (cleared)."""

    _clearable: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _something_given(self) -> _Patch:
        if not self.model_fields_set:
            raise ValueError("give at least one field to change")
        for name in self.model_fields_set:
            if getattr(self, name) is None and name not in self._clearable:
                raise ValueError(f"{name} cannot be null")
        return self


class CustomerPatch(_Patch):
    """A customer's names and e-mail (the code stays); ``email: null`` clears it."""

    _clearable = ("email",)

    name: Name | None = None
    name_zh: NameZh | None = None
    email: Email | None = None


class SitePatch(_Patch):
    """A site's name, city, address and contact; ``contact_email: null`` clears it. The
    city cannot change while the site has open cases (409 ``site_has_open_cases``)."""

    _clearable = ("contact_email",)

    name: Name | None = None
    city: CityName | Id | None = Field(
        default=None, description="city name in English or Chinese, or id"
    )
    address: Address | None = None
    contact_name: ContactName | None = None
    contact_phone: Phone | None = None
    contact_email: Email | None = None


class ContractExtendBody(Body):
    ends_on: date = Field(description="the new end, later than the current one")


class ContractContinueBody(Body):
    """A new contract continuing this one; terms left out are the old contract's."""

    number: Annotated[str, Field(pattern=r"^\s*[A-Za-z0-9][A-Za-z0-9-]{1,29}\s*$")]
    ends_on: date
    starts_on: date | None = Field(
        default=None,
        description="default the day after the old contract ends; earlier (an upgrade during "
        "the term) ends the old one the day before",
    )
    coverage: Coverage | None = None
    advance_replacement: StrictBool | None = None
    repair: StrictBool | None = None
    loaner: StrictBool | None = None


class ContinuationOut(BaseModel):
    contract: ContractOut = Field(description="the new contract")
    previous: ContractOut = Field(description="the contract it continues, as it ends now")
    units_moved: int = Field(description="active installed units moved to the new contract")


class PhaseBody(Body):
    phase: Phase = Field(description="a later phase than the unit's (phases never go back)")


class PhaseConflictOut(ErrorOut):
    phase: str | None = Field(default=None, description="the unit's phase now")
    allowed: list[str] = Field(default_factory=list, description="the phases it may move to")


class HeldConflictOut(ErrorOut):
    rma: str | None = Field(default=None, description="the open RMA holding the unit or site")
