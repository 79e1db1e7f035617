"""What each kind of RMA does, in one place: its steps, whether it ships a unit of
ours, which unit comes back and by which step, and what cancelling it means.

Every other module asks this policy instead of testing ``rma.kind`` itself, so a
rule about kinds is written once (the lifecycle's checks, the pages' forms, the
API's ``allowed_actions``, the chasing of overdue returns and the reports all
read it).

The three kinds:

* **advance replacement**: a good unit of ours ships to the customer at once; the
  customer's faulty unit comes back to a depot (defective stock) within 15 days of
  delivery, then the case closes.
* **repair**: the customer's own unit comes to a depot, is repaired within 72
  working hours and sent back; it never enters our stock.
* **loaner**: a unit of ours is lent while the customer's own is looked after; the
  loaner comes back into quarantine, then the case closes.

Cancelling: before anything ships, a case is simply cancelled (its held stock is
released). Once a unit of ours has shipped (shipped or delivered), cancelling
turns the case ``returning``: the shipped serial is expected back, with a due date
and chasing like any return, and the case ends ``cancelled`` when the unit is
received back into a depot's quarantine. A case whose customer unit sits with us
(a repair under way) or whose exchange is complete (the defective unit received)
cannot be cancelled: it has to be finished.

What people call kinds, statuses, fault levels and service phases is here too
(``LABELS``, ``STATUS_LABELS``, ``FAULT_LEVEL_MEANINGS``, ``PHASE_LABELS``): lazy
strings, said in the reader's language when shown; the codes stay for the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from core.i18n import gettext, lazy_gettext
from rma.models import OPEN_STATUSES, Kind, Rma, Status

REPLACEMENT_HOURS = 24  # a replacement or loaner is delivered within this of approval
REPAIR_WORKING_HOURS = 72  # a repair is sent back within this
DEFECTIVE_RETURN_DAYS = 15  # the shipped-in-advance unit's counterpart must be back by then
RETURN_AFTER_CANCEL_DAYS = 15  # a cancelled case's shipped unit must be back by then

# The API's verbs for each target status.
ACTIONS: dict[Status, str] = {
    Status.APPROVED: "approve",
    Status.ALLOCATED: "allocate",
    Status.SHIPPED: "ship",
    Status.DELIVERED: "deliver",
    Status.DEFECTIVE_RECEIVED: "receive-defective",
    Status.RECEIVED: "receive-defective",
    Status.IN_REPAIR: "start-repair",
    Status.REPAIRED: "finish-repair",
    Status.RETURNED: "return-repaired",
    Status.BACK: "loaner-back",
    Status.CLOSED: "close",
    Status.CANCELLED: "cancel",
}
RECEIVE_REPLACEMENT_BACK = "receive-replacement-back"


@dataclass(frozen=True)
class KindPolicy:
    """The rules of one kind of RMA."""

    kind: Kind
    label: Any  # what people call it, in the reader's language (lazy): "Advance replacement"
    ships_unit: bool  # a unit of ours goes to the customer (and is allocated to a depot)
    installs_shipped_unit: bool  # the unit shipped joins the customer's installed base
    repairs_customer_unit: bool  # the customer's own unit comes in, never into our stock
    steps: dict[Status, tuple[Status, ...]]  # the forward steps a user takes
    back_status: Status | None  # the step that takes the returning unit in
    back_action: str | None  # the verb of that step
    back_what: str  # what comes back, in words


_SHIPPING_START = {
    Status.REQUESTED: (Status.APPROVED,),
    Status.APPROVED: (Status.ALLOCATED,),
    Status.ALLOCATED: (Status.SHIPPED,),
    Status.SHIPPED: (Status.DELIVERED,),
}

POLICIES: dict[Kind, KindPolicy] = {
    Kind.ADVANCE_REPLACEMENT: KindPolicy(
        kind=Kind.ADVANCE_REPLACEMENT,
        label=lazy_gettext("Advance replacement"),
        ships_unit=True,
        installs_shipped_unit=True,
        repairs_customer_unit=False,
        steps={
            **_SHIPPING_START,
            Status.DELIVERED: (Status.DEFECTIVE_RECEIVED,),
            Status.DEFECTIVE_RECEIVED: (Status.CLOSED,),
        },
        back_status=Status.DEFECTIVE_RECEIVED,
        back_action="receive-defective",
        back_what="defective unit",
    ),
    Kind.REPAIR: KindPolicy(
        kind=Kind.REPAIR,
        label=lazy_gettext("Repair"),
        ships_unit=False,
        installs_shipped_unit=False,
        repairs_customer_unit=True,
        steps={
            Status.REQUESTED: (Status.APPROVED,),
            Status.APPROVED: (Status.RECEIVED,),
            Status.RECEIVED: (Status.IN_REPAIR,),
            Status.IN_REPAIR: (Status.REPAIRED,),
            Status.REPAIRED: (Status.RETURNED,),
            Status.RETURNED: (Status.CLOSED,),
        },
        back_status=Status.RECEIVED,
        back_action="receive-defective",
        back_what="unit for repair",
    ),
    Kind.LOANER: KindPolicy(
        kind=Kind.LOANER,
        label=lazy_gettext("Loaner"),
        ships_unit=True,
        installs_shipped_unit=False,
        repairs_customer_unit=False,
        steps={
            **_SHIPPING_START,
            Status.DELIVERED: (Status.BACK,),
            Status.BACK: (Status.CLOSED,),
        },
        back_status=Status.BACK,
        back_action="loaner-back",
        back_what="loaner",
    ),
}

SHIPPING_KINDS: tuple[str, ...] = tuple(k.value for k, p in POLICIES.items() if p.ships_unit)
# Before one of these a shipped unit is with the carrier or the customer.
_UNIT_OUT = (Status.SHIPPED, Status.DELIVERED)


def policy(kind: str) -> KindPolicy:
    return POLICIES[Kind(kind)]


# What each kind is called, in the reader's language (lazy strings).
LABELS: dict[str, Any] = {k.value: p.label for k, p in POLICIES.items()}
# Each status as people read it (lower case: it is shown as a badge and in sentences).
STATUS_LABELS: dict[str, Any] = {
    Status.REQUESTED: lazy_gettext("requested"),
    Status.APPROVED: lazy_gettext("approved"),
    Status.ALLOCATED: lazy_gettext("allocated"),
    Status.SHIPPED: lazy_gettext("shipped"),
    Status.DELIVERED: lazy_gettext("delivered"),
    Status.DEFECTIVE_RECEIVED: lazy_gettext("defective received"),
    Status.RECEIVED: lazy_gettext("received"),
    Status.IN_REPAIR: lazy_gettext("in repair"),
    Status.REPAIRED: lazy_gettext("repaired"),
    Status.RETURNED: lazy_gettext("returned"),
    Status.BACK: lazy_gettext("back"),
    Status.RETURNING: lazy_gettext("returning"),
    Status.CLOSED: lazy_gettext("closed"),
    Status.CANCELLED: lazy_gettext("cancelled"),
}
# What each fault level means (DOMAIN.md); the level itself (C-1) is a code.
FAULT_LEVEL_MEANINGS: dict[str, Any] = {
    "C-1": lazy_gettext("whole network down or severe problem; major impact"),
    "C-2": lazy_gettext("part of the network misbehaves; severe local impact"),
    "C-3": lazy_gettext("performance degraded, most business still runs"),
}
# The service phases of an installation (``rma.models.PHASES``).
PHASE_LABELS: dict[str, Any] = {
    "acceptance": lazy_gettext("delivery and acceptance"),
    "installation": lazy_gettext("installation and commissioning"),
    "trial_run": lazy_gettext("trial operation"),
    "in_warranty": lazy_gettext("in warranty"),
    "out_of_warranty": lazy_gettext("out of warranty"),
}
# ``ExpectedBack.what``, as people read it.
EXPECTED_BACK_LABELS: dict[str, Any] = {
    "defective unit": lazy_gettext("defective unit"),
    "unit for repair": lazy_gettext("unit for repair"),
    "loaner": lazy_gettext("loaner"),
    "replacement": lazy_gettext("replacement"),
}


def kind_label(kind: str) -> str:
    """The kind as people call it, in the current language (the code when unknown)."""
    return str(LABELS.get(kind, kind))


def status_label(status: str | None) -> str:
    """The status as people read it, in the current language (the code when unknown)."""
    return str(STATUS_LABELS.get(status, status or ""))


def ships_unit(kind: str) -> bool:
    """Does this kind send a unit of ours to the customer?"""
    return policy(kind).ships_unit


def next_steps(rma: Rma) -> tuple[Status, ...]:
    """The forward steps allowed from the case's status (cancel aside)."""
    if rma.status == Status.RETURNING:
        return (Status.CANCELLED,)
    return policy(rma.kind).steps.get(Status(rma.status), ())


