"""The transfer note (packing slip) that travels with a transfer between depots.

One A4 document per transfer: the transfer number as text and as a Code128
barcode, where it goes from and to, when it was drafted, shipped and received
(Asia/Shanghai), every line with its part number as a barcode and every shipped
serial as a barcode (so the receiving depot can scan the box instead of typing),
any discrepancies found on receipt (and what became of them: arrived late,
written off, accepted, sent back), and boxes for the two signatures. Long
transfers continue on further pages with the table header repeated.

The note is printed in the reader's language (the words through the catalogue;
Chinese renders with ``core.pdf``'s fonts); codes, part numbers and serials stay
as they are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime

from flask_babel import pgettext
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from core.i18n import gettext
from core.pdf import (
    CONTENT_WIDTH,
    INK,
    RULE,
    SHADE,
    Styles,
    build_pdf,
    fonts,
    labelled_barcode,
    local_time,
    styles,
    text,
)
from inventory.labels import DISCREPANCY_LABELS, RESOLUTION_LABELS, label, note_text
from inventory.models import Part, TransferDiscrepancy
from inventory.service.transfers import TransferView, status_label, transfer_code

# #, part number, description, qty, received, serial numbers
LINE_COLUMNS = (8 * mm, 46 * mm, 46 * mm, 13 * mm, 16 * mm, 49 * mm)
CELL_PADDING = 4  # points, left and right, as set in the table styles below


def render_transfer_note(
    view: TransferView,
    depots: Mapping[str, str],
    parts: Mapping[str, Part] | None = None,
    *,
    printed_at: datetime | None = None,
) -> bytes:
    """The transfer note of ``view`` as PDF bytes (A4, as many pages as needed).

    ``depots`` maps depot codes to the names printed under them (Chinese welcome);
    ``parts`` maps part numbers to their catalogue rows (description, serialized).
    Instants print in Asia/Shanghai; ``printed_at`` defaults to now. Never writes.
    """
    transfer = view.transfer
    assert transfer.id is not None
    font = fonts()
    style = styles(font)
    code = transfer_code(transfer.id)
    parts = parts or {}
    story: list[Flowable] = [
        _title_block(view, code, style, font.cjk),
        Spacer(1, 4 * mm),
        _route_block(view, depots, style),
        Spacer(1, 3 * mm),
        _dates_block(view, style),
        Paragraph(text(gettext("Lines")), style.heading),
        _lines_table(view, parts, style),
    ]
    if view.discrepancies:
        story += [Paragraph(text(gettext("Discrepancies found on receipt")), style.heading)]
        story.append(_discrepancy_table(view, style))
    story += [Spacer(1, 6 * mm), _signatures(view, style)]
    return build_pdf(
        story,
        title=gettext("Transfer note"),
        header_right=f"{code} · {transfer.from_depot} → {transfer.to_depot}",
        font=font,
        printed_at=printed_at,
    )


def _title_block(view: TransferView, code: str, style: Styles, cjk: bool) -> Table:
    transfer = view.transfer
    heading = gettext("Transfer note / packing slip")
    if cjk and "调拨单" not in heading:
        heading += " · 调拨单"
    left = [
        Paragraph(text(heading), style.title),
        Paragraph(
            text(gettext("Transfer %(code)s · status %(status)s", code="\x00", status="\x01"))
            .replace("\x00", f"<b>{text(code)}</b>")
            .replace("\x01", f"<b>{text(status_label(transfer.status))}</b>"),
            style.body,
        ),
    ]
    if transfer.reference:
        left.append(
            Paragraph(
                text(gettext("Reference: %(reference)s", reference=transfer.reference)),
                style.body,
            )
        )
    if transfer.note:
        left.append(Paragraph(text(gettext("Note: %(note)s", note=transfer.note)), style.body))
    right = labelled_barcode(code, style.caption, max_width=55 * mm, bar_height=13 * mm)
    table = Table([[left, right]], colWidths=(CONTENT_WIDTH - 60 * mm, 60 * mm))
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (0, 0), 0),
                ("ALIGN", (1, 0), (1, 0), "RIGHT"),
            ]
        )
    )
    return table


def _route_block(view: TransferView, depots: Mapping[str, str], style: Styles) -> Table:
    transfer = view.transfer

    def depot_cell(label: str, code: str) -> list[Flowable]:
        return [
            Paragraph(label, style.small),
            Paragraph(text(code), style.big),
            Spacer(1, 2),
            Paragraph(text(depots.get(code, code)), style.body),
        ]

    half = CONTENT_WIDTH / 2 - 5 * mm
    table = Table(
        [
            [
                depot_cell(text(gettext("FROM")), transfer.from_depot),
                "→",
                depot_cell(text(gettext("TO")), transfer.to_depot),
            ]
        ],
        colWidths=(half, 10 * mm, half),
    )
    table.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (0, 0), 0.8, INK),
                ("BOX", (2, 0), (2, 0), 0.8, INK),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("ALIGN", (1, 0), (1, 0), "CENTER"),
                ("FONTSIZE", (1, 0), (1, 0), 16),
                ("FONTNAME", (1, 0), (1, 0), style.body.fontName),
                ("TOPPADDING", (0, 0), (-1, -1), 5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
                ("LEFTPADDING", (0, 0), (-1, -1), 7),
            ]
        )
    )
    return table


def _dates_block(view: TransferView, style: Styles) -> Table:
    transfer = view.transfer

    def when(at: datetime | None, by: str | None) -> Paragraph:
        if at is None:
            return Paragraph("—", style.cell)
        return Paragraph(f"{text(local_time(at))}<br/>{text(by or '')}", style.cell)

    header = [
        Paragraph(text(word), style.small)
        for word in (
            gettext("Drafted"),
            pgettext("inventory", "Shipped"),
            pgettext("inventory", "Received"),
        )
    ]
    table = Table(
        [
            header,
            [
                when(transfer.created_at, transfer.created_by),
                when(transfer.shipped_at, transfer.shipped_by),
                when(transfer.received_at, transfer.received_by),
            ],
        ],
        colWidths=(CONTENT_WIDTH / 3,) * 3,
    )
    table.setStyle(
        TableStyle(
            [
                ("LINEBELOW", (0, 0), (-1, 0), 0.4, RULE),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
            ]
        )
    )
    return table


def _lines_table(view: TransferView, parts: Mapping[str, Part], style: Styles) -> Table:
    transfer = view.transfer
    received = transfer.status in ("received", "partially_received")
    serials_by_part: dict[str, list[tuple[str, bool]]] = defaultdict(list)
    for row in view.serials:
        serials_by_part[row.part_number].append((row.serial, row.received))
    header = [
        Paragraph(text(word), style.small)
        for word in (
            "#",
            gettext("Part number"),
            gettext("Description"),
            gettext("Qty"),
            pgettext("inventory", "Received"),
            gettext("Serial numbers"),
        )
    ]
    rows: list[list[object]] = [header]
    commands: list[tuple[object, ...]] = []
    muted = ParagraphStyle("continued", parent=style.small, alignment=1)
    part_width = LINE_COLUMNS[1] - 2 * CELL_PADDING
    serial_width = LINE_COLUMNS[5] - 2 * CELL_PADDING
    units = 0
    for number, line in enumerate(view.lines, start=1):
        units += line.qty
        first = len(rows)
        serials = serials_by_part.get(line.part_number, [])
        if received:
            got: str = str(line.qty_received if line.qty_received is not None else 0)
        else:
            got = ""  # left blank for the receiving clerk to write in
        part_cell = labelled_barcode(line.part_number, style.caption, max_width=part_width)
        part = parts.get(line.part_number)
        description = Paragraph(text(part.description if part else ""), style.cell)
        lead = [
            Paragraph(str(number), style.cell),
            part_cell,
            description,
            Paragraph(f"<b>{line.qty}</b>", style.cell),
            Paragraph(got, style.cell),
        ]
        if not serials:
            if part is not None and not part.serialized:
                note = gettext("not serialized")
            elif transfer.status == "draft":
                note = gettext("serials recorded when shipped")
            else:
                note = ""
            rows.append([*lead, Paragraph(text(note), style.small)])
        for index, (serial, arrived) in enumerate(serials):
            status = (
                (gettext("received") if arrived else gettext("NOT received")) if received else ""
            )
            cell = labelled_barcode(
                serial, style.caption, max_width=serial_width, bar_height=7 * mm, note=status
            )
            if index == 0:
                rows.append([*lead, cell])
            else:
                # Named again, quietly, so a row that starts a new page is still clear.
                more = Paragraph(f"{text(line.part_number)} ({index + 1}/{len(serials)})", muted)
                rows.append(["", more, "", "", "", cell])
        commands.append(("LINEBELOW", (0, len(rows) - 1), (-1, len(rows) - 1), 0.5, RULE))
        if number % 2 == 0:
            commands.append(("BACKGROUND", (0, first), (-1, len(rows) - 1), SHADE))
    rows.append(
        [
            "",
            Paragraph(text(gettext("%(count)s line(s)", count=len(view.lines))), style.cell_bold),
            "",
            Paragraph(f"<b>{units}</b>", style.cell),
            "",
            Paragraph(text(gettext("%(count)s serial(s)", count=len(view.serials))), style.cell),
        ]
    )
    table = Table(rows, colWidths=LINE_COLUMNS, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), CELL_PADDING),
                ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PADDING),
                ("TOPPADDING", (0, 1), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 1), (-1, -1), 4),
                ("LINEBELOW", (0, 0), (-1, 0), 0.9, INK),
                ("LINEABOVE", (0, -1), (-1, -1), 0.9, INK),
                *commands,
            ]
        )
    )
    return table


def _note_with_decision(item: TransferDiscrepancy, partially_received: bool) -> str:
    """The note, and what became of it: an extra decided (or waiting in quarantine), a
    shortfall arrived late or written off (or still in transit)."""
    note = note_text(item.note)
    if item.resolution is not None:
        decision = gettext(
            "%(resolution)s by %(user)s %(at)s",
            resolution=label(RESOLUTION_LABELS, item.resolution),
            user=item.resolved_by or "",
            at=local_time(item.resolved_at),
        )
        if item.resolution_note:
            decision += f" ({item.resolution_note})"
    elif item.kind == "extra":
        decision = gettext("waits in quarantine for a decision")
    elif item.kind == "short" and partially_received:
        decision = gettext("still in transit: may arrive late or be written off")
    else:
        return note
    return f"{note}; {decision}" if note else decision


def _discrepancy_table(view: TransferView, style: Styles) -> Table:
    partially = view.transfer.status == "partially_received"
    rows: list[list[object]] = [
        [
            Paragraph(text(word), style.small)
            for word in (
                gettext("Part number"),
                pgettext("inventory", "Kind"),
                gettext("Qty"),
                gettext("Serial"),
                gettext("Note"),
            )
        ]
    ]
    for item in view.discrepancies:
        rows.append(
            [
                Paragraph(text(item.part_number), style.cell),
                Paragraph(text(label(DISCREPANCY_LABELS, item.kind)), style.cell_bold),
                Paragraph(str(item.qty), style.cell),
                Paragraph(text(item.serial or ""), style.cell),
                Paragraph(text(_note_with_decision(item, partially)), style.cell),
            ]
        )
    table = Table(rows, colWidths=(40 * mm, 26 * mm, 12 * mm, 40 * mm, 60 * mm), repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
                ("LINEBELOW", (0, 0), (-1, 0), 0.9, INK),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _signatures(view: TransferView, style: Styles) -> KeepTogether:
    transfer = view.transfer

    def box(title: str, depot: str, name: str | None, at: datetime | None) -> list[Flowable]:
        return [
            Paragraph(f"{text(title)} ({text(depot)})", style.cell_bold),
            Spacer(1, 3 * mm),
            Paragraph(text(gettext("Name: %(name)s", name=name or "")), style.cell),
            Spacer(1, 9 * mm),
            Paragraph(text(gettext("Signature:")) + " ______________________________", style.cell),
            Spacer(1, 4 * mm),
            Paragraph(text(gettext("Date / time: %(at)s", at=local_time(at))), style.cell),
        ]

    half = CONTENT_WIDTH / 2 - 3 * mm
    table = Table(
        [
            [
                box(
                    gettext("Shipped by"),
                    transfer.from_depot,
                    transfer.shipped_by,
                    transfer.shipped_at,
                ),
                "",
                box(
                    gettext("Received by"),
                    transfer.to_depot,
                    transfer.received_by,
                    transfer.received_at,
                ),
            ]
        ],
        colWidths=(half, 6 * mm, half),
    )
    table.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (0, 0), 0.8, INK),
                ("BOX", (2, 0), (2, 0), 0.8, INK),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 6),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 8),
                ("LEFTPADDING", (0, 0), (-1, -1), 7),
            ]
        )
    )
    note = Paragraph(
        text(
            gettext(
                "Check every box against this note on arrival; record any difference when "
                "receiving the transfer in Spares. All times Asia/Shanghai."
            )
        ),
        style.small,
    )
    return KeepTogether([table, Spacer(1, 2 * mm), note])
