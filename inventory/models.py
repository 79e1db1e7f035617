"""Parts, serialized units, the append-only stock ledger and the balances it sums to.

Stock lives in *buckets*: per (depot, part) there is one balance row for each
of ``good``, ``defective``, ``in_repair``, ``quarantine`` and ``in_transit``.
``in_transit`` is counted at the *destination* depot: it is what is on the road
towards that depot. ``reserved`` only exists on ``good`` rows.

Every change of stock is a ``Movement`` (who, when, why, what caused it) with
one or more ``LedgerEntry`` rows (signed quantities per bucket). Entries and
movements are never updated or deleted (database triggers refuse it); balances
are updated in the same transaction and always equal the sum of the ledger.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import field_validator
from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from core import clock, generations
from core.db import BigId, UTCDateTime


class Bucket(StrEnum):
    GOOD = "good"
    DEFECTIVE = "defective"
    IN_REPAIR = "in_repair"
    QUARANTINE = "quarantine"
    IN_TRANSIT = "in_transit"


CONDITIONS = (Bucket.GOOD, Bucket.DEFECTIVE, Bucket.IN_REPAIR, Bucket.QUARANTINE)
BUCKET_NAMES = tuple(bucket.value for bucket in Bucket)


class Location(StrEnum):
    """Where a serialized unit is."""

    DEPOT = "depot"
    IN_TRANSIT = "in_transit"
    CUSTOMER = "customer"
    REPAIR = "repair"
    SCRAPPED = "scrapped"
    MISSING = "missing"
    # Not ours: an extra unit that arrived on a transfer and was sent back to its sender.
    SENT_BACK = "sent_back"


FAMILIES = ("chassis", "line_card", "supervisor", "power", "fan", "optic", "cable", "module")
CRITICALITIES = ("critical", "high", "medium", "low")


class Part(SQLModel, table=True):
    __table_args__ = (
        CheckConstraint("unit_cost >= 0", name="unit_cost_not_negative"),
        CheckConstraint("superseded_by IS NULL OR superseded_by <> part_number", name="not_self"),
    )

    part_number: str = Field(sa_column=Column(String(40), primary_key=True))
    description: str = Field(max_length=200)
    family: str = Field(max_length=20)
    serialized: bool = True
    unit_cost: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    weight_kg: float = 0.0
    criticality: str = Field(default="medium", max_length=10)
    # B supersedes A: B may be shipped wherever A is asked for.
    superseded_by: str | None = Field(
        default=None,
        sa_column=Column(String(40), ForeignKey("part.part_number"), nullable=True),
    )
    created_at: datetime = Field(sa_type=UTCDateTime, default_factory=clock.now)


# The generation of the parts catalogue: every process keeps the supersession map in
# memory (``inventory.service.catalog``); any change to a part bumps it in the same
# transaction, so the other processes reload it (``core.generations``).
CATALOGUE = "catalogue"
generations.watch(CATALOGUE, Part)


class StockBalance(SQLModel, table=True):
    __tablename__ = "stock_balance"
    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
        CheckConstraint("bucket = 'good' OR reserved = 0", name="reserved_only_on_good"),
        Index("ix_stock_balance_part_bucket", "part_number", "bucket"),
    )

    depot_code: str = Field(foreign_key="depot.code", primary_key=True, max_length=4)
    part_number: str = Field(foreign_key="part.part_number", primary_key=True, max_length=40)
    bucket: str = Field(primary_key=True, max_length=12)
    on_hand: int = 0
    reserved: int = 0


class PartStock(SQLModel, table=True):
    """A part's stock at a depot with every bucket side by side: the balance rows of
    one (depot, part) pivoted, kept by ``ledger.post`` in the same statement batch as
    the balances and checked against them by ``check_books``. Lists sort, filter and
    total on it without grouping the balance table (100,000 rows, 200 ms)."""

    __tablename__ = "part_stock"
    __table_args__ = (Index("ix_part_stock_part_depot", "part_number", "depot_code"),)

    depot_code: str = Field(foreign_key="depot.code", primary_key=True, max_length=4)
    part_number: str = Field(foreign_key="part.part_number", primary_key=True, max_length=40)
    good: int = 0
    reserved: int = 0
    defective: int = 0
    in_repair: int = 0
    quarantine: int = 0
    in_transit: int = 0
    units: int = 0  # every bucket's on hand, in transit included


MAX_REASON = 300  # characters of a movement's reason


class Movement(SQLModel, table=True):
    """One business event that changed stock; its entries balance the books."""

    id: int | None = Field(
        default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True)
    )
    kind: str = Field(max_length=24)
    actor: str = Field(max_length=64)
    reason: str = Field(default="", max_length=MAX_REASON)
    reference: str | None = Field(default=None, max_length=60, index=True)
    created_at: datetime = Field(sa_type=UTCDateTime, default_factory=clock.now)


class LedgerEntry(SQLModel, table=True):
    __tablename__ = "ledger_entry"
    __table_args__ = (
        CheckConstraint("qty <> 0", name="qty_not_zero"),
        Index("ix_ledger_entry_depot_part", "depot_code", "part_number", "bucket"),
        # A depot's or a part's entries newest first, without sorting them all.
        Index("ix_ledger_entry_depot_id", "depot_code", "id"),
        Index("ix_ledger_entry_part_id", "part_number", "id"),
    )

    id: int | None = Field(
        default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True)
    )
    movement_id: int = Field(
        sa_column=Column(BigId, ForeignKey("movement.id"), nullable=False, index=True)
    )
    depot_code: str = Field(foreign_key="depot.code", max_length=4)
    part_number: str = Field(foreign_key="part.part_number", max_length=40)
    bucket: str = Field(max_length=12)
    qty: int
    serial: str | None = Field(default=None, max_length=64, index=True)
    created_at: datetime = Field(sa_type=UTCDateTime, default_factory=clock.now)


class Unit(SQLModel, table=True):
    """A serialized unit and where it is now; its history is in the ledger."""

    __table_args__ = (
        CheckConstraint(
            "location IN ('depot', 'in_transit', 'customer', 'repair', 'scrapped', 'missing', "
            "'sent_back')",
            name="location_known",
        ),
        CheckConstraint(
            "condition IN ('good', 'defective', 'in_repair', 'quarantine')", name="condition_known"
        ),
        CheckConstraint(
            "(location IN ('depot', 'in_transit')) = (depot_code IS NOT NULL)",
            name="depot_when_stocked",
        ),
        Index("ix_unit_stock", "depot_code", "part_number", "condition", "location"),
    )

    serial: str = Field(sa_column=Column(String(64), primary_key=True))
    part_number: str = Field(foreign_key="part.part_number", max_length=40, index=True)
    condition: str = Field(default="good", max_length=12)
    location: str = Field(default="depot", max_length=12)
    # At a depot: that depot; in transit: the destination depot.
    depot_code: str | None = Field(default=None, foreign_key="depot.code", max_length=4)
    reservation_id: int | None = Field(default=None, foreign_key="reservation.id")
    bin: str | None = Field(default=None, max_length=20)  # where on the depot's shelves
    refurbished: bool = False
    note: str = Field(default="", max_length=200)
    updated_at: datetime = Field(sa_type=UTCDateTime, default_factory=clock.now)


class StockBin(SQLModel, table=True):
    """Where a part is kept at a depot: the bin new units of it go to (and where bulk
    stock of it is). A serialized unit may sit elsewhere (``Unit.bin``)."""

    __tablename__ = "stock_bin"

    depot_code: str = Field(foreign_key="depot.code", primary_key=True, max_length=4)
    part_number: str = Field(foreign_key="part.part_number", primary_key=True, max_length=40)
    bin: str = Field(max_length=20)
    updated_by: str = Field(max_length=64)
    updated_at: datetime = Field(sa_type=UTCDateTime, default_factory=clock.now)


class Reservation(SQLModel, table=True):
    """Good stock held for an RMA (or any reference) until picked or released."""

    __table_args__ = (
        CheckConstraint("qty > 0", name="qty_positive"),
        CheckConstraint("status IN ('active', 'released', 'picked')", name="status_known"),
        Index("ix_reservation_stock", "depot_code", "part_number", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    depot_code: str = Field(foreign_key="depot.code", max_length=4)
    part_number: str = Field(foreign_key="part.part_number", max_length=40)
    qty: int
    reference: str = Field(max_length=60, index=True)
    status: str = Field(default="active", max_length=10)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime, default_factory=clock.now)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class TransferStatus(StrEnum):
    DRAFT = "draft"
    SHIPPED = "shipped"
    # Received, but units are still missing: they may arrive late or be written off.
    PARTIALLY_RECEIVED = "partially_received"
    RECEIVED = "received"
    CANCELLED = "cancelled"


class Transfer(SQLModel, table=True):
    __table_args__ = (
        CheckConstraint("from_depot <> to_depot", name="different_depots"),
        CheckConstraint(
            "status IN ('draft', 'shipped', 'partially_received', 'received', 'cancelled')",
            name="status_known",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    from_depot: str = Field(foreign_key="depot.code", max_length=4, index=True)
    to_depot: str = Field(foreign_key="depot.code", max_length=4, index=True)
    status: str = Field(default="draft", max_length=20, index=True)
    note: str = Field(default="", max_length=300)
    reference: str | None = Field(default=None, max_length=60)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime, default_factory=clock.now)
    shipped_by: str | None = Field(default=None, max_length=64)
    shipped_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    received_by: str | None = Field(default=None, max_length=64)
    received_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class TransferLine(SQLModel, table=True):
    __tablename__ = "transfer_line"
    __table_args__ = (
        CheckConstraint("qty > 0", name="qty_positive"),
        CheckConstraint("qty_received IS NULL OR qty_received >= 0", name="received_not_negative"),
        UniqueConstraint("transfer_id", "part_number", name="uq_transfer_line_part"),
    )

    id: int | None = Field(default=None, primary_key=True)
    transfer_id: int = Field(foreign_key="transfer.id", index=True)
    part_number: str = Field(foreign_key="part.part_number", max_length=40)
    qty: int
    qty_received: int | None = None


class TransferSerial(SQLModel, table=True):
    """A serial shipped on a transfer (serialized parts only)."""

    __tablename__ = "transfer_serial"

    transfer_id: int = Field(foreign_key="transfer.id", primary_key=True)
    serial: str = Field(foreign_key="unit.serial", primary_key=True, max_length=64)
    part_number: str = Field(foreign_key="part.part_number", max_length=40)
    received: bool = False


class TransferDiscrepancy(SQLModel, table=True):
    """What arrived differently from what was shipped: recorded, never lost.

    An ``extra`` (units nobody shipped on this transfer) waits in the receiving
    depot's quarantine for a decision: ``accepted`` after inspection (into good
    stock) or ``sent_back`` to its sender (out of our books).
    """

    __tablename__ = "transfer_discrepancy"
    __table_args__ = (
        CheckConstraint("kind IN ('short', 'extra', 'wrong_serial')", name="kind_known"),
        CheckConstraint(
            "resolution IS NULL OR resolution IN "
            "('accepted', 'sent_back', 'arrived', 'written_off')",
            name="resolution_known",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    transfer_id: int = Field(foreign_key="transfer.id", index=True)
    part_number: str = Field(foreign_key="part.part_number", max_length=40)
    kind: str = Field(max_length=14)
    qty: int
    serial: str | None = Field(default=None, max_length=64)
    note: str = Field(default="", max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime, default_factory=clock.now)
    resolution: str | None = Field(default=None, max_length=12)
    resolved_by: str | None = Field(default=None, max_length=64)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolution_note: str = Field(default="", max_length=300)


class StockCount(SQLModel, table=True):
    """A cycle count of one part at one depot: counted vs expected."""

    __tablename__ = "stock_count"

    id: int | None = Field(default=None, primary_key=True)
    depot_code: str = Field(foreign_key="depot.code", max_length=4)
    part_number: str = Field(foreign_key="part.part_number", max_length=40)
    bucket: str = Field(default="good", max_length=12)
    expected: int
    counted: int
    movement_id: int | None = Field(
        default=None, sa_column=Column(BigId, ForeignKey("movement.id"), nullable=True)
    )
    counted_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime, default_factory=clock.now)


# --- request models: validate API bodies, CSV rows and CLI input alike ------------------

PART_NUMBER_PATTERN = r"^[A-Z0-9][A-Z0-9._/+-]{1,39}$"


class PartIn(SQLModel):
    """A part as planners enter it (API body, CSV row)."""

    part_number: str = Field(
        min_length=2, max_length=40, schema_extra={"pattern": PART_NUMBER_PATTERN}
    )
    description: str = Field(min_length=1, max_length=200)
    family: str
    serialized: bool = True
    unit_cost: Decimal = Field(ge=0, max_digits=12, decimal_places=2)
    weight_kg: float = Field(default=0.0, ge=0, le=10_000)
    criticality: str = "medium"
    superseded_by: str | None = Field(default=None, max_length=40)

    @field_validator("part_number", "superseded_by", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("superseded_by")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("family")
    @classmethod
    def _family_known(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in FAMILIES:
            raise ValueError(f"family must be one of {', '.join(FAMILIES)}")
        return value

    @field_validator("criticality")
    @classmethod
    def _criticality_known(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in CRITICALITIES:
            raise ValueError(f"criticality must be one of {', '.join(CRITICALITIES)}")
        return value


class StockTarget(SQLModel, table=True):
    """Target (base-stock) level of a part at a depot: computed from demand, or set by a planner.

    The effective target is the planner's override when there is one.
    """

    __tablename__ = "stock_target"
    __table_args__ = (
        CheckConstraint("computed >= 0", name="computed_not_negative"),
        CheckConstraint("override IS NULL OR override >= 0", name="override_not_negative"),
    )

    depot_code: str = Field(foreign_key="depot.code", primary_key=True, max_length=4)
    part_number: str = Field(foreign_key="part.part_number", primary_key=True, max_length=40)
    computed: int = 0
    override: int | None = None
    demand_per_day: float = 0.0
    lead_time_days: float = 0.0
    fill_rate: float = 0.95
    computed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    override_by: str | None = Field(default=None, max_length=64)
    override_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def effective(self) -> int:
        return self.override if self.override is not None else self.computed


# The generation of the stock targets: bumped in the same transaction as any change to
# them (an override, a computation replacing the computed ones), so a rebalancing plan
# can tell without reading every target that none changed since it was made
# (``inventory.service.rebalancing.inputs_mark``).
TARGETS = "targets"
generations.watch(TARGETS, StockTarget)


class RebalancePlan(SQLModel, table=True):
    """A saved rebalancing plan: reviewed by a planner, then turned into draft transfers."""

    __tablename__ = "rebalance_plan"
    __table_args__ = (
        CheckConstraint("status IN ('proposed', 'approved', 'discarded')", name="status_known"),
    )

    id: int | None = Field(default=None, primary_key=True)
    status: str = Field(default="proposed", max_length=10)
    units_moved: int = 0
    cost: Decimal = Field(sa_column=Column(Numeric(14, 2), nullable=False))
    shortage_before: int = 0
    shortage_left: int = 0
    parts: int = 0
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime, default_factory=clock.now)
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    transfer_ids: str = Field(default="[]", max_length=4000)
    # Fingerprint of the inputs the plan was computed from (stock, transfers under way,
    # targets, lanes): approving it once they have changed would move stock twice.
    basis: str | None = Field(default=None, max_length=64)
    # A cheap signal of the same inputs, read before them when the plan was made (stock
    # movements, draft transfer lines, generations of the targets and the network): while
    # it is unchanged the plan is not stale and its inputs need not be read again. NULL
    # (plans before 0014) means only the exact check (``basis``) tells.
    inputs_mark: str | None = Field(default=None, max_length=64)


class RebalanceMove(SQLModel, table=True):
    __tablename__ = "rebalance_move"
    __table_args__ = (CheckConstraint("qty > 0", name="qty_positive"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="rebalance_plan.id", index=True)
    part_number: str = Field(foreign_key="part.part_number", max_length=40)
    from_depot: str = Field(foreign_key="depot.code", max_length=4)
    to_depot: str = Field(foreign_key="depot.code", max_length=4)
    qty: int
    unit_cost: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    cost: Decimal = Field(sa_column=Column(Numeric(14, 2), nullable=False))


class Finding(StrEnum):
    """What the depot found when a defective unit came back from a customer."""

    FAULT_CONFIRMED = "fault_confirmed"
    NO_FAULT_FOUND = "no_fault_found"


class RepairOutcome(StrEnum):
    """How a defective unit left defective stock: back to good stock after repair, back
    to good stock with no fault found (tested, nothing to repair), or scrapped."""

    REPAIRED = "repaired"
    NO_FAULT_FOUND = "no_fault_found"
    SCRAPPED = "scrapped"


class DefectiveReceipt(SQLModel, table=True):
    """One defective unit received into a depot's defective stock from a customer, with
    the finding recorded on receipt (when given) and the outcome once it leaves
    defective stock (``inventory.service.repair_yield``): the repair yield and the
    no-fault-found rate are counted on these rows."""

    __tablename__ = "defective_receipt"
    __table_args__ = (
        CheckConstraint(
            "finding IS NULL OR finding IN ('fault_confirmed', 'no_fault_found')",
            name="finding_known",
        ),
        CheckConstraint(
            "outcome IS NULL OR outcome IN ('repaired', 'no_fault_found', 'scrapped')",
            name="outcome_known",
        ),
        CheckConstraint("(outcome IS NULL) = (outcome_at IS NULL)", name="outcome_dated"),
        # The open receipts of a part at a depot, oldest first (matching an outcome).
        Index("ix_defective_receipt_open", "depot_code", "part_number", "outcome"),
        Index("ix_defective_receipt_received", "received_at"),
    )

    id: int | None = Field(
        default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True)
    )
    depot_code: str = Field(foreign_key="depot.code", max_length=4)
    part_number: str = Field(foreign_key="part.part_number", max_length=40)
    serial: str | None = Field(default=None, max_length=64, index=True)
    reference: str | None = Field(default=None, max_length=60, index=True)
    received_at: datetime = Field(sa_type=UTCDateTime, default_factory=clock.now)
    finding: str | None = Field(default=None, max_length=16)
    outcome: str | None = Field(default=None, max_length=16)
    outcome_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
