"""Find anything from one query, and what is at a place.

``find`` answers a query with hits grouped by kind, each group one page (the
first ``PER_KIND`` hits by default) with the size of the whole group:

* RMAs by number (``2026-000123`` finds ``RMA-2026-000123`` too), stock units and
  installed units by serial: prefix lookups on those columns' unique indexes;
* customers, sites, cities and parts by the stored search keys (``search.keys``:
  Chinese, English, pinyin, initials, codes, words of a description);
* a city found brings what is there: its customers, its sites and its open cases.

``around`` shows what is at a city (customers, sites, open cases), a customer
(sites, open cases, installed units) or a site (open cases, installed units): the
pages the hits of those kinds open.

The query is taken literally: ``%``, ``_``, ``\\`` and ``*`` are searched as
themselves. A "starts with" is a range on the column (which an index answers)
and a ``LIKE`` with the wildcards escaped (which keeps the match exact whatever
the database's collation; with the code-point order of C and C.UTF-8, which
SQLite and the project's PostgreSQL use, the range alone is exact too).

This module reads the tables of rma, inventory and depots directly: a search
joins across all of them in one statement per kind, which no owner's query
function answers.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, cast, literal, or_, select, union
from sqlalchemy.orm import Session

from core.db import UnitOfWork, read_only
from core.errors import Invalid, NotFound
from core.pagination import Page, PageRequest, paginate
from depots.models import City
from inventory.models import Part, Unit
from rma.models import OPEN_STATUSES, Customer, InstalledUnit, Rma, Site, Status
from search.keys import KEY_LENGTH, normalize
from search.models import SearchKey
from search.service.indexing import PART_DESCRIPTION_ZH, SITE_NAME_ZH

# The kinds of hits, in the order they are shown: a place before what is there.
KINDS = ("city", "customer", "site", "rma", "unit", "installed_unit", "part")
# The places a hit can open besides an RMA, a unit or a part, and what is shown there.
PLACE_KINDS = {
    "city": ("customer", "site", "rma"),
    "customer": ("site", "rma", "installed_unit"),
    "site": ("rma", "installed_unit"),
}
PER_KIND = 10
MAX_QUERY = 100
ESCAPE = "\\"
SORT = "default"  # each kind has one order; the pager still names it


@dataclass(frozen=True)
class Name:
    """What something is called: in English (or its code), and in Chinese where it
    has a Chinese name."""

    en: str
    zh: str = ""


@dataclass(frozen=True)
class Link:
    """The page a hit opens: ``page`` is rma, unit, part, installed_unit or a place
    (city, customer, site); ``ref`` its number, serial or id. ``fallback`` is opened
    instead where the app has no page of that kind (``search.links``)."""

    page: str
    ref: str
    fallback: Link | None = None


@dataclass(frozen=True)
class Hit:
    """One thing found: its name, what places it (customer, site, city, part ...),
    the states pages translate (``("status", "allocated")``), the page it opens."""

    kind: str
    title: Name
    link: Link
    details: tuple[Name, ...] = ()
    states: tuple[tuple[str, str], ...] = ()

    def english_label(self) -> str:
        """One line in English: the title, then the details and states."""
        parts = [self.title.en, *(name.en for name in self.details if name.en)]
        parts += [code.replace("_", " ") for _, code in self.states]
        return " · ".join(parts)


@dataclass(frozen=True)
class Group:
    """The hits of one kind: one page of them and the size of the whole group."""

    kind: str
    page: Page[Hit]

    @property
    def hits(self) -> list[Hit]:
        return self.page.items

    @property
    def total(self) -> int:
        return self.page.total

    @property
    def more(self) -> int:
        """How many are not on this page."""
        return self.total - len(self.hits)


@dataclass(frozen=True)
class Results:
    """What a query found, group by group (kinds with no hit left out)."""

    text: str
    groups: list[Group] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(group.total for group in self.groups)

    def hits(self) -> list[Hit]:
        return [hit for group in self.groups for hit in group.hits]


@dataclass(frozen=True)
class Place:
    """A city, customer or site and, group by group, what is there."""

    hit: Hit
    groups: list[Group]


# --- matching -----------------------------------------------------------------------------


def escape_like(text: str) -> str:
    """``text`` for a LIKE pattern, its wildcards (and the escape character) literal."""
    return text.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")


def _after_all_starting_with(prefix: str) -> str | None:
    """The least string greater than every string starting with ``prefix`` (in
    code-point order), or None when there is none."""
    while prefix:
        last = ord(prefix[-1]) + 1
        if 0xD800 <= last <= 0xDFFF:  # surrogates are no characters: skip them
            last = 0xE000
        if last <= 0x10FFFF:
            return prefix[:-1] + chr(last)
        prefix = prefix[:-1]
    return None


def starts_with(column: Any, prefix: str) -> ColumnElement[bool]:
    """``column`` starts with ``prefix``, taken literally."""
    bounds = [column >= prefix]
    upper = _after_all_starting_with(prefix)
    if upper is not None:
        bounds.append(column < upper)
    return and_(*bounds, column.like(escape_like(prefix) + "%", escape=ESCAPE))


def clean_query(text: str | None) -> str:
    """The query as searched: trimmed, one line, at most ``MAX_QUERY`` characters.
    Raises ``Invalid`` (field ``q``) for an empty, over-long or control-character query."""
    query = " ".join((text or "").split())
    if not query:
        raise Invalid("q must not be empty", field="q", reason="empty")
    if len(query) > MAX_QUERY:
        raise Invalid(f"q must be at most {MAX_QUERY} characters", field="q", reason="too_long")
    if any(unicodedata.category(char) == "Cc" for char in query):
        raise Invalid(
            "q must not contain control characters", field="q", reason="control_characters"
        )
    return query


def _keyed(kind: str, forms: set[str], *, ids: bool = False) -> Any:
    """The refs of ``kind`` with a key starting with one of ``forms`` (as integer ids
    with ``ids``: customers, sites and cities)."""
    ref = cast(SearchKey.ref, Integer) if ids else SearchKey.ref
    return select(ref).where(
        SearchKey.kind == kind, or_(*(starts_with(SearchKey.key, form) for form in forms))
    )


CLOSED_STATUSES = tuple(status.value for status in Status if status not in OPEN_STATUSES)


# Customers of a place listed by id up to this many, a subquery beyond (the databases'
# limits on bound parameters are 32,766 and 65,535).
MAX_LISTED = 5_000


def _customers_in(session: Session, city_ids: list[int]) -> Any:
    """The customers with a site in one of ``city_ids``: their ids, read first, or the
    query itself when there are too many to list."""
    query = select(Site.customer_id).where(Site.city_id.in_(city_ids)).distinct()
    ids = list(session.scalars(query.limit(MAX_LISTED + 1)))
    return query if len(ids) > MAX_LISTED else ids


def _open_cases(customers: ColumnElement[bool], *where: Any) -> ColumnElement[bool]:
    """Open cases of the customers ``customers`` names (a condition on
    ``Rma.customer_id``) meeting ``where``.

    Written as "of these listed customers, not closed" on purpose: then both
    databases narrow the cases through ``rma.customer_id``'s index. "Status in the
    twelve open ones" led SQLite's planner to the status index (every open case in
    the country), and a customer subquery PostgreSQL's to a scan of all cases:
    35-60 ms instead of 3-5 for a city, measured on 100,000 cases.
    """
    return and_(customers, Rma.status.not_in(CLOSED_STATUSES), *where)


def _open_cases_in(city_ids: list[int], customers: Any) -> Any:
    return (
        select(Rma.id)
        .join(Site, Site.id == Rma.site_id)
        .where(_open_cases(Rma.customer_id.in_(customers), Site.city_id.in_(city_ids)))
    )


def _matching(session: Session, query: str) -> dict[str, ColumnElement[bool]]:
    """Kind by kind, the condition a thing of that kind meets when ``query`` finds it."""
    folded = normalize(query)[:KEY_LENGTH]
    # "chang sha" finds 长沙 as "changsha" does: pinyin keys have no spaces.
    forms = {folded, folded.replace(" ", "")}
    code = unicodedata.normalize("NFKC", query).upper()
    numbers = {code} if code.startswith("RMA-") else {code, f"RMA-{code}"}
    city_ids = list(session.scalars(_keyed("city", forms, ids=True)))
    rmas: Any = select(Rma.id).where(or_(*(starts_with(Rma.number, n) for n in numbers)))
    customers = Customer.id.in_(_keyed("customer", forms, ids=True))
    sites = Site.id.in_(_keyed("site", forms, ids=True))
    if city_ids:  # a city found brings what is there
        customers_there = _customers_in(session, city_ids)
        rmas = union(rmas, _open_cases_in(city_ids, customers_there))
        customers = or_(customers, Customer.id.in_(customers_there))
        sites = or_(sites, Site.city_id.in_(city_ids))
    return {
        "rma": Rma.id.in_(rmas),
        "unit": starts_with(Unit.serial, code),
        "installed_unit": starts_with(InstalledUnit.serial, code),
        "customer": customers,
        "site": sites,
        "city": City.id.in_(city_ids),
        "part": Part.part_number.in_(_keyed("part", forms)),
    }


# --- what each kind shows -------------------------------------------------------------------


def _chinese(model: Any, name: str | None) -> Any:
    return getattr(model, name) if name else literal("")


@dataclass(frozen=True)
class Listing:
    """How the hits of a kind are read: the statement (joined for their labels), its
    order, and how a row becomes a hit."""

    statement: Any
    order: Any
    tiebreak: Any
    hit: Callable[[Any], Hit]
    descending: bool = False


def _rma_hit(row: Any) -> Hit:
    return Hit(
        "rma",
        Name(row.number),
        Link("rma", row.number),
        (Name(row.customer, row.customer_zh), Name(row.city, row.city_zh)),
        (("status", row.status),),
    )


def _unit_hit(row: Any) -> Hit:
    states = [("location", row.location)]
    if row.location == "depot":
        states.append(("condition", row.condition))
    return Hit(
        "unit",
        Name(row.serial),
        Link("unit", row.serial),
        (Name(row.part_number), *([Name(row.depot_code)] if row.depot_code else [])),
        tuple(states),
    )


def _installed_hit(row: Any) -> Hit:
    return Hit(
        "installed_unit",
        Name(row.serial),
        Link("installed_unit", row.serial, fallback=Link("site", str(row.site_id))),
        (
            Name(row.part_number),
            Name(row.customer, row.customer_zh),
            Name(row.site, row.site_zh),
            Name(row.city, row.city_zh),
        ),
    )


def _customer_hit(row: Any) -> Hit:
    return Hit(
        "customer", Name(row.name, row.name_zh), Link("customer", str(row.id)), (Name(row.code),)
    )


def _site_hit(row: Any) -> Hit:
    return Hit(
        "site",
        Name(row.name, row.name_zh),
        Link("site", str(row.id)),
        (Name(row.customer, row.customer_zh), Name(row.city, row.city_zh)),
    )


def _city_hit(row: Any) -> Hit:
    return Hit(
        "city", Name(row.name, row.name_zh), Link("city", str(row.id)), (Name(row.province),)
    )


def _part_hit(row: Any) -> Hit:
    return Hit(
        "part",
        Name(row.part_number),
        Link("part", row.part_number),
        (Name(row.description, row.description_zh),),
    )


LISTINGS: dict[str, Listing] = {
    "rma": Listing(
        select(
            Rma.number,
            Rma.status,
            Customer.name.label("customer"),
            Customer.name_zh.label("customer_zh"),
            City.name.label("city"),
            City.name_zh.label("city_zh"),
        )
        .join(Customer, Customer.id == Rma.customer_id)
        .join(Site, Site.id == Rma.site_id)
        .join(City, City.id == Site.city_id),
        Rma.number,
        Rma.id,
        _rma_hit,
        descending=True,  # the newest cases first
    ),
    "unit": Listing(
        select(Unit.serial, Unit.part_number, Unit.location, Unit.condition, Unit.depot_code),
        Unit.serial,
        Unit.serial,
        _unit_hit,
    ),
    "installed_unit": Listing(
        select(
            InstalledUnit.serial,
            InstalledUnit.part_number,
            Site.id.label("site_id"),
            Site.name.label("site"),
            _chinese(Site, SITE_NAME_ZH).label("site_zh"),
            Customer.name.label("customer"),
            Customer.name_zh.label("customer_zh"),
            City.name.label("city"),
            City.name_zh.label("city_zh"),
        )
        .join(Site, Site.id == InstalledUnit.site_id)
        .join(Customer, Customer.id == Site.customer_id)
        .join(City, City.id == Site.city_id)
        .where(InstalledUnit.active),  # a replaced unit is history, not where a serial is
        InstalledUnit.serial,
        InstalledUnit.id,
        _installed_hit,
    ),
    "customer": Listing(
        select(Customer.id, Customer.code, Customer.name, Customer.name_zh),
        Customer.name,
        Customer.id,
        _customer_hit,
    ),
    "site": Listing(
        select(
            Site.id,
            Site.name,
            _chinese(Site, SITE_NAME_ZH).label("name_zh"),
            Customer.name.label("customer"),
            Customer.name_zh.label("customer_zh"),
            City.name.label("city"),
            City.name_zh.label("city_zh"),
        )
        .join(Customer, Customer.id == Site.customer_id)
        .join(City, City.id == Site.city_id),
        Site.name,
        Site.id,
        _site_hit,
    ),
    "city": Listing(
        select(City.id, City.name, City.name_zh, City.province), City.name, City.id, _city_hit
    ),
    "part": Listing(
        select(
            Part.part_number,
            Part.description,
            _chinese(Part, PART_DESCRIPTION_ZH).label("description_zh"),
        ),
        Part.part_number,
        Part.part_number,
        _part_hit,
    ),
}


def first_page(per_page: int = PER_KIND) -> PageRequest:
    return PageRequest(page=1, per_page=per_page, sort=SORT, descending=False)


def _group(session: Session, kind: str, condition: Any, paging: PageRequest) -> Group:
    listing = LISTINGS[kind]
    paging = replace(paging, sort=SORT, descending=listing.descending)
    rows = paginate(
        session,
        listing.statement.where(condition),
        paging,
        {SORT: listing.order},
        listing.tiebreak,
        scalars=False,
    )
    return Group(kind, Page([listing.hit(row) for row in rows.items], rows.total, rows.request))


def _groups(
    session: Session,
    conditions: dict[str, Any],
    kind: str | None,
    paging: PageRequest | None,
    *,
    keep_empty: bool,
) -> list[Group]:
    """The groups of ``conditions``' kinds in the order of ``KINDS`` (only ``kind``
    when given); empty ones only when ``keep_empty`` or asked for by ``kind``."""
    if kind is not None and kind not in conditions:
        raise Invalid(f"kind must be one of {', '.join(conditions)}", field="kind")
    wanted = [kind] if kind else [k for k in KINDS if k in conditions]
    groups = [_group(session, k, conditions[k], paging or first_page()) for k in wanted]
    return groups if kind or keep_empty else [group for group in groups if group.total]


@read_only
def find(
    uow: UnitOfWork, text: str, *, kind: str | None = None, paging: PageRequest | None = None
) -> Results:
    """What ``text`` finds, grouped by kind: a page of each (``paging``, default the
    first ``PER_KIND``), or of ``kind`` alone. Raises ``Invalid`` for an empty or
    over-long query or an unknown kind."""
    query = clean_query(text)
    conditions = _matching(uow.session, query)
    return Results(query, _groups(uow.session, conditions, kind, paging, keep_empty=False))


def _surroundings(session: Session, place: str, ident: int) -> dict[str, Any]:
    """Kind by kind, the condition of what is at the place."""
    if place == "city":
        customers_there = _customers_in(session, [ident])
        return {
            "customer": Customer.id.in_(customers_there),
            "site": Site.city_id == ident,
            "rma": _open_cases(Rma.customer_id.in_(customers_there), Site.city_id == ident),
        }
    if place == "customer":
        return {
            "site": Site.customer_id == ident,
            "rma": _open_cases(Rma.customer_id == ident),
            "installed_unit": Site.customer_id == ident,
        }
    return {
        "rma": _open_cases(
            Rma.customer_id == select(Site.customer_id).where(Site.id == ident).scalar_subquery(),
            Rma.site_id == ident,
        ),
        "installed_unit": InstalledUnit.site_id == ident,
    }


@read_only
def around(
    uow: UnitOfWork,
    place: str,
    ident: int,
    *,
    kind: str | None = None,
    paging: PageRequest | None = None,
) -> Place:
    """The city, customer or site ``ident`` and what is there, group by group (empty
    groups included: "no open case" is news). Raises ``NotFound`` when there is no such
    place, ``Invalid`` for a kind that is not at this place."""
    if place not in PLACE_KINDS:
        raise NotFound(f"unknown kind of place {place!r}")
    model = {"city": City, "customer": Customer, "site": Site}[place]
    listing = LISTINGS[place]
    row = uow.session.execute(listing.statement.where(model.id == ident)).first()
    if row is None:
        raise NotFound(f"unknown {place} {ident}")
    conditions = _surroundings(uow.session, place, ident)
    groups = _groups(uow.session, conditions, kind, paging, keep_empty=True)
    return Place(listing.hit(row), groups)
