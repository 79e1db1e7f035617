"""Pages of the reports: the catalogue, each report on screen, and its files.

``/reports`` lists the reports. ``/reports/NAME`` shows a report of the catalogue
(``reports.catalogue``) with the filters it honours, its headline, its charts
inline (the PDF's own, as SVG) and its tables, with links to
``/reports/NAME.pdf``, ``.xlsx`` and ``.csv`` (a ZIP of every table, or one
``table=``) under the same query parameters (``from``, ``to``, ``depot``,
``fault_level``, ``family``, ``plan``). Bad filters show the form again with the
error and status 422; a download with bad filters answers a 422 page.

``/reports/service-levels`` shows a period form, the headline, the charts (the PDF's own, as
SVG) and every table, with links to download the same report as PDF, XLSX or
CSV (a ZIP of every table, or one table). Planners and supervisors (and
admins). Bad dates show the form again with the error and status 422; nothing
else is read then. All dates are Asia/Shanghai.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

from core import auth
from core.auth import Role
from core.errors import Invalid
from core.i18n import gettext, is_chinese, lazy_gettext
from core.pdf import fonts
from core.web import add_nav, uow
from depots.service.snapshot import network
from inventory.labels import FAMILY_LABELS
from inventory.models import FAMILIES
from reports import charts
from reports.catalogue import Chart, ReportKind, kind_of, kinds
from reports.files import FORMATS, labels_of, records, shown
from reports.files import render as render_file
from reports.render import render
from reports.service.filters import FILTER_LABELS, Filters
from reports.service.period import DEFAULT_DAYS, Period
from reports.service.service_levels import SHORT_KINDS, TABLES, ServiceLevels, service_levels
from rma.models import FAULT_LEVELS

views = Blueprint("reports", __name__, template_folder="templates")

READERS = (Role.PLANNER.value, Role.SUPERVISOR.value)

add_nav(lazy_gettext("Reports"), "reports.index", *READERS, order=50)

# Rows of a table shown on the page; the downloads hold every row.
PAGE_ROWS = 200

QUICK_PERIODS = (
    (7, lazy_gettext("Last 7 days")),
    (DEFAULT_DAYS, lazy_gettext("Last 30 days")),
    (90, lazy_gettext("Last 90 days")),
)


def _charts(report: ServiceLevels) -> dict[str, Markup]:
    """The report's charts as inline SVG, by name."""
    font = fonts()
    drawings = {
        "weekly": (
            gettext("RMAs opened and closed per week"),
            charts.weekly_flow(report.tables["weekly"], font),
        ),
        "on_time": (
            gettext("24-hour replacement promise met, by depot"),
            charts.on_time_by_depot(
                report.tables["depots"], font, overall_pct=report.headline.replacement_met_pct
            ),
        ),
        "ratings": (
            gettext("Customer ratings of closed cases"),
            charts.rating_distribution(report.tables["ratings"], font),
        ),
        "stock_value": (
            gettext("Good stock value by depot"),
            charts.stock_value_by_depot(report.tables["stock"], font),
        ),
    }
    # reportlab escapes the text it draws, so the SVG is safe to embed as it is.
    return {
        key: Markup(charts.to_svg(drawing, key=key, title=title))
        for key, (title, drawing) in drawings.items()
    }


def _quick_links(today: date) -> list[dict[str, str]]:
    return [
        {
            "label": str(label),
            "start": (today - timedelta(days=days)).isoformat(),
            "end": today.isoformat(),
        }
        for days, label in QUICK_PERIODS
    ]


@views.get("/reports")
@auth.page_roles(*READERS)
def index() -> Any:
    """The reports planners and supervisors can read, each with what it holds."""
    return render_template("reports/index.html", kinds=list(kinds().values()))


@views.get("/reports/service-levels")
@auth.page_roles(*READERS)
def report_page() -> Any:
    """The service-levels report of the period in the query (default: the last 30 days)."""
    start = request.args.get("start") or request.args.get("from") or ""
    end = request.args.get("end") or request.args.get("to") or ""
    try:
        period = Period.parse(start, end)
    except Invalid as error:
        return (
            render_template(
                "reports/service_levels.html",
                error=error.detail,
                form={"start": start, "end": end},
                report=None,
                quick=[],
            ),
            error.status,
        )
    report = service_levels(uow(), period)
    tables = {name: records(frame) for name, frame in report.tables.items()}
    return render_template(
        "reports/service_levels.html",
        error=None,
        form={"start": period.start.isoformat(), "end": period.end.isoformat()},
        report=report,
        headline=report.headline,
        tables=tables,
        info=TABLES,
        kinds=SHORT_KINDS,
        is_chinese=is_chinese(),
        charts=_charts(report),
        quick=_quick_links(period.end),
        args={"start": period.start.isoformat(), "end": period.end.isoformat()},
    )


