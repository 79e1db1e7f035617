"""Repair yield and the no-fault-found rate of defective units returned by customers.

Each defective unit received into a depot's defective stock from a customer gets a
``DefectiveReceipt`` (``record_receipt``, called by ``moves.receive_return``) with the
finding the receiving staff recorded, if any: the fault is confirmed, or no fault
was found. When the unit leaves defective stock (``record_outcomes``, called by the
moves that take it out: a condition change to good stock, scrap) its receipt gets
the outcome:

* ``repaired``: back to good stock, the finding was not "no fault found";
* ``no_fault_found``: back to good stock, the finding was "no fault found";
* ``scrapped``: written off.

A serialized unit's receipt is found by its serial (at any depot: the unit may have
travelled to a repair depot); bulk units take the depot's open receipts of the part,
oldest first. Units in defective stock without a receipt (received before receipts
were recorded, found on a count) leave no outcome.

``repair_yields`` counts them per part or per family over a window of receipt dates:
the yield is the share of decided units that went back to good stock, the
no-fault-found rate the share that went back with no fault found, and the
turnaround the mean days from receipt to good stock. The simulation and the
availability model read their resupply from these.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select

from core import clock
from core.db import UnitOfWork, read_only
from core.errors import Invalid
from core.i18n import gettext
from inventory.models import Bucket, DefectiveReceipt, Finding, Part, RepairOutcome

FINDING_NAMES = tuple(f.value for f in Finding)
# Leaving these buckets is leaving defective stock (repair is still defective stock).
DEFECTIVE_BUCKETS = frozenset({Bucket.DEFECTIVE.value, Bucket.IN_REPAIR.value})
SECONDS_PER_DAY = 86_400.0


def require_finding(finding: str | None) -> str | None:
    """The finding as stored: None when not given, else one of ``FINDING_NAMES``."""
    text = (finding or "").strip().lower()
    if not text:
        return None
    if text not in FINDING_NAMES:
        raise Invalid(
            gettext("finding must be one of %(names)s", names=", ".join(FINDING_NAMES)),
            field="finding",
        )
    return text


def record_receipt(
    uow: UnitOfWork,
    depot: str,
    part_number: str,
    serials: Sequence[str],
    qty: int,
    *,
    finding: str | None = None,
    reference: str | None = None,
) -> list[DefectiveReceipt]:
    """One receipt per unit received into ``depot``'s defective stock (one per serial
    of a serialized part, ``qty`` of a bulk part)."""
    finding = require_finding(finding)
    now = clock.now()
    rows = [
        DefectiveReceipt(
            depot_code=depot,
            part_number=part_number,
            serial=serial,
            reference=reference,
            received_at=now,
            finding=finding,
        )
        for serial in (list(serials) if serials else [None] * qty)
    ]
    uow.session.add_all(rows)
    uow.session.flush()
    return rows


def record_outcomes(
    uow: UnitOfWork,
    depot: str,
    part_number: str,
    serials: Sequence[str],
    qty: int,
    *,
    from_bucket: str,
    to_good: bool,
) -> int:
    """Units of ``part_number`` left defective stock at ``depot`` (from ``from_bucket``),
    to good stock (``to_good``) or to scrap: close their open receipts. Returns how
    many receipts were closed. Moves out of other buckets close nothing."""
    if from_bucket not in DEFECTIVE_BUCKETS:
        return 0
    query = select(DefectiveReceipt).where(
        DefectiveReceipt.part_number == part_number, DefectiveReceipt.outcome.is_(None)
    )
    if serials:
        query = query.where(DefectiveReceipt.serial.in_(list(serials)))
    else:
        query = query.where(
            DefectiveReceipt.depot_code == depot, DefectiveReceipt.serial.is_(None)
        ).limit(qty)
    now = clock.now()
    closed = 0
    for receipt in uow.session.scalars(query.order_by(DefectiveReceipt.id)):
        receipt.outcome = _outcome(receipt.finding, to_good)
        receipt.outcome_at = now
        uow.session.add(receipt)
        closed += 1
    if closed:
        uow.session.flush()
    return closed


def _outcome(finding: str | None, to_good: bool) -> str:
    if not to_good:
        return RepairOutcome.SCRAPPED.value
    if finding == Finding.NO_FAULT_FOUND:
        return RepairOutcome.NO_FAULT_FOUND.value
    return RepairOutcome.REPAIRED.value


@dataclass(frozen=True)
class Receipt:
    """A defective unit's receipt as readers see it."""

    depot_code: str
    part_number: str
    serial: str | None
    received_at: datetime
    finding: str | None
    outcome: str | None
    outcome_at: datetime | None


