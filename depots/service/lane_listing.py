"""The lanes of one depot a page at a time, for people: filtered and sorted in SQL,
with the figures of the whole selection (not only of the rows shown).

Filters: the origin depot (required: the lanes page is about one depot's lanes),
the kind of destination (customer city or depot), the carrier mode, edited or
following the default rule, and a text matched against the destination's English
and Chinese names and its depot code. Sorting by destination uses the English
name, which every reader can rely on (Chinese names have no natural order in SQL).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.orm import aliased

from core.db import UnitOfWork, read_only
from core.errors import Invalid
from core.i18n import gettext
from core.pagination import Page, PageRequest, paginate
from depots import lanes as rule
from depots.models import City, Depot, Lane
from depots.service.network import LANE_KINDS, LaneInfo, NetworkLookup

LANE_SORTS = ("destination", "kind", "mode", "distance", "hours", "cost", "status")
LANE_DEFAULT_SORT = "kind"
MAX_SEARCH = 60


@dataclass(frozen=True)
class LaneFilters:
    """Which lanes of ``origin`` to list."""

    origin: str
    kind: str | None = None
    mode: str | None = None
    edited: bool | None = None
    search: str | None = None

    def args(self) -> dict[str, str]:
        """The filters as query arguments (``from`` is the origin, as on the page)."""
        args = {
            "from": self.origin,
            "kind": self.kind or "",
            "mode": self.mode or "",
            "q": self.search or "",
        }
        if self.edited is not None:
            args["edited"] = "yes" if self.edited else "no"
        return {key: value for key, value in args.items() if value}


@dataclass(frozen=True)
class LaneTotals:
    """Lanes in the whole selection, how many a planner edited, how many go to a remote city."""

    lanes: int
    edited: int
    remote: int


@dataclass(frozen=True)
class LaneListing:
    page: Page[LaneInfo]
    totals: LaneTotals


def _checked(filters: LaneFilters, network: NetworkLookup) -> LaneFilters:
    """The filters as stored values; ``NotFound`` for an unknown origin, ``Invalid`` for an
    unknown kind or mode or a search text that is too long."""
    origin = network.require_depot(filters.origin).code
    kind = (filters.kind or "").strip().lower() or None
    if kind is not None and kind not in LANE_KINDS:
        raise Invalid(gettext("kind must be city or depot, not %(kind)r", kind=kind))
    mode = (filters.mode or "").strip().lower() or None
    if mode is not None and mode not in rule.MODES:
        raise Invalid(gettext("mode must be one of %(modes)s", modes=", ".join(rule.MODES)))
    search = (filters.search or "").strip() or None
    if search is not None and len(search) > MAX_SEARCH:
        raise Invalid(gettext("search: at most %(most)s characters", most=MAX_SEARCH), field="q")
    return LaneFilters(origin, kind, mode, filters.edited, search)


@read_only
def lane_listing(uow: UnitOfWork, filters: LaneFilters, request: PageRequest) -> LaneListing:
    """One page of the lanes matching ``filters``, sorted as asked, with the totals of
    the whole selection."""
    network = NetworkLookup(uow)
    filters = _checked(filters, network)
    to_city = aliased(City)
    to_depot = aliased(Depot)
    depot_city = aliased(City)
    name = func.coalesce(to_city.name, depot_city.name)
    name_zh = func.coalesce(to_city.name_zh, depot_city.name_zh)
    remote = func.coalesce(to_city.remote, False)
    kind = case((Lane.to_depot.is_(None), "city"), else_="depot")  # type: ignore[union-attr]
    query = (
        select(Lane)
        .outerjoin(to_city, to_city.id == Lane.to_city_id)
        .outerjoin(to_depot, to_depot.code == Lane.to_depot)
        .outerjoin(depot_city, depot_city.id == to_depot.city_id)
        .where(Lane.from_depot == filters.origin)
    )
    if filters.kind:
        query = query.where(kind == filters.kind)
    if filters.mode:
        query = query.where(Lane.mode == filters.mode)
    if filters.edited is not None:
        query = query.where(Lane.edited.is_(filters.edited))  # type: ignore[attr-defined]
    if filters.search:
        pattern = f"%{_escaped(filters.search.casefold())}%"
        query = query.where(
            or_(
                func.lower(name).like(pattern, escape="\\"),
                name_zh.like(f"%{_escaped(filters.search)}%", escape="\\"),
                and_(
                    Lane.to_depot.is_not(None),  # type: ignore[union-attr]
                    func.lower(Lane.to_depot).like(pattern, escape="\\"),
                ),
            )
        )
    columns = {
        "destination": func.lower(name),
        # City lanes before depot lanes, each by destination name.
        "kind": kind + literal("|") + func.lower(name),
        "mode": Lane.mode,
        "distance": Lane.distance_km,
        "hours": Lane.hours,
        "cost": Lane.cost,
        "status": Lane.edited,
    }
    found = paginate(uow.session, query, request, columns, Lane.id)
    selection = query.add_columns(remote.label("remote_city")).subquery()
    totals = uow.session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((selection.c.edited.is_(True), 1), else_=0)), 0),
            func.coalesce(func.sum(case((selection.c.remote_city.is_(True), 1), else_=0)), 0),
        ).select_from(selection)
    ).one()
    return LaneListing(
        Page([network.info(lane) for lane in found.items], found.total, found.request),
        LaneTotals(*(int(value) for value in totals)),
    )


def _escaped(text: str) -> str:
    """``text`` for a LIKE pattern: its own ``%`` and ``_`` match themselves."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
