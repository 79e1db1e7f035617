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

Its words are the reader's: printed from a page, the labels, statuses, the
history and the verdict are in the language of whoever prints it (Chinese names
first on a Chinese record); from the API or the terminal it prints in English.
Without a font that can draw Chinese it prints in English rather than in boxes.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from flask_babel import force_locale
from reportlab.graphics.shapes import Drawing, Polygon
from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer, Table, TableStyle

from core import clock
from core.i18n import gettext, zh_first
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
from rma.service import wording
from rma.service.promises import Commitment, commitments
from rma.service.queries import RmaView, event_detail

HISTORY_COLUMNS = (27 * mm, 27 * mm, 27 * mm, 33 * mm, 64 * mm)
GOOD = colors.HexColor("#1f7a3a")
BAD = colors.HexColor("#b3261e")
STAR_FILL = colors.HexColor("#e0a800")

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
    font = fonts()
    if not font.cjk:
        # Chinese words would print as boxes: the record is printed in English instead.
        with force_locale("en"):
            return _render(view, city, contract, part_description, printed_at, font)
    return _render(view, city, contract, part_description, printed_at, font)


def _render(
    view: RmaView,
    city: City | None,
    contract: str | None,
    part_description: str,
    printed_at: datetime | None,
    font: Any,
) -> bytes:
    rma = view.rma
    now = printed_at or clock.now()
    style = styles(font)
    signed = rma.status == Status.CLOSED and rma.signed_at is not None
    story: list[Flowable] = [
        _title_block(rma, style, font.cjk, signed),
        Spacer(1, 3 * mm),
        _parties_block(view, city, style),
        Paragraph(text(gettext("Unit and fault")), style.heading),
        *_unit_block(rma, part_description, style),
        Paragraph(text(gettext("Entitlement")), style.heading),
        _entitlement_block(rma, contract, style),
        Paragraph(text(gettext("Service commitments")), style.heading),
        _promises_table(rma, now, style),
        Paragraph(
            text(
                gettext(
                    "Case history (%(count)s events, Asia/Shanghai time)", count=len(view.events)
                )
            ),
            style.heading,
        ),
        _history_table(view.events, style),
        Spacer(1, 4 * mm),
        _verdict_and_signatures(view, style, signed),
    ]
    status = gettext("signed") if signed else gettext("NOT YET SIGNED")
    return build_pdf(
        story,
        title=gettext("Service record"),
        header_right=f"{rma.number} · {status}",
        font=font,
        printed_at=now,
    )


# --- blocks -----------------------------------------------------------------------------------


