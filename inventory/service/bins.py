"""Bin locations: where on a depot's shelves a part, or one serialized unit, sits.

Each part may have a *default bin* at a depot (``StockBin``): where its bulk stock
is kept and where new units of it go. A serialized unit may sit elsewhere
(``Unit.bin``); a unit without a bin of its own is found in the part's default
bin. Bins are not stock: moving a unit to another bin changes no balance and
posts nothing to the ledger.

* Receiving stock shelves the units: in the bin given per serial, else the bin
  given for the receipt, else the part's default bin at the depot. A receipt
  that names a bin for a part that has no default bin there makes it the
  default (the part's first home at that depot).
* Units arriving on a transfer, coming back from a customer or found on a
  count go to the part's default bin at that depot.
* A unit leaving the depot (shipped, picked, in transit) leaves its bin.

Depot staff move units and set default bins at their own depot (administrators
anywhere); planners and administrators may set default bins anywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from core import clock
from core.auth import Actor, Role
from core.db import UnitOfWork, read_only, transactional
from core.errors import Conflict, Invalid, NotFound
from core.i18n import gettext
from inventory.models import Location, StockBin, Unit
from inventory.service.stock import describe_location, lock_units, part_for_move, require_depot

BIN_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9 ._/-]{0,19}$")
MAX_BIN = 20


def normalize_bin(text: str | None, *, required: bool = False) -> str | None:
    """A bin as typed or scanned (``a-03-2`` -> ``A-03-2``); None when left blank.
    ``Invalid`` for anything but 1-20 letters, digits, spaces and . _ / -."""
    value = " ".join((text or "").split()).upper()
    if not value:
        if required:
            raise Invalid(gettext("give the bin (e.g. A-03-2)"), field="bin")
        return None
    if not BIN_PATTERN.match(value):
        raise Invalid(
            gettext(
                "bin %(bin)r: 1-%(limit)s letters, digits, spaces and . _ / -",
                bin=value,
                limit=MAX_BIN,
            ),
            field="bin",
        )
    return value


def default_bin(uow: UnitOfWork, depot: str, part_number: str) -> str | None:
    """The part's default bin at ``depot``, if one is set."""
    row = uow.session.get(StockBin, (depot, part_number))
    return row.bin if row is not None else None


@read_only
def default_bin_of(uow: UnitOfWork, depot: str, part_number: str) -> str | None:
    """``default_bin`` as a read of its own (for callers outside a use case)."""
    return default_bin(uow, depot.strip().upper(), part_number.strip().upper())


