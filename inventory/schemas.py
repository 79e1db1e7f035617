"""Request and response models of the inventory API.

The same models validate requests and generate the OpenAPI document. Bodies
refuse unknown fields (a misspelt ``serial`` for ``serials`` must not be
ignored) and take quantities as JSON integers only (no ``true``, ``"5"`` or
``5.0``). Codes are accepted in any case and answered upper-case. Whether a
depot, part or serial *exists* is the service's business (404), not the
schema's (422).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    StrictInt,
    field_validator,
    model_validator,
)

from core.errors import ErrorOut
from core.schemas import (
    MAX_ID,
    Body,
    DepotCode,
    Money,
    OptionalBody,
    PartNumber,
    PathText,
    Reason,
    Reference,
    SearchText,
    Serial,
    no_control_characters,
)
from inventory.models import CRITICALITIES, FAMILIES, PartIn
from inventory.service.stock import MAX_QTY
from inventory.service.transfers import MAX_LINES

MAX_LEDGER_ID = 2**63 - 1


Serials = Annotated[list[Serial], Field(max_length=MAX_QTY)]
Quantity = Annotated[StrictInt, Field(gt=0, le=MAX_QTY, description="whole units, > 0")]
Condition = Literal["good", "defective", "in_repair", "quarantine"]
BucketName = Literal["good", "defective", "in_repair", "quarantine", "in_transit"]
Family = Literal[FAMILIES]  # type: ignore[valid-type]
Criticality = Literal[CRITICALITIES]  # type: ignore[valid-type]
Location = Literal["depot", "in_transit", "customer", "repair", "scrapped", "missing", "sent_back"]
ReservationStatus = Literal["active", "released", "picked"]
TransferStatusName = Literal["draft", "shipped", "partially_received", "received", "cancelled"]
Bin = Annotated[
    str,
    Field(
        min_length=1,
        max_length=20,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._/-]{0,19}$",
        description="a shelf location, e.g. A-03-2 (answered upper-case)",
    ),
]


class InsufficientOut(ErrorOut):
    depot: str | None = None
    part_number: str | None = None
    bucket: str | None = None
    available: int | None = None


# --- parts ----------------------------------------------------------------------------------


class PartBody(PartIn):
    """A catalogue part (POST): the part number, what it is and what it costs (CNY)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("description", "superseded_by")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        return None if value is None else no_control_characters(value)


class PartUpdateBody(PartBody):
    """A part's new values (PUT replaces them all; the part number comes from the path)."""

    part_number: str | None = Field(  # type: ignore[assignment]
        default=None, max_length=40, description="optional; must match the path"
    )


class PartPath(BaseModel):
    part_number: PathText = Field(max_length=40)


class PartsQuery(BaseModel):
    search: SearchText | None = Field(default=None, description="in part number or description")
    family: Family | None = None
    limit: int = Field(default=200, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=MAX_ID)


class PartOut(BaseModel):
    part_number: str
    description: str
    family: str
    serialized: bool
    unit_cost: Money = Field(description="CNY")
    weight_kg: float
    criticality: str
    superseded_by: str | None
    created_at: datetime


class PartDetailOut(PartOut):
    supersession_chain: list[str] = Field(
        description="the part, then each part that supersedes it, nearest first"
    )
    substitutes: list[str] = Field(
        description="parts that may be shipped where this one is asked for, preferred first"
    )
    supersedes: list[str] = Field(description="parts this one directly replaces")


PartList = RootModel[list[PartOut]]


# --- stock ----------------------------------------------------------------------------------


class StockQuery(BaseModel):
    depot: DepotCode | None = None
    part_number: PartNumber | None = None
    condition: BucketName | None = Field(default=None, description="rows having some of it")
    search: SearchText | None = None
    family: Family | None = None
    include_empty: bool = Field(default=False, description="also rows with nothing on hand")
    limit: int = Field(default=1000, ge=1, le=5000)
    offset: int = Field(default=0, ge=0, le=MAX_ID)


class StockRowOut(BaseModel):
    depot: str
    part_number: str
    description: str
    family: str
    good: int
    reserved: int = Field(description="good units held for RMAs")
    available: int = Field(description="good - reserved")
    defective: int
    in_repair: int
    quarantine: int
    in_transit: int = Field(description="on the road towards this depot")
    on_hand: int = Field(description="good + defective + in_repair + quarantine")


StockList = RootModel[list[StockRowOut]]


class StockCsvQuery(BaseModel):
    depot: DepotCode | None = None


class ReceiptBody(Body):
    depot: DepotCode
    part_number: PartNumber
    qty: Quantity
    serials: Serials = Field(default_factory=list, description="one per unit if serialized")
    reference: Reference | None = None
    reason: Reason = ""
    bin: Bin | None = Field(
        default=None,
        description="where the units go; left out: the part's default bin at the depot. "
        "Becomes the part's default bin there when it has none.",
    )
    bins: dict[Serial, Bin] = Field(
        default_factory=dict, description="a bin per serial, where it differs from `bin`"
    )


