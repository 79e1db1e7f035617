"""Pages of the transport network: the depot map and the lane editor.

Everyone signed in may look at depots and lanes and use the quote calculator
(engineers and depot staff need transit times too); only planners and
administrators change lanes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from core import auth, clock
from core.errors import Invalid, NotFound
from core.i18n import gettext, lazy_gettext
from core.pagination import PageRequest
from core.web import add_nav, uow
from depots import labels
from depots import lanes as rule
from depots.service import lane_edits, network
from depots.service.lane_listing import (
    LANE_DEFAULT_SORT,
    LANE_SORTS,
    LaneFilters,
    lane_listing,
)
from depots.views import views, zh_first

add_nav(lazy_gettext("Depots"), "depots.depots", order=10)
add_nav(lazy_gettext("Lanes"), "depots.lanes", order=20)

EDITORS = ("planner",)  # admins pass every role check
DEFAULT_ORIGIN = "BJ"


def _can_edit() -> bool:
    return current_user.is_authenticated and current_user.role in ("admin", *EDITORS)


def _actor() -> auth.Actor:
    """The signed-in actor itself (services are given values, not request proxies)."""
    return current_user._get_current_object()  # type: ignore[attr-defined, no-any-return]


# --- the depot map ----------------------------------------------------------------------

# Plot window in degrees, a little wider than mainland China.
WEST, EAST, SOUTH, NORTH = 73.0, 136.0, 17.0, 54.0
PX_PER_DEG = 18.0
# Equirectangular projection with longitudes shrunk by cos(36°N), so shapes in
# the middle of the country are about right.
X_SCALE = PX_PER_DEG * math.cos(math.radians(36.0))

# The east coast from the Yalu to the Beibu Gulf, and Hainan: enough to read the
# plot as a map. Land borders are left out on purpose (a sketch would be wrong).
COASTLINE = (
    (124.4, 39.9), (123.2, 39.6), (122.2, 39.2), (121.2, 38.8), (121.6, 39.5), (122.2, 40.4),
    (121.6, 40.9), (120.9, 40.6), (120.0, 40.0), (119.5, 39.8), (118.9, 39.2), (117.8, 39.0),
    (117.6, 38.4), (118.5, 38.1), (119.2, 37.7), (119.0, 37.2), (119.4, 37.1), (120.3, 37.6),
    (120.8, 37.8), (121.4, 37.6), (122.2, 37.5), (122.6, 37.4), (122.2, 36.9), (121.3, 36.6),
    (120.5, 36.1), (120.2, 35.9), (119.5, 35.4), (119.3, 34.8), (120.3, 34.3), (120.8, 33.2),
    (120.9, 32.6), (121.9, 31.9), (121.8, 31.3), (121.9, 30.9), (121.0, 30.6), (120.6, 30.3),
    (121.3, 30.2), (121.9, 29.9), (121.8, 29.1), (121.5, 28.3), (120.9, 27.9), (120.3, 27.2),
    (119.7, 26.6), (119.6, 25.9), (119.1, 25.3), (118.6, 24.7), (118.1, 24.4), (117.4, 23.8),
    (116.7, 23.3), (115.6, 22.8), (114.9, 22.6), (114.2, 22.3), (113.6, 22.6), (113.5, 22.2),
    (112.8, 21.9), (111.8, 21.6), (110.8, 21.3), (110.4, 21.0), (110.3, 20.4), (110.0, 20.25),
    (109.7, 20.6), (109.8, 21.4), (109.1, 21.5), (108.5, 21.7), (108.0, 21.5),
)  # fmt: skip
HAINAN = (
    (110.2, 20.1), (110.7, 20.0), (111.0, 19.6), (110.6, 19.1), (110.4, 18.6), (109.6, 18.2),
    (108.9, 18.4), (108.6, 19.1), (108.7, 19.6), (109.2, 19.9), (109.6, 20.0),
)  # fmt: skip


def project(lat: float, lon: float) -> tuple[float, float]:
    """SVG coordinates (px) of a point, origin at the plot's north-west corner."""
    return round((lon - WEST) * X_SCALE, 1), round((NORTH - lat) * PX_PER_DEG, 1)


