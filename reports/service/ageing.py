"""Ageing: the cases open now by state and age, and the units overdue for return
(with who owes them, who chases them and how often they were chased).

Everything but the chasing history is a snapshot at the time the report is made:
the open cases and the overdue returns are those of *now*, whenever they were
reported, so the period does not hide the oldest cases (which are what an ageing
report is for). The period selects the reminders of the chasing history (sent in
the period) and one figure, the cases reported in the period that are still
open. The depot, fault level and part family filters apply to every table.

The rules are the owning domains': a case is open by ``rma.models.OPEN_STATUSES``,
at risk by the promise rule (``rma.service.promises.at_risk_condition``), past due
by the due time of the commitment it works towards
(``promises.current_due_column``); a unit is overdue for return by
``rma.service.queries.overdue_returns_query`` (the rule the daily reminders chase,
laid out by ``reports.service.overdue_returns``); a reminder is the ``chase-return``
event ``rma.service.chasing`` records. Each is read in one query; the grouping is
pandas.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import numpy as np
import pandas as pd

from core import clock
from core.auth import full_names
from core.db import UnitOfWork, read_only
from core.i18n import gettext, lazy_gettext
from inventory.service.queries import part_costs
from reports.pdf_blocks import fmt_decimal, fmt_int, fmt_money
from reports.service.filters import Filters
from reports.service.loading import load_depots
from reports.service.overdue_returns import overdue_returns
from reports.service.period import within
from reports.service.report import Figure, Report, TableInfo
from rma.models import OPEN_STATUSES
from rma.service.queries import open_cases, overdue_return_chases

NAME = "ageing"
DAY = pd.Timedelta(days=1)

# Age buckets in whole days since the case was reported: (key, from, up to), the
# lower bound included and the upper excluded (None: no upper bound).
AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("under_1_day", 0, 1),
    ("days_1_to_3", 1, 3),
    ("days_3_to_7", 3, 7),
    ("days_7_to_15", 7, 15),
    ("days_15_to_30", 15, 30),
    ("over_30_days", 30, None),
)
BUCKET_KEYS: tuple[str, ...] = tuple(key for key, _low, _high in AGE_BUCKETS)


def bucket_labels() -> dict[str, str]:
    """The age buckets in words, in the reader's language."""
    return {
        "under_1_day": gettext("Under 1 day"),
        "days_1_to_3": gettext("1-3 days"),
        "days_3_to_7": gettext("3-7 days"),
        "days_7_to_15": gettext("7-15 days"),
        "days_15_to_30": gettext("15-30 days"),
        "over_30_days": gettext("Over 30 days"),
    }


TABLES: dict[str, TableInfo] = {
    "open_by_state": TableInfo(
        lazy_gettext("Open cases by state and age"),
        lazy_gettext(
            "Cases open now, by their state and by whole days since they were reported; "
            "with how many of them are at risk and the oldest age in each state."
        ),
    ),
    "open_cases": TableInfo(
        lazy_gettext("Open cases"),
        lazy_gettext(
            "Every case open now, the oldest first: state, customer, depot, engineer, age, "
            "whether its promise is at risk and the due time of the commitment it works "
            "towards."
        ),
    ),
    "overdue": TableInfo(
        lazy_gettext("Overdue returns"),
        lazy_gettext(
            "Every unit that should be back by now and is not: the defective unit of an "
            "advance replacement, a loaner, or the unit shipped on a case cancelled since; "
            "the longest overdue first, with how often it was chased."
        ),
    ),
    "overdue_by_customer": TableInfo(
        lazy_gettext("Overdue returns by customer"),
        lazy_gettext("Units overdue, their value, the longest overdue and the reminders sent."),
    ),
    "overdue_by_engineer": TableInfo(
        lazy_gettext("Overdue returns by engineer"),
        lazy_gettext("The same, by the engineer who opened the case (who is reminded)."),
    ),
    "overdue_by_depot": TableInfo(
        lazy_gettext("Overdue returns by depot"),
        lazy_gettext("The same, by the depot that shipped the unit (where it goes back to)."),
    ),
    "chasing": TableInfo(
        lazy_gettext("Chasing history"),
        lazy_gettext(
            "Every reminder sent in the period about the units overdue now: which unit, "
            "when, how overdue it was then, and to whom."
        ),
    ),
}

