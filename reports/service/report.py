"""A report's figures as plain data: what every report answers, whatever its
subject, and what ``reports.files`` turns into PDF, XLSX, CSV and JSON.

A report is a few headline ``Figure``s, named tables (pandas DataFrames whose
column names are the keys CSV and JSON use) and the sentences that say how the
numbers are counted. Values that only a chart or a PDF section needs (a series
by hour, a plan's number) ride in ``details``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from core.errors import Invalid
from core.i18n import gettext
from reports.service.filters import Filters


@dataclass(frozen=True)
class TableInfo:
    """A table's title and what it holds, translated when shown (lazy strings)."""

    title: Any
    description: Any


@dataclass(frozen=True)
class Figure:
    """One headline figure: ``key`` (JSON), ``label`` and ``note`` in words,
    ``value`` as a plain number (None: nothing to measure) and ``shown`` as printed
    ("96.4%", "1,204")."""

    key: str
    label: str
    value: Any
    shown: str
    note: str = ""


@dataclass(frozen=True)
class Report:
    """A finished report: its kind's ``name``, the filters it was asked for, when it
    was made, its headline figures, its tables in print order and its notes."""

    name: str
    filters: Filters
    generated_at: datetime
    figures: tuple[Figure, ...] = ()
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)

    def table(self, name: str) -> pd.DataFrame:
        """One table by name; ``Invalid`` naming the known tables otherwise."""
        if name not in self.tables:
            raise Invalid(
                gettext("table must be one of %(tables)s", tables=", ".join(self.tables)),
                field="table",
            )
        return self.tables[name]