class AdjustmentBody(Body):
    depot: DepotCode
    part_number: PartNumber
    qty: Annotated[StrictInt, Field(ge=-MAX_QTY, le=MAX_QTY)] = Field(
        description="signed: + adds units, - removes them; not 0"
    )
    reason: Annotated[Reason, Field(min_length=1)]
    serials: Serials = Field(default_factory=list)
    condition: Condition = "good"

    @model_validator(mode="after")
    def _not_zero(self) -> AdjustmentBody:
        if self.qty == 0:
            raise ValueError("qty must not be 0")
        return self


class ScrapBody(Body):
    depot: DepotCode
    part_number: PartNumber
    qty: Quantity
    reason: Annotated[Reason, Field(min_length=1)]
    serials: Serials = Field(default_factory=list)
    condition: Condition = "defective"


class ConditionChangeBody(Body):
    depot: DepotCode
    part_number: PartNumber
    qty: Quantity
    from_condition: Condition
    to_condition: Condition
    serials: Serials = Field(default_factory=list)
    reason: Reason = ""
    reference: Reference | None = None


class CountBody(Body):
    depot: DepotCode
    part_number: PartNumber
    counted: Annotated[StrictInt, Field(ge=0, le=MAX_QTY)] | None = Field(
        default=None, description="units counted (bulk parts); serialized parts list serials"
    )
    serials: Serials | None = Field(default=None, description="serials seen on the shelf")
    condition: Condition = "good"


class MovementOut(BaseModel):
    movement_id: int
    kind: str
    actor: str
    reason: str
    reference: str | None
    at: datetime
    stock: StockRowOut | None = Field(description="the depot's stock of the part afterwards")


class CountOut(BaseModel):
    count_id: int
    depot: str
    part_number: str
    condition: str
    expected: int
    counted: int
    difference: int
    movement_id: int | None = Field(description="the adjustment, if the count differed")
    missing: list[str] = Field(description="serials on the books but not seen")
    found: list[str] = Field(description="serials seen but not on the books")
    stock: StockRowOut | None


# --- reservations -------------------------------------------------------------------------


class ReservationBody(Body):
    depot: DepotCode
    part_number: PartNumber
    qty: Quantity
    reference: Reference | None = Field(default=None, examples=["RMA-2026-0001"])


class ReservationOut(BaseModel):
    id: int
    depot: str
    part_number: str
    qty: int
    reference: str
    status: str
    created_by: str
    created_at: datetime
    closed_at: datetime | None


ReservationList = RootModel[list[ReservationOut]]


class IdPath(BaseModel):
    id: int = Field(ge=1, le=MAX_ID)


class ReservationsQuery(BaseModel):
    depot: DepotCode | None = None
    reference: Reference | None = None
    status: ReservationStatus | None = Field(default=None, description="any when left out")


class ReleaseBody(OptionalBody):
    reason: Reason = ""


class PickBody(OptionalBody):
    serials: Serials = Field(default_factory=list, description="scanned serials, if serialized")


class PickOut(BaseModel):
    reservation: ReservationOut
    movement: MovementOut


# --- transfers ----------------------------------------------------------------------------


class TransferLineBody(Body):
    part_number: PartNumber
    qty: Quantity


class TransferBody(Body):
    from_depot: DepotCode
    to_depot: DepotCode
    lines: list[TransferLineBody] = Field(min_length=1, max_length=MAX_LINES)
    note: Reason = ""
    reference: Reference | None = None


class TransferShipBody(OptionalBody):
    serials: dict[PartNumber, Serials] = Field(
        default_factory=dict,
        description="scanned serials per part; parts left out ship their oldest free units",
    )


class ReceivedLineBody(Body):
    part_number: PartNumber
    qty: Annotated[StrictInt, Field(ge=0, le=MAX_QTY)] | None = Field(
        default=None, description="bulk parts: units that arrived"
    )
    serials: Serials | None = Field(default=None, description="serialized parts: serials seen")


class ReceiveBody(OptionalBody):
    lines: list[ReceivedLineBody] | None = Field(
        default=None,
        max_length=MAX_LINES,
        description="what arrived, line by line; a line left out of the list did not arrive. "
        "Shortfalls stay in transit: the transfer is partially_received until they arrive "
        "(late-parcels) or are written off (write-off).",
    )
    as_shipped: bool = Field(
        default=False,
        description="true (and no lines) confirms that everything arrived as shipped. Without "
        "lines and without this confirmation the receipt is refused (422).",
    )


class LateParcelBody(OptionalBody):
    lines: list[ReceivedLineBody] | None = Field(
        default=None,
        max_length=MAX_LINES,
        description="what the late parcel holds: missing serials or bulk quantities",
    )
    all_missing: bool = Field(
        default=False,
        description="true (and no lines) confirms that everything still missing arrived",
    )