def _points(path: tuple[tuple[float, float], ...]) -> str:
    return " ".join("{},{}".format(*project(lat, lon)) for lon, lat in path)


@dataclass(frozen=True)
class MapLine:
    x1: float
    y1: float
    x2: float
    y2: float
    mode: str
    title: str


def _depot_lines(depots: list[network.DepotInfo]) -> list[MapLine]:
    """One line per pair of depots, coloured by the mode of the lane between them."""
    lanes = {(lane.from_depot, lane.to): lane for lane in network.list_lanes(uow(), kind="depot")}
    where = {depot.code: project(depot.lat, depot.lon) for depot in depots}
    lines = []
    codes = sorted(where)
    for index, a in enumerate(codes):
        for b in codes[index + 1 :]:
            there, back = lanes.get((a, b)), lanes.get((b, a))
            if there is None:
                continue
            parts = [
                gettext(
                    "%(lane)s: %(mode)s, %(hours)s h, %(cost)s CNY",
                    lane=lane.label,
                    mode=labels.label(labels.MODE_LABELS, lane.mode),
                    hours=lane.hours,
                    cost=lane.cost,
                )
                for lane in (there, back)
                if lane is not None
            ]
            (x1, y1), (x2, y2) = where[a], where[b]
            lines.append(MapLine(x1, y1, x2, y2, there.mode, "; ".join(parts)))
    return lines


@views.route("/depots")
@auth.page_roles()
def depots() -> Any:
    depot_list = network.list_depots(uow())
    cities = network.list_cities(uow())
    width = round((EAST - WEST) * X_SCALE)
    height = round((NORTH - SOUTH) * PX_PER_DEG)
    graticule = {
        "meridians": [(lon, project(NORTH, lon)[0]) for lon in range(75, 136, 5)],
        "parallels": [(lat, project(lat, WEST)[1]) for lat in range(20, 55, 5)],
    }
    return render_template(
        "depots/depots.html",
        depots=depot_list,
        cities=[city for city in cities if city.depot is None],
        lines=_depot_lines(depot_list),
        project=project,
        width=width,
        height=height,
        graticule=graticule,
        coastline=_points(COASTLINE),
        hainan=_points(HAINAN),
    )


# --- lanes --------------------------------------------------------------------------------


def _quote_from(args: Any, origin: str) -> tuple[dict[str, Any] | None, str | None]:
    """Run the quote calculator when its destination was given; (result, error)."""
    to = (args.get("quote_to") or "").strip()
    if not to:
        return None, None
    service = args.get("service") or rule.Service.STANDARD.value
    try:
        ready_text = (args.get("ready_at") or "").strip()
        ready_at = clock.read_optional_instant(ready_text, gettext("Ready at")) or clock.now()
        answer = network.quote(uow(), origin, to, ready_at, service)
    except (Invalid, NotFound) as error:
        return None, error.detail
    return {"to": to, "ready_at": ready_at, "quote": answer}, None


def read_lane_filters(args: Any, origin: str) -> LaneFilters:
    """The lanes list's filters from query arguments (``edited``: ``yes``/``no``)."""
    edited = {"yes": True, "no": False}.get((args.get("edited") or "").strip().lower())
    return LaneFilters(
        origin=origin,
        kind=(args.get("kind") or "").strip().lower() or None,
        mode=(args.get("mode") or "").strip().lower() or None,
        edited=edited,
        search=(args.get("q") or "").strip() or None,
    )


