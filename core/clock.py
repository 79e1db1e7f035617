"""The one source of "now": UTC, timezone-aware. Tests freeze it.

Also the one rule for instants that people and programs send (``read_instant``):
ISO 8601; without an offset a time is Asia/Shanghai wall-clock time, where every
depot works; only instants from 2000 to 2199 exist for this system.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from core.errors import Invalid
from core.i18n import gettext

SHANGHAI = ZoneInfo("Asia/Shanghai")

# The window of instants the system accepts from outside. Nothing it records
# happened before 2000 (before 1901 Asia/Shanghai even had a local-mean-time
# offset of +08:05:43), and the working-hours calendars hold days up to 2199.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)  # exclusive
# How far into the future a reported fact (a fault reported, a parcel delivered) may
# lie: clocks of clients and servers disagree by a little, never by more.
FUTURE_LEEWAY = timedelta(minutes=5)
_DATE_AND_TIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d")
# In a query string an unencoded '+08:00' arrives as ' 08:00'.
_SPACE_FOR_PLUS = re.compile(r"(T\d\d:\d\d(?::\d\d(?:\.\d+)?)?) (\d\d:?\d\d)$")

_frozen: datetime | None = None


def now() -> datetime:
    """Current instant in UTC (aware)."""
    return _frozen if _frozen is not None else datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Normalise an aware datetime to UTC; naive values are taken as UTC.

    Naive values come back from SQLite, which has no time-zone type, and every
    instant this project stores is UTC.
    """
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def local(value: datetime) -> datetime:
    """The instant shown in Asia/Shanghai, where every depot works."""
    return as_utc(value).astimezone(SHANGHAI)


@contextmanager
def frozen(at: datetime) -> Iterator[datetime]:
    """Freeze now() at ``at`` for the duration of the block."""
    global _frozen
    previous, _frozen = _frozen, as_utc(at)
    try:
        yield _frozen
    finally:
        _frozen = previous


def read_instant(value: str | datetime) -> datetime:
    """An instant sent from outside (API, form, CLI) as an aware UTC datetime.

    Text is ISO 8601 (``2026-03-02T09:00:00+08:00``, ``...Z``; a plus sign that
    arrived as a space is put back). A value without an offset is Asia/Shanghai
    wall-clock time, everywhere: the pages' date-and-time fields have no offset and
    mean Shanghai time, so the API and the CLI read it the same way. Raises
    ``ValueError`` with a message for people when the text is not a date and
    time, or when the instant lies outside ``EARLIEST`` .. ``LATEST`` (2000-2199).
    """
    if isinstance(value, datetime):
        parsed = value
    else:
        text = _SPACE_FOR_PLUS.sub(r"\1+\2", value.strip())
        try:
            if not _DATE_AND_TIME.match(text):  # a day alone is not an instant
                raise ValueError(text)
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                gettext("%(text)r is not a date and time like 2026-03-02T09:00", text=value)
            ) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        parsed = parsed.replace(tzinfo=SHANGHAI)
    try:
        instant = parsed.astimezone(UTC)
    except OverflowError:  # year 1 at +14:00, year 9999 at -14:00
        instant = None
    if instant is None or not EARLIEST <= instant < LATEST:
        raise ValueError(gettext("must be a date and time between the years 2000 and 2199"))
    return instant


def read_optional_instant(raw: str | None, label: str, field: str | None = None) -> datetime | None:
    """A date-and-time field of a form or an option of the CLI, by ``read_instant``'s
    rule: empty is None; anything unreadable or outside the window raises
    ``Invalid`` naming ``label`` (and ``field``, for the form to mark)."""
    text = (raw or "").strip()
    if not text:
        return None
    try:
        return read_instant(text)
    except ValueError as error:
        raise Invalid(
            gettext("%(field)s: %(problem)s", field=label, problem=str(error)), field=field
        ) from None
