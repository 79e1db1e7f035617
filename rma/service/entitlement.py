"""Is this replacement free? Serial -> installed base -> phase, warranty, contract.

Rules, in order:

1. Units not yet in warranty (acceptance, installation, trial run) are the
   vendor's responsibility: replacement and repair are free.
2. In warranty (phase ``in_warranty`` and the warranty end not passed):
   advance replacement and repair are free; a loaner needs a contract that
   includes loaners.
3. Otherwise an active contract of the customer (the unit's own contract first)
   that includes the requested kind makes it free.
4. Anything else is billable and needs a supervisor's approval.

Coverage (5x8 or 7x24) comes from the active contract; without one it is 5x8.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from core.db import UnitOfWork
from rma.models import Contract, InstalledUnit, Kind

PRE_WARRANTY = ("acceptance", "installation", "trial_run")


@dataclass(frozen=True)
class Entitlement:
    entitled: bool
    reason: str
    phase: str | None
    warranty_end: date | None
    contract: Contract | None
    coverage: str

    def as_dict(self) -> dict[str, object]:
        return {
            "entitled": self.entitled,
            "reason": self.reason,
            "phase": self.phase,
            "warranty_end": self.warranty_end,
            "contract": self.contract.number if self.contract else None,
            "coverage": self.coverage,
        }


def _covers(contract: Contract, kind: str) -> bool:
    return {
        Kind.ADVANCE_REPLACEMENT: contract.advance_replacement,
        Kind.REPAIR: contract.repair,
        Kind.LOANER: contract.loaner,
    }[Kind(kind)]


def _active_contracts(uow: UnitOfWork, customer_id: int, today: date) -> list[Contract]:
    return list(
        uow.session.scalars(
            select(Contract)
            .where(
                Contract.customer_id == customer_id,
                Contract.starts_on <= today,
                Contract.ends_on >= today,
            )
            .order_by(Contract.coverage.desc(), Contract.ends_on.desc())  # 7x24 first
        )
    )


def decide(
    uow: UnitOfWork, customer_id: int, unit: InstalledUnit | None, kind: str, today: date
) -> Entitlement:
    """The entitlement of ``customer_id`` to ``kind`` for ``unit`` (None: serial unknown)."""
    contracts = _active_contracts(uow, customer_id, today)
    own = [c for c in contracts if unit is not None and c.id == unit.contract_id]
    ordered = own + [c for c in contracts if c not in own]
    coverage = ordered[0].coverage if ordered else "5x8"
    covering = next((c for c in ordered if _covers(c, kind)), None)
    phase = unit.phase if unit else None
    warranty_end = unit.warranty_end if unit else None
    if unit is not None and unit.phase in PRE_WARRANTY:
        return Entitlement(
            True,
            f"before warranty ({unit.phase.replace('_', ' ')}): the vendor's responsibility",
            phase,
            warranty_end,
            ordered[0] if ordered else None,
            coverage,
        )
    in_warranty = unit is not None and unit.phase == "in_warranty" and unit.warranty_end >= today
    if in_warranty and kind != Kind.LOANER:
        return Entitlement(
            True,
            f"in warranty until {unit.warranty_end.isoformat()}",
            phase,
            warranty_end,
            covering or (ordered[0] if ordered else None),
            coverage,
        )
    if covering is not None:
        return Entitlement(
            True,
            f"contract {covering.number} ({covering.coverage}) until "
            f"{covering.ends_on.isoformat()}",
            phase,
            warranty_end,
            covering,
            covering.coverage,
        )
    if unit is None:
        reason = "serial unknown and no active contract covers this service"
    elif unit.phase == "out_of_warranty" or unit.warranty_end < today:
        reason = f"warranty ended {unit.warranty_end.isoformat()} and no active contract covers it"
    else:
        reason = f"{kind.replace('_', ' ')} is not covered by warranty or an active contract"
    return Entitlement(
        False, reason, phase, warranty_end, ordered[0] if ordered else None, coverage
    )