@views.get("/reports/service-levels/download")
@auth.page_roles(*READERS)
def download() -> Response:
    """The report as a file: ``format`` pdf, xlsx or csv (``table``: one CSV, else a
    ZIP of all), json; ``start``/``end`` as on the page. 422 page for bad input."""
    fmt = (request.args.get("format") or "pdf").strip().lower()
    if fmt not in FORMATS:
        raise Invalid(gettext("format must be one of %(formats)s", formats=", ".join(FORMATS)))
    table = (request.args.get("table") or "").strip() or None
    if table is not None and fmt in ("pdf", "xlsx"):
        raise Invalid(gettext("a table can be chosen for CSV or JSON only"))
    period = Period.parse(
        request.args.get("start") or request.args.get("from") or "",
        request.args.get("end") or request.args.get("to") or "",
    )
    report = service_levels(uow(), period)
    rendered = render(report, fmt, table, generated_by=current_user.username)
    response = Response(rendered.content, content_type=rendered.media_type)
    disposition = "inline" if fmt == "json" else "attachment"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{rendered.filename}"'
    return response


# --- every report of the catalogue ----------------------------------------------------------


def filters_from_request(kind: ReportKind) -> Filters:
    """The report's filters from the query string (``from``/``to``, or ``start``/
    ``end``; ``fault_level`` or ``fault-level``); ``Invalid`` as ``Filters.parse``."""
    args = request.args
    return Filters.parse(
        uow(),
        start=args.get("from") or args.get("start"),
        end=args.get("to") or args.get("end"),
        depot=args.get("depot"),
        fault_level=args.get("fault_level") or args.get("fault-level"),
        family=args.get("family"),
        plan=args.get("plan"),
        applies=kind.filters,
    )


def _chart_svgs(charts_of: list[Chart]) -> list[Markup]:
    # reportlab escapes the text it draws, so the SVG is safe to embed as it is.
    return [
        Markup(charts.to_svg(chart.drawing, key=chart.key, title=chart.title))
        for chart in charts_of
    ]


def _form_values(kind: ReportKind) -> dict[str, str]:
    args = request.args
    return {
        "from": args.get("from") or args.get("start") or "",
        "to": args.get("to") or args.get("end") or "",
        "depot": args.get("depot") or "",
        "fault_level": args.get("fault_level") or args.get("fault-level") or "",
        "family": args.get("family") or "",
        "plan": args.get("plan") or "",
    }


@views.get("/reports/<name>")
@auth.page_roles(*READERS)
def page(name: str) -> Any:
    """A report of the catalogue on screen with its filters, charts and tables."""
    kind = kind_of(name)
    if kind.page:
        return redirect(url_for(kind.page, **request.args))
    context: dict[str, Any] = {
        "kind": kind,
        "filter_labels": FILTER_LABELS,
        "depots": sorted(network(uow()).depot_by_code),
        "fault_levels": FAULT_LEVELS,
        "families": [(code, FAMILY_LABELS[code]) for code in FAMILIES],
        "page_rows": PAGE_ROWS,
        "shown": shown,
        "zip": zip,
    }
    try:
        filters = filters_from_request(kind)
    except Invalid as error:
        return (
            render_template(
                "reports/report.html",
                error=error.detail,
                error_field=error.fields[0].field if error.fields else None,
                form=_form_values(kind),
                report=None,
                **context,
            ),
            error.status,
        )
    report = kind.build(uow(), filters)
    form = {**_form_values(kind), **filters.query()}
    return render_template(
        "reports/report.html",
        error=None,
        error_field=None,
        form=form,
        report=report,
        args=filters.query(),
        labels=labels_of(kind),
        charts=_chart_svgs(kind.charts(report, fonts())),
        **context,
    )


@views.get("/reports/<name>.<any(pdf, xlsx, csv, json):fmt>")
@auth.page_roles(*READERS)
def download_file(name: str, fmt: str) -> Response:
    """A report of the catalogue as a file, under the page's query parameters
    (``table=`` for one CSV table)."""
    kind = kind_of(name)
    filters = filters_from_request(kind)
    table = (request.args.get("table") or "").strip() or None
    report = kind.build(uow(), filters)
    write = kind.render or (lambda r, f, t, **kw: render_file(kind, r, f, t, **kw))
    rendered = write(report, fmt, table, generated_by=current_user.username)
    response = Response(rendered.content, content_type=rendered.media_type)
    disposition = "inline" if fmt == "json" else "attachment"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{rendered.filename}"'
    return response
