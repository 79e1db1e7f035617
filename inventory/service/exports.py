"""CSV out of the inventory: stock per depot and part, and the ledger.

Each export is one read-only use case that reads its rows page by page
(``EXPORT_PAGE`` at a time) and answers CSV text with a header line; times are
Asia/Shanghai with their offset. Importing parts and stock from CSV is
``inventory.service.imports``.
"""

from __future__ import annotations

from datetime import datetime

from core import clock
from core.csv_files import csv_text
from core.db import UnitOfWork, read_only
from inventory.service import catalog, queries
from inventory.service.stock import require_depot

STOCK_EXPORT_COLUMNS = (
    "depot",
    "part_number",
    "description",
    "good",
    "reserved",
    "available",
    "defective",
    "in_repair",
    "quarantine",
    "in_transit",
)
LEDGER_EXPORT_COLUMNS = (
    "id",
    "at",
    "movement",
    "kind",
    "actor",
    "reason",
    "reference",
    "depot",
    "part_number",
    "bucket",
    "qty",
    "serial",
)

EXPORT_PAGE = 5_000


@read_only
def export_stock_csv(uow: UnitOfWork, *, depot: str | None = None) -> str:
    """Stock per (depot, part) as CSV text with the header
    ``depot,part_number,description,good,reserved,available,defective,in_repair,
    quarantine,in_transit`` (whole units; in_transit is what is on the road towards
    the depot). Rows with no stock at all are left out. ``NotFound`` for an
    unknown depot."""
    code = require_depot(uow, depot).code if depot else None
    rows: list[queries.StockRow] = []
    while True:
        page = queries.stock(uow, depot=code, limit=EXPORT_PAGE, offset=len(rows))
        rows += page
        if len(page) < EXPORT_PAGE:
            break
    return csv_text(
        STOCK_EXPORT_COLUMNS,
        (
            (
                r.depot,
                r.part_number,
                r.description,
                r.good,
                r.reserved,
                r.available,
                r.defective,
                r.in_repair,
                r.quarantine,
                r.in_transit,
            )
            for r in rows
        ),
    )


def _iso_local(at: datetime) -> str:
    return clock.local(at).isoformat()


@read_only
def export_ledger_csv(
    uow: UnitOfWork, *, depot: str | None = None, part_number: str | None = None
) -> str:
    """Ledger entries, oldest first, as CSV text with the header
    ``id,at,movement,kind,actor,reason,reference,depot,part_number,bucket,qty,serial``;
    ``at`` is ISO 8601 in Asia/Shanghai with its offset, ``qty`` is signed.
    ``NotFound`` for an unknown depot or part."""
    code = require_depot(uow, depot).code if depot else None
    number = catalog.get_part_row(uow, part_number).part_number if part_number else None
    pages: list[list[queries.LedgerLine]] = []
    before: int | None = None
    while True:
        page = queries.ledger_lines(
            uow, depot=code, part_number=number, before_id=before, limit=EXPORT_PAGE
        )
        pages.append(page)
        if len(page) < EXPORT_PAGE:
            break
        before = page[-1].id
    lines = [line for page in reversed(pages) for line in reversed(page)]
    return csv_text(
        LEDGER_EXPORT_COLUMNS,
        (
            (
                line.id,
                _iso_local(line.at),
                line.movement_id,
                line.kind,
                line.actor,
                line.reason,
                line.reference or "",
                line.depot,
                line.part_number,
                line.bucket,
                line.qty,
                line.serial or "",
            )
            for line in lines
        ),
    )