def _title_block(rma: Rma, style: Styles, cjk: bool, signed: bool) -> Table:
    heading = gettext("Service record")
    if cjk and not wording.is_chinese():
        heading += " · 服务记录单"  # the customer reads Chinese whatever the engineer's language
    left: list[Flowable] = [
        Paragraph(text(heading), style.title),
        Paragraph(
            gettext(
                "RMA %(rma)s · status %(status)s",
                rma=_bold(rma.number),
                status=_bold(kinds.status_label(rma.status)),
            ),
            style.body,
        ),
        Paragraph(
            text(
                gettext(
                    "Reported %(when)s by %(user)s",
                    when=local_time(rma.reported_at),
                    user=rma.reported_by,
                )
            ),
            style.body,
        ),
    ]
    if not signed:
        warning = Paragraph(
            text(gettext("NOT YET SIGNED: this record is not closed with the customer's verdict.")),
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

    chinese_first = bool(customer.name_zh) and wording.is_chinese()
    first, second = (
        (customer.name_zh, customer.name) if chinese_first else (customer.name, customer.name_zh)
    )
    customer_lines = [f"<b>{text(first)}</b>"]
    if second:
        customer_lines.append(text(second))
    customer_lines.append(text(gettext("Customer code %(code)s", code=customer.code)))
    site_lines = [f"<b>{text(site.name)}</b>"]
    if city is not None:
        place = zh_first(city.name_zh, city.name)
        if place == city.name and city.name_zh:
            place = f"{city.name} · {city.name_zh}"
        site_lines.append(f"{text(place)} ({text(city.province)})")
    if site.address:
        site_lines.append(text(site.address))
    contact = " · ".join(part for part in (site.contact_name, site.contact_phone) if part)
    if contact:
        site_lines.append(text(gettext("Contact: %(contact)s", contact=contact)))
    half = CONTENT_WIDTH / 2 - 3 * mm
    table = Table(
        [
            [
                cell(text(gettext("CUSTOMER")), customer_lines),
                "",
                cell(text(gettext("SITE")), site_lines),
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
    meaning = kinds.FAULT_LEVEL_MEANINGS.get(rma.fault_level, "")
    rows = [
        (
            gettext("Serial"),
            f"<b>{text(rma.serial)}</b>"
            if rma.serial
            else text(gettext("unknown (by part number)")),
        ),
        (gettext("Part"), part),
        (gettext("Fault level"), f"<b>{text(rma.fault_level)}</b> · {text(meaning)}"),
        (gettext("Service"), text(kinds.kind_label(rma.kind))),
    ]
    if rma.depot_code:
        shipped = rma.ship_part_number or rma.part_number
        if rma.shipped_serial:
            shipped = gettext("%(part)s serial %(serial)s", part=shipped, serial=rma.shipped_serial)
        carrier = wording.service_label(rma.service or "standard")
        rows += [
            (
                gettext("Shipped from"),
                text(
                    gettext(
                        "%(depot)s (%(service)s service)", depot=rma.depot_code, service=carrier
                    )
                ),
            ),
            (gettext("Unit shipped"), text(shipped)),
        ]
    if rma.return_depot:
        rows.append(
            (
                gettext("Returned to"),
                text(
                    gettext(
                        "%(depot)s serial %(serial)s",
                        depot=rma.return_depot,
                        serial=rma.returned_serial or "—",
                    )
                ),
            )
        )
    if rma.cause_confirmed_at:
        rows.append((gettext("Cause confirmed"), text(local_time(rma.cause_confirmed_at))))
    flowables: list[Flowable] = [_facts(rows, style), Spacer(1, 2 * mm)]
    flowables.append(Paragraph(text(gettext("Symptom reported")), style.small))
    flowables.append(Paragraph(_multiline(rma.symptom), style.body))
    if rma.status == Status.CANCELLED:
        flowables.append(
            Paragraph(
                _bold(gettext("Cancelled")) + f" {text(local_time(rma.cancelled_at))}: "
                f"{text(rma.cancel_reason)}",
                _colored(style.body, BAD),
            )
        )
    return flowables


def _entitlement_block(rma: Rma, contract: str | None, style: Styles) -> Table:
    verdict = (
        _bold(gettext("Entitled")) + " (" + text(gettext("free of charge")) + ")"
        if rma.entitled
        else _bold(gettext("Billable"))
    )
    phase = str(kinds.PHASE_LABELS.get(rma.phase or "", "")) or gettext("unknown")
    rows = [
        (gettext("Entitlement"), verdict),
        (gettext("Reason"), text(wording.entitlement_text(rma.entitlement_reason))),
        (gettext("Service phase"), text(phase)),
        (
            gettext("Warranty end"),
            text(rma.warranty_end.isoformat() if rma.warranty_end else "—"),
        ),
        (gettext("Contract"), text(contract or gettext("none"))),
        (gettext("Coverage"), text(rma.coverage)),
    ]
    if rma.approved_at:
        rows.append(
            (
                gettext("Approved"),
                text(
                    gettext(
                        "%(when)s by %(user)s",
                        when=local_time(rma.approved_at),
                        user=rma.approved_by or "",
                    )
                ),
            )
        )
    return _facts(rows, style)


def _promise_result(promise: Commitment, rma: Rma) -> tuple[str, Any]:
    """The words and colour for how a commitment stands."""
    if not promise.applicable:
        return gettext("not applicable to this kind of service"), MUTED
    if promise.met is True:
        return gettext("MET"), GOOD
    if promise.met is False:
        assert promise.done_at is not None and promise.due is not None
        late = clock.as_utc(promise.done_at) - clock.as_utc(promise.due)
        return gettext("MISSED by %(late)s", late=_hours(late.total_seconds() / 3600)), BAD
    if promise.due is None:
        if rma.status == Status.CANCELLED:
            return gettext("not reached (cancelled)"), MUTED
        return gettext("clock not started yet"), MUTED
    if promise.hours_left is None:
        return gettext("not reached"), MUTED
    if promise.hours_left < 0:
        return gettext("OVERDUE by %(late)s", late=_hours(-promise.hours_left)), BAD
    return gettext("open, %(left)s left", left=_hours(promise.hours_left)), INK


def _promises_table(rma: Rma, now: datetime, style: Styles) -> Table:
    labels = (gettext("Commitment"), gettext("Due"), gettext("Done"), gettext("Result"))
    header = [Paragraph(text(label), style.small) for label in labels]
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
    labels = (gettext("Time"), gettext("By"), gettext("Action"), gettext("Status"))
    header = [Paragraph(text(label), style.small) for label in (*labels, gettext("Detail"))]
    rows: list[list[object]] = [header]
    commands: list[tuple[object, ...]] = []
    for index, event in enumerate(events, start=1):
        change = ""
        if event.to_status and event.from_status != event.to_status:
            change = wording.status_change(event.from_status, event.to_status)
        rows.append(
            [
                Paragraph(text(local_time(event.at)), style.cell),
                Paragraph(text(wording.actor_name(event.actor)), style.cell),
                Paragraph(text(wording.action_label(event.action)), style.cell_bold),
                Paragraph(text(change), style.cell),
                Paragraph(text(_detail(event)), style.cell),
            ]
        )
        if index % 2 == 0:
            commands.append(("BACKGROUND", (0, index), (-1, index), SHADE))
    if not events:
        rows.append(["", "", Paragraph(text(gettext("no events recorded")), style.small), "", ""])
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
    parts: list[Flowable] = [Paragraph(text(gettext("The customer's verdict")), style.heading)]
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
                    (gettext("Remarks"), _multiline(rma.remarks) or "—"),
                    (gettext("Signed by"), f"<b>{text(rma.signed_by)}</b>"),
                    (gettext("Signed at"), text(local_time(rma.signed_at))),
                    (gettext("Closed by"), text(_closed_by(view.events) or "")),
                ],
                style,
            ),
        ]
    else:
        parts.append(
            Paragraph(
                _bold(gettext("NOT YET SIGNED."))
                + " "
                + text(gettext("Rating (circle one):"))
                + " 1 &nbsp; 2 &nbsp; 3 &nbsp; 4 &nbsp; 5 &nbsp;&nbsp; "
                + text(gettext("Remarks:"))
                + " ______________________________________",
                _colored(style.body, BAD),
            )
        )
    parts += [Spacer(1, 4 * mm), _signature_boxes(view, style, signed)]
    parts.append(Spacer(1, 2 * mm))
    parts.append(
        Paragraph(
            text(
                gettext(
                    "By signing, the customer confirms the service described above and gives "
                    "the rating shown. All times Asia/Shanghai."
                )
            ),
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
            Paragraph(text(gettext("Name: %(name)s", name=name)), style.cell),
            Spacer(1, 9 * mm),
            Paragraph(text(gettext("Signature:")) + " ______________________________", style.cell),
            Spacer(1, 4 * mm),
            Paragraph(text(gettext("Date / time: %(when)s", when=local_time(at))), style.cell),
        ]

    customer_name = (rma.signed_by or "") if signed else ""
    half = CONTENT_WIDTH / 2 - 3 * mm
    table = Table(
        [
            [
                box(gettext("Customer"), customer_name, rma.signed_at if signed else None),
                "",
                box(gettext("Service engineer"), engineer, rma.closed_at if signed else None),
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


def _bold(value: object) -> str:
    return "<b>" + text(value) + "</b>"


def _multiline(value: str | None) -> str:
    return text(value or "").replace("\n", "<br/>")


def _colored(base: ParagraphStyle, color: Any) -> ParagraphStyle:
    return ParagraphStyle(f"{base.name}-{color.hexval()}", parent=base, textColor=color)


def _hours(hours: float) -> str:
    return wording.format_duration(timedelta(hours=hours))


def _detail(event: RmaEvent) -> str:
    """An event's detail as ``name: value`` pairs in the reader's language."""
    pairs = wording.detail_pairs(event.action, event_detail(event.detail))
    return "; ".join(f"{name}: {value}" for name, value in pairs)
