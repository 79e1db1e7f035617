"""The steps that take a unit back in: the defective unit of an advance
replacement, the customer's unit for repair (and the repair itself), the loaner,
and the shipped unit of a case cancelled after shipping.

A unit leaving a customer's site leaves the installed base before it enters
stock (one serial, one place). Units of ours come back into quarantine for
inspection (loaners, cancelled replacements); the customer's faulty unit of an
advance replacement becomes the depot's defective stock.
"""

from __future__ import annotations

from sqlalchemy import select

from core import clock
from core.auth import Actor, Role
from core.db import UnitOfWork, transactional
from core.errors import Invalid
from core.i18n import gettext
from depots.calendar import add_working_hours
from depots.service.calendars import get_calendar
from inventory.service import moves, repair_yield
from inventory.service.stock import require_depot
from rma import kinds
from rma.kinds import REPAIR_WORKING_HOURS
from rma.models import InstalledUnit, Rma, Status
from rma.service.lifecycle import lock_rma, move_to, require_step


def _leave_installed_base(uow: UnitOfWork, serial: str | None) -> None:
    """Take ``serial`` out of the installed base (it is coming back to a depot)."""
    if not serial:
        return
    unit = uow.session.scalar(
        select(InstalledUnit).where(InstalledUnit.serial == serial, InstalledUnit.active)
    )
    if unit is not None:
        unit.active = False
        uow.session.add(unit)
        uow.session.flush()


@transactional
def receive_defective(
    uow: UnitOfWork,
    actor: Actor,
    number: str,
    depot: str,
    serial: str | None,
    finding: str | None = None,
) -> Rma:
    """The customer's faulty unit arrives at ``depot``.

    Advance replacement: it becomes the depot's defective stock, with its receipt
    and the ``finding`` when given ("fault_confirmed" or "no_fault_found", for the
    repair yield: ``inventory.service.repair_yield``), and the case can close.
    Repair: the 72-working-hour repair clock starts (the unit stays the customer's,
    outside our stock; a finding is ``Invalid`` there).
    """
    rma = lock_rma(uow, number)
    rules = kinds.policy(rma.kind)
    target = Status.RECEIVED if rules.repairs_customer_unit else Status.DEFECTIVE_RECEIVED
    require_step(rma, target)
    actor.require_role(Role.DEPOT_STAFF)
    depot = require_depot(uow, depot).code
    actor.require_depot(depot)
    finding = repair_yield.require_finding(finding)
    if finding is not None and rules.repairs_customer_unit:
        raise Invalid(
            gettext("a finding is recorded for the defective unit of an advance replacement"),
            field="finding",
        )
    serial = (serial or "").strip().upper() or None
    if rma.serial and serial and serial != rma.serial:
        raise Invalid(
            gettext(
                "%(rma)s is for serial %(expected)s, not %(serial)s",
                rma=rma.number,
                expected=rma.serial,
                serial=serial,
            ),
            field="serial",
        )
    serial = serial or rma.serial
    now = clock.now()
    rma.return_depot, rma.returned_serial, rma.defective_received_at = depot, serial, now
    if rules.repairs_customer_unit:
        calendar = get_calendar(uow, "7x24" if rma.coverage == "7x24" else "5x8")
        rma.due_repair_return = add_working_hours(calendar, now, REPAIR_WORKING_HOURS)
    else:
        # Taken out of the installed base before it enters stock: one serial, one place.
        original = (
            uow.session.get(InstalledUnit, rma.installed_unit_id) if rma.installed_unit_id else None
        )
        _leave_installed_base(uow, original.serial if original else None)
        moves.receive_return(
            uow,
            actor,
            depot,
            rma.part_number,
            serial,
            condition="defective",
            reference=rma.number,
            reason=f"defective unit of {rma.number}",
            finding=finding,
        )
    detail: dict[str, object] = {"depot": depot, "serial": serial}
    if finding is not None:
        detail["finding"] = finding
    move_to(uow, rma, target, actor, "receive-defective", detail)
    return rma


def _repair_step(uow: UnitOfWork, actor: Actor, number: str, target: Status, action: str) -> Rma:
    rma = lock_rma(uow, number)
    require_step(rma, target)
    actor.require_role(Role.DEPOT_STAFF)
    actor.require_depot(rma.return_depot or "")
    now = clock.now()
    if target == Status.IN_REPAIR:
        rma.repair_started_at = now
    elif target == Status.REPAIRED:
        rma.repaired_at = now
    else:
        rma.returned_at = now
    detail: dict[str, object] = {}
    if target == Status.RETURNED and rma.due_repair_return:
        detail["within_72_working_hours"] = now <= rma.due_repair_return
    move_to(uow, rma, target, actor, action, detail)
    return rma


@transactional
def start_repair(uow: UnitOfWork, actor: Actor, number: str) -> Rma:
    return _repair_step(uow, actor, number, Status.IN_REPAIR, "start-repair")


@transactional
def finish_repair(uow: UnitOfWork, actor: Actor, number: str) -> Rma:
    return _repair_step(uow, actor, number, Status.REPAIRED, "finish-repair")


@transactional
def return_repaired(uow: UnitOfWork, actor: Actor, number: str) -> Rma:
    return _repair_step(uow, actor, number, Status.RETURNED, "return-repaired")


def _shipped_unit_back(
    uow: UnitOfWork,
    actor: Actor,
    number: str,
    depot: str,
    serial: str | None,
    target: Status,
    action: str,
    why: str,
) -> Rma:
    """The unit we shipped on the case is back at ``depot`` (staff of that depot):
    out of the installed base if it was installed, into quarantine until
    inspected; the case moves to ``target``."""
    rma = lock_rma(uow, number)
    require_step(rma, target)
    actor.require_role(Role.DEPOT_STAFF)
    depot = require_depot(uow, depot).code
    actor.require_depot(depot)
    serial = (serial or "").strip().upper() or rma.shipped_serial
    if rma.shipped_serial and serial != rma.shipped_serial:
        raise Invalid(
            gettext(
                "the unit shipped on %(rma)s is %(expected)s, not %(serial)s",
                rma=rma.number,
                expected=rma.shipped_serial,
                serial=serial,
            ),
            field="serial",
        )
    _leave_installed_base(uow, serial)
    moves.receive_return(
        uow,
        actor,
        depot,
        rma.ship_part_number or rma.part_number,
        serial,
        condition="quarantine",
        reference=rma.number,
        reason=f"{why} {rma.number}",
    )
    now = clock.now()
    rma.back_at, rma.return_depot, rma.returned_serial = now, depot, serial
    if target == Status.CANCELLED:
        rma.cancelled_at = now
    move_to(uow, rma, target, actor, action, {"depot": depot, "serial": serial})
    return rma


@transactional
def loaner_back(uow: UnitOfWork, actor: Actor, number: str, depot: str, serial: str | None) -> Rma:
    """The loaner comes back to ``depot``, into quarantine until inspected."""
    return _shipped_unit_back(
        uow, actor, number, depot, serial, Status.BACK, "loaner-back", "loaner back from"
    )


@transactional
def receive_replacement_back(
    uow: UnitOfWork, actor: Actor, number: str, depot: str, serial: str | None
) -> Rma:
    """The unit shipped on a case cancelled after shipping is back at ``depot``: it
    goes into quarantine for inspection and the case ends ``cancelled``."""
    return _shipped_unit_back(
        uow,
        actor,
        number,
        depot,
        serial,
        Status.CANCELLED,
        "receive-replacement-back",
        "shipped unit back from cancelled",
    )
