"""The headline of the service-levels report: cases opened, closed and cancelled
in the period, the two promises judged on the deliveries and returns in it,
the customers' ratings, the escalations raised by fault level, and two "now"
figures (cases open, open cases at risk, defective returns overdue) as of the
moment the report is generated. The "now" counts are the RMA domain's: at risk by
the one promise rule (``rma.service.promises.at_risk_condition``, as the case
lists and ``/metrics`` judge it), overdue by the rule the daily reminders chase.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from core import clock
from core.db import UnitOfWork, read_only
from core.i18n import gettext
from reports.service.counting import mean, pct, promise_columns
from reports.service.loading import load_cases, load_escalations
from reports.service.period import Period, within
from rma import kinds
from rma.models import FAULT_LEVELS, Kind
from rma.service.figures import count_at_risk
from rma.service.queries import count_open, count_overdue_returns


@dataclass(frozen=True)
class Headline:
    """The period's headline; ``*_pct`` are 0-100 or None when nothing was judged."""

    opened: int
    closed: int
    cancelled: int
    open_now: int
    replacements_delivered: int
    replacements_on_time: int
    replacement_met_pct: float | None
    repairs_returned: int
    repairs_on_time: int
    repair_met_pct: float | None
    ratings: int
    average_rating: float | None
    escalations: dict[str, int]
    overdue_returns_now: int
    at_risk_now: int = 0

    @property
    def escalations_total(self) -> int:
        return sum(self.escalations.values())

    def rows(self) -> list[tuple[str, str, Any]]:
        """(key, label, value) for each figure, in print order; the labels in the
        reader's language (English on the terminal and in the API)."""
        rows: list[tuple[str, str, Any]] = [
            ("opened", gettext("RMAs opened"), self.opened),
            ("closed", gettext("RMAs closed"), self.closed),
            ("cancelled", gettext("RMAs cancelled"), self.cancelled),
            ("open_now", gettext("RMAs open now"), self.open_now),
            (
                "replacements_delivered",
                gettext("Replacements delivered"),
                self.replacements_delivered,
            ),
            ("replacements_on_time", gettext("Delivered within 24 h"), self.replacements_on_time),
            (
                "replacement_met_pct",
                gettext("24-hour replacement promise met (%)"),
                self.replacement_met_pct,
            ),
            ("repairs_returned", gettext("Repairs returned"), self.repairs_returned),
            (
                "repairs_on_time",
                gettext("Returned within 72 working hours"),
                self.repairs_on_time,
            ),
            (
                "repair_met_pct",
                gettext("72-working-hour repair promise met (%)"),
                self.repair_met_pct,
            ),
            ("ratings", gettext("Customer ratings received"), self.ratings),
            ("average_rating", gettext("Average customer rating (1-5)"), self.average_rating),
        ]
        rows += [
            (
                f"escalations_{level}",
                gettext("Escalations raised, %(level)s", level=level),
                count,
            )
            for level, count in self.escalations.items()
        ]
        rows += [
            (
                "escalations_total",
                gettext("Escalations raised, all levels"),
                self.escalations_total,
            ),
            (
                "overdue_returns_now",
                gettext("Defective returns overdue now"),
                self.overdue_returns_now,
            ),
            ("at_risk_now", gettext("Open cases at risk now"), self.at_risk_now),
        ]
        return rows


def build_headline(
    cases: pd.DataFrame,
    period: Period,
    *,
    open_now: int,
    escalations: pd.DataFrame,
    overdue_now: int,
    at_risk_now: int = 0,
) -> Headline:
    """The headline from loaded cases and the counts only the database knows."""
    judged, met = promise_columns(cases, period)
    replacement = judged & cases["kind"].isin(kinds.SHIPPING_KINDS)
    repair = judged & (cases["kind"] == Kind.REPAIR.value)
    closed = within(cases["closed_at"], period)
    ratings = cases.loc[closed, "rating"].dropna()
    by_level = {level: 0 for level in FAULT_LEVELS}
    for level, count in escalations.groupby("fault_level")["count"].sum().items():
        by_level[str(level)] = by_level.get(str(level), 0) + int(count)
    return Headline(
        opened=int(within(cases["reported_at"], period).sum()),
        closed=int(closed.sum()),
        cancelled=int(within(cases["cancelled_at"], period).sum()),
        open_now=open_now,
        replacements_delivered=int(replacement.sum()),
        replacements_on_time=int((replacement & met).sum()),
        replacement_met_pct=pct(int((replacement & met).sum()), int(replacement.sum())),
        repairs_returned=int(repair.sum()),
        repairs_on_time=int((repair & met).sum()),
        repair_met_pct=pct(int((repair & met).sum()), int(repair.sum())),
        ratings=len(ratings),
        average_rating=mean(ratings),
        escalations=by_level,
        overdue_returns_now=overdue_now,
        at_risk_now=at_risk_now,
    )


@read_only
def headline(uow: UnitOfWork, period: Period, *, now: datetime | None = None) -> Headline:
    """The headline figures of ``period``; "now" figures at ``now`` (default: the clock)."""
    now = clock.as_utc(now or clock.now())
    return build_headline(
        load_cases(uow, period),
        period,
        open_now=count_open(uow),
        escalations=load_escalations(uow, period),
        overdue_now=count_overdue_returns(uow, now),
        at_risk_now=count_at_risk(uow, now),
    )
