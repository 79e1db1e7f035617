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

from flask_babel import pgettext
from flask_babel.speaklater import LazyString

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

# A transfer's statuses carry a context: "received" is 已收货 for a transfer, whatever
# another package's catalogue says for its own "received" (the catalogues are merged).
TRANSFER_STATUS_LABELS: dict[str, Any] = {
    "draft": LazyString(lambda: pgettext("transfer status", "draft")),
    "shipped": LazyString(lambda: pgettext("transfer status", "shipped")),
    "partially_received": LazyString(lambda: pgettext("transfer status", "partially received")),
    "received": LazyString(lambda: pgettext("transfer status", "received")),
    "cancelled": LazyString(lambda: pgettext("transfer status", "cancelled")),
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


# The reasons the system writes on movements (stored in English, shown in the reader's
# language); a reason a person typed is shown as typed.
_BUCKET = "|".join(sorted(BUCKET_LABELS))
REASONS: tuple[tuple[re.Pattern[str], Any], ...] = (
    (
        re.compile(r"^transfer (\w+) -> (\w+)$"),
        lambda m: gettext("transfer %(source)s → %(target)s", source=m[1], target=m[2]),
    ),
    (re.compile(r"^received from supplier$"), lambda m: gettext("received from supplier")),
    (re.compile(r"^opening stock \(demo data\)$"), lambda m: gettext("opening stock (demo data)")),
    (re.compile(r"^stock import$"), lambda m: gettext("stock import")),
    (re.compile(r"^returned by customer$"), lambda m: gettext("returned by customer")),
    (
        re.compile(r"^cycle count: expected (\d+), counted (\d+)$"),
        lambda m: gettext(
            "cycle count: expected %(expected)s, counted %(counted)s",
            expected=m[1],
            counted=m[2],
        ),
    ),
    (
        re.compile(rf"^({_BUCKET}) -> ({_BUCKET})$"),
        lambda m: f"{label(BUCKET_LABELS, m[1])} → {label(BUCKET_LABELS, m[2])}",
    ),
    (
        re.compile(r"^extra (.+) on (T\d+) accepted after inspection(?:: (.*))?$"),
        lambda m: (
            gettext("extra %(what)s on %(code)s accepted after inspection", what=m[1], code=m[2])
            + (f": {m[3]}" if m[3] else "")
        ),
    ),
    (
        re.compile(r"^extra (.+) on (T\d+) sent back to its sender \((\w+)\)(?:: (.*))?$"),
        lambda m: (
            gettext(
                "extra %(what)s on %(code)s sent back to its sender (%(depot)s)",
                what=m[1],
                code=m[2],
                depot=m[3],
            )
            + (f": {m[4]}" if m[4] else "")
        ),
    ),
    (
        re.compile(r"^shortfall on (T\d+) written off: (.*)$"),
        lambda m: gettext("shortfall on %(code)s written off: %(reason)s", code=m[1], reason=m[2]),
    ),
    # Written by the RMA desk when a unit comes back (``rma.service.returns``).
    (
        re.compile(r"^defective unit of (RMA-\d{4}-\d+)$"),
        lambda m: gettext("defective unit of %(number)s", number=m[1]),
    ),
    (
        re.compile(r"^loaner back from (RMA-\d{4}-\d+)$"),
        lambda m: gettext("loaner back from %(number)s", number=m[1]),
    ),
    (
        re.compile(r"^shipped unit back from cancelled (RMA-\d{4}-\d+)$"),
        lambda m: gettext("shipped unit back from cancelled %(number)s", number=m[1]),
    ),
)


def reason_text(reason: str | None) -> str:
    """A movement's reason in the reader's language when the system wrote it."""
    text = reason or ""
    for pattern, say in REASONS:
        match = pattern.match(text)
        if match:
            return str(say(match))
    return text
