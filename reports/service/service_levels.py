"""The service-levels report: what planners and supervisors read about a period.

Everything here reads; nothing writes. ``service_levels`` takes a unit of work
and a ``Period`` (Asia/Shanghai calendar dates, both ends included), reads each
domain once through its own queries (``reports.service.loading``, the stock and
the overdue returns) and answers the headline and every table of ``TABLES`` as
pandas DataFrames; ``reports.render`` turns them into PDF, CSV, XLSX and JSON.
Each table is built in the module of its subject (``headline``, ``breakdowns``,
``engineers``, ``stock_health``, ``overdue_returns``), which also offers it
alone.

How the numbers are counted (the same words are printed in the report):

* A case is *opened* in the period when it was reported in it, *closed* when it
  was closed (signed by the customer) in it, *cancelled* likewise.
* The 24-hour replacement promise is judged on every advance replacement or
  loaner *delivered* in the period: met when delivered at or before its due
  time (approval + 24 h). The 72-working-hour repair promise is judged on every
  repair *returned* in the period: met when sent back at or before its due
  time. Cases without a due time are left out of both.
* Ratings are those of the cases closed in the period (1 to 5).
* An engineer's cases are the RMAs they opened (``reported_by``); their closed
  cases are those closed in the period, whatever month they were opened in; the
  promise share counts those closed cases whose promise could be judged.
* By depot: replacements shipped in the period by the depot, their emergency
  shipments and shipping cost (CNY, as quoted at allocation); the promise and
  the hours from approval to delivery are over the depot's deliveries in the
  period, so the depots' deliveries add up to the headline.
* "Now" figures (open cases, overdue defective returns, stock health) are as
  of the moment the report is generated, whatever the period.
* Stock health: stock value is good units on hand (reserved ones included)
  times the part's unit cost. A depot's position in a part is its available good
  stock (on hand less reserved) plus what is in transit to it; it is *short* by
  ``target - position`` when below target and in *excess* by
  ``position - 2 x target`` when above twice the target. A part without a stored
  target at a depot has a target of 0 there; with no targets stored at all,
  shortage and excess are not assessed (``targets_stored`` is false).
* Percentages are 0 to 100, rounded to one decimal; ``None`` (n/a) when there
  was nothing to judge. Money is CNY rounded to the fen; hours to one decimal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from core import auth, clock
from core.db import UnitOfWork, read_only
from core.errors import Invalid
from core.i18n import gettext, lazy_gettext
from reports.service.breakdowns import (
    build_depot_table,
    build_escalation_table,
    build_fault_level_table,
    build_weekly_table,
)
from reports.service.engineers import (
    REMARKS_PER_ENGINEER,
    build_engineer_tables,
    build_rating_table,
)
from reports.service.headline import Headline, build_headline
from reports.service.loading import load_cases, load_depots, load_escalations
from reports.service.overdue_returns import overdue_returns
from reports.service.period import Period
from reports.service.report import TableInfo
from reports.service.stock_health import TOP_SHORTAGES, stock_health
from rma import kinds
from rma.service.figures import count_at_risk
from rma.service.queries import count_open

# Short names of the kinds, for narrow table columns (translated when shown).
SHORT_KINDS: dict[str, Any] = {
    "advance_replacement": lazy_gettext("advance replacement"),
    "repair": lazy_gettext("repair"),
    "loaner": lazy_gettext("loaner"),
}
KIND_LABELS = kinds.LABELS


# The tables of the report, in the order they are printed and exported.
TABLES: dict[str, TableInfo] = {
    "summary": TableInfo(
        lazy_gettext("Headline"), lazy_gettext("The headline figures of the period, one per row.")
    ),
    "weekly": TableInfo(
        lazy_gettext("RMAs opened and closed per week"),
        lazy_gettext("Weeks start on Monday; the first and last week are cut to the period."),
    ),
    "depots": TableInfo(
        lazy_gettext("Replacements by depot"),
        lazy_gettext(
            "Shipments in the period, and the 24-hour promise on the deliveries in the period."
        ),
    ),
    "fault_levels": TableInfo(
        lazy_gettext("By fault level and kind"),
        lazy_gettext(
            "Cases opened, closed and cancelled; the promise of the kind (24-hour replacement, "
            "72-working-hour repair) on the deliveries and returns in the period."
        ),
    ),
    "escalations": TableInfo(
        lazy_gettext("Escalations raised"),
        lazy_gettext(
            "Escalations raised in the period, by fault level and rung of the ladder "
            "(step 0: the case was at risk at allocation)."
        ),
    ),
    "engineers": TableInfo(
        lazy_gettext("Engineers' evaluations"),
        lazy_gettext(
            "Per engineer: cases opened, cases closed, the customers' ratings of the closed "
            "cases and the share of them whose promise was met."
        ),
    ),
    "remarks": TableInfo(
        lazy_gettext("Latest customer remarks"),
        lazy_gettext(
            "Up to %(count)s most recent remarks per engineer, from cases closed in the period.",
            count=REMARKS_PER_ENGINEER,
        ),
    ),
    "ratings": TableInfo(
        lazy_gettext("Rating distribution"),
        lazy_gettext("Ratings of the cases closed in the period."),
    ),
    "stock": TableInfo(
        lazy_gettext("Stock health by depot (now)"),
        lazy_gettext("Stock value, and units short of target or above twice the target."),
    ),
    "shortages": TableInfo(
        lazy_gettext("Top %(count)s shortages (now)", count=TOP_SHORTAGES),
        lazy_gettext("The depot and part positions furthest below target."),
    ),
    "overdue_returns": TableInfo(
        lazy_gettext("Overdue defective returns (now)"),
        lazy_gettext("Units replaced or loaned in advance that should be back by now and are not."),
    ),
}
TABLE_NAMES: tuple[str, ...] = tuple(TABLES)


@dataclass(frozen=True)
class ServiceLevels:
    """The whole report: the headline and every table of ``TABLES``."""

    period: Period
    generated_at: datetime
    headline: Headline
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    targets_stored: bool = True
    engineer_names: dict[str, str] = field(default_factory=dict)

    def table(self, name: str) -> pd.DataFrame:
        """One table by name; ``Invalid`` naming the known tables otherwise."""
        if name not in self.tables:
            raise Invalid(
                gettext("table must be one of %(tables)s", tables=", ".join(self.tables)),
                field="table",
            )
        return self.tables[name]


# --- the whole report -----------------------------------------------------------------------


@read_only
def service_levels(
    uow: UnitOfWork, period: Period, *, now: datetime | None = None
) -> ServiceLevels:
    """The service-levels report of ``period``, read in one transaction; "now"
    figures at ``now`` (default: the clock). An empty period gives zeros and
    empty tables, never an error."""
    now = clock.as_utc(now or clock.now())
    cases = load_cases(uow, period)
    escalations = load_escalations(uow, period)
    overdue = overdue_returns(uow, now=now)
    names = auth.full_names(uow, cases["reported_by"])
    evaluations, remarks = build_engineer_tables(cases, period, names)
    health = stock_health(uow)
    top = build_headline(
        cases,
        period,
        open_now=count_open(uow),
        escalations=escalations,
        overdue_now=len(overdue),
        at_risk_now=count_at_risk(uow, now),
    )
    summary = pd.DataFrame(
        [
            ("period_start", gettext("Period start (Asia/Shanghai)"), period.start.isoformat()),
            (
                "period_end",
                gettext("Period end (Asia/Shanghai, included)"),
                period.end.isoformat(),
            ),
            (
                "generated_at",
                gettext("Generated at"),
                clock.local(now).isoformat(timespec="seconds"),
            ),
            *top.rows(),
        ],
        columns=["metric", "label", "value"],
        dtype=object,
    )
    tables = {
        "summary": summary,
        "weekly": build_weekly_table(cases, period),
        "depots": build_depot_table(cases, period, load_depots(uow)),
        "fault_levels": build_fault_level_table(cases, period),
        "escalations": build_escalation_table(escalations),
        "engineers": evaluations,
        "remarks": remarks,
        "ratings": build_rating_table(cases, period),
        "stock": health.depots,
        "shortages": health.shortages,
        "overdue_returns": overdue,
    }
    assert tuple(tables) == TABLE_NAMES
    return ServiceLevels(
        period=period,
        generated_at=now,
        headline=top,
        tables=tables,
        targets_stored=health.targets_stored,
        engineer_names=names,
    )
