"""What happens to the units a transfer was short of: they arrive late, or are
written off.

A transfer received with units missing is ``partially_received``: the missing
units are still in transit to the destination (a serial stays ``in_transit``, a
bulk shortfall stays in the destination's ``in_transit`` balance), each shortfall
an open ``short`` discrepancy (see ``inventory.service.receipts``). Then:

* **a late parcel** (``receive_late_parcel``): the missing serials or quantity
  arrive - in transit -> good stock at the destination, shelved in the part's
  default bin - and the shortfalls they fill are resolved ``arrived``. A bulk
  shortfall filled in part is split: what arrived is resolved, the rest stays
  open. Anything else in the parcel is booked as on a first receipt (an unknown
  serial is an extra in quarantine, one of our units from another shelf a wrong
  serial). When nothing is missing any more the transfer is ``received``.
* **a write-off** (``write_off_shortfall``), with a reason: every open shortfall
  leaves the books - in transit -> gone, serials ``missing`` - in one ledger
  movement referenced ``T<id>``; the shortfalls are resolved ``written_off`` with
  the reason, and the transfer ends ``received``.

Both are the destination depot's staff's (administrators too), lock the transfer
first, then the units, then the balances (the house lock order), and change
nothing when refused.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from core import clock
from core.auth import Actor, Role
from core.db import UnitOfWork, transactional
from core.errors import Conflict, Invalid
from core.i18n import gettext
from inventory.models import (
    MAX_REASON,
    Bucket,
    Location,
    Transfer,
    TransferSerial,
    TransferStatus,
)
from inventory.service import ledger
from inventory.service.ledger import Delta
from inventory.service.receipts import (
    Expected,
    ReceivedLine,
    book_arrival,
    open_shortfalls,
    settle_status,
    shipped_rows,
)
from inventory.service.stock import lock_units
from inventory.service.transfers import (
    TransferView,
    lock_transfer,
    status_label,
    transfer_code,
    transfer_lines,
    view,
)


def _partially_received(uow: UnitOfWork, actor: Actor, transfer_id: int) -> Transfer:
    """The transfer, locked, if it waits for missing units and ``actor`` receives at
    its destination."""
    transfer = lock_transfer(uow, transfer_id)
    actor.require_role(Role.DEPOT_STAFF)
    actor.require_depot(transfer.to_depot)
    if transfer.status != TransferStatus.PARTIALLY_RECEIVED:
        raise Conflict(
            gettext(
                "transfer %(code)s is %(status)s; only a partially received transfer waits "
                "for missing units",
                code=transfer_code(transfer_id),
                status=status_label(transfer.status),
            )
        )
    return transfer


def _missing(uow: UnitOfWork, transfer_id: int) -> Expected:
    """What is still missing on a transfer: per part, the shipped serials that have
    not arrived, and the bulk units of the open shortfalls."""
    waiting = open_shortfalls(uow, transfer_id)
    missing_serials = {item.serial for item in waiting if item.serial is not None}
    serials: dict[str, list[TransferSerial]] = defaultdict(list)
    for row in shipped_rows(uow, transfer_id):
        if row.serial in missing_serials and not row.received:
            serials[row.part_number].append(row)
    bulk: dict[str, int] = defaultdict(int)
    for item in waiting:
        if item.serial is None:
            bulk[item.part_number] += item.qty
    return Expected(serials=dict(serials), bulk=dict(bulk))


@transactional
def receive_late_parcel(
    uow: UnitOfWork,
    actor: Actor,
    transfer_id: int,
    received: Sequence[ReceivedLine] | None = None,
    *,
    all_missing: bool = False,
) -> TransferView:
    """Receive a late parcel against a partially received transfer.

    ``received`` says what the parcel holds, line by line (serials, or bulk
    quantities); ``all_missing=True`` (and no lines) confirms that everything
    still missing arrived. Neither, or both, is ``Invalid``. Missing units move
    from in transit into good stock and their shortfalls are resolved
    ``arrived``; the transfer is ``received`` once nothing is missing.
    ``Conflict`` for a transfer not partially received, or a serial that already
    arrived."""
    transfer = _partially_received(uow, actor, transfer_id)
    if received is None and not all_missing:
        raise Invalid(
            gettext(
                "say what the late parcel holds - serials or quantities - or confirm that "
                "everything still missing arrived"
            )
        )
    if received is not None and all_missing:
        raise Invalid(
            gettext("give either what arrived or the confirmation that all arrived, not both")
        )
    lines = {line.part_number: line for line in transfer_lines(uow, transfer_id)}
    book_arrival(
        uow,
        actor,
        transfer,
        lines,
        _missing(uow, transfer_id),
        received,
        late=True,
        now=clock.now(),
    )
    return view(uow, transfer, discrepancies=settle_status(uow, transfer))


@transactional
def write_off_shortfall(
    uow: UnitOfWork, actor: Actor, transfer_id: int, reason: str
) -> TransferView:
    """Write off everything still missing on a partially received transfer, with a
    reason: the units leave the books (serials become ``missing``), the shortfalls
    are resolved ``written_off`` with the reason, and the transfer is ``received``.
    ``Invalid`` without a reason; ``Conflict`` for a transfer not partially
    received."""
    text = " ".join((reason or "").split())
    if not text:
        raise Invalid(gettext("say why the missing units are written off"))
    if len(text) > MAX_REASON:
        raise Invalid(gettext("reason must be at most %(limit)s characters", limit=MAX_REASON))
    transfer = _partially_received(uow, actor, transfer_id)
    target, code, now = transfer.to_depot, transfer_code(transfer_id), clock.now()
    waiting = open_shortfalls(uow, transfer_id)
    units = lock_units(uow, [item.serial for item in waiting if item.serial])
    deltas: list[Delta] = []
    for item in waiting:
        if item.serial is None:
            deltas.append(Delta(target, item.part_number, Bucket.IN_TRANSIT, -item.qty))
            continue
        unit = units.get(item.serial)
        if unit is None or (unit.location, unit.depot_code) != (Location.IN_TRANSIT, target):
            raise Conflict(
                gettext(
                    "serial %(serial)s is no longer in transit to %(depot)s; it cannot be "
                    "written off on %(code)s",
                    serial=item.serial,
                    depot=target,
                    code=code,
                )
            )
        deltas.append(Delta(target, item.part_number, Bucket.IN_TRANSIT, -1, item.serial))
        unit.location, unit.depot_code, unit.bin, unit.updated_at = (
            Location.MISSING,
            None,
            None,
            now,
        )
        unit.note = f"lost on {code}; written off"
        uow.session.add(unit)
    if deltas:
        prefix = f"shortfall on {code} written off: "
        ledger.post(
            uow,
            "transfer_write_off",
            actor.username,
            deltas,
            reason=prefix + text[: MAX_REASON - len(prefix)],
            reference=code,
        )
    for item in waiting:
        item.resolution, item.resolved_by, item.resolved_at = "written_off", actor.username, now
        item.resolution_note = text
        uow.session.add(item)
    return view(uow, transfer, discrepancies=settle_status(uow, transfer))
