"""How the report's tables count: a share in percent, a mean, and whether each
case's promise was judged and met.

Percentages are 0 to 100 rounded to one decimal, means to two (hours to one),
and both are None when there was nothing to count. A promise is judged by the
columns ``rma.service.promises.JUDGED`` names (the 24-hour replacement on
delivery, the 72-working-hour repair on its return) and met when done at or
before the due time, the rule every other surface applies.
"""

from __future__ import annotations

import pandas as pd

from reports.service.period import Period, within
from rma.service.promises import JUDGED


def pct(part: int, whole: int) -> float | None:
    """``part`` of ``whole`` in percent (0-100, one decimal); None for nothing."""
    return round(100.0 * part / whole, 1) if whole else None


def mean(values: pd.Series, digits: int = 2) -> float | None:
    """The mean of the values present, rounded to ``digits``; None without any."""
    values = values.dropna()
    return round(float(values.mean()), digits) if len(values) else None


def promise_columns(cases: pd.DataFrame, period: Period | None) -> tuple[pd.Series, pd.Series]:
    """Per case: whether its promise is judged, and whether it was met.

    The judged promises and their columns are ``rma.service.promises.JUDGED`` (the
    24-hour replacement on delivery, the 72-working-hour repair on its return),
    met when done at or before the due time, as everywhere else; with a
    ``period``, only steps done in it are judged, without one every step so far.
    """
    judged = pd.Series(False, index=cases.index)
    met = pd.Series(False, index=cases.index)
    for promise in JUDGED:
        done, due = cases[promise.done], cases[promise.due]
        happened = done.notna() if period is None else within(done, period)
        this = cases["kind"].isin(promise.kinds) & happened & due.notna()
        judged |= this
        met |= this & (done <= due)
    return judged, met
