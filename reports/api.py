"""JSON API of the reports: every report of the catalogue as JSON, CSV, PDF or XLSX.

``GET /api/v1/reports/NAME`` (rebalancing, ageing, stock-status, engineers,
coverage) takes the filters the report honours (``from``, ``to``, ``depot``,
``fault_level``, ``family``, ``plan``) and ``format`` (json, the default; csv:
one ``table`` or a ZIP of every table; pdf; xlsx). A filter the report does not
honour, or a bad value, answers 422; an unknown plan 404. The service-levels
report keeps its own route, described below.

``GET /api/v1/reports/service-levels`` needs a bearer token of a planner or a
supervisor (admins pass). ``start``/``end`` are Asia/Shanghai dates, both
included (default: the 30 days before today, and today). ``format``:

* ``json`` (default): period, generation time, headline and every table as
  records (``table=`` keeps one table);
* ``pdf``: the printed report (A4, charts);
* ``xlsx``: one sheet per table;
* ``csv``: with ``table=`` that table as one CSV file; without it a ZIP archive
  holding one CSV per table.

Files come as attachments named ``spares-service-levels-<start>_<end>.<ext>``
(``-<table>`` before ``.csv`` for one table). Bad dates, a start after the end,
a span over two years, or ``table`` with pdf/xlsx answer 422.
"""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_openapi3 import APIBlueprint, Tag

from core import auth
from core.errors import ErrorOut
from core.web import uow
from reports.catalogue import kind_of
from reports.files import render as render_file
from reports.render import render
from reports.schemas import (
    ReportOut,
    ReportPath,
    ReportQuery,
    ServiceLevelsOut,
    ServiceLevelsQuery,
)
from reports.service.filters import Filters
from reports.service.period import Period
from reports.service.service_levels import service_levels

api = APIBlueprint(
    "reports_api",
    __name__,
    url_prefix="/api/v1",
    abp_security=[{"bearer": []}],
    abp_tags=[Tag(name="reports")],
)

READERS = ("planner", "supervisor")


@api.get(
    "/reports/service-levels",
    responses={200: ServiceLevelsOut, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
    summary="Service levels of a period: promises kept, engineers' evaluations, stock health "
    "(planners, supervisors); JSON, PDF, XLSX or CSV",
)
@auth.api_roles(*READERS)
def get_service_levels(query: ServiceLevelsQuery) -> Any:
    period = Period.parse(query.start, query.end)
    report = service_levels(uow(), period)
    rendered = render(report, query.format, query.table, generated_by=auth.api_actor().username)
    response = Response(rendered.content, content_type=rendered.media_type)
    if query.format != "json":
        response.headers["Content-Disposition"] = f'attachment; filename="{rendered.filename}"'
    return response


@api.get(
    "/reports/<name>",
    responses={200: ReportOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="A report of the catalogue (rebalancing, ageing, stock-status, engineers, "
    "coverage) as JSON or CSV (also PDF, XLSX), under the filters it honours "
    "(planners, supervisors)",
)
@auth.api_roles(*READERS)
def get_report(path: ReportPath, query: ReportQuery) -> Any:
    kind = kind_of(path.name)
    filters = Filters.parse(
        uow(),
        start=query.from_,
        end=query.to,
        depot=query.depot,
        fault_level=query.fault_level,
        family=query.family,
        plan=query.plan,
        applies=kind.filters,
    )
    report = kind.build(uow(), filters)
    rendered = render_file(
        kind, report, query.format, query.table, generated_by=auth.api_actor().username
    )
    response = Response(rendered.content, content_type=rendered.media_type)
    if query.format != "json":
        response.headers["Content-Disposition"] = f'attachment; filename="{rendered.filename}"'
    return response
