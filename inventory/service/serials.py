"""One serial space: a serial is in exactly one place.

A serial is on a depot's shelf or on the road (a ``Unit`` in stock), or somewhere
only another domain knows: installed at a customer's site (rma's installed base).
Inventory never imports those domains; they register a *holder* here instead, a
function answering "which of these serials do you hold, and where?". Inventory
asks the holders before a serial enters stock, and ``check_books`` asks them
about every serial in stock, so a serial in two places is refused when it would
arise and reported if it ever exists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select

from core.db import UnitOfWork
from core.errors import Conflict
from core.i18n import gettext
from inventory.models import Location, Unit

# serials asked about -> {serial: where the holder has it, in words}
SerialHolder = Callable[[UnitOfWork, Sequence[str]], dict[str, str]]
CHUNK = 500
IN_STOCK = (Location.DEPOT, Location.IN_TRANSIT)

_holders: list[SerialHolder] = []


def register_holder(holder: SerialHolder) -> None:
    """Add a domain's holder (idempotent: registering the same function twice is one)."""
    if holder not in _holders:
        _holders.append(holder)


def held_elsewhere(uow: UnitOfWork, serials: Iterable[str]) -> dict[str, str]:
    """{serial: where} for the serials another domain holds (e.g. installed at a site)."""
    wanted = sorted(set(serials))
    found: dict[str, str] = {}
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        for holder in _holders:
            found.update(holder(uow, chunk))
    return found


def require_not_held_elsewhere(uow: UnitOfWork, serials: Iterable[str]) -> None:
    """``Conflict`` when any of ``serials`` is held by another domain: it cannot
    enter stock while it is, say, installed at a customer."""
    held = held_elsewhere(uow, serials)
    if held:
        serial = min(held)
        raise Conflict(
            gettext(
                "serial %(serial)s is %(where)s; one serial cannot be in two places",
                serial=serial,
                where=held[serial],
            )
        )


def in_stock(uow: UnitOfWork, serials: Iterable[str]) -> dict[str, str]:
    """{serial: where} for the serials on a shelf or on the road (for other domains'
    checks, e.g. before registering an installed unit)."""
    wanted = sorted(set(serials))
    found: dict[str, str] = {}
    for start in range(0, len(wanted), CHUNK):
        rows = uow.session.execute(
            select(Unit.serial, Unit.location, Unit.depot_code).where(
                Unit.serial.in_(wanted[start : start + CHUNK]), Unit.location.in_(IN_STOCK)
            )
        )
        found.update({serial: _where(location, depot) for serial, location, depot in rows})
    return found


def _where(location: str, depot: str | None) -> str:
    return f"in stock at {depot}" if location == Location.DEPOT else f"in transit to {depot}"


@dataclass(frozen=True)
class SerialInTwoPlaces:
    """A ``spares check`` finding: a serial in stock that another domain also holds."""

    serial: str
    in_stock: str
    elsewhere: str

    def __str__(self) -> str:
        return f"serial {self.serial} is in two places: {self.in_stock} and {self.elsewhere}"


def serials_in_two_places(uow: UnitOfWork) -> list[SerialInTwoPlaces]:
    """Every serial in stock that another domain also holds, by serial."""
    stocked = {
        serial: _where(location, depot)
        for serial, location, depot in uow.session.execute(
            select(Unit.serial, Unit.location, Unit.depot_code).where(Unit.location.in_(IN_STOCK))
        )
    }
    held = held_elsewhere(uow, stocked)
    return [SerialInTwoPlaces(serial, stocked[serial], held[serial]) for serial in sorted(held)]
