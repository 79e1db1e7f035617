"""What approving a billable case costs the customer.

A case outside warranty and contract waits for a supervisor (``lifecycle.approve``).
Before approving, the supervisor sees the price and confirms it: the unit cost of
the part (the part that would ship, which may supersede the one asked for) and,
for a replacement or loaner, the shipping quote of the depot the allocation would
choose now (the same decision ``allocation.preview`` shows), in CNY. The approval
records the price and the supervisor's comment in the case's history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from core.db import UnitOfWork, read_only
from inventory.service.catalog import get_part_row
from rma import kinds
from rma.models import Rma
from rma.service import allocation

CENT = Decimal("0.01")


@dataclass(frozen=True)
class ApprovalQuote:
    """The price of approving a case now: ``unit_cost`` of ``part_number``, and the
    ``shipping`` quote from ``depot`` by ``service`` (None when nothing ships, or no
    depot holds the part: ``backorder``); ``charge`` is their sum, in CNY."""

    part_number: str
    unit_cost: Decimal
    depot: str | None
    service: str | None
    shipping: Decimal | None
    backorder: bool

    @property
    def charge(self) -> Decimal:
        return (self.unit_cost + (self.shipping or Decimal(0))).quantize(CENT)

    def as_detail(self) -> dict[str, object]:
        """What the approval records in the case's history (money as text)."""
        return {
            "part_number": self.part_number,
            "unit_cost": str(self.unit_cost.quantize(CENT)),
            "shipping": str(self.shipping.quantize(CENT)) if self.shipping is not None else None,
            "charge": str(self.charge),
        }


def quote_for(uow: UnitOfWork, rma: Rma, now: datetime) -> ApprovalQuote:
    """The price of approving ``rma`` at ``now`` (in the caller's transaction)."""
    depot = service = None
    shipping = None
    part_number = rma.part_number
    backorder = False
    if kinds.ships_unit(rma.kind):
        city = allocation.site_city(uow, rma)
        decision, options = allocation.preview(
            uow, rma.part_number, city.name, rma.fault_level, now
        )
        if decision.depot is not None:
            depot, service, shipping = decision.depot, decision.service, decision.cost
            part_number = options.part_at.get(decision.depot, part_number)
        else:
            backorder = True
    part = get_part_row(uow, part_number)
    return ApprovalQuote(part.part_number, part.unit_cost, depot, service, shipping, backorder)


@read_only
def approval_quote(uow: UnitOfWork, rma: Rma, now: datetime) -> ApprovalQuote:
    """``quote_for`` in a read transaction of its own (pages, the API)."""
    return quote_for(uow, rma, now)
