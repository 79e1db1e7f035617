"""Building blocks of the planners' PDF reports: the look (fonts, colours, text
styles), numbers in words, data tables with totals, section headings and KPI
tiles. Each report lays its pages out with them (``reports.service_levels_pdf``)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.flowables import HRFlowable

from core.i18n import gettext, is_chinese
from core.pdf import (
    CONTENT_WIDTH,
    INK,
    MUTED,
    RULE,
    SHADE,
    Fonts,
    styles,
    text,
)

HEAD = colors.HexColor("#12324f")
GOOD = colors.HexColor("#1f7a3a")
BAD = colors.HexColor("#b3261e")
NA = "–"


def is_missing(value: Any) -> bool:
    if value is None or value is pd.NaT:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


# --- PDF: formatting ------------------------------------------------------------------------


def fmt_int(value: Any) -> str:
    return NA if is_missing(value) else f"{int(value):,}"


def fmt_pct(value: Any) -> str:
    return NA if is_missing(value) else f"{float(value):.1f}%"


def fmt_money(value: Any, digits: int = 0) -> str:
    return NA if is_missing(value) else f"{float(value):,.{digits}f}"


def fmt_decimal(value: Any, digits: int = 1) -> str:
    return NA if is_missing(value) else f"{float(value):.{digits}f}"


@dataclass(frozen=True)
class Look:
    """Fonts and paragraph styles of the report."""

    font: Fonts
    cover_kicker: ParagraphStyle
    cover_title: ParagraphStyle
    cover_subtitle: ParagraphStyle
    section: ParagraphStyle
    subheading: ParagraphStyle
    body: ParagraphStyle
    small: ParagraphStyle
    cell: ParagraphStyle
    cell_right: ParagraphStyle
    head_cell: ParagraphStyle
    head_cell_right: ParagraphStyle
    kpi_value: ParagraphStyle
    kpi_label: ParagraphStyle
    kpi_note: ParagraphStyle
    note: ParagraphStyle


def look_for(font: Fonts) -> Look:
    base = styles(font)

    def derive(parent: ParagraphStyle, name: str, **changes: Any) -> ParagraphStyle:
        style = ParagraphStyle(name, parent=parent, **changes)
        if "fontSize" in changes and "leading" not in changes:
            style.leading = changes["fontSize"] * 1.25
        return style

    return Look(
        font=font,
        cover_kicker=derive(base.small, "kicker", fontSize=9, textColor=MUTED, spaceAfter=4),
        cover_title=derive(base.title, "cover", fontSize=30, spaceAfter=6, textColor=HEAD),
        # Chinese prose has no spaces to break at: without CJK wrapping a line ends
        # at the last space (before "24 小时…") and leaves half a line empty.
        cover_subtitle=derive(
            base.body,
            "subtitle",
            fontSize=12,
            textColor=MUTED,
            spaceAfter=4,
            wordWrap="CJK" if is_chinese() else None,
        ),
        section=derive(base.heading, "section", fontSize=14, textColor=HEAD, spaceBefore=12),
        subheading=derive(
            base.heading, "sub", fontSize=10.5, spaceBefore=8, spaceAfter=3, keepWithNext=1
        ),
        body=base.body,
        small=base.small,
        cell=derive(base.cell, "cellx", fontSize=7.8),
        cell_right=derive(base.cell, "cellr", fontSize=7.8, alignment=2),
        head_cell=derive(base.cell, "head", fontSize=7.5, textColor=colors.white),
        head_cell_right=derive(
            base.cell, "headr", fontSize=7.5, textColor=colors.white, alignment=2
        ),
        kpi_value=derive(base.big, "kpiv", fontSize=19, textColor=HEAD, leading=23),
        kpi_label=derive(base.small, "kpil", fontSize=7.8, textColor=INK, leading=10),
        kpi_note=derive(base.small, "kpin", fontSize=7, leading=9),
        note=derive(base.small, "note", fontSize=8, leading=11),
    )


@dataclass(frozen=True)
class Column:
    key: str
    heading: str
    width: float  # share of the content width
    fmt: Callable[[Any], str] = text
    right: bool = False


def data_table(
    look: Look,
    frame: pd.DataFrame,
    columns: Sequence[Column],
    *,
    total: dict[str, str] | None = None,
    empty: str | None = None,
) -> Flowable:
    """A table with a dark header row repeated on each page, zebra rows, numbers
    right-aligned, an optional bold total row; a note instead when empty."""
    if not len(frame):
        return Paragraph(text(empty or gettext("Nothing in this period.")), look.note)
    widths = [c.width * CONTENT_WIDTH for c in columns]
    header = [
        Paragraph(text(c.heading), look.head_cell_right if c.right else look.head_cell)
        for c in columns
    ]
    rows: list[list[Any]] = [header]
    for record in frame.to_dict("records"):
        rows.append(
            [
                Paragraph(text(c.fmt(record.get(c.key))), look.cell_right if c.right else look.cell)
                for c in columns
            ]
        )
    if total is not None:
        rows.append(
            [
                Paragraph(text(total.get(c.key, "")), look.cell_right if c.right else look.cell)
                for c in columns
            ]
        )
    table = Table(rows, colWidths=widths, repeatRows=1)
    commands: list[tuple[Any, ...]] = [
        ("BACKGROUND", (0, 0), (-1, 0), HEAD),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, RULE),
    ]
    for index in range(2, len(rows), 2):
        commands.append(("BACKGROUND", (0, index), (-1, index), SHADE))
    if total is not None:
        commands += [
            ("LINEABOVE", (0, -1), (-1, -1), 0.9, INK),
            ("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#dde5ee")),
        ]
    table.setStyle(TableStyle(commands))
    return table


def section(look: Look, number: int, title: str, intro: str = "") -> list[Flowable]:
    parts: list[Flowable] = [
        CondPageBreak(70 * mm),
        Paragraph(f"{number}&nbsp;&nbsp;{text(title)}", look.section),
        HRFlowable(width="100%", thickness=1.2, color=HEAD, spaceBefore=0, spaceAfter=4),
    ]
    if intro:
        parts.append(Paragraph(text(intro), look.note))
        parts.append(Spacer(1, 2 * mm))
    return parts


def kpi_tiles(look: Look, tiles: Sequence[tuple[str, str, str]], per_row: int = 4) -> Table:
    """Big figures on tinted tiles: (value, label, note)."""
    cells = [
        [
            Paragraph(text(value), look.kpi_value),
            Paragraph(text(label), look.kpi_label),
            Paragraph(text(note), look.kpi_note),
        ]
        for value, label, note in tiles
    ]
    while len(cells) % per_row:
        cells.append([])
    rows = [cells[i : i + per_row] for i in range(0, len(cells), per_row)]
    gap = 2.5 * mm
    width = (CONTENT_WIDTH - gap * (per_row - 1)) / per_row
    # Tiles sit in the even rows and columns; the odd ones are the gaps between them.
    data: list[list[Any]] = []
    heights: list[float | None] = []
    for number, row in enumerate(rows):
        if number:
            data.append([""] * (2 * per_row - 1))
            heights.append(gap)
        line: list[Any] = []
        for index, cell in enumerate(row):
            if index:
                line.append("")
            line.append(cell)
        data.append(line)
        heights.append(None)
    widths = [gap if index % 2 else width for index in range(2 * per_row - 1)]
    table = Table(data, colWidths=widths, rowHeights=heights)
    commands: list[tuple[Any, ...]] = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
        ("LEFTPADDING", (0, 0), (-1, -1), 6),
    ]
    for number, row in enumerate(rows):
        for index, cell in enumerate(row):
            if cell:
                at = (2 * index, 2 * number)
                commands += [
                    ("BACKGROUND", at, at, SHADE),
                    ("LINEABOVE", at, at, 2, HEAD),
                ]
    table.setStyle(TableStyle(commands))
    return table


def met_note(on_time: int, judged: int, counted: str, nothing: str) -> str:
    """``counted`` (a sentence with ``%(on_time)s`` and ``%(judged)s``) when something
    was judged, else ``nothing``."""
    return counted % {"on_time": on_time, "judged": judged} if judged else nothing


def facts_table(
    look: Look, facts: Sequence[tuple[str, str]], label_width: float = 34 * mm
) -> Table:
    """A cover's facts (period, filters, generation time, author): a label column and
    its values between thin rules."""
    table = Table(
        [[Paragraph(text(k), look.small), Paragraph(text(v), look.body)] for k, v in facts],
        colWidths=(label_width, CONTENT_WIDTH - label_width),
    )
    table.setStyle(
        TableStyle(
            [
                ("LINEBELOW", (0, 0), (-1, -1), 0.3, RULE),
                ("LINEABOVE", (0, 0), (-1, 0), 0.9, HEAD),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    return table
