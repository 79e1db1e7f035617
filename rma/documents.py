"""The service record of an RMA: the document the customer signs.

One A4 document (more pages when the history is long): the RMA number as text
and as a Code128 barcode, the customer, the site and its city (Chinese names
print), the unit, the fault level and kind of service, the entitlement, the
promises made and whether each was kept (replacement within 24 hours, repair
within 72 working hours, the defective unit back within 15 days), the whole case
history in Asia/Shanghai time, the customer's verdict (rating, remarks, signer,
time) and a signature block.

An RMA that is not closed yet still prints (the engineer takes it to the
customer to sign); it then says "NOT YET SIGNED" in the header, the verdict and
the signature block, so it is never mistaken for a signed record.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from typing import Any

from reportlab.graphics.shapes import Drawing, Polygon
from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer, Table, TableStyle

from core import clock
from core.pdf import (
    CONTENT_WIDTH,
    INK,
    MUTED,
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
from depots.models import City
from rma import kinds
from rma.models import Rma, RmaEvent, Status
from rma.service.promises import Commitment, commitments
from rma.service.queries import RmaView

HISTORY_COLUMNS = (27 * mm, 27 * mm, 27 * mm, 33 * mm, 64 * mm)
GOOD = colors.HexColor("#1f7a3a")
BAD = colors.HexColor("#b3261e")
STAR_FILL = colors.HexColor("#e0a800")

FAULT_MEANING = {
    "C-1": "network down or severe problem, major impact",
    "C-2": "part of the network misbehaves, severe local impact",
    "C-3": "performance degraded, most business still runs",
}
ISO_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
CLOSED_STATES = (Status.CLOSED, Status.CANCELLED)


def render_service_record(
    view: RmaView,
    *,
    city: City | None = None,
    contract: str | None = None,
    part_description: str = "",
    printed_at: datetime | None = None,
) -> bytes:
    """The service record of ``view`` as PDF bytes (A4, as many pages as needed).

    ``city`` is the site's city (printed with its Chinese name), ``contract`` the
    contract number the entitlement rests on, ``part_description`` what the
    catalogue calls the part. Instants print in Asia/Shanghai; ``printed_at``
    (default now) also decides how much time is left on open promises. An RMA
    that is not closed prints marked "NOT YET SIGNED". Never writes.
    """
    rma = view.rma
    now = printed_at or clock.now()
    font = fonts()
    style = styles(font)
    signed = rma.status == Status.CLOSED and rma.signed_at is not None
    story: list[Flowable] = [
        _title_block(rma, style, font.cjk, signed),
        Spacer(1, 3 * mm),
        _parties_block(view, city, style),
        Paragraph("Unit and fault", style.heading),
        *_unit_block(rma, part_description, style),
        Paragraph("Entitlement", style.heading),
        _entitlement_block(rma, contract, style),
        Paragraph("Service commitments", style.heading),
        _promises_table(rma, now, style),
        Paragraph(f"Case history ({len(view.events)} events, Asia/Shanghai time)", style.heading),
        _history_table(view.events, style),
        Spacer(1, 4 * mm),
        _verdict_and_signatures(view, style, signed),
    ]
    status = "signed" if signed else "NOT YET SIGNED"
    return build_pdf(
        story,
        title="Service record",
        header_right=f"{rma.number} · {status}",
        font=font,
        printed_at=now,
    )


# --- blocks -----------------------------------------------------------------------------------


def _title_block(rma: Rma, style: Styles, cjk: bool, signed: bool) -> Table:
    heading = "Service record" + (" · 服务记录单" if cjk else "")
    left: list[Flowable] = [
        Paragraph(text(heading), style.title),
        Paragraph(
            f"RMA <b>{text(rma.number)}</b> &nbsp;·&nbsp; status <b>{text(rma.status)}</b>",
            style.body,
        ),
        Paragraph(
            f"Reported {text(local_time(rma.reported_at))} by {text(rma.reported_by)}",
            style.body,
        ),
    ]
    if not signed:
        warning = Paragraph(
            "NOT YET SIGNED: this record is not closed with the customer's verdict.",
            _colored(style.cell_bold, BAD),
        )
        left.append(warning)
    barcode = _barcode(rma.number, style)
    table = Table([[left, barcode]], colWidths=(CONTENT_WIDTH - 62 * mm, 62 * mm))
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


def _barcode(number: str, style: Styles) -> list[Flowable]:
    try:
        return labelled_barcode(number, style.caption, max_width=58 * mm, bar_height=12 * mm)
    except ValueError:
        # Not printable as Code128 (never for numbers the system gives): text only.
        return [Paragraph(text(number), style.big)]


def _parties_block(view: RmaView, city: City | None, style: Styles) -> Table:
    customer, site = view.customer, view.site

    def cell(label: str, lines: list[str]) -> list[Flowable]:
        return [Paragraph(label, style.small), *[Paragraph(line, style.body) for line in lines]]

    customer_lines = [f"<b>{text(customer.name)}</b>"]
    if customer.name_zh:
        customer_lines.append(text(customer.name_zh))
    customer_lines.append(f"Customer code {text(customer.code)}")
    site_lines = [f"<b>{text(site.name)}</b>"]
    if city is not None:
        place = f"{city.name} · {city.name_zh}" if city.name_zh else city.name
        site_lines.append(f"{text(place)} ({text(city.province)})")
    if site.address:
        site_lines.append(text(site.address))
    contact = " · ".join(part for part in (site.contact_name, site.contact_phone) if part)
    if contact:
        site_lines.append(f"Contact: {text(contact)}")
    half = CONTENT_WIDTH / 2 - 3 * mm
    table = Table(
        [[cell("CUSTOMER", customer_lines), "", cell("SITE", site_lines)]],
        colWidths=(half, 6 * mm, half),
    )
    table.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (0, 0), 0.8, INK),
                ("BOX", (2, 0), (2, 0), 0.8, INK),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
                ("LEFTPADDING", (0, 0), (-1, -1), 7),
            ]
        )
    )
    return table


def _facts(rows: list[tuple[str, str]], style: Styles) -> Table:
    """Label/value pairs, two pairs a row."""
    cells = [
        [Paragraph(text(label), style.small), Paragraph(value, style.cell)] for label, value in rows
    ]
    if len(cells) % 2:
        cells.append(["", ""])
    data = [cells[i] + cells[i + 1] for i in range(0, len(cells), 2)]
    label_width, value_width = 28 * mm, CONTENT_WIDTH / 2 - 28 * mm
    table = Table(data, colWidths=(label_width, value_width) * 2)
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
                ("LINEBELOW", (0, 0), (-1, -1), 0.3, RULE),
            ]
        )
    )
    return table


def _unit_block(rma: Rma, part_description: str, style: Styles) -> list[Flowable]:
    part = f"<b>{text(rma.part_number)}</b>"
    if part_description:
        part += f" · {text(part_description)}"
    rows = [
        ("Serial", f"<b>{text(rma.serial)}</b>" if rma.serial else "unknown (by part number)"),
        ("Part", part),
        ("Fault level", f"<b>{text(rma.fault_level)}</b> · {text(FAULT_MEANING[rma.fault_level])}"),
        ("Service", text(kinds.LABELS.get(rma.kind, rma.kind))),
    ]
    if rma.depot_code:
        shipped = rma.ship_part_number or rma.part_number
        if rma.shipped_serial:
            shipped += f" serial {rma.shipped_serial}"
        rows += [
            ("Shipped from", text(f"{rma.depot_code} ({rma.service or 'standard'} service)")),
            ("Unit shipped", text(shipped)),
        ]
    if rma.return_depot:
        rows.append(
            ("Returned to", text(f"{rma.return_depot} serial {rma.returned_serial or '—'}"))
        )
    if rma.cause_confirmed_at:
        rows.append(("Cause confirmed", text(local_time(rma.cause_confirmed_at))))
    flowables: list[Flowable] = [_facts(rows, style), Spacer(1, 2 * mm)]
    flowables.append(Paragraph("Symptom reported", style.small))
    flowables.append(Paragraph(_multiline(rma.symptom), style.body))
    if rma.status == Status.CANCELLED:
        flowables.append(
            Paragraph(
                f"<b>Cancelled</b> {text(local_time(rma.cancelled_at))}: {text(rma.cancel_reason)}",
                _colored(style.body, BAD),
            )
        )
    return flowables


def _entitlement_block(rma: Rma, contract: str | None, style: Styles) -> Table:
    verdict = "<b>Entitled</b> (free of charge)" if rma.entitled else "<b>Billable</b>"
    rows = [
        ("Entitlement", verdict),
        ("Reason", text(rma.entitlement_reason)),
        ("Service phase", text((rma.phase or "unknown").replace("_", " "))),
        ("Warranty end", text(rma.warranty_end.isoformat() if rma.warranty_end else "—")),
        ("Contract", text(contract or "none")),
        ("Coverage", text(rma.coverage)),
    ]
    if rma.approved_at:
        rows.append(("Approved", text(f"{local_time(rma.approved_at)} by {rma.approved_by or ''}")))
    return _facts(rows, style)


def _promise_result(promise: Commitment, rma: Rma) -> tuple[str, Any]:
    """The words and colour for how a commitment stands."""
    if not promise.applicable:
        return f"not applicable to {kinds.LABELS.get(rma.kind, rma.kind)}", MUTED
    if promise.met is True:
        return "MET", GOOD
    if promise.met is False:
        assert promise.done_at is not None and promise.due is not None
        late = clock.as_utc(promise.done_at) - clock.as_utc(promise.due)
        return f"MISSED by {_hours(late.total_seconds() / 3600)}", BAD
    if promise.due is None:
        if rma.status == Status.CANCELLED:
            return "not reached (cancelled)", MUTED
        return "clock not started yet", MUTED
    if promise.hours_left is None:
        return "not reached", MUTED
    if promise.hours_left < 0:
        return f"OVERDUE by {_hours(-promise.hours_left)}", BAD
    return f"open, {_hours(promise.hours_left)} left", INK


def _promises_table(rma: Rma, now: datetime, style: Styles) -> Table:
    header = [Paragraph(label, style.small) for label in ("Commitment", "Due", "Done", "Result")]
    rows: list[list[object]] = [header]
    for promise in commitments(rma, now):
        words, color = _promise_result(promise, rma)
        rows.append(
            [
                Paragraph(text(promise.label), style.cell),
                Paragraph(text(local_time(promise.due) or "—"), style.cell),
                Paragraph(text(local_time(promise.done_at) or "—"), style.cell),
                Paragraph(f"<b>{text(words)}</b>", _colored(style.cell, color)),
            ]
        )
    table = Table(rows, colWidths=(72 * mm, 30 * mm, 30 * mm, 46 * mm))
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("LINEBELOW", (0, 0), (-1, 0), 0.9, INK),
                ("LINEBELOW", (0, 1), (-1, -1), 0.3, RULE),
            ]
        )
    )
    return table


def _history_table(events: list[RmaEvent], style: Styles) -> Table:
    header = [
        Paragraph(label, style.small) for label in ("Time", "By", "Action", "Status", "Detail")
    ]
    rows: list[list[object]] = [header]
    commands: list[tuple[object, ...]] = []
    for index, event in enumerate(events, start=1):
        change = ""
        if event.to_status and event.from_status != event.to_status:
            change = f"{event.from_status or '—'} → {event.to_status}"
        rows.append(
            [
                Paragraph(text(local_time(event.at)), style.cell),
                Paragraph(text(event.actor), style.cell),
                Paragraph(text(event.action.replace("-", " ")), style.cell_bold),
                Paragraph(text(change), style.cell),
                Paragraph(text(_detail(event.detail)), style.cell),
            ]
        )
        if index % 2 == 0:
            commands.append(("BACKGROUND", (0, index), (-1, index), SHADE))
    if not events:
        rows.append(["", "", Paragraph("no events recorded", style.small), "", ""])
    table = Table(rows, colWidths=HISTORY_COLUMNS, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
                ("LINEBELOW", (0, 0), (-1, 0), 0.9, INK),
                *commands,
            ]
        )
    )
    return table


def _verdict_and_signatures(view: RmaView, style: Styles, signed: bool) -> KeepTogether:
    rma = view.rma
    parts: list[Flowable] = [Paragraph("The customer's verdict", style.heading)]
    if signed and rma.rating is not None:
        rating = Table(
            [[_stars(rma.rating), Paragraph(f"<b>{rma.rating} / 5</b>", style.big)]],
            colWidths=(46 * mm, 30 * mm),
            hAlign="LEFT",
        )
        rating.setStyle(
            TableStyle(
                [("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]
            )
        )
        parts += [
            rating,
            Spacer(1, 2 * mm),
            _facts(
                [
                    ("Remarks", _multiline(rma.remarks) or "—"),
                    ("Signed by", f"<b>{text(rma.signed_by)}</b>"),
                    ("Signed at", text(local_time(rma.signed_at))),
                    ("Closed by", text(_closed_by(view.events) or "")),
                ],
                style,
            ),
        ]
    else:
        parts.append(
            Paragraph(
                "<b>NOT YET SIGNED.</b> Rating (circle one): 1 &nbsp; 2 &nbsp; 3 &nbsp; 4 "
                "&nbsp; 5 &nbsp;&nbsp; Remarks: ______________________________________",
                _colored(style.body, BAD),
            )
        )
    parts += [Spacer(1, 4 * mm), _signature_boxes(view, style, signed)]
    parts.append(Spacer(1, 2 * mm))
    parts.append(
        Paragraph(
            "By signing, the customer confirms the service described above and gives "
            "the rating shown. All times Asia/Shanghai.",
            style.small,
        )
    )
    return KeepTogether(parts)


def _signature_boxes(view: RmaView, style: Styles, signed: bool) -> Table:
    rma = view.rma
    engineer = _closed_by(view.events) or rma.reported_by

    def box(title: str, name: str, at: datetime | None) -> list[Flowable]:
        return [
            Paragraph(text(title), style.cell_bold),
            Spacer(1, 3 * mm),
            Paragraph(f"Name: {text(name)}", style.cell),
            Spacer(1, 9 * mm),
            Paragraph("Signature: ______________________________", style.cell),
            Spacer(1, 4 * mm),
            Paragraph(f"Date / time: {text(local_time(at))}", style.cell),
        ]

    customer_name = (rma.signed_by or "") if signed else ""
    half = CONTENT_WIDTH / 2 - 3 * mm
    table = Table(
        [
            [
                box("Customer", customer_name, rma.signed_at if signed else None),
                "",
                box("Service engineer", engineer, rma.closed_at if signed else None),
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
    return table


# --- small pieces -------------------------------------------------------------------------------


def _stars(rating: int, size: float = 6.5 * mm) -> Drawing:
    """Five stars, ``rating`` of them filled: drawn, so no font needs a star glyph."""
    drawing = Drawing(5 * size + 4 * 1.5 * mm, size)
    outer, inner = size / 2, size / 5
    for n in range(5):
        cx, cy = n * (size + 1.5 * mm) + size / 2, size / 2
        points: list[float] = []
        for k in range(10):
            radius = outer if k % 2 == 0 else inner
            angle = math.pi / 2 + k * math.pi / 5
            points += [cx + radius * math.cos(angle), cy + radius * math.sin(angle)]
        filled = n < rating
        drawing.add(
            Polygon(
                points,
                fillColor=STAR_FILL if filled else colors.white,
                strokeColor=STAR_FILL if filled else MUTED,
                strokeWidth=0.8,
            )
        )
    return drawing


def _closed_by(events: list[RmaEvent]) -> str | None:
    return next((e.actor for e in reversed(events) if e.action == "close"), None)


def _multiline(value: str | None) -> str:
    return text(value or "").replace("\n", "<br/>")


def _colored(base: ParagraphStyle, color: Any) -> ParagraphStyle:
    return ParagraphStyle(f"{base.name}-{color.hexval()}", parent=base, textColor=color)


def _hours(hours: float) -> str:
    whole = int(hours)
    minutes = round((hours - whole) * 60)
    if minutes == 60:
        whole, minutes = whole + 1, 0
    if whole >= 48:
        days, rest = divmod(whole, 24)
        return f"{days} d {rest} h"
    return f"{whole} h {minutes:02d} min" if whole else f"{minutes} min"


def _detail(raw: str) -> str:
    """An event's JSON detail as ``key: value`` pairs; instants in Asia/Shanghai."""
    try:
        detail = json.loads(raw) if raw else {}
    except ValueError:
        return raw
    if not isinstance(detail, dict):
        return str(detail)
    pairs = []
    for key, value in detail.items():
        if value is None or value == "":
            continue
        pairs.append(f"{key.replace('_', ' ')}: {_value(value)}")
    return "; ".join(pairs)


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and ISO_INSTANT.match(value):
        try:
            instant = datetime.fromisoformat(value)
        except ValueError:
            return value
        if instant.tzinfo is not None:
            return local_time(instant)
    return str(value)
