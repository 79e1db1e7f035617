"""The period's cases broken down: opened and closed per week, replacements by
depot, cases and promises by fault level and kind, escalations by fault level
and rung of the ladder.

Each table has a ``build_*`` function working on loaded frames (the whole report
loads once and builds them all) and a use case reading what it needs for one
table alone. Every depot, fault level, kind and step is listed, zeros included,
so the tables have the same shape whatever the period.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd

from core import clock
from core.db import UnitOfWork, read_only
from reports.service.counting import mean, pct, promise_columns
from reports.service.loading import load_cases, load_depots, load_escalations
from reports.service.period import Period, within
from rma import kinds
from rma.models import FAULT_LEVELS, Kind

EMERGENCY = "emergency"
KINDS = tuple(k.value for k in Kind)
ESCALATION_STEPS = (0, 1, 2, 3)  # 0: at risk (no depot could meet the due time)


# --- weekly flow ----------------------------------------------------------------------------


def build_weekly_table(cases: pd.DataFrame, period: Period) -> pd.DataFrame:
    """RMAs opened and closed per week (Monday to Sunday, Asia/Shanghai), every week
    of the period listed; the first and last week only count days in the period."""
    first_monday = period.start - timedelta(days=period.start.weekday())
    weeks = []
    monday = first_monday
    while monday <= period.end:
        weeks.append(monday)
        monday += timedelta(days=7)

    def week_of(series: pd.Series) -> pd.Series:
        inside = series[within(series, period)]
        local_days = inside.dt.tz_convert(clock.SHANGHAI).dt.date
        return local_days.map(lambda d: d - timedelta(days=d.weekday())).value_counts()

    opened, closed = week_of(cases["reported_at"]), week_of(cases["closed_at"])
    return pd.DataFrame(
        [
            {
                "week_start": monday,
                "week": f"{monday.isocalendar()[0]}-W{monday.isocalendar()[1]:02d}",
                "opened": int(opened.get(monday, 0)),
                "closed": int(closed.get(monday, 0)),
            }
            for monday in weeks
        ],
        columns=["week_start", "week", "opened", "closed"],
    )


@read_only
def weekly_flow(uow: UnitOfWork, period: Period) -> pd.DataFrame:
    """RMAs opened and closed per week of ``period``."""
    return build_weekly_table(load_cases(uow, period), period)


# --- by depot -------------------------------------------------------------------------------


def build_depot_table(cases: pd.DataFrame, period: Period, depots: pd.DataFrame) -> pd.DataFrame:
    """One row per depot (every depot, zeros included)."""
    judged, met = promise_columns(cases, period)
    shipped = cases["kind"].isin(kinds.SHIPPING_KINDS) & within(cases["shipped_at"], period)
    delivered = judged & cases["kind"].isin(kinds.SHIPPING_KINDS)
    hours = (cases["delivered_at"] - cases["approved_at"]).dt.total_seconds() / 3600
    rows = []
    for depot in depots.itertuples(index=False):
        mine = cases["depot_code"] == depot.depot
        sent, arrived = shipped & mine, delivered & mine
        on_time = int((arrived & met).sum())
        cost = float(cases.loc[sent, "shipping_cost"].fillna(0).sum())
        rows.append(
            {
                "depot": depot.depot,
                "depot_name": depot.depot_name,
                "city_zh": depot.city_zh,
                "shipped": int(sent.sum()),
                "emergency": int((sent & (cases["service"] == EMERGENCY)).sum()),
                "shipping_cost_cny": round(cost, 2),
                "delivered": int(arrived.sum()),
                "on_time": on_time,
                "met_pct": pct(on_time, int(arrived.sum())),
                "avg_hours_to_delivery": mean(hours[arrived], 1),
            }
        )
    return pd.DataFrame(rows, columns=_DEPOT_COLUMNS)


_DEPOT_COLUMNS = [
    "depot",
    "depot_name",
    "city_zh",
    "shipped",
    "emergency",
    "shipping_cost_cny",
    "delivered",
    "on_time",
    "met_pct",
    "avg_hours_to_delivery",
]


@read_only
def depot_service(uow: UnitOfWork, period: Period) -> pd.DataFrame:
    """Replacements per depot in ``period``: shipped, emergency shipments, shipping
    cost (CNY), deliveries, within 24 h, met %, mean hours from approval to delivery."""
    return build_depot_table(load_cases(uow, period), period, load_depots(uow))


# --- by fault level and kind ----------------------------------------------------------------


def build_fault_level_table(cases: pd.DataFrame, period: Period) -> pd.DataFrame:
    """One row per fault level and kind (all nine, zeros included)."""
    judged, met = promise_columns(cases, period)
    opened = within(cases["reported_at"], period)
    closed = within(cases["closed_at"], period)
    cancelled = within(cases["cancelled_at"], period)
    rows = []
    for level in FAULT_LEVELS:
        for kind in KINDS:
            mine = (cases["fault_level"] == level) & (cases["kind"] == kind)
            checked, kept = int((judged & mine).sum()), int((judged & met & mine).sum())
            rows.append(
                {
                    "fault_level": level,
                    "kind": kind,
                    "opened": int((opened & mine).sum()),
                    "closed": int((closed & mine).sum()),
                    "cancelled": int((cancelled & mine).sum()),
                    "promise_judged": checked,
                    "promise_met": kept,
                    "met_pct": pct(kept, checked),
                    "average_rating": mean(cases.loc[closed & mine, "rating"]),
                }
            )
    return pd.DataFrame(rows)


@read_only
def fault_level_service(uow: UnitOfWork, period: Period) -> pd.DataFrame:
    """Cases and promises of ``period`` by fault level (C-1..C-3) and kind."""
    return build_fault_level_table(load_cases(uow, period), period)


# --- escalations ----------------------------------------------------------------------------


def build_escalation_table(escalations: pd.DataFrame) -> pd.DataFrame:
    """Escalations by fault level (rows) and ladder step (columns), zeros included."""
    rows = []
    for level in FAULT_LEVELS:
        mine = escalations[escalations["fault_level"] == level]
        counts = {int(step): int(n) for step, n in mine.groupby("step")["count"].sum().items()}
        row: dict[str, Any] = {"fault_level": level}
        row.update({_step_column(step): counts.get(step, 0) for step in ESCALATION_STEPS})
        row["total"] = sum(counts.values())
        rows.append(row)
    return pd.DataFrame(rows)


def _step_column(step: int) -> str:
    return "at_risk" if step == 0 else f"step_{step}"


@read_only
def escalation_service(uow: UnitOfWork, period: Period) -> pd.DataFrame:
    """Escalations raised in ``period`` by fault level and step."""
    return build_escalation_table(load_escalations(uow, period))