def default_bins(uow: UnitOfWork, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """{(depot, part number): default bin} for those of ``pairs`` that have one."""
    wanted = set(pairs)
    if not wanted:
        return {}
    depots = {depot for depot, _ in wanted}
    parts = {part for _, part in wanted}
    rows = uow.session.execute(
        select(StockBin.depot_code, StockBin.part_number, StockBin.bin).where(
            StockBin.depot_code.in_(depots), StockBin.part_number.in_(parts)
        )
    )
    return {(d, p): b for d, p, b in rows if (d, p) in wanted}


@read_only
def default_bins_of(
    uow: UnitOfWork, pairs: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """``default_bins`` as a read of its own (for callers outside a use case)."""
    return default_bins(uow, pairs)


def _store_default(
    uow: UnitOfWork, depot: str, part_number: str, bin: str, by: str, *, replace: bool
) -> None:
    """Write the part's default bin in one statement (an upsert), so two receipts
    of a new part at one depot cannot both insert it: ``replace`` False keeps a
    default someone set meanwhile (the first receipt's bin wins)."""
    values = {
        "depot_code": depot,
        "part_number": part_number,
        "bin": bin,
        "updated_by": by,
        "updated_at": clock.now(),
    }
    dialect = postgresql if uow.dialect == "postgresql" else sqlite
    statement = dialect.insert(StockBin).values(values)
    keys = [StockBin.depot_code, StockBin.part_number]
    if replace:
        statement = statement.on_conflict_do_update(
            index_elements=keys,
            set_={"bin": bin, "updated_by": by, "updated_at": values["updated_at"]},
        )
    else:
        statement = statement.on_conflict_do_nothing(index_elements=keys)
    uow.session.execute(statement)
    # A row read earlier in this use case is stale now: read it again when next used.
    for row in list(uow.session.identity_map.values()):
        if isinstance(row, StockBin):
            uow.session.expire(row)


def shelve(
    uow: UnitOfWork,
    units: Sequence[Unit],
    depot: str,
    part_number: str,
    *,
    bin: str | None = None,
    bins: Mapping[str, str] | None = None,
    by: str = "",
) -> None:
    """Put ``units`` (already locked, at ``depot``) in their bins: ``bins[serial]``,
    else ``bin``, else the part's default bin there. A ``bin`` given for a part with
    no default bin at the depot becomes its default."""
    chosen = normalize_bin(bin)
    per_serial = {serial: normalize_bin(place) for serial, place in (bins or {}).items()}
    default = default_bin(uow, depot, part_number)
    if chosen and default is None:
        _store_default(uow, depot, part_number, chosen, by or "system", replace=False)
    for unit in units:
        unit.bin = per_serial.get(unit.serial) or chosen or default
        uow.session.add(unit)


def check_bins_given(serials: Sequence[str], bins: Mapping[str, str] | None) -> dict[str, str]:
    """Bins per serial of a receipt, upper-cased; ``Invalid`` for a bin given for a
    serial the receipt does not bring."""
    cleaned: dict[str, str] = {}
    for serial, place in (bins or {}).items():
        key = (serial or "").strip().upper()
        if key not in serials:
            raise Invalid(
                gettext(
                    "a bin is given for %(serial)s, which this receipt does not bring",
                    serial=key,
                )
            )
        value = normalize_bin(place)
        if value:
            cleaned[key] = value
    return cleaned


def _may_place(actor: Actor, depot: str) -> None:
    """Depot staff at their own depot; planners and administrators anywhere."""
    actor.require_role(Role.DEPOT_STAFF, Role.PLANNER)
    actor.require_depot(depot)


@transactional
def set_default_bin(
    uow: UnitOfWork, actor: Actor, depot: str, part_number: str, bin: str | None
) -> str | None:
    """Set (or, with a blank ``bin``, clear) the part's default bin at ``depot``.
    Units that have no bin of their own follow it. Returns the bin now set."""
    depot = require_depot(uow, depot).code
    _may_place(actor, depot)
    part = part_for_move(uow, part_number)
    value = normalize_bin(bin)
    if value is None:
        row = uow.session.get(StockBin, (depot, part.part_number))
        if row is not None:
            uow.session.delete(row)
        return None
    _store_default(uow, depot, part.part_number, value, actor.username, replace=True)
    return value


@transactional
def move_unit(uow: UnitOfWork, actor: Actor, serial: str, bin: str | None) -> Unit:
    """Move a serialized unit on its depot's shelves to ``bin`` (blank: back to the
    part's default bin). Only a unit on a depot's shelf has a bin: ``Conflict``
    otherwise. Nothing is posted to the ledger: the stock does not change."""
    key = (serial or "").strip().upper()
    units = lock_units(uow, [key])
    unit = units.get(key)
    if unit is None:
        raise NotFound(gettext("unknown serial %(serial)s", serial=key))
    if unit.location != Location.DEPOT or unit.depot_code is None:
        raise Conflict(
            gettext(
                "serial %(serial)s is %(where)s, not on a depot's shelf: it has no bin",
                serial=key,
                where=describe_location(unit),
            )
        )
    _may_place(actor, unit.depot_code)
    unit.bin = normalize_bin(bin)
    unit.updated_at = clock.now()
    uow.session.add(unit)
    uow.session.flush()
    return unit


@read_only
def where_is(uow: UnitOfWork, serial: str) -> str | None:
    """The bin a unit on a shelf sits in: its own, else its part's default bin at its
    depot; None when it is not on a shelf or no bin is known."""
    unit = uow.session.get(Unit, (serial or "").strip().upper())
    if unit is None or unit.location != Location.DEPOT or unit.depot_code is None:
        return None
    return unit.bin or default_bin(uow, unit.depot_code, unit.part_number)
