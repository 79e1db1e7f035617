"""The parts catalogue and supersession chains."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from sqlalchemy import func, or_, select

from core.auth import Actor, Role
from core.db import UnitOfWork, read_only, transactional
from core.errors import Conflict, Invalid, NotFound
from core.generations import Cached
from core.i18n import gettext
from inventory.models import CATALOGUE, Part, PartIn

CATALOGUE_ROLES = (Role.PLANNER,)


def part_key(part_number: str) -> str:
    """A part number as the catalogue keys it (people type it in any case, with spaces)."""
    return part_number.strip().upper()


def unknown_part(part_number: str) -> NotFound:
    """The refusal for a part number the catalogue does not hold (as it was given)."""
    return NotFound(gettext("unknown part %(part)r", part=part_number))


def get_part_row(uow: UnitOfWork, part_number: str) -> Part:
    """The part, or ``NotFound``."""
    part = uow.session.get(Part, part_key(part_number))
    if part is None:
        raise unknown_part(part_number)
    return part


def get_part_rows(uow: UnitOfWork, part_numbers: Iterable[str]) -> dict[str, Part]:
    """{part number: part} for ``part_numbers`` (upper-cased), in part-number order, read
    in one query (a move of many lines reads its parts at once, not one by one); the
    first unknown part is ``NotFound``, as ``get_part_row`` says it."""
    wanted = {number: part_key(number) for number in part_numbers}
    if not wanted:
        return {}
    found = {
        part.part_number: part
        for part in uow.session.scalars(select(Part).where(Part.part_number.in_(wanted.values())))
    }
    for given, number in sorted(wanted.items(), key=lambda item: item[1]):
        if number not in found:
            raise unknown_part(given)
    return {number: found[number] for number in sorted(set(wanted.values()))}


@read_only
def get_part(uow: UnitOfWork, part_number: str) -> Part:
    return get_part_row(uow, part_number)


@read_only
def list_parts(
    uow: UnitOfWork,
    *,
    search: str | None = None,
    family: str | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[Part]:
    """Parts ordered by part number, filtered by a search text and family."""
    query = select(Part).order_by(Part.part_number)
    if search:
        term = search.strip().lower()  # % and _ match themselves (autoescape)
        query = query.where(
            or_(
                func.lower(Part.part_number).contains(term, autoescape=True),
                func.lower(Part.description).contains(term, autoescape=True),
            )
        )
    if family:
        query = query.where(Part.family == family)
    return list(uow.session.scalars(query.limit(limit).offset(offset)))


def _read_successor_map(uow: UnitOfWork) -> Mapping[str, str]:
    rows = uow.session.execute(
        select(Part.part_number, Part.superseded_by).where(Part.superseded_by.is_not(None))
    )
    return MappingProxyType({part: successor for part, successor in rows})


# {part: the part that supersedes it}: read by every RMA opening (depot choice), kept
# per process while the catalogue's generation stays the same.
_successors: Cached[Mapping[str, str]] = Cached(CATALOGUE, _read_successor_map)


def _successor_map(uow: UnitOfWork) -> Mapping[str, str]:
    return _successors.get(uow)


def supersession_chain(successors: Mapping[str, str], part_number: str) -> list[str]:
    """``part_number`` followed by every part that supersedes it, nearest first.

    Raises ``Invalid`` on a cycle (A -> B -> A), which the catalogue never stores.
    """
    chain = [part_number]
    while chain[-1] in successors:
        following = successors[chain[-1]]
        if following in chain:
            raise Invalid(
                gettext("supersession cycle: %(chain)s", chain=" -> ".join([*chain, following]))
            )
        chain.append(following)
    return chain


@read_only
def substitutes(uow: UnitOfWork, part_number: str) -> list[str]:
    """Parts that may be shipped where ``part_number`` is asked for, the part itself first."""
    get_part_row(uow, part_number)
    return supersession_chain(_successor_map(uow), part_key(part_number))


@dataclass(frozen=True)
class Supersession:
    """Where a part stands among the parts that replace one another."""

    chain: list[str]  # the part, then each part that supersedes it, nearest first
    supersedes: list[str]  # the parts it directly replaces, by part number


@read_only
def supersession(uow: UnitOfWork, part_number: str) -> Supersession:
    """``part_number``'s supersession chain and the parts it directly replaces
    (one read of the successor map for both); ``NotFound`` for an unknown part."""
    number = get_part_row(uow, part_number).part_number
    successors = _successor_map(uow)
    replaced = sorted(part for part, successor in successors.items() if successor == number)
    return Supersession(supersession_chain(successors, number), replaced)


def _check_successor(uow: UnitOfWork, part_number: str, successor: str | None) -> None:
    if successor is None:
        return
    if successor == part_number:
        raise Invalid(gettext("%(part)s cannot supersede itself", part=part_number))
    if uow.session.get(Part, successor) is None:
        raise Invalid(gettext("superseded_by: unknown part %(part)r", part=successor))
    successors = {**_successor_map(uow), part_number: successor}
    supersession_chain(successors, part_number)


@transactional
def create_part(uow: UnitOfWork, actor: Actor, spec: PartIn) -> Part:
    """Add a part to the catalogue (planners). ``Conflict`` if the number exists."""
    actor.require_role(*CATALOGUE_ROLES)
    if uow.session.get(Part, spec.part_number) is not None:
        raise Conflict(gettext("part %(part)s already exists", part=spec.part_number))
    part = Part(**spec.model_dump(exclude={"superseded_by"}))
    uow.session.add(part)
    uow.session.flush()
    _check_successor(uow, spec.part_number, spec.superseded_by)
    part.superseded_by = spec.superseded_by
    uow.session.add(part)
    return part


@transactional
def update_part(uow: UnitOfWork, actor: Actor, spec: PartIn) -> Part:
    """Change a part's description, cost, supersession... Serialization cannot change
    once the part has stock, because the ledger's serials would stop adding up."""
    actor.require_role(*CATALOGUE_ROLES)
    part = get_part_row(uow, spec.part_number)
    if spec.serialized != part.serialized and _has_stock_history(uow, part.part_number):
        raise Conflict(
            gettext("%(part)s has stock history; 'serialized' cannot change", part=part.part_number)
        )
    _check_successor(uow, part.part_number, spec.superseded_by)
    for name, value in spec.model_dump().items():
        setattr(part, name, value)
    uow.session.add(part)
    return part


def _has_stock_history(uow: UnitOfWork, part_number: str) -> bool:
    from inventory.models import LedgerEntry

    return (
        uow.session.scalar(
            select(LedgerEntry.id).where(LedgerEntry.part_number == part_number).limit(1)
        )
        is not None
    )
