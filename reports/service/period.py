"""The period a report covers: Asia/Shanghai calendar days, both ends included.

``Period.parse`` turns the dates people type (or none: the 30 days before today,
and today) into a period, refusing text that is no date, a start after the end,
a span over two years and dates outside the years 2000 to 2199; its
``start_at``/``end_at`` are the UTC instants the tables compare with, the end
exclusive, and ``within`` tells which instants of a column fall in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pandas as pd

from core import clock
from core.errors import Invalid
from core.i18n import gettext

DEFAULT_DAYS = 30  # the default period: the 30 days before today, and today
MAX_SPAN_DAYS = 731  # two years, a leap day included
EARLIEST = date(2000, 1, 1)
LATEST = date(2199, 12, 31)


def _as_date(value: date | str | None, name: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    text = value.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Invalid(
            gettext("%(name)s: %(value)r is not a date (YYYY-MM-DD)", name=name, value=value),
            field=name,
        ) from None


@dataclass(frozen=True)
class Period:
    """Asia/Shanghai calendar days from ``start`` to ``end``, both included."""

    start: date
    end: date

    @classmethod
    def parse(
        cls,
        start: date | str | None = None,
        end: date | str | None = None,
        *,
        today: date | None = None,
        names: tuple[str, str] = ("start", "end"),
    ) -> Period:
        """The period from optional ``start``/``end`` dates (``date`` or ISO text).

        Without ``end`` it ends today (Asia/Shanghai); without ``start`` it starts
        ``DEFAULT_DAYS`` days before the end. Raises ``Invalid`` for text that is no
        date, a start after the end, a span of more than two years, or dates outside
        the years 2000 to 2199. ``names`` are what the dates are called where they
        were typed (``from``/``to`` on the catalogue's reports), in messages and
        fields.
        """
        first_name, last_name = names
        first, last = _as_date(start, first_name), _as_date(end, last_name)
        last = last or today or clock.local(clock.now()).date()
        if not EARLIEST <= last <= LATEST:
            raise Invalid(
                gettext(
                    "%(name)s must be between %(earliest)s and %(latest)s",
                    name=last_name,
                    earliest=EARLIEST,
                    latest=LATEST,
                ),
                field=last_name,
            )
        first = first or max(last - timedelta(days=DEFAULT_DAYS), EARLIEST)
        for name, value in ((first_name, first), (last_name, last)):
            if not EARLIEST <= value <= LATEST:
                raise Invalid(
                    gettext(
                        "%(name)s must be between %(earliest)s and %(latest)s",
                        name=name,
                        earliest=EARLIEST,
                        latest=LATEST,
                    ),
                    field=name,
                )
        if first > last:
            raise Invalid(
                gettext("start %(start)s is after end %(end)s", start=first, end=last),
                field=first_name,
            )
        if (last - first).days + 1 > MAX_SPAN_DAYS:
            raise Invalid(
                gettext(
                    "the period %(start)s to %(end)s is longer than two years; choose a "
                    "shorter one",
                    start=first,
                    end=last,
                ),
                field=last_name,
            )
        return cls(first, last)

    @property
    def start_at(self) -> datetime:
        """The first instant of the period (UTC)."""
        return clock.as_utc(datetime.combine(self.start, time(), clock.SHANGHAI))

    @property
    def end_at(self) -> datetime:
        """The first instant after the period (UTC): the end is exclusive."""
        return clock.as_utc(datetime.combine(self.end + timedelta(days=1), time(), clock.SHANGHAI))

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def slug(self) -> str:
        """``2026-10-27_2026-11-26``: for file names."""
        return f"{self.start.isoformat()}_{self.end.isoformat()}"

    @property
    def label(self) -> str:
        """``2026-10-27 to 2026-11-26``, in the reader's language."""
        return gettext(
            "%(start)s to %(end)s", start=self.start.isoformat(), end=self.end.isoformat()
        )


def within(series: pd.Series, period: Period) -> pd.Series:
    """True where the instant lies in the period (NaT never does)."""
    return (series >= pd.Timestamp(period.start_at)) & (series < pd.Timestamp(period.end_at))
