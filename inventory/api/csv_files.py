"""CSV in and out over HTTP: stock and the ledger as CSV files, and parts and
stock imported from CSV (planners; all or nothing, every problem listed)."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask_openapi3 import Tag
from werkzeug.exceptions import UnsupportedMediaType

from core import auth, clock
from core.errors import Invalid, ValidationErrorOut
from core.web import answer_once, uow
from inventory.api import api
from inventory.api.answers import READERS
from inventory.schemas import (
    ErrorOut,
    ImportOut,
    LedgerCsvQuery,
    StockCsvQuery,
)
from inventory.service import exports, imports
from inventory.service.imports import ImportReport

CSV = Tag(name="csv", description="CSV imports and exports")
IMPORT_ROLES = imports.IMPORT_ROLES

CSV_MIMETYPES = frozenset({"text/csv", "text/plain", "application/csv", "application/vnd.ms-excel"})
CSV_RESPONSE = {
    "description": "CSV text with a header line",
    "content": {"text/csv": {"schema": {"type": "string"}}},
}

# A CSV upload: the request body itself (text/csv), or the multipart field ``file``.
CSV_UPLOAD = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


def _import(report: ImportReport) -> dict[str, Any]:
    return ImportOut(
        kind=report.kind,
        rows=report.rows,
        created=report.created,
        updated=report.updated,
        unchanged=report.unchanged,
        units=report.units,
        summary=report.summary(),
    ).model_dump()


def _csv(text: str, name: str) -> Response:
    stamp = clock.local(clock.now()).strftime("%Y%m%d-%H%M")
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}-{stamp}.csv"'},
    )


def _uploaded_csv() -> str:
    """The CSV text of an import request, from the body or the multipart field ``file``."""
    # Read the raw body first: answer_once fingerprints it, and the multipart
    # parser then works from this cached copy instead of consuming the stream.
    raw = request.get_data(cache=True)
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise Invalid("send the CSV file in the multipart field 'file'")
        return imports.decode_csv(upload.read())
    if request.mimetype not in CSV_MIMETYPES:
        raise UnsupportedMediaType(
            "send the CSV as a text/csv body or a multipart/form-data field 'file'"
        )
    return imports.decode_csv(raw)


@api.get(
    "/stock.csv",
    tags=[CSV],
    responses={200: CSV_RESPONSE, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="Stock as CSV (depot,part_number,description,good,reserved,available,defective,"
    "in_repair,quarantine,in_transit)",
)
@auth.api_roles(*READERS)
def get_stock_csv(query: StockCsvQuery) -> Any:
    text = exports.export_stock_csv(uow(), depot=query.depot)
    return _csv(text, f"stock-{query.depot}" if query.depot else "stock")


@api.get(
    "/ledger.csv",
    tags=[CSV],
    responses={200: CSV_RESPONSE, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="Ledger entries, oldest first, as CSV (times in Asia/Shanghai)",
)
@auth.api_roles(*READERS)
def get_ledger_csv(query: LedgerCsvQuery) -> Any:
    text = exports.export_ledger_csv(uow(), depot=query.depot, part_number=query.part_number)
    return _csv(text, "ledger")


@api.post(
    "/parts/import",
    tags=[CSV],
    responses={
        200: ImportOut,
        401: ErrorOut,
        403: ErrorOut,
        415: ErrorOut,
        422: ValidationErrorOut,
    },
    openapi_extensions=CSV_UPLOAD,
    summary="Create and update parts from CSV; any bad row: 422 listing every problem, "
    "nothing imported (planners)",
)
@auth.api_roles(*IMPORT_ROLES)
def import_parts() -> Any:
    actor = auth.api_actor()
    text = _uploaded_csv()
    return answer_once(lambda u: (_import(imports.import_parts(u, actor, text)), 200))


@api.post(
    "/stock/import",
    tags=[CSV],
    responses={
        200: ImportOut,
        401: ErrorOut,
        403: ErrorOut,
        415: ErrorOut,
        422: ValidationErrorOut,
    },
    openapi_extensions=CSV_UPLOAD,
    summary="Book stock receipts from CSV; any bad row: 422 listing every problem, "
    "nothing booked (planners)",
)
@auth.api_roles(*IMPORT_ROLES)
def import_stock() -> Any:
    actor = auth.api_actor()
    text = _uploaded_csv()
    return answer_once(lambda u: (_import(imports.import_stock(u, actor, text)), 200))