def _render_lanes(
    *,
    status: int = 200,
    import_errors: list[dict[str, Any]] | None = None,
    import_detail: str | None = None,
) -> Any:
    origin = (request.args.get("from") or DEFAULT_ORIGIN).strip().upper()
    depot = network.get_depot(uow(), origin)  # NotFound -> 404 page for an unknown depot
    filters = read_lane_filters(request.args, depot.code)
    page_request = PageRequest.from_args(
        request.args, sorts=LANE_SORTS, default_sort=LANE_DEFAULT_SORT
    )
    listing = None
    list_error = None
    try:
        listing = lane_listing(uow(), filters, page_request)
    except Invalid as error:  # an unknown kind or mode typed into the address
        list_error = error.detail
        status = error.status
    quote, quote_error = _quote_from(request.args, depot.code)
    if quote_error and status == 200:
        status = 422
    return (
        render_template(
            "depots/lanes.html",
            depots=network.list_depots(uow()),
            cities=network.list_cities(uow()),
            origin=depot,
            origin_name=zh_first(depot.city_zh, depot.city),
            filters=filters,
            listing=listing,
            list_error=list_error,
            modes=rule.MODES,
            kinds=network.LANE_KINDS,
            can_edit=_can_edit(),
            quote=quote,
            quote_error=quote_error,
            services=rule.SERVICES,
            import_errors=import_errors,
            import_detail=import_detail,
            args=request.args,
        ),
        status,
    )


@views.route("/lanes")
@auth.page_roles()
def lanes() -> Any:
    return _render_lanes()


def _back_to_lanes(origin: str) -> Any:
    return redirect(url_for("depots.lanes", **{"from": origin}))


@views.route("/lanes/<int:lane_id>/edit", methods=["GET", "POST"])
@auth.page_roles(*EDITORS)
def lane_edit(lane_id: int) -> Any:
    lane = network.get_lane(uow(), lane_id)
    values = {"mode": lane.mode, "hours": str(lane.hours), "cost": str(lane.cost)}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        values = {name: request.form.get(name, "") for name in ("mode", "hours", "cost")}
        try:
            saved = lane_edits.update_lane(uow(), _actor(), lane_id, **values)
        except Invalid as error:
            errors = {problem.field: problem.message for problem in error.fields}
            errors = errors or {"form": error.detail}
            status = 422
        else:
            flash(gettext("Lane %(lane)s saved.", lane=saved.label), "ok")
            return _back_to_lanes(saved.from_depot)
    return (
        render_template(
            "depots/lane_edit.html",
            lane=lane,
            default=network.default_for(lane),
            values=values,
            errors=errors,
            modes=rule.MODES,
        ),
        status,
    )


@views.route("/lanes/<int:lane_id>/reset", methods=["POST"])
@auth.page_roles(*EDITORS)
def lane_reset(lane_id: int) -> Any:
    lane = lane_edits.reset_lane(uow(), _actor(), lane_id)
    flash(gettext("Lane %(lane)s reset to the default rule.", lane=lane.label), "ok")
    return _back_to_lanes(lane.from_depot)


@views.route("/lanes/export.csv")
@auth.page_roles()
def lanes_csv() -> Any:
    origin = request.args.get("from") or None
    kind = request.args.get("kind") or None
    text = lane_edits.export_lanes_csv(uow(), from_depot=origin, kind=kind)
    name = f"lanes-{origin.upper()}.csv" if origin else "lanes.csv"
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@views.route("/lanes/import", methods=["POST"])
@auth.page_roles(*EDITORS)
def lanes_import() -> Any:
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise Invalid(gettext("choose a CSV file to upload"))
        try:
            text = upload.read().decode("utf-8")
        except UnicodeDecodeError:
            raise Invalid(gettext("the file is not UTF-8 text; save it as CSV UTF-8")) from None
        result = lane_edits.import_lanes_csv(uow(), _actor(), text)
    except Invalid as error:
        return _render_lanes(status=422, import_errors=error.fields, import_detail=error.detail)
    flash(
        gettext(
            "Imported %(rows)s lane rows: %(changed)s changed, %(unchanged)s already as given.",
            rows=result.rows,
            changed=len(result.changed),
            unchanged=result.unchanged,
        ),
        "ok",
    )
    return _back_to_lanes(request.args.get("from") or DEFAULT_ORIGIN)