@read_only
def receipt_for(uow: UnitOfWork, reference: str) -> Receipt | None:
    """The latest receipt recorded under ``reference`` (an RMA number), if any."""
    row = uow.session.scalars(
        select(DefectiveReceipt)
        .where(DefectiveReceipt.reference == reference)
        .order_by(DefectiveReceipt.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return Receipt(
        row.depot_code,
        row.part_number,
        row.serial,
        row.received_at,
        row.finding,
        row.outcome,
        row.outcome_at,
    )


@dataclass(frozen=True)
class RepairYield:
    """The receipts of one part (or family) in a window.

    ``received`` counts every receipt; ``decided`` those with an outcome. The shares
    are of ``decided`` (None when nothing is decided yet). ``turnaround_days`` is the
    mean days from receipt to good stock (None when none went back)."""

    key: str
    family: str
    received: int
    decided: int
    repaired: int
    no_fault_found: int
    scrapped: int
    yield_share: float | None
    no_fault_found_share: float | None
    turnaround_days: float | None


@read_only
def repair_yields(
    uow: UnitOfWork,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    by: Literal["part", "family"] = "part",
) -> list[RepairYield]:
    """Yield and no-fault-found rate per part (or family) of the units received in
    ``[start, end)`` (aware instants; None is open), sorted by key."""
    query = select(
        DefectiveReceipt.part_number,
        Part.family,
        DefectiveReceipt.outcome,
        DefectiveReceipt.received_at,
        DefectiveReceipt.outcome_at,
    ).join(Part, Part.part_number == DefectiveReceipt.part_number)
    if start is not None:
        query = query.where(DefectiveReceipt.received_at >= start)
    if end is not None:
        query = query.where(DefectiveReceipt.received_at < end)
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    back_days: dict[tuple[str, str], list[float]] = defaultdict(list)
    for part_number, family, outcome, received_at, outcome_at in uow.session.execute(query):
        group = (part_number if by == "part" else family, family)
        counts[group]["received"] += 1
        if outcome is None:
            continue
        counts[group][outcome] += 1
        if outcome != RepairOutcome.SCRAPPED:
            back_days[group].append((outcome_at - received_at).total_seconds() / SECONDS_PER_DAY)
    result = []
    for (key, family), tally in sorted(counts.items()):
        repaired = tally[RepairOutcome.REPAIRED.value]
        nff = tally[RepairOutcome.NO_FAULT_FOUND.value]
        scrapped = tally[RepairOutcome.SCRAPPED.value]
        decided = repaired + nff + scrapped
        days = back_days[(key, family)]
        result.append(
            RepairYield(
                key=key,
                family=family,
                received=tally["received"],
                decided=decided,
                repaired=repaired,
                no_fault_found=nff,
                scrapped=scrapped,
                yield_share=(repaired + nff) / decided if decided else None,
                no_fault_found_share=nff / decided if decided else None,
                turnaround_days=sum(days) / len(days) if days else None,
            )
        )
    return result


@read_only
def yields_for_parts(
    uow: UnitOfWork, part_numbers: Iterable[str], start: datetime | None = None
) -> dict[str, RepairYield]:
    """{part: its receipts since ``start`` with an outcome, else its family's}; a part
    with neither is left out (the caller says what it assumes then)."""
    by_part = {row.key: row for row in repair_yields(uow, start) if row.decided}
    by_family = {row.key: row for row in repair_yields(uow, start, by="family") if row.decided}
    families = {
        part: family for part, family in uow.session.execute(select(Part.part_number, Part.family))
    }
    found = {}
    for part in part_numbers:
        row = by_part.get(part) or by_family.get(families.get(part, ""))
        if row is not None:
            found[part] = row
    return found