OPEN_COLUMNS = [
    "rma",
    "status",
    "kind",
    "fault_level",
    "customer",
    "customer_zh",
    "city",
    "city_zh",
    "depot",
    "engineer",
    "engineer_name",
    "part_number",
    "family",
    "reported_at",
    "age_days",
    "at_risk",
    "due_at",
    "past_due",
]
OVERDUE_COLUMNS = [
    "rma",
    "what",
    "status",
    "fault_level",
    "serial",
    "part_number",
    "family",
    "customer",
    "customer_zh",
    "city",
    "city_zh",
    "engineer",
    "engineer_name",
    "depot",
    "due_at",
    "days_overdue",
    "value_cny",
    "chases",
    "last_chased_at",
]
SUMMARY_COLUMNS = ["units", "value_cny", "oldest_days_overdue", "chases", "last_chased_at"]
CHASING_COLUMNS = [
    "rma",
    "what",
    "serial",
    "customer",
    "customer_zh",
    "engineer",
    "depot",
    "due_at",
    "chased_at",
    "days_overdue_then",
    "chased_to",
]


def _instants(values: list[datetime | None]) -> pd.Series:
    return pd.Series(pd.to_datetime(values, utc=True), dtype="datetime64[ns, UTC]")


def _load_open(uow: UnitOfWork, now: datetime) -> pd.DataFrame:
    """Every open case now, with its age (whole days since reported) and its
    bucket, at-risk flag and current due time."""
    rows = open_cases(uow, now)
    frame = pd.DataFrame(
        {
            "rma": [r.number for r in rows],
            "status": [r.status for r in rows],
            "kind": [r.kind for r in rows],
            "fault_level": [r.fault_level for r in rows],
            "customer": [r.customer for r in rows],
            "customer_zh": [r.customer_zh or "" for r in rows],
            "city": [r.city for r in rows],
            "city_zh": [r.city_zh or "" for r in rows],
            # The depot that ships the case's unit, or that took the customer's in.
            "depot": [r.depot_code or r.return_depot or "" for r in rows],
            "return_depot": [r.return_depot or "" for r in rows],
            "engineer": [r.reported_by for r in rows],
            "part_number": [r.part_number for r in rows],
            "family": [r.family for r in rows],
            "reported_at": _instants([r.reported_at for r in rows]),
            "at_risk": pd.Series([r.at_risk for r in rows], dtype=bool),
            "due_at": _instants([r.due for r in rows]),
            "expected_back": [r.expected_back for r in rows],
        }
    )
    frame = _as_text(frame, ["rma", "status", "kind", "fault_level", "depot", "family"])
    age = pd.Timestamp(now) - frame["reported_at"]
    frame["age_days"] = (age // DAY).astype(int)
    frame["age_bucket"] = age_bucket(frame["age_days"])
    frame["past_due"] = (frame["due_at"] < pd.Timestamp(now)).fillna(False).astype(bool)
    return frame


def _as_text(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    # An empty list makes a float column; keys must be text to merge on, rows or none.
    return frame.astype({name: object for name in columns})


def age_bucket(days: pd.Series) -> pd.Series:
    """The key of the age bucket of each whole number of days."""
    edges = [low for _key, low, _high in AGE_BUCKETS] + [np.inf]
    return pd.cut(days, bins=edges, right=False, labels=list(BUCKET_KEYS)).astype(str)


def _matches(frame: pd.DataFrame, filters: Filters, depots: list[str]) -> pd.Series:
    """Rows of the filters' depot (any of ``depots`` columns), fault level and family."""
    keep = pd.Series(True, index=frame.index)
    if filters.depot:
        keep &= frame[depots].eq(filters.depot).any(axis=1)
    if filters.fault_level:
        keep &= frame["fault_level"] == filters.fault_level
    if filters.family:
        keep &= frame["family"] == filters.family
    return keep


def open_by_state(cases: pd.DataFrame) -> pd.DataFrame:
    """Open cases by state (lifecycle order, states with cases only) x age bucket,
    with the row total, the cases at risk and the oldest age (whole days)."""
    columns = ["status", *BUCKET_KEYS, "total", "at_risk", "oldest_age_days"]
    if not len(cases):
        return pd.DataFrame(columns=columns)
    counts = pd.crosstab(cases["status"], cases["age_bucket"]).reindex(
        columns=list(BUCKET_KEYS), fill_value=0
    )
    grouped = cases.groupby("status")
    table = counts.assign(
        total=counts.sum(axis=1),
        at_risk=grouped["at_risk"].sum().astype(int),
        oldest_age_days=grouped["age_days"].max().astype(int),
    )
    order = [status for status in OPEN_STATUSES if status in table.index]
    table = table.reindex(order).rename_axis(index="status", columns=None)
    return table.reset_index()[columns]


def _summary(overdue: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Units overdue by ``keys``: how many, their value, the longest overdue (whole
    days), the reminders sent and the last one; the most units first."""
    if not len(overdue):
        return pd.DataFrame(columns=[*keys, *SUMMARY_COLUMNS])
    table = (
        overdue.groupby(keys, dropna=False)
        .agg(
            units=("rma", "count"),
            value_cny=("value_cny", "sum"),
            oldest_days_overdue=("days_overdue", "max"),
            chases=("chases", "sum"),
            last_chased_at=("last_chased_at", "max"),
        )
        .reset_index()
    )
    return table.sort_values(
        ["units", "value_cny", *keys], ascending=[False, False, *([True] * len(keys))]
    ).reset_index(drop=True)


def _by_depot(overdue: pd.DataFrame, depots: list[str]) -> pd.DataFrame:
    """``_summary`` by depot, every depot of ``depots`` (none overdue: zeros)."""
    table = _summary(overdue, ["depot"]).set_index("depot")
    table = table.reindex(sorted(set(depots) | set(table.index)))
    for column in ("units", "chases", "oldest_days_overdue"):
        table[column] = table[column].fillna(0).astype(int)
    table["value_cny"] = table["value_cny"].fillna(0.0).astype(float)
    table["last_chased_at"] = pd.to_datetime(table["last_chased_at"], utc=True)
    return table.rename_axis("depot").reset_index()[["depot", *SUMMARY_COLUMNS]]


def _load_overdue(
    uow: UnitOfWork, now: datetime, cases: pd.DataFrame, chases: pd.DataFrame
) -> pd.DataFrame:
    """The units overdue for return now (the one rule), with their case's state,
    fault level and family, what they are, their value and their chasing."""
    overdue = overdue_returns(uow, now=now).rename(columns={"due": "due_at"})
    overdue = _as_text(overdue, ["rma", "depot", "part_number", "customer", "engineer"])
    overdue["due_at"] = pd.to_datetime(overdue["due_at"], utc=True)
    facts = cases[["rma", "status", "fault_level", "family", "expected_back"]]
    overdue = overdue.merge(facts, on="rma", how="left")
    # The code ("defective unit", "replacement"): files keep it in every language,
    # pages and PDFs show it in words (``reports.files.value_labels``).
    overdue["what"] = overdue["expected_back"]
    costs = {cost.part_number: float(cost.unit_cost) for cost in part_costs(uow)}
    overdue["value_cny"] = overdue["part_number"].map(costs).fillna(0.0).astype(float)
    per_case = (
        chases.groupby("rma")
        .agg(chases=("chased_at", "count"), last_chased_at=("chased_at", "max"))
        .reset_index()
    )
    overdue = overdue.merge(per_case, on="rma", how="left")
    overdue["chases"] = overdue["chases"].fillna(0).astype(int)
    overdue["last_chased_at"] = pd.to_datetime(overdue["last_chased_at"], utc=True)
    overdue["days_overdue"] = overdue["days_overdue"].astype(int)
    return overdue


def _load_chases(uow: UnitOfWork, now: datetime) -> pd.DataFrame:
    rows = overdue_return_chases(uow, now)
    frame = pd.DataFrame(
        {
            "rma": [r.number for r in rows],
            "chased_at": _instants([r.at for r in rows]),
            "chased_to": [", ".join(r.to) for r in rows],
        }
    )
    return _as_text(frame, ["rma", "chased_to"])


def _chasing(chases: pd.DataFrame, overdue: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    """The reminders sent in the period about the (filtered) overdue units."""
    facts = overdue[
        ["rma", "what", "serial", "customer", "customer_zh", "engineer", "depot", "due_at"]
    ]
    table = chases[within(chases["chased_at"], filters.period)].merge(facts, on="rma")
    table["days_overdue_then"] = ((table["chased_at"] - table["due_at"]) // DAY).astype(int)
    return table.sort_values(["rma", "chased_at"], kind="stable").reset_index(drop=True)[
        CHASING_COLUMNS
    ]


def _count(value: int) -> str:
    return fmt_int(value)


def _figures(
    cases: pd.DataFrame,
    overdue: pd.DataFrame,
    chasing: pd.DataFrame,
    filters: Filters,
) -> tuple[Figure, ...]:
    at_risk = int(cases["at_risk"].sum())
    past_due = int(cases["past_due"].sum())
    oldest = cases.sort_values(["age_days", "reported_at"], ascending=[False, True]).head(1)
    oldest_days = int(oldest["age_days"].iloc[0]) if len(oldest) else None
    value = float(overdue["value_cny"].sum()) if len(overdue) else 0.0
    recent = int(within(cases["reported_at"], filters.period).sum())
    longest = int(overdue["days_overdue"].max()) if len(overdue) else None
    return (
        Figure("open_cases", gettext("Open cases now"), len(cases), _count(len(cases))),
        Figure(
            "at_risk",
            gettext("At risk now"),
            at_risk,
            _count(at_risk),
            gettext("replacement promise at risk"),
        ),
        Figure(
            "past_due",
            gettext("Past their due time"),
            past_due,
            _count(past_due),
            gettext("the commitment they work towards is overdue"),
        ),
        Figure(
            "oldest_age_days",
            gettext("Oldest open case (days)"),
            oldest_days,
            _count(oldest_days) if oldest_days is not None else "–",
            str(oldest["rma"].iloc[0]) if len(oldest) else gettext("no open case"),
        ),
        Figure(
            "overdue_returns",
            gettext("Overdue returns"),
            len(overdue),
            _count(len(overdue)),
            gettext("longest %(days)s days overdue", days=longest)
            if longest is not None
            else gettext("none overdue"),
        ),
        Figure(
            "overdue_value_cny",
            gettext("Overdue units' value (CNY)"),
            round(value, 2),
            fmt_money(value),
        ),
        Figure(
            "chases_in_period",
            gettext("Reminders sent in the period"),
            len(chasing),
            _count(len(chasing)),
            gettext("about the units overdue now"),
        ),
        Figure(
            "reported_in_period_open",
            gettext("Reported in the period, still open"),
            recent,
            _count(recent),
            gettext("%(share)s%% of the open cases", share=fmt_decimal(100 * recent / len(cases)))
            if len(cases)
            else "",
        ),
    )


@read_only
def ageing(uow: UnitOfWork, filters: Filters, *, now: datetime | None = None) -> Report:
    """The ageing report at ``now`` (default: the clock) under ``filters``: figures,
    the tables of ``TABLES`` (in that order) and the notes on how they count."""
    # Counted at the minute the report is made (what its notes and cover print), so
    # the JSON, CSV and XLSX of one download, asked for seconds apart, agree.
    now = clock.as_utc(now or clock.now()).replace(second=0, microsecond=0)
    everything = _load_open(uow, now)
    chases = _load_chases(uow, now)
    overdue_all = _load_overdue(uow, now, everything, chases)
    cases = everything[_matches(everything, filters, ["depot", "return_depot"])]
    overdue = overdue_all[_matches(overdue_all, filters, ["depot"])]
    names = full_names(uow, set(cases["engineer"]) | set(overdue["engineer"]))
    cases = cases.assign(engineer_name=cases["engineer"].map(lambda u: names.get(u, u)))
    overdue = overdue.assign(engineer_name=overdue["engineer"].map(lambda u: names.get(u, u)))
    overdue = overdue.sort_values(["days_overdue", "rma"], ascending=[False, True])
    chasing = _chasing(chases, overdue, filters)
    depots = [filters.depot] if filters.depot else list(load_depots(uow)["depot"])
    by_engineer = _summary(overdue, ["engineer"])
    by_engineer.insert(1, "name", by_engineer["engineer"].map(lambda u: names.get(u, u)))
    tables: Mapping[str, pd.DataFrame] = {
        "open_by_state": open_by_state(cases),
        "open_cases": cases.reset_index(drop=True)[OPEN_COLUMNS],
        "overdue": overdue.reset_index(drop=True)[OVERDUE_COLUMNS],
        "overdue_by_customer": _summary(overdue, ["customer", "customer_zh"]),
        "overdue_by_engineer": by_engineer,
        "overdue_by_depot": _by_depot(overdue, depots),
        "chasing": chasing,
    }
    return Report(
        name=NAME,
        filters=filters,
        generated_at=now,
        figures=_figures(cases, overdue, chasing, filters),
        tables=tables,
        notes=(
            gettext(
                "Ages and days overdue are counted at %(now)s (Asia/Shanghai), when the "
                "report was made.",
                now=clock.local(now).strftime("%Y-%m-%d %H:%M"),
            ),
        ),
        details={"now": now},
    )
