"""Customers, their sites, contracts and installed base; RMAs, their history,
escalations and the notification outbox."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import relationship
from sqlmodel import Field, Relationship, SQLModel

from core import clock
from core.db import UTCDateTime

# At run time, not only for type checking: the mapper of ``Rma.reservation`` must find
# the class however the models were imported (a script importing only this module).
from inventory.models import Reservation

FAULT_LEVELS = ("C-1", "C-2", "C-3")
COVERAGES = ("5x8", "7x24")
PHASES = ("acceptance", "installation", "trial_run", "in_warranty", "out_of_warranty")


class Kind(StrEnum):
    ADVANCE_REPLACEMENT = "advance_replacement"
    REPAIR = "repair"
    LOANER = "loaner"


class Status(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    ALLOCATED = "allocated"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    DEFECTIVE_RECEIVED = "defective_received"
    RECEIVED = "received"  # repair: the customer's unit arrived at the depot
    IN_REPAIR = "in_repair"
    REPAIRED = "repaired"
    RETURNED = "returned"
    BACK = "back"  # loaner: the substitute unit came back
    RETURNING = "returning"  # cancelled after shipping: the shipped unit is expected back
    CLOSED = "closed"
    CANCELLED = "cancelled"


OPEN_STATUSES = tuple(s.value for s in Status if s not in (Status.CLOSED, Status.CANCELLED))


class Customer(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(20), unique=True, nullable=False))
    name: str = Field(max_length=120)
    name_zh: str = Field(default="", max_length=60)
    email: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime, default_factory=clock.now)


class Site(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    name: str = Field(max_length=120)
    city_id: int = Field(foreign_key="city.id", index=True)
    address: str = Field(default="", max_length=200)
    contact_name: str = Field(default="", max_length=80)
    contact_phone: str = Field(default="", max_length=40)
    contact_email: str | None = Field(default=None, max_length=200)


class Contract(SQLModel, table=True):
    __table_args__ = (
        CheckConstraint("coverage IN ('5x8', '7x24')", name="coverage_known"),
        CheckConstraint("ends_on >= starts_on", name="ends_after_start"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(sa_column=Column(String(30), unique=True, nullable=False))
    customer_id: int = Field(foreign_key="customer.id", index=True)
    coverage: str = Field(default="5x8", max_length=5)
    starts_on: date
    ends_on: date
    advance_replacement: bool = True
    repair: bool = True
    loaner: bool = False


class InstalledUnit(SQLModel, table=True):
    """A unit running at a customer's site: what an RMA's serial is looked up in."""

    __tablename__ = "installed_unit"
    __table_args__ = (
        CheckConstraint(
            "phase IN ('acceptance', 'installation', 'trial_run', 'in_warranty', "
            "'out_of_warranty')",
            name="phase_known",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    serial: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    part_number: str = Field(foreign_key="part.part_number", max_length=40)
    site_id: int = Field(foreign_key="site.id", index=True)
    contract_id: int | None = Field(default=None, foreign_key="contract.id")
    shipped_on: date
    warranty_end: date
    phase: str = Field(default="in_warranty", max_length=16)
    active: bool = True  # false once replaced and taken back


class EscalationStep(SQLModel, table=True):
    """The escalation ladder: who is told after how many support hours, per level."""

    __tablename__ = "escalation_step"
    __table_args__ = (
        UniqueConstraint("fault_level", "step", name="uq_escalation_step_level_step"),
        CheckConstraint("after_hours > 0", name="after_hours_positive"),
    )

    id: int | None = Field(default=None, primary_key=True)
    fault_level: str = Field(max_length=3)
    step: int
    after_hours: float
    notify_title: str = Field(max_length=80)
    notify_email: str = Field(max_length=200)


class Rma(SQLModel, table=True):
    __table_args__ = (
        CheckConstraint("fault_level IN ('C-1', 'C-2', 'C-3')", name="fault_level_known"),
        CheckConstraint("kind IN ('advance_replacement', 'repair', 'loaner')", name="kind_known"),
        CheckConstraint("rating IS NULL OR (rating BETWEEN 1 AND 5)", name="rating_range"),
        Index("ix_rma_status_level", "status", "fault_level"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(sa_column=Column(String(20), unique=True, nullable=False))
    customer_id: int = Field(foreign_key="customer.id", index=True)
    site_id: int = Field(foreign_key="site.id")
    installed_unit_id: int | None = Field(default=None, foreign_key="installed_unit.id")
    serial: str | None = Field(default=None, max_length=64, index=True)
    part_number: str = Field(foreign_key="part.part_number", max_length=40)
    fault_level: str = Field(max_length=3)
    kind: str = Field(max_length=20)
    symptom: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="requested", max_length=20, index=True)
    reported_by: str = Field(max_length=64)
    # Entitlement, decided when the RMA is opened.
    entitled: bool = False
    billable: bool = False
    entitlement_reason: str = Field(default="", max_length=200)
    phase: str | None = Field(default=None, max_length=16)
    warranty_end: date | None = None
    contract_id: int | None = Field(default=None, foreign_key="contract.id")
    coverage: str = Field(default="5x8", max_length=5)
    # The clock's start and the steps' instants (UTC).
    reported_at: datetime = Field(sa_type=UTCDateTime, default_factory=clock.now)
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    approved_by: str | None = Field(default=None, max_length=64)
    allocated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    shipped_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    defective_received_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    repair_started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    repaired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    returned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    back_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cause_confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancel_reason: str = Field(default="", max_length=300)
    # Due times, stored when they become known.
    due_replacement: datetime | None = Field(default=None, sa_type=UTCDateTime)
    due_repair_return: datetime | None = Field(default=None, sa_type=UTCDateTime)
    due_defective_return: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Allocation: which depot ships what, by which service, and why.
    at_risk: bool = False
    backorder: bool = False
    depot_code: str | None = Field(default=None, foreign_key="depot.code", max_length=4)
    ship_part_number: str | None = Field(default=None, max_length=40)
    service: str | None = Field(default=None, max_length=10)
    ships_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The last collection that still makes the promised pick-up (the cut-off of the
    # day it leaves in): the lapse rule's instant, not ``ships_at``, which is the
    # departure the promise was quoted on.
    ship_by: datetime | None = Field(default=None, sa_type=UTCDateTime)
    promised_delivery: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The first promise made (``promised_delivery`` is the current one) and why the
    # case is at risk, once it is.
    original_promised_delivery: datetime | None = Field(default=None, sa_type=UTCDateTime)
    at_risk_reason: str = Field(default="", max_length=200)
    shipping_cost: Decimal | None = Field(default=None, sa_column=Column(Numeric(12, 2)))
    lane_id: int | None = Field(default=None, foreign_key="lane.id")
    alternatives: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    reservation_id: int | None = Field(default=None, foreign_key="reservation.id")
    # The hold, linked by object when a step makes it: the flush that inserts the
    # reservation fills in ``reservation_id`` (no flush of its own to learn the id).
    # Written only; read ``reservation_id`` (reading this would be a query: refused).
    reservation: Reservation | None = Relationship(
        sa_relationship=relationship(Reservation, lazy="raise")
    )
    shipped_serial: str | None = Field(default=None, max_length=64)
    # The defective (or repaired, or loaned) unit coming back.
    return_depot: str | None = Field(default=None, foreign_key="depot.code", max_length=4)
    returned_serial: str | None = Field(default=None, max_length=64)
    # The customer's verdict.
    rating: int | None = None
    remarks: str = Field(default="", max_length=1000)
    signed_by: str | None = Field(default=None, max_length=120)
    signed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class RmaEvent(SQLModel, table=True):
    """Everything that happened to an RMA, in order; never changed afterwards."""

    __tablename__ = "rma_event"

    id: int | None = Field(default=None, primary_key=True)
    rma_id: int = Field(foreign_key="rma.id", index=True)
    at: datetime = Field(sa_type=UTCDateTime, default_factory=clock.now)
    actor: str = Field(max_length=64)
    action: str = Field(max_length=30)
    from_status: str | None = Field(default=None, max_length=20)
    to_status: str | None = Field(default=None, max_length=20)
    detail: str = Field(default="", sa_column=Column(Text, nullable=False))


class Escalation(SQLModel, table=True):
    """A rung of the ladder reached by one RMA; raised exactly once."""

    __table_args__ = (UniqueConstraint("rma_id", "step", name="uq_escalation_rma_step"),)

    id: int | None = Field(default=None, primary_key=True)
    rma_id: int = Field(foreign_key="rma.id", index=True)
    step: int  # 1-3 the ladder; 0 "at risk" (no depot can meet the due time)
    fault_level: str = Field(max_length=3)
    notify_title: str = Field(max_length=80)
    notify_email: str = Field(max_length=200)
    support_hours: float
    due_at: datetime = Field(sa_type=UTCDateTime)
    raised_at: datetime = Field(sa_type=UTCDateTime, default_factory=clock.now)
    acknowledged_by: str | None = Field(default=None, max_length=64)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledge_note: str = Field(default="", max_length=500)


class Notification(SQLModel, table=True):
    """The outbox: messages written in the business transaction, delivered after it."""

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'failed')", name="status_known"),
        Index("ix_notification_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=30)
    rma_id: int | None = Field(default=None, foreign_key="rma.id")
    to_address: str = Field(max_length=200)
    subject: str = Field(max_length=200)
    body: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="pending", max_length=10)
    attempts: int = 0
    last_error: str = Field(default="", max_length=500)
    created_at: datetime = Field(sa_type=UTCDateTime, default_factory=clock.now)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime, default_factory=clock.now)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Chasing an overdue defective return is sent once per RMA and day.
    dedupe_key: str | None = Field(
        default=None, sa_column=Column(String(80), unique=True, nullable=True)
    )