@dataclass(frozen=True)
class CancelOutcome:
    """What cancelling the case now does: ``to`` is the status it moves to, or None
    with ``refusal`` saying why it cannot be cancelled."""

    to: Status | None
    refusal: str = ""


def cancel_outcome(rma: Rma) -> CancelOutcome:
    """The cancel rule in the module notes, for the case as it is now (the refusal in
    the current language: it is what a refused cancel says)."""
    status = Status(rma.status)
    if status not in {Status(s) for s in OPEN_STATUSES}:
        return CancelOutcome(
            None, gettext("%(rma)s is %(status)s", rma=rma.number, status=status_label(status))
        )
    if status == Status.RETURNING:
        return CancelOutcome(
            None,
            gettext(
                "%(rma)s is already cancelled and waits for its shipped unit to come back",
                rma=rma.number,
            ),
        )
    if status in (Status.REQUESTED, Status.APPROVED, Status.ALLOCATED):
        return CancelOutcome(Status.CANCELLED)
    if ships_unit(rma.kind) and status in _UNIT_OUT:
        return CancelOutcome(Status.RETURNING)
    if status == Status.DEFECTIVE_RECEIVED:
        return CancelOutcome(
            None,
            gettext(
                "the exchange of %(rma)s is complete (the defective unit is back): close it "
                "with the customer's verdict instead",
                rma=rma.number,
            ),
        )
    if status in (Status.RECEIVED, Status.IN_REPAIR, Status.REPAIRED):
        return CancelOutcome(
            None,
            gettext(
                "the customer's unit of %(rma)s is at %(depot)s: send it back before the case "
                "can end",
                rma=rma.number,
                depot=rma.return_depot,
            ),
        )
    return CancelOutcome(Status.CANCELLED)  # returned or back: nothing of ours is out


