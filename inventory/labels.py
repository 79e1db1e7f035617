"""What the inventory's stored codes are called, in the reader's language.

Codes stay codes in the database, the API and the CSV files (``in_transit``,
``partially_received``, ``transfer_receive``); pages, flashes, the transfer note
and the messages of refused steps name them with these labels. They are lazy:
translated when shown, so a page in Chinese reads 在途 where the API says
``in_transit``.
"""

from __future__ import annotations

import re
from typing import Any

from core.i18n import gettext, lazy_gettext

BUCKET_LABELS: dict[str, Any] = {
    "good": lazy_gettext("good"),
    "defective": lazy_gettext("defective"),
    "in_repair": lazy_gettext("in repair"),
    "quarantine": lazy_gettext("quarantine"),
    "in_transit": lazy_gettext("in transit"),
}

LOCATION_LABELS: dict[str, Any] = {
    "depot": lazy_gettext("on the shelf"),
    "in_transit": lazy_gettext("in transit"),
    "customer": lazy_gettext("at a customer"),
    "repair": lazy_gettext("at the repair centre"),
    "scrapped": lazy_gettext("scrapped"),
    "missing": lazy_gettext("missing"),
    "sent_back": lazy_gettext("sent back to its sender"),
}

FAMILY_LABELS: dict[str, Any] = {
    "chassis": lazy_gettext("chassis"),
    "line_card": lazy_gettext("line card"),
    "supervisor": lazy_gettext("supervisor engine"),
    "power": lazy_gettext("power supply"),
    "fan": lazy_gettext("fan"),
    "optic": lazy_gettext("optic"),
    "cable": lazy_gettext("cable"),
    "module": lazy_gettext("module"),
}

CRITICALITY_LABELS: dict[str, Any] = {
    "critical": lazy_gettext("critical"),
    "high": lazy_gettext("high"),
    "medium": lazy_gettext("medium"),
    "low": lazy_gettext("low"),
}

TRANSFER_STATUS_LABELS: dict[str, Any] = {
    "draft": lazy_gettext("draft"),
    "shipped": lazy_gettext("shipped"),
    "partially_received": lazy_gettext("partially received"),
    "received": lazy_gettext("received"),
    "cancelled": lazy_gettext("cancelled"),
}

RESERVATION_STATUS_LABELS: dict[str, Any] = {
    "active": lazy_gettext("active"),
    "released": lazy_gettext("released"),
    "picked": lazy_gettext("picked"),
}

PLAN_STATUS_LABELS: dict[str, Any] = {
    "proposed": lazy_gettext("proposed"),
    "approved": lazy_gettext("approved"),
    "discarded": lazy_gettext("discarded"),
}

DISCREPANCY_LABELS: dict[str, Any] = {
    "short": lazy_gettext("short"),
    "extra": lazy_gettext("extra"),
    "wrong_serial": lazy_gettext("wrong serial"),
}

RESOLUTION_LABELS: dict[str, Any] = {
    "accepted": lazy_gettext("accepted"),
    "sent_back": lazy_gettext("sent back"),
    "arrived": lazy_gettext("arrived late"),
    "written_off": lazy_gettext("written off"),
}

# Movement kinds (``Movement.kind``) as the ledger and a unit's history show them.
MOVEMENT_LABELS: dict[str, Any] = {
    "receipt": lazy_gettext("receipt"),
    "adjustment": lazy_gettext("adjustment"),
    "scrap": lazy_gettext("scrap"),
    "condition": lazy_gettext("condition change"),
    "count": lazy_gettext("cycle count"),
    "return": lazy_gettext("return from customer"),
    "reserve": lazy_gettext("reservation"),
    "release": lazy_gettext("reservation released"),
    "pick": lazy_gettext("pick"),
    "transfer_ship": lazy_gettext("transfer shipped"),
    "transfer_receive": lazy_gettext("transfer received"),
    "transfer_late_receipt": lazy_gettext("late parcel received"),
    "transfer_write_off": lazy_gettext("transfer shortfall written off"),
    "extra_accepted": lazy_gettext("extra accepted"),
    "extra_sent_back": lazy_gettext("extra sent back"),
    "import": lazy_gettext("import"),
}


def label(labels: dict[str, Any], code: str | None) -> str:
    """The label of ``code`` in the reader's language; an unknown code as it is (with
    spaces for underscores), so a code added later still reads."""
    if code is None:
        return ""
    found = labels.get(code)
    return str(found) if found is not None else code.replace("_", " ")


# Notes the system stores on discrepancies and units, shown in the reader's language.
NOTES: tuple[tuple[re.Pattern[str], Any], ...] = (
    (re.compile(r"^shipped but not received$"), lambda m: gettext("shipped but not received")),
    (
        re.compile(r"^still missing after a late parcel$"),
        lambda m: gettext("still missing after a late parcel"),
    ),
    (
        re.compile(r"^received but not shipped on this transfer: .*$"),
        lambda m: gettext(
            "received but not shipped on this transfer: in quarantine until accepted or sent back"
        ),
    ),
    (
        re.compile(r"^recorded at (\w+), arrived on this transfer$"),
        lambda m: gettext("recorded at %(depot)s, arrived on this transfer", depot=m.group(1)),
    ),
    (
        re.compile(r"^arrived unannounced on (T\d+); sent back$"),
        lambda m: gettext("arrived unannounced on %(code)s; sent back", code=m.group(1)),
    ),
    (
        re.compile(r"^arrived unannounced on (T\d+)$"),
        lambda m: gettext("arrived unannounced on %(code)s", code=m.group(1)),
    ),
    (
        re.compile(r"^lost on (T\d+); written off$"),
        lambda m: gettext("lost on %(code)s; written off", code=m.group(1)),
    ),
)


def note_text(note: str | None) -> str:
    """A note the system wrote, in the reader's language; anything else as stored."""
    text = note or ""
    for pattern, say in NOTES:
        match = pattern.match(text)
        if match:
            return str(say(match))
    return text