class WriteOffBody(Body):
    reason: Annotated[Reason, Field(min_length=1)] = Field(
        description="why the missing units are written off (required)"
    )


class TransferLineOut(BaseModel):
    part_number: str
    qty: int
    qty_received: int | None


class TransferSerialOut(BaseModel):
    serial: str
    part_number: str
    received: bool


class DiscrepancyOut(BaseModel):
    id: int
    part_number: str
    kind: str = Field(description="short, extra or wrong_serial")
    qty: int
    serial: str | None
    note: str
    created_at: datetime
    awaiting_decision: bool = Field(
        description="an extra still in the receiving depot's quarantine: staff there accept "
        "it or send it back"
    )
    awaiting_arrival: bool = Field(
        description="a shortfall of a partially received transfer: still in transit until "
        "it arrives in a late parcel or is written off"
    )
    resolution: Literal["accepted", "sent_back", "arrived", "written_off"] | None = Field(
        description="an extra: accepted or sent_back; a shortfall: arrived (late) or "
        "written_off; null while waiting, and for wrong_serial (nothing to decide)"
    )
    resolution_note: str = Field(default="", description="why a shortfall was written off")
    resolved_by: str | None
    resolved_at: datetime | None


class DiscrepancyPath(BaseModel):
    id: int = Field(ge=1, le=MAX_ID, description="the transfer")
    discrepancy_id: int = Field(ge=1, le=MAX_ID)


class DecisionBody(OptionalBody):
    reason: Reason = Field(default="", description="what the inspection found (optional)")


class TransferOut(BaseModel):
    id: int
    code: str = Field(description="how people and documents name the transfer, e.g. T2")
    from_depot: str
    to_depot: str
    status: str
    note: str
    reference: str | None
    created_by: str
    created_at: datetime
    shipped_by: str | None
    shipped_at: datetime | None
    received_by: str | None
    received_at: datetime | None
    lines: list[TransferLineOut]
    serials: list[TransferSerialOut]
    discrepancies: list[DiscrepancyOut]


TransferList = RootModel[list[TransferOut]]


class TransfersQuery(BaseModel):
    status: TransferStatusName | None = None
    depot: DepotCode | None = Field(default=None, description="from or to this depot")
    limit: int = Field(default=100, ge=1, le=200)


# --- ledger and units -----------------------------------------------------------------------


class LedgerQuery(BaseModel):
    depot: DepotCode | None = None
    part_number: PartNumber | None = None
    serial: Serial | None = None
    reference: Reference | None = None
    before_id: int | None = Field(
        default=None, ge=1, le=MAX_LEDGER_ID, description="next page: entries older than this"
    )
    limit: int = Field(default=100, ge=1, le=1000)


class LedgerCsvQuery(BaseModel):
    depot: DepotCode | None = None
    part_number: PartNumber | None = None


class LedgerLineOut(BaseModel):
    id: int
    at: datetime
    movement_id: int
    kind: str
    actor: str
    reason: str
    reference: str | None
    depot: str
    part_number: str
    bucket: str
    qty: int = Field(description="signed change of on-hand units in the bucket")
    serial: str | None


class LedgerPageOut(BaseModel):
    items: list[LedgerLineOut] = Field(description="newest first")
    next_before_id: int | None = Field(description="pass as before_id for the next page")


class SerialPath(BaseModel):
    serial: PathText = Field(max_length=64)


class UnitsQuery(BaseModel):
    depot: DepotCode | None = None
    part_number: PartNumber | None = None
    condition: Condition | None = None
    location: Location | None = None
    limit: int = Field(default=500, ge=1, le=5000)
    offset: int = Field(default=0, ge=0, le=MAX_ID)


class UnitOut(BaseModel):
    serial: str
    part_number: str
    condition: str
    location: str
    depot: str | None = Field(description="at a depot: that depot; in transit: the destination")
    bin: str | None = Field(
        default=None,
        description="on a shelf: its own bin, else the part's default bin at the depot",
    )
    reservation_id: int | None
    refurbished: bool
    note: str
    updated_at: datetime


UnitList = RootModel[list[UnitOut]]


class UnitBinBody(Body):
    bin: Bin | None = Field(description="the bin it now sits in; null: the part's default bin")


class StockBinBody(Body):
    depot: DepotCode
    part_number: PartNumber
    bin: Bin | None = Field(description="the part's default bin at the depot; null clears it")


class StockBinOut(BaseModel):
    depot: str
    part_number: str
    bin: str | None


class UnitDetailOut(UnitOut):
    history: list[LedgerLineOut] = Field(description="oldest first")


# --- CSV imports ------------------------------------------------------------------------------


class ImportOut(BaseModel):
    kind: str
    rows: int
    created: int
    updated: int
    unchanged: int
    units: int
    summary: str
