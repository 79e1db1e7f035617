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

Every decision says why in a sentence. The case stores it in English
(``Entitlement.reason``: the API, notifications and the case history read the
same words whatever language the engineer's page was in); pages show it in the
reader's language (``Entitlement.explanation``; a reason stored with a case reads
through ``rma.service.wording.entitlement_text``, so these sentences stay as they
are).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, bindparam, select

from core.db import UnitOfWork
from core.i18n import gettext
from rma import kinds
from rma.models import Contract, InstalledUnit, Kind

PRE_WARRANTY = ("acceptance", "installation", "trial_run")


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue without translating it here: the reasons
    are kept in English and translated when shown."""
    return message


BEFORE_WARRANTY = N_("before warranty (%(phase)s): the vendor's responsibility")
IN_WARRANTY = N_("in warranty until %(date)s")
BY_CONTRACT = N_("contract %(contract)s (%(coverage)s) until %(date)s")
UNKNOWN_SERIAL = N_("serial unknown and no active contract covers this service")
WARRANTY_ENDED = N_("warranty ended %(date)s and no active contract covers it")
NOT_COVERED = N_("%(kind)s is not covered by warranty or an active contract")
REASONS = (BEFORE_WARRANTY, IN_WARRANTY, BY_CONTRACT, UNKNOWN_SERIAL, WARRANTY_ENDED, NOT_COVERED)


@dataclass(frozen=True)
class Reason:
    """Why a decision went the way it did: one of ``REASONS`` and its values (codes
    for a phase or a kind, ISO dates, contract numbers)."""

    template: str
    values: Mapping[str, str] = field(default_factory=dict)

    def english(self) -> str:
        return self.template % {key: _english(key, value) for key, value in self.values.items()}

    def translated(self) -> str:
        """In the language of the request (English outside one, and on the API)."""
        named = {key: _named(key, value) for key, value in self.values.items()}
        return gettext(self.template, **named)


def _english(key: str, value: str) -> str:
    return value.replace("_", " ") if key in ("phase", "kind") else value


def _named(key: str, value: str) -> str:
    """A value as the reader says it: phases and kinds by their names (``rma.kinds``)."""
    if key == "phase":
        return str(kinds.PHASE_LABELS.get(value, value))
    return kinds.kind_label(value) if key == "kind" else value


@dataclass(frozen=True)
class Entitlement:
    entitled: bool
    why: Reason
    phase: str | None
    warranty_end: date | None
    contract: Contract | None
    coverage: str

    @property
    def reason(self) -> str:
        """Why, in English: what a case stores and the API answers."""
        return self.why.english()

    @property
    def explanation(self) -> str:
        """Why, in the reader's language (pages)."""
        return self.why.translated()

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


# A contract in force on the day bound as ``today``, and the order ``decide`` weighs
# the customer's contracts in (7x24 first, then the one that runs longest). Shared
# with the opening of a case, which reads the contracts with the site (one query).
ACTIVE_ON_DAY = and_(
    Contract.starts_on <= bindparam("today"), Contract.ends_on >= bindparam("today")
)
CONTRACT_ORDER = (Contract.coverage.desc(), Contract.ends_on.desc())

_ACTIVE_CONTRACTS = (
    select(Contract)
    .where(Contract.customer_id == bindparam("customer_id"), ACTIVE_ON_DAY)
    .order_by(*CONTRACT_ORDER)
)


def _active_contracts(uow: UnitOfWork, customer_id: int, today: date) -> list[Contract]:
    return list(
        uow.session.scalars(_ACTIVE_CONTRACTS, {"customer_id": customer_id, "today": today})
    )


def decide(
    uow: UnitOfWork, customer_id: int, unit: InstalledUnit | None, kind: str, today: date
) -> Entitlement:
    """The entitlement of ``customer_id`` to ``kind`` for ``unit`` (None: serial unknown)
    on the day ``today`` (any day: pages also ask about the day after a contract ends)."""
    return decide_among(_active_contracts(uow, customer_id, today), unit, kind, today)


def decide_among(
    contracts: Sequence[Contract], unit: InstalledUnit | None, kind: str, today: date
) -> Entitlement:
    """``decide`` with the customer's contracts in force on ``today`` already read
    (``ACTIVE_ON_DAY``), in ``CONTRACT_ORDER``."""
    own = [c for c in contracts if unit is not None and c.id == unit.contract_id]
    ordered = own + [c for c in contracts if c not in own]
    coverage = ordered[0].coverage if ordered else "5x8"
    covering = next((c for c in ordered if _covers(c, kind)), None)
    phase = unit.phase if unit else None
    warranty_end = unit.warranty_end if unit else None
    first = ordered[0] if ordered else None
    if unit is not None and unit.phase in PRE_WARRANTY:
        why = Reason(BEFORE_WARRANTY, {"phase": unit.phase})
        return Entitlement(True, why, phase, warranty_end, first, coverage)
    in_warranty = unit is not None and unit.phase == "in_warranty" and unit.warranty_end >= today
    if in_warranty and kind != Kind.LOANER:
        assert unit is not None
        why = Reason(IN_WARRANTY, {"date": unit.warranty_end.isoformat()})
        return Entitlement(True, why, phase, warranty_end, covering or first, coverage)
    if covering is not None:
        why = Reason(
            BY_CONTRACT,
            {
                "contract": covering.number,
                "coverage": covering.coverage,
                "date": covering.ends_on.isoformat(),
            },
        )
        return Entitlement(True, why, phase, warranty_end, covering, covering.coverage)
    if unit is None:
        why = Reason(UNKNOWN_SERIAL)
    elif unit.phase == "out_of_warranty" or unit.warranty_end < today:
        why = Reason(WARRANTY_ENDED, {"date": unit.warranty_end.isoformat()})
    else:
        why = Reason(NOT_COVERED, {"kind": str(Kind(kind).value)})
    return Entitlement(False, why, phase, warranty_end, first, coverage)
