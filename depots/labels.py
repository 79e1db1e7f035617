"""What the depots' stored codes and shipped names are called, in the reader's language.

Codes stay codes in the database, the API and the CSV files (``road``, ``city``,
``emergency``, ``holiday``); pages name them with these labels. The calendars and
holidays shipped with the software carry English names in the database (the
administrators' own are kept as typed): a page shows the shipped ones translated.
Labels are lazy, translated when shown.
"""

from __future__ import annotations

from typing import Any

from core.i18n import lazy_gettext

MODE_LABELS: dict[str, Any] = {
    "courier": lazy_gettext("same-city courier"),
    "road": lazy_gettext("road express"),
    "air": lazy_gettext("air express"),
}

KIND_LABELS: dict[str, Any] = {
    "city": lazy_gettext("customer city"),
    "depot": lazy_gettext("depot"),
}

SERVICE_LABELS: dict[str, Any] = {
    "standard": lazy_gettext("standard"),
    "emergency": lazy_gettext("emergency courier"),
}

DAY_KIND_LABELS: dict[str, Any] = {
    "holiday": lazy_gettext("holiday"),
    "workday": lazy_gettext("make-up working day"),
}

# The names the shipped calendars and holidays are stored under.
SHIPPED_NAMES: dict[str, Any] = {
    "Standard hotline 5x8": lazy_gettext("Standard hotline 5x8"),
    "7x24 contract coverage": lazy_gettext("7x24 contract coverage"),
    "New Year's Day": lazy_gettext("New Year's Day"),
    "Spring Festival": lazy_gettext("Spring Festival"),
    "Qingming": lazy_gettext("Qingming"),
    "Labour Day": lazy_gettext("Labour Day"),
    "Dragon Boat": lazy_gettext("Dragon Boat"),
    "Mid-Autumn": lazy_gettext("Mid-Autumn"),
    "National Day": lazy_gettext("National Day"),
}

WEEKDAY_SHORT: tuple[Any, ...] = (
    lazy_gettext("Mon"),
    lazy_gettext("Tue"),
    lazy_gettext("Wed"),
    lazy_gettext("Thu"),
    lazy_gettext("Fri"),
    lazy_gettext("Sat"),
    lazy_gettext("Sun"),
)

MONTH_NAMES: tuple[Any, ...] = (
    lazy_gettext("January"),
    lazy_gettext("February"),
    lazy_gettext("March"),
    lazy_gettext("April"),
    lazy_gettext("May"),
    lazy_gettext("June"),
    lazy_gettext("July"),
    lazy_gettext("August"),
    lazy_gettext("September"),
    lazy_gettext("October"),
    lazy_gettext("November"),
    lazy_gettext("December"),
)


def label(labels: dict[str, Any], code: str | None) -> str:
    """The label of ``code`` in the reader's language; an unknown code as it is."""
    if not code:
        return ""
    found = labels.get(code)
    return str(found) if found is not None else code


def shipped_name(name: str | None) -> str:
    """A calendar's or holiday's name: a shipped one translated, any other as typed."""
    return label(SHIPPED_NAMES, name)