def allowed_actions(rma: Rma) -> list[str]:
    """The verbs that may be applied to ``rma`` now."""
    if rma.status == Status.RETURNING:
        return [RECEIVE_REPLACEMENT_BACK]
    verbs = [ACTIONS[s] for s in next_steps(rma)]
    if cancel_outcome(rma).to is not None:
        verbs.append(ACTIONS[Status.CANCELLED])
    return verbs


@dataclass(frozen=True)
class ExpectedBack:
    """A unit the case waits for at a depot: which serial, in words, and the verb
    of the step that takes it in."""

    serial: str | None
    part_number: str
    what: str
    action: str


def expected_back(rma: Rma) -> ExpectedBack | None:
    """The unit this case waits for now, if any: the defective unit or loaner after
    delivery, the unit for repair once approved, or the shipped unit of a cancelled
    case."""
    shipped_part = rma.ship_part_number or rma.part_number
    if rma.status == Status.RETURNING:
        what = "loaner" if rma.kind == Kind.LOANER else "replacement"
        return ExpectedBack(rma.shipped_serial, shipped_part, what, RECEIVE_REPLACEMENT_BACK)
    rules = policy(rma.kind)
    waiting = Status.APPROVED if rma.kind == Kind.REPAIR else Status.DELIVERED
    if rma.status != waiting or rules.back_action is None:
        return None
    if rma.kind == Kind.LOANER:
        return ExpectedBack(rma.shipped_serial, shipped_part, rules.back_what, rules.back_action)
    return ExpectedBack(rma.serial, rma.part_number, rules.back_what, rules.back_action)


# The statuses in which a unit of ours is out and must come back by ``due_back``.
AWAITING_RETURN = (Status.DELIVERED, Status.RETURNING)


def return_due_after_delivery(rma: Rma) -> timedelta | None:
    """How long after delivery the counterpart unit must be back (None: nothing
    comes back after delivery)."""
    return timedelta(days=DEFECTIVE_RETURN_DAYS) if ships_unit(rma.kind) else None
