"""The catalogue of reports: what each report is, which filters it honours, how it
is built and how it is drawn.

A ``ReportKind`` ties a report's name (the one in URLs, file names and ``spares
report NAME``) to its ``build`` function (a unit of work and ``Filters`` in, a
``Report`` out), its tables, the sections of its PDF and the charts its page and
PDF show. The page, downloads, API and command line are written once, for every
kind (``reports.views``, ``reports.api``, ``reports.cli``); each report module
under ``reports.kinds`` only declares its ``KIND``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from reportlab.graphics.shapes import Drawing
from reportlab.platypus import Flowable

from core.db import UnitOfWork
from core.errors import NotFound
from core.i18n import gettext
from core.pdf import Fonts
from reports.pdf_blocks import Look
from reports.service.filters import Filters
from reports.service.report import Report, TableInfo

# Every report, in the order the reports page lists them (the contract).
REPORT_NAMES: tuple[str, ...] = (
    "rebalancing",
    "service-levels",
    "ageing",
    "stock-status",
    "engineers",
    "coverage",
)


@dataclass(frozen=True)
class Chart:
    """A chart of a report: its key (the SVG's id on the page), title and drawing."""

    key: str
    title: str
    drawing: Drawing


@dataclass(frozen=True)
class Section:
    """One numbered section of a report's PDF: a title, an introduction and what
    follows (tables, charts, paragraphs)."""

    title: str
    intro: str
    body: list[Flowable]


def _no_charts(report: Report, font: Fonts) -> list[Chart]:
    return []


def _no_columns() -> Mapping[str, str]:
    return {}


@dataclass(frozen=True)
class ReportKind:
    """A report of the catalogue.

    * ``name``: in URLs, file names and the command line (``stock-status``);
    * ``title``, ``summary``: what the report is called and holds (lazy strings);
    * ``filters``: the filters it honours (``reports.service.filters.FILTER_NAMES``);
    * ``tables``: its tables in print order, by key (CSV and JSON names, sheet names);
    * ``build``: reads the database once and answers the ``Report``;
    * ``sections``: the PDF's sections after the cover (default: each table in
      full, as ``reports.files.table_sections`` lays it out);
    * ``charts``: the charts shown inline on the page, in the reader's language;
    * ``columns``: headings in words of its columns (XLSX, page, PDF), merged over
      the shared ones of ``reports.render.column_labels``;
    * ``notes``: how the numbers are counted, printed last (lazy strings);
    * ``render`` and ``page``: for a report that writes its own files and has its
      own page (the service levels): its render function and page endpoint.
    """

    name: str
    title: Any
    summary: Any
    filters: tuple[str, ...]
    tables: Mapping[str, TableInfo]
    build: Callable[[UnitOfWork, Filters], Report]
    sections: Callable[[Report, Look], list[Section]] | None = None
    charts: Callable[[Report, Fonts], list[Chart]] = _no_charts
    columns: Callable[[], Mapping[str, str]] = _no_columns
    notes: tuple[Any, ...] = field(default=())
    # A report with files and a page of its own (the service levels) names them here.
    render: Callable[..., Any] | None = None
    page: str | None = None

    @property
    def slug(self) -> str:
        """The name as a Python module name (``stock_status``)."""
        return self.name.replace("-", "_")


def kinds() -> dict[str, ReportKind]:
    """Every report of the catalogue by name, in ``REPORT_NAMES`` order."""
    found: dict[str, ReportKind] = {}
    for name in REPORT_NAMES:
        module_name = f"reports.kinds.{name.replace('-', '_')}"
        try:
            module = import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            continue  # not written yet
        kind: ReportKind = module.KIND
        assert kind.name == name, (kind.name, name)
        found[name] = kind
    return found


def kind_of(name: str) -> ReportKind:
    """The report called ``name``; ``NotFound`` naming the known reports otherwise."""
    known = kinds()
    if name not in known:
        raise NotFound(
            gettext(
                "there is no report %(name)r; the reports are %(known)s",
                name=name,
                known=", ".join(known),
            )
        )
    return known[name]
