"""CSV text that spreadsheets open safely: the one writer of every CSV export, and the
rule importers read its cells back by.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or
carriage return before one) as a formula, so text typed by people (a part's
description, a remark, a holiday's name) could run as ``=HYPERLINK(...)`` on a
planner's machine. Such text is written with a leading apostrophe, which
spreadsheets show as text and do not display. Numbers are left alone, and so is
text that is only a number (``-3``, ``+1.5``): a number cannot run, and numeric
columns must stay numbers. Importers pass every cell through ``read_cell``, which
takes the apostrophe off again, so an export imports back unchanged.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def safe_cell(value: Any) -> Any:
    """``value`` as a CSV cell: None as empty, formula-like text behind an apostrophe."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def read_cell(text: str) -> str:
    """A cell as written before ``safe_cell`` escaped it (other text unchanged)."""
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


def csv_text(
    header: Sequence[str], rows: Iterable[Sequence[Any]], *, lineterminator: str = "\n"
) -> str:
    """A header line and the rows as CSV text, every cell through ``safe_cell``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=lineterminator)
    writer.writerow(header)
    writer.writerows([safe_cell(value) for value in row] for row in rows)
    return out.getvalue()
