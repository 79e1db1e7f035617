"""Pages of the reports: the service-levels report on screen, and its files.

``/reports`` shows a period form, the headline, the charts (the PDF's own, as
SVG) and every table, with links to download the same report as PDF, XLSX or
CSV (a ZIP of every table, or one table). Planners and supervisors (and
admins). Bad dates show the form again with the error and status 422; nothing
else is read then. All dates are Asia/Shanghai.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, Response, render_template, request
from flask_login import current_user
from markupsafe import Markup

from core import auth
from core.auth import Role
from core.errors import Invalid
from core.i18n import gettext, is_chinese, lazy_gettext
from core.pdf import fonts
from core.web import add_nav, uow
from reports import charts
from reports.render import FORMATS, records, render
from reports.service.period import DEFAULT_DAYS, Period
from reports.service.service_levels import SHORT_KINDS, TABLES, ServiceLevels, service_levels

views = Blueprint("reports", __name__, template_folder="templates")

READERS = (Role.PLANNER.value, Role.SUPERVISOR.value)

add_nav(lazy_gettext("Reports"), "reports.report_page", *READERS, order=50)

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
def report_page() -> Any:
    """The service-levels report of the period in the query (default: the last 30 days)."""
    start, end = request.args.get("start", ""), request.args.get("end", "")
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
    period = Period.parse(request.args.get("start", ""), request.args.get("end", ""))
    report = service_levels(uow(), period)
    rendered = render(report, fmt, table, generated_by=current_user.username)
    response = Response(rendered.content, content_type=rendered.media_type)
    disposition = "inline" if fmt == "json" else "attachment"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{rendered.filename}"'
    return response
