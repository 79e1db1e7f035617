"""Request and response models of the reports API.

The same models validate requests and generate the OpenAPI document. Dates are
Asia/Shanghai calendar dates (``YYYY-MM-DD``); whether a period is allowed (a
start after the end, a span over two years) is ``reports.service.period``'s
business. ``format=json`` answers ``ServiceLevelsOut``; the other formats answer
the file, whose content types the document lists (``FILE_CONTENT``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from inventory.models import FAMILIES
from reports.catalogue import REPORT_NAMES
from reports.files import MEDIA_TYPES
from reports.service.service_levels import TABLE_NAMES
from rma.models import FAULT_LEVELS

DateText = Annotated[
    str,
    Field(
        pattern=r"^\s*\d{4}-\d{2}-\d{2}\s*$",
        description="Asia/Shanghai calendar date, YYYY-MM-DD",
        json_schema_extra={"format": "date"},
    ),
]
TableName = Literal[TABLE_NAMES]  # type: ignore[valid-type]


class ServiceLevelsQuery(BaseModel):
    start: DateText | None = Field(
        default=None, description="first day, included (default: 30 days before the end)"
    )
    end: DateText | None = Field(default=None, description="last day, included (default: today)")
    format: Literal["json", "pdf", "xlsx", "csv"] = Field(
        default="json", description="json, pdf, xlsx, or csv (one table, or a ZIP of all)"
    )
    table: TableName | None = Field(
        default=None,
        description="csv: this table as one CSV (without: a ZIP of every table); "
        "json: only this table",
    )

    @model_validator(mode="after")
    def _table_needs_csv_or_json(self) -> ServiceLevelsQuery:
        if self.table is not None and self.format in ("pdf", "xlsx"):
            raise ValueError("table applies to format=csv or format=json only")
        return self


class PeriodOut(BaseModel):
    start: str = Field(description="YYYY-MM-DD, included")
    end: str = Field(description="YYYY-MM-DD, included")
    days: int
    time_zone: Literal["Asia/Shanghai"]


class HeadlineOut(BaseModel):
    opened: int = Field(description="RMAs reported in the period")
    closed: int = Field(description="RMAs closed (signed off) in the period")
    cancelled: int
    open_now: int = Field(description="RMAs open at generation time")
    replacements_delivered: int = Field(description="replacements/loaners delivered in the period")
    replacements_on_time: int = Field(description="of those, delivered by approval + 24 h")
    replacement_met_pct: float | None = Field(description="0-100; null when none delivered")
    repairs_returned: int = Field(description="repairs sent back in the period")
    repairs_on_time: int = Field(description="of those, within 72 working hours")
    repair_met_pct: float | None = Field(description="0-100; null when none returned")
    ratings: int = Field(description="rated cases closed in the period")
    average_rating: float | None = Field(description="1-5; null without ratings")
    escalations: dict[str, int] = Field(description="raised in the period, by fault level")
    escalations_total: int
    overdue_returns_now: int = Field(description="defective/loaned units overdue now")
    at_risk_now: int = Field(
        description="open cases whose replacement promise is at risk now (the promise rule)"
    )


FILE_CONTENT = {
    MEDIA_TYPES["pdf"]: {"schema": {"type": "string", "format": "binary"}},
    MEDIA_TYPES["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
    "text/csv": {"schema": {"type": "string"}},
    MEDIA_TYPES["zip"]: {"schema": {"type": "string", "format": "binary"}},
}


class ServiceLevelsOut(BaseModel):
    """format=json; the other formats answer the file (see the content types)."""

    model_config = ConfigDict(
        openapi_extra={
            "description": "The report: JSON, or the PDF/XLSX/CSV/ZIP file as an attachment",
            "content": FILE_CONTENT,
        }
    )

    period: PeriodOut
    generated_at: str = Field(description="ISO 8601, Asia/Shanghai")
    targets_stored: bool = Field(description="false: no targets, shortage/excess not assessed")
    headline: HeadlineOut
    tables: dict[str, list[dict[str, Any]]] = Field(
        description=f"table name to rows; tables: {', '.join(TABLE_NAMES)}"
    )


# --- every report of the catalogue ----------------------------------------------------------

OtherReportName = Literal[  # type: ignore[valid-type]
    tuple(name for name in REPORT_NAMES if name != "service-levels")
]


class ReportPath(BaseModel):
    name: OtherReportName = Field(description="the report (service-levels has its own route)")


class ReportQuery(BaseModel):
    """The filters of ``/reports/NAME`` pages and downloads; a filter the report does
    not honour answers 422."""

    model_config = ConfigDict(populate_by_name=True)

    from_: DateText | None = Field(
        default=None, alias="from", description="first day, included (default: 30 days before)"
    )
    to: DateText | None = Field(default=None, description="last day, included (default: today)")
    depot: str | None = Field(default=None, max_length=16, description="a depot code (BJ, SH ...)")
    fault_level: Literal[FAULT_LEVELS] | None = Field(  # type: ignore[valid-type]
        default=None, description="C-1, C-2 or C-3"
    )
    family: Literal[FAMILIES] | None = Field(  # type: ignore[valid-type]
        default=None, description="a part family"
    )
    plan: int | None = Field(
        default=None,
        ge=1,
        le=999_999_999_999,
        description="rebalancing: the plan (default: the latest)",
    )
    format: Literal["json", "pdf", "xlsx", "csv"] = Field(
        default="json", description="json, csv (one table, or a ZIP of all), pdf or xlsx"
    )
    table: str | None = Field(
        default=None,
        max_length=40,
        pattern=r"^[a-z0-9_]+$",
        description="csv: this table as one CSV (without: a ZIP of every table); json: only "
        "this table",
    )

    @model_validator(mode="after")
    def _table_needs_csv_or_json(self) -> ReportQuery:
        if self.table is not None and self.format in ("pdf", "xlsx"):
            raise ValueError("table applies to format=csv or format=json only")
        return self


class ReportFiltersOut(BaseModel):
    from_: str | None = Field(alias="from", description="YYYY-MM-DD, or null: no period")
    to: str | None
    depot: str | None
    fault_level: str | None
    family: str | None
    plan: int | None
    time_zone: Literal["Asia/Shanghai"]


class ReportOut(BaseModel):
    """format=json; the other formats answer the file (see the content types)."""

    model_config = ConfigDict(
        openapi_extra={
            "description": "The report: JSON, or the PDF/XLSX/CSV/ZIP file as an attachment",
            "content": FILE_CONTENT,
        }
    )

    report: str
    filters: ReportFiltersOut
    generated_at: str = Field(description="ISO 8601, Asia/Shanghai")
    headline: dict[str, Any] = Field(description="headline figures by key")
    tables: dict[str, list[dict[str, Any]]] = Field(description="table name to rows")
