"""The promises of an RMA and how each stands: the one module the API, the pages,
the service record, the reports and the escalations read.

Two views of the same facts:

* ``commitments(rma, now)``: each service commitment with its due time, when it
  was done, whether it was met (done at or before the due time: the instant
  itself is in time), and the hours left while it runs. The commitments are the
  replacement delivered within 24 hours of approval, the repair sent back within
  72 working hours, and the unit back within 15 days (the defective unit or loaner
  after delivery, or the shipped unit of a case cancelled after shipping).
  ``JUDGED`` names the columns the service-level report judges the first two by,
  so the report applies the same rule to a whole table at once.
* ``replacement_promise(rma, now, requote)``: the live delivery promise of a
  replacement or loaner. A promise is a live fact: once its ship-by (the promised
  pick-up) or its promised delivery passes unmet, the case is at risk, and the
  promise is recomputed from now (the next pick-up at the allocated depot, by the
  same service rule as the depot choice: for C-1 the earliest arrival, emergency
  courier included). A shipped unit past its promised delivery is at risk with no
  new promise: where it is, only the carrier knows.

``refresh_promises`` (run by ``spares escalate`` every minute, before the
escalations) records each lapse once on the case: the new promise, the at-risk
flag and reason, and an event in the history; the escalation run then raises the
"at risk" escalation (step 0), once per case.

Words: commitment labels are for people and come in the reader's language (they
are read at request time; the API never shows them). At-risk reasons are stored
on the case and answered by the API in English; pages say them in the reader's
language from their code (``AtRiskReason``: ``reason_of`` reads a stored reason
back into its code and instant).

Lists sort and count by the same rules in SQL: ``current_due_column`` is the due
time of the commitment a case works towards now (``current_commitment``), and
``lapsed_condition`` the cases whose promise has passed unmet (what
``refresh_promises`` records and what lists show at risk before it does).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select

from core import clock
from core.db import UnitOfWork, transactional
from core.i18n import gettext
from depots import lanes as lane_rule
from depots.service.queries import lane_terms_by_id, pickup_window
from depots.service.snapshot import network
from optimizer.depot_choice import Candidate, Offer, TransitOption, offered_options
from rma import kinds
from rma.models import OPEN_STATUSES, Kind, Rma, RmaEvent, Status

AT_RISK_NO_DEPOT = "no depot can deliver within 24 hours"
AT_RISK_BACKORDER = "backorder: no depot holds the part or a part that supersedes it"
# Why a case is at risk, as codes (pages say them in the reader's language).
NO_DEPOT_IN_TIME = "no_depot_in_time"
BACKORDER = "backorder"
NOT_SHIPPED = "not_shipped"  # the promised pick-up passed (``at``: the pick-up)
NOT_DELIVERED = "not_delivered"  # the promised delivery passed (``at``: that delivery)
_NOT_SHIPPED = re.compile(r"^not shipped by (\d{4}-\d{2}-\d{2} \d{2}:\d{2}), the promised pick-up$")
_NOT_DELIVERED = re.compile(r"^not delivered by (\d{4}-\d{2}-\d{2} \d{2}:\d{2}) as promised$")


@dataclass(frozen=True)
class AtRiskReason:
    """Why a case is at risk: a code (``NO_DEPOT_IN_TIME``, ``BACKORDER``,
    ``NOT_SHIPPED``, ``NOT_DELIVERED``; "" for none, or text this module did not
    write) and, for a lapse, the instant that passed unmet."""

    code: str
    at: datetime | None = None


def reason_of(text: str) -> AtRiskReason:
    """The code of an at-risk reason as this module stores it on a case (and the
    API answers it); text it does not know gives the code ""."""
    if text == AT_RISK_NO_DEPOT:
        return AtRiskReason(NO_DEPOT_IN_TIME)
    if text == AT_RISK_BACKORDER:
        return AtRiskReason(BACKORDER)
    for code, pattern in ((NOT_SHIPPED, _NOT_SHIPPED), (NOT_DELIVERED, _NOT_DELIVERED)):
        match = pattern.match(text or "")
        if match:
            local = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M")
            return AtRiskReason(code, clock.as_utc(local.replace(tzinfo=clock.SHANGHAI)))
    return AtRiskReason("")


# --- commitments ------------------------------------------------------------------------------


@dataclass(frozen=True)
class JudgedPromise:
    """A commitment judged by two columns of the case: met when ``done`` <= ``due``."""

    key: str
    kinds: tuple[str, ...]
    due: str
    done: str


# The promises the service-level report judges, by the columns it reads.
JUDGED = (
    JudgedPromise("replacement_delivery", kinds.SHIPPING_KINDS, "due_replacement", "delivered_at"),
    JudgedPromise("repair_return", (Kind.REPAIR.value,), "due_repair_return", "returned_at"),
)


@dataclass(frozen=True)
class Commitment:
    """One service commitment of an RMA and how it stands at ``now``.

    ``applicable`` is false when it does not apply to the RMA's kind. ``met`` is set
    once the step happened (True: at or before the due time). ``hours_left`` is the
    calendar hours from ``now`` to the due time while the step is still to come on
    an open case, negative when overdue; None otherwise. ``stopped``: the case went
    on or ended without the step, so the commitment no longer runs.
    """

    key: str
    label: str
    short: str  # what lists call it
    applicable: bool
    due: datetime | None
    done_at: datetime | None
    met: bool | None
    hours_left: float | None
    stopped: bool


def is_met(done_at: datetime, due: datetime) -> bool:
    """The rule of every promise: done at or before the due instant."""
    return clock.as_utc(done_at) <= clock.as_utc(due)


def _unit_back(rma: Rma) -> tuple[str, str, datetime | None]:
    """Label, short name and done instant of the "unit back" commitment, in the
    current language."""
    loaner = rma.kind == Kind.LOANER
    if rma.status == Status.RETURNING or (rma.status == Status.CANCELLED and rma.back_at):
        days = kinds.RETURN_AFTER_CANCEL_DAYS
        if loaner:
            label = gettext("Loaner back within %(days)s days of cancellation", days=days)
            return label, gettext("loaner back"), rma.back_at
        label = gettext("Replacement back within %(days)s days of cancellation", days=days)
        return label, gettext("replacement back"), rma.back_at
    days = kinds.DEFECTIVE_RETURN_DAYS
    if loaner:
        label = gettext("Loaner back within %(days)s days of delivery", days=days)
        return label, gettext("loaner back"), rma.back_at
    label = gettext("Defective unit back within %(days)s days of delivery", days=days)
    return label, gettext("defective unit back"), rma.defective_received_at


def commitments(rma: Rma, now: datetime) -> list[Commitment]:
    """The three commitments of ``rma`` (replacement delivery, repair return, unit
    back), in that order, evaluated at the aware instant ``now``."""
    ships = kinds.ships_unit(rma.kind)
    hours = kinds.REPLACEMENT_HOURS
    if rma.kind == Kind.LOANER:
        delivery = gettext("Loaner delivered within %(hours)s hours of approval", hours=hours)
        delivery_short = gettext("loaner delivery")
    else:
        delivery = gettext("Replacement delivered within %(hours)s hours of approval", hours=hours)
        delivery_short = gettext("delivery")
    back_label, back_short, back_done = _unit_back(rma)
    specs = [
        (
            "replacement_delivery",
            delivery,
            delivery_short,
            ships,
            rma.due_replacement,
            rma.delivered_at,
            rma.status == Status.RETURNING,
        ),
        (
            "repair_return",
            gettext(
                "Repaired and sent back within %(hours)s working hours",
                hours=kinds.REPAIR_WORKING_HOURS,
            ),
            gettext("repair return"),
            rma.kind == Kind.REPAIR,
            rma.due_repair_return,
            rma.returned_at,
            False,
        ),
        (
            "defective_return",
            back_label,
            back_short,
            ships,
            rma.due_defective_return,
            back_done,
            False,
        ),
    ]
    open_case = rma.status in OPEN_STATUSES
    result = []
    for key, label, short, applicable, due, done_at, moved_on in specs:
        met = hours_left = None
        stopped = False
        if applicable and due is not None:
            if done_at is not None:
                met = is_met(done_at, due)
            elif open_case and not moved_on:
                seconds = (clock.as_utc(due) - clock.as_utc(now)).total_seconds()
                hours_left = round(seconds / 3600, 2)
            else:
                stopped = True
        result.append(
            Commitment(
                key,
                label,
                short,
                applicable,
                due if applicable else None,
                done_at if applicable else None,
                met,
                hours_left,
                stopped,
            )
        )
    return result


def current_commitment(rma: Rma, now: datetime) -> Commitment | None:
    """The commitment the open case is working towards now, if any."""
    if rma.status not in OPEN_STATUSES:
        return None
    for item in commitments(rma, now):
        if item.applicable and item.due is not None and item.hours_left is not None:
            return item
    return None


# --- the live replacement promise ---------------------------------------------------------------


@dataclass(frozen=True)
class ReplacementPromise:
    """Where the delivery promise of a replacement or loaner stands at ``now``.

    ``due`` is the 24-hour commitment; ``original`` the first promised delivery;
    ``current`` the promise now (None when none can be given: a backorder, or a
    shipped unit past its promised delivery); ``ships_by`` the pick-up it rests on,
    and ``deadline`` the last collection that still makes it (the case's ``ship_by``).
    ``lapsed``: the stored promise has passed unmet and the case does not record it
    yet (``refresh_promises`` will). ``reason`` is English (stored, and answered
    by the API); ``why`` is the same as a code for pages.
    """

    due: datetime
    original: datetime | None
    current: datetime | None
    ships_by: datetime | None
    service: str | None
    at_risk: bool
    reason: str
    lapsed: bool
    why: AtRiskReason = AtRiskReason("")
    deadline: datetime | None = None


@dataclass(frozen=True)
class Requoted:
    """The allocated depot's offer for a shipment ready now, and the last collection
    that still makes its pick-up."""

    offer: Offer
    ships_by: datetime


Requote = Callable[[Rma, datetime], "Requoted | None"]


def replacement_promise(rma: Rma, now: datetime, requote: Requote) -> ReplacementPromise | None:
    """The live promise of ``rma`` at ``now`` (None for a case that ships nothing or
    is not approved yet); ``requote(rma, ready_at)`` gives the allocated depot's
    offer for a shipment ready at ``ready_at``."""
    if not kinds.ships_unit(rma.kind) or rma.due_replacement is None:
        return None
    now = clock.as_utc(now)
    original = rma.original_promised_delivery or rma.promised_delivery

    def promise(
        current: datetime | None,
        ships_by: datetime | None,
        service: str | None,
        at_risk: bool,
        reason: str,
        lapsed: bool = False,
        why: AtRiskReason | None = None,
        deadline: datetime | None = None,
    ) -> ReplacementPromise:
        return ReplacementPromise(
            rma.due_replacement,
            original,
            current,
            ships_by,
            service,
            at_risk,
            reason,
            lapsed,
            why if why is not None else reason_of(reason),
            deadline,
        )

    stored_reason = rma.at_risk_reason or (AT_RISK_NO_DEPOT if rma.at_risk else "")
    settled = (
        rma.delivered_at is not None
        or rma.status not in OPEN_STATUSES
        or rma.status == Status.RETURNING
    )
    if settled:
        return promise(rma.promised_delivery, rma.ships_at, rma.service, False, "")
    if rma.backorder or rma.depot_code is None:
        at_risk = rma.backorder or rma.status == Status.APPROVED
        reason = AT_RISK_BACKORDER if rma.backorder else ""
        return promise(None, None, None, at_risk, reason)
    last_pickup = rma.ship_by or rma.ships_at
    if rma.status == Status.ALLOCATED and last_pickup and now > clock.as_utc(last_pickup):
        requoted = requote(rma, now)
        reason = f"not shipped by {_local(last_pickup)}, the promised pick-up"
        why = AtRiskReason(NOT_SHIPPED, clock.as_utc(last_pickup))
        if requoted is None:
            return promise(None, None, None, True, reason, True, why)
        option, service = requoted.offer.option, requoted.offer.service
        return promise(
            option.arrives_at, option.ships_at, service, True, reason, True, why, requoted.ships_by
        )
    if (
        rma.status == Status.SHIPPED
        and rma.promised_delivery
        and now > clock.as_utc(rma.promised_delivery)
    ):
        reason = f"not delivered by {_local(rma.promised_delivery)} as promised"
        why = AtRiskReason(NOT_DELIVERED, clock.as_utc(rma.promised_delivery))
        lapsed = not (rma.at_risk and rma.at_risk_reason == reason)
        return promise(None, None, rma.service, True, reason, lapsed, why)
    return promise(
        rma.promised_delivery,
        rma.ships_at,
        rma.service,
        rma.at_risk,
        stored_reason,
        deadline=last_pickup,
    )


def ship_by(
    uow: UnitOfWork, depot_code: str, ships_at: datetime, arrives_at: datetime, due: datetime
) -> datetime:
    """The ship-by of a promise quoted to leave ``depot_code`` at ``ships_at`` and
    arrive at ``arrives_at`` (``deadline``). Stored as the case's ``ship_by``, it is
    the instant the lapse rule judges."""
    with uow.session.no_autoflush:  # called mid-step: the step's changes flush as one
        window = pickup_window(uow, depot_code)
    return deadline(ships_at, arrives_at, due, window)


def deadline(
    ships_at: datetime, arrives_at: datetime, due: datetime, window: lane_rule.PickupWindow
) -> datetime:
    """The last moment a unit quoted to leave at ``ships_at`` may leave and the promise
    still hold: that day's collection (``depots.lanes.latest_pickup``), and, when the
    quote meets the due time, no later than the departure that still arrives by it
    (the quote's slack). A quote that misses the due time anyway has no slack to keep:
    its collection is its ship-by."""
    latest = lane_rule.latest_pickup(ships_at, window)
    ships_at, arrives_at, due = (clock.as_utc(t) for t in (ships_at, arrives_at, due))
    if arrives_at <= due:
        latest = min(latest, ships_at + (due - arrives_at))
    return max(latest, ships_at)


def transit_options(
    terms: lane_rule.LaneTerms,
    window: lane_rule.PickupWindow,
    ready_at: datetime,
    fault_level: str,
) -> tuple[TransitOption, TransitOption | None]:
    """The standard quote and, where the fault level may book it (C-1), the emergency
    courier's, for a shipment on a lane ready at ``ready_at``."""
    quote = lane_rule.quote(terms, ready_at, lane_rule.Service.STANDARD, window)
    standard = TransitOption(quote.ships_at, quote.arrives_at, quote.cost)
    if not lane_rule.service_allowed(lane_rule.Service.EMERGENCY, fault_level):
        return standard, None
    quote = lane_rule.quote(terms, ready_at, lane_rule.Service.EMERGENCY, window)
    return standard, TransitOption(quote.ships_at, quote.arrives_at, quote.cost)


def requoter(uow: UnitOfWork, rmas: list[Rma]) -> Requote:
    """A ``Requote`` for the cases of ``rmas``: their lanes and the pick-up windows
    read once (inside the caller's transaction)."""
    terms = lane_terms_by_id(uow, (rma.lane_id for rma in rmas if rma.lane_id is not None))
    windows = {depot.code: depot.window for depot in network(uow).depots}

    def requote(rma: Rma, ready_at: datetime) -> Offer | None:
        lane = terms.get(rma.lane_id) if rma.lane_id is not None else None
        depot = rma.depot_code
        if lane is None or depot is None or depot not in windows or rma.due_replacement is None:
            return None
        standard, emergency = transit_options(lane, windows[depot], ready_at, rma.fault_level)
        candidate = Candidate(depot, 1, 0, standard, emergency)
        offer = offered_options([candidate], rma.due_replacement).get(depot)
        if offer is None:
            return None
        # The new promise's pick-up holds until that collection's cut-off, like any
        # other ship-by: recomputed at 14:00, the unit is not late again at 14:01.
        option = offer.option
        return Requoted(
            offer, deadline(option.ships_at, option.arrives_at, rma.due_replacement, windows[depot])
        )

    return requote


def live_promises(uow: UnitOfWork, rmas: list[Rma], now: datetime) -> dict[int, ReplacementPromise]:
    """{rma id: live promise} for the cases of ``rmas`` that ship a unit."""
    requote = requoter(uow, rmas)
    found = {}
    for rma in rmas:
        promise = replacement_promise(rma, now, requote)
        if promise is not None and rma.id is not None:
            found[rma.id] = promise
    return found


@transactional
def refresh_promises(uow: UnitOfWork, now: datetime) -> list[str]:
    """Record every promise that has passed unmet by ``now``: the recomputed promise,
    ``at_risk`` with its reason, and a ``promise-lapsed`` event. Returns the RMA
    numbers changed. Idempotent: a lapse already recorded is not recorded again."""
    now = clock.as_utc(now)
    query = (
        select(Rma)
        .where(lapsed_condition(now))
        .order_by(Rma.id)
        .execution_options(populate_existing=True)
    )
    if uow.dialect == "postgresql":
        query = query.with_for_update(skip_locked=True)
    cases = list(uow.session.scalars(query))
    if not cases:
        return []
    requote = requoter(uow, cases)
    changed = []
    for rma in cases:
        promise = replacement_promise(rma, now, requote)
        if promise is None or not promise.lapsed:
            continue
        before = {
            "ships_at": rma.ships_at,
            "promised_delivery": rma.promised_delivery,
            "at_risk": rma.at_risk,
        }
        if rma.status == Status.ALLOCATED:
            rma.ships_at, rma.promised_delivery = promise.ships_by, promise.current
            rma.ship_by = promise.deadline
            rma.service = promise.service or rma.service
        rma.at_risk, rma.at_risk_reason = True, promise.reason[:200]
        uow.session.add(rma)
        uow.session.add(
            RmaEvent(
                rma_id=rma.id,
                at=now,
                actor="system",
                action="promise-lapsed",
                from_status=rma.status,
                to_status=rma.status,
                detail=json.dumps(
                    {
                        "reason": promise.reason,
                        "before": before,
                        "ships_at": promise.ships_by,
                        "ship_by": promise.deadline,
                        "promised_delivery": promise.current,
                        "service": promise.service,
                    },
                    default=str,
                ),
            )
        )
        changed.append(rma.number)
    uow.session.flush()
    return changed


# --- the same rules in SQL, for lists that sort and count whole selections --------------------


def lapsed_condition(now: datetime) -> Any:
    """Cases whose promised pick-up or delivery has passed unmet at ``now``: the lapses
    ``refresh_promises`` records (once each; the case may have it recorded already)."""
    return and_(
        Rma.kind.in_(kinds.SHIPPING_KINDS),
        or_(
            (Rma.status == Status.ALLOCATED) & (func.coalesce(Rma.ship_by, Rma.ships_at) < now),
            (Rma.status == Status.SHIPPED) & (Rma.promised_delivery < now),
        ),
    )


def at_risk_condition(now: datetime) -> Any:
    """Open cases whose replacement promise is at risk at ``now``, as
    ``replacement_promise`` judges it: flagged (no depot in time, a backorder, a
    recorded lapse) or lapsed since the last ``refresh_promises``; never once the
    unit is delivered or the case turned back (``returning``)."""
    return and_(
        Rma.status.in_([s for s in OPEN_STATUSES if s != Status.RETURNING]),
        Rma.kind.in_(kinds.SHIPPING_KINDS),
        Rma.delivered_at.is_(None),
        Rma.due_replacement.is_not(None),
        or_(Rma.at_risk, Rma.backorder, lapsed_condition(now)),
    )


def running_commitments() -> list[tuple[str, Any, Any]]:
    """(key, due column, condition) of each commitment, in ``commitments``' order:
    the condition holds while the commitment runs on an open case (due, not done,
    not stopped): the SQL twin of ``Commitment.hours_left`` being set."""
    open_case = Rma.status.in_(OPEN_STATUSES)
    ships = Rma.kind.in_(kinds.SHIPPING_KINDS)
    back_by_us = (Rma.status == Status.RETURNING) | (Rma.kind == Kind.LOANER)
    return [
        (
            "replacement_delivery",
            Rma.due_replacement,
            open_case
            & ships
            & Rma.due_replacement.is_not(None)
            & Rma.delivered_at.is_(None)
            & (Rma.status != Status.RETURNING),
        ),
        (
            "repair_return",
            Rma.due_repair_return,
            open_case
            & (Rma.kind == Kind.REPAIR)
            & Rma.due_repair_return.is_not(None)
            & Rma.returned_at.is_(None),
        ),
        (
            "defective_return",
            Rma.due_defective_return,
            open_case
            & ships
            & Rma.due_defective_return.is_not(None)
            & or_(
                back_by_us & Rma.back_at.is_(None),
                ~back_by_us & Rma.defective_received_at.is_(None),
            ),
        ),
    ]


def current_due_column() -> Any:
    """The due time of the commitment an open case works towards now (NULL when no
    clock runs): what ``current_commitment`` picks, for sorting in SQL."""
    return case(*((condition, due) for _key, due, condition in running_commitments()), else_=None)


def _local(instant: datetime) -> str:
    return clock.local(instant).strftime("%Y-%m-%d %H:%M")
