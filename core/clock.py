"""The one source of "now": UTC, timezone-aware. Tests freeze it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

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
