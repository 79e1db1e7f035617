"""The engineers' report: per engineer and per month, the cases they handled, the
share of their closed cases whose promise was met, the customers' ratings and
remarks from the signed service records, and the escalations raised on their
cases.

Everything here reads; nothing writes. ``engineers_report`` reads the cases and
the escalations of the period once (``reports.service.loading``), keeps the
cases the filters pick and counts them with the service-levels report's own
rules (``reports.service.engineers``): an engineer's cases are the RMAs they
opened (``reported_by``), *handled* means opened in the period, *closed* signed
off in it; the promise of a closed case is judged and met as
``rma.service.promises`` says (``reports.service.counting.promise_columns``).
Each month is the same evaluation over that calendar month (Asia/Shanghai), the
first and last month cut to the period, so the months of an engineer add up to
their row of the period.

Filters: the case's depot (the depot that ships or receives its unit, as the
case lists filter), its fault level and its part's family; an escalation
follows its case.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

import pandas as pd

from core import auth, clock
from core.db import UnitOfWork, read_only
from core.i18n import gettext, lazy_gettext
from reports.service.counting import mean, pct
from reports.service.engineers import build_engineer_tables, signed_records
from reports.service.filters import Filters
from reports.service.loading import load_cases, load_raised_escalations
from reports.service.period import Period, within
from reports.service.report import Figure, Report, TableInfo

NAME = "engineers"

# Rungs of the escalation ladder as columns: 0 the "at risk" escalation, 1-3 the ladder.
STEP_COLUMNS: Mapping[int, str] = {0: "at_risk", 1: "step_1", 2: "step_2", 3: "step_3"}

# The figures every row of the period and of a month carries.
_FIGURES = [
    "cases",
    "closed",
    "promise_judged",
    "promise_met",
    "on_time_pct",
    "ratings",
    "average_rating",
    "escalations",
]
ENGINEER_COLUMNS = ["engineer", "name", *_FIGURES, *STEP_COLUMNS.values()]
MONTHLY_COLUMNS = ["engineer", "name", "month_start", *_FIGURES]
REMARK_COLUMNS = ["engineer", "name", "rma", "closed_at", "rating", "signed_by", "remarks"]
ESCALATION_COLUMNS = ["engineer", "name", "rma", "fault_level", "depot", "step", "raised_at"]

TABLES: dict[str, TableInfo] = {
    "engineers": TableInfo(
        lazy_gettext("Engineers' evaluations"),
        lazy_gettext(
            "Per engineer over the period: cases opened and closed, the promise judged and met "
            "on the closed cases, the customers' ratings of them, and the escalations raised on "
            "the engineer's cases by rung."
        ),
    ),
    "monthly": TableInfo(
        lazy_gettext("Engineers by month"),
        lazy_gettext(
            "The same figures per calendar month (Asia/Shanghai), the first and last month cut "
            "to the period; an engineer's months add up to their row of the period."
        ),
    ),
    "remarks": TableInfo(
        lazy_gettext("Signed service records"),
        lazy_gettext(
            "Every service record signed in the period, newest first: the customer's rating, "
            "who signed and their remarks, as typed."
        ),
    ),
    "escalations": TableInfo(
        lazy_gettext("Escalations on the engineers' cases"),
        lazy_gettext(
            "Each escalation raised in the period, by time raised (step 0: the case was at "
            "risk; 1-3: the rungs of the ladder)."
        ),
    ),
}
TABLE_NAMES: tuple[str, ...] = tuple(TABLES)

NOTES = (
    lazy_gettext(
        "Dates are Asia/Shanghai calendar days; the period includes both its first and last day."
    ),
    lazy_gettext(
        "An engineer's cases are the RMAs they opened. Cases opened counts those reported in the "
        "period; closed, those the customer signed off in it, whenever they were opened."
    ),
    lazy_gettext(
        "On time: of the closed cases whose promise can be judged (the 24-hour replacement on "
        "delivery, the 72-working-hour repair on its return), the share done by the due time."
    ),
    lazy_gettext(
        "Ratings (1 poor to 5 excellent) and remarks are the customers' own, from the service "
        "records signed in the period; the average is over the rated records."
    ),
    lazy_gettext(
        "Escalations are those raised in the period on the engineer's cases: step 0 when the "
        "case was at risk, steps 1-3 the rungs of the escalation ladder."
    ),
    lazy_gettext(
        "Filters pick cases: a depot takes the cases it ships or receives the unit of, a part "
        "family the cases of its parts; escalations follow their case."
    ),
    lazy_gettext("A dash (–) means there was nothing to measure."),
)


# --- picking the cases ------------------------------------------------------------------------


def select_cases(cases: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    """The cases the filters pick. A depot picks the cases it ships or receives the
    unit of (the rule of ``rma.service.queries.CaseFilter.depot``)."""
    picked = pd.Series(True, index=cases.index)
    if filters.depot is not None:
        picked &= (cases["depot_code"] == filters.depot) | (cases["return_depot"] == filters.depot)
    if filters.fault_level is not None:
        picked &= cases["fault_level"] == filters.fault_level
    if filters.family is not None:
        picked &= cases["family"] == filters.family
    return cases[picked].reset_index(drop=True)


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def months_of(period: Period) -> list[Period]:
    """The calendar months the period touches, the first and last cut to it."""
    months = []
    first = period.start
    while first <= period.end:
        following = first_of_month(first_of_month(first) + timedelta(days=32))
        months.append(Period(first, min(following - timedelta(days=1), period.end)))
        first = following
    return months


# --- the tables --------------------------------------------------------------------------------


def build_escalation_list(
    escalations: pd.DataFrame, cases: pd.DataFrame, names: Mapping[str, str]
) -> pd.DataFrame:
    """Each escalation of ``escalations`` raised on one of ``cases``, with the case's
    engineer and depot; by time raised."""
    case_columns = cases[["number", "reported_by", "depot_code", "return_depot"]]
    found = escalations.merge(case_columns, on="number", how="inner")
    frame = pd.DataFrame(
        {
            "engineer": found["reported_by"],
            "name": [names.get(person, person) for person in found["reported_by"]],
            "rma": found["number"],
            "fault_level": found["fault_level"],
            "depot": found["depot_code"].fillna(found["return_depot"]).fillna(""),
            "step": found["step"].astype(int),
            "raised_at": found["raised_at"].dt.tz_convert(clock.SHANGHAI),
        },
        columns=ESCALATION_COLUMNS,
    )
    return frame.sort_values(["raised_at", "rma", "step"], kind="stable").reset_index(drop=True)


def build_engineers_table(
    cases: pd.DataFrame,
    escalations: pd.DataFrame,
    period: Period,
    names: Mapping[str, str],
) -> pd.DataFrame:
    """One row per engineer with cases opened or closed, or escalations raised, in
    ``period`` (``ENGINEER_COLUMNS``): the evaluation of ``build_engineer_tables``
    and the escalations by rung, the most closed first. ``escalations`` is
    ``build_escalation_list``'s; those raised outside ``period`` are left out."""
    evaluations, _ = build_engineer_tables(cases, period, names)
    figures = evaluations.rename(columns={"met_pct": "on_time_pct"})
    raised = escalations[within(escalations["raised_at"], period)]
    by_step = pd.DataFrame(
        {
            "engineer": person,
            **{name: int((steps == step).sum()) for step, name in STEP_COLUMNS.items()},
            "escalations": len(steps),
        }
        for person, steps in raised.groupby("engineer")["step"]
    ).reindex(columns=["engineer", *STEP_COLUMNS.values(), "escalations"])
    # Without any row pandas cannot tell the key's type: both sides hold usernames.
    figures = figures.astype({"engineer": object})
    by_step = by_step.astype({"engineer": object})
    table = figures.merge(by_step, on="engineer", how="outer")
    counts = ["cases", "closed", "promise_judged", "promise_met", "ratings", "escalations"]
    for column in [*counts, *STEP_COLUMNS.values()]:
        table[column] = table[column].fillna(0).astype(int)
    table["name"] = [names.get(person, person) for person in table["engineer"]]
    table = table.astype({"on_time_pct": object, "average_rating": object})
    table = table.sort_values(
        ["closed", "cases", "escalations", "engineer"],
        ascending=[False, False, False, True],
        kind="stable",
    ).reset_index(drop=True)
    return table.reindex(columns=ENGINEER_COLUMNS)


def build_monthly_table(
    cases: pd.DataFrame,
    escalations: pd.DataFrame,
    period: Period,
    names: Mapping[str, str],
) -> pd.DataFrame:
    """Per engineer and calendar month (``MONTHLY_COLUMNS``): the rows of each
    month's evaluation, by engineer then month."""
    parts = []
    for month in months_of(period):
        rows = build_engineers_table(cases, escalations, month, names)
        rows.insert(2, "month_start", first_of_month(month.start))
        parts.append(rows[MONTHLY_COLUMNS])
    if not parts or not any(len(part) for part in parts):
        return pd.DataFrame(columns=MONTHLY_COLUMNS)
    monthly = pd.concat([part for part in parts if len(part)], ignore_index=True)
    return monthly.sort_values(["engineer", "month_start"], kind="stable").reset_index(drop=True)


# --- the headline ------------------------------------------------------------------------------


def build_figures(
    engineers: pd.DataFrame, remarks: pd.DataFrame, escalations: pd.DataFrame
) -> tuple[Figure, ...]:
    """The headline, added up from the tables so that it agrees with them."""
    judged = int(engineers["promise_judged"].sum())
    met = int(engineers["promise_met"].sum())
    on_time = pct(met, judged)
    ratings = remarks["rating"].dropna().astype(float)
    average = mean(ratings)
    by_step = {step: int((escalations["step"] == step).sum()) for step in STEP_COLUMNS}
    opened, closed = int(engineers["cases"].sum()), int(engineers["closed"].sum())
    return (
        Figure(
            "engineers",
            gettext("Engineers"),
            len(engineers),
            f"{len(engineers):,}",
            gettext("with cases or escalations in the period"),
        ),
        Figure(
            "cases",
            gettext("Cases opened"),
            opened,
            f"{opened:,}",
            gettext("%(closed)s closed", closed=format(closed, ",")),
        ),
        Figure(
            "on_time_pct",
            gettext("On time"),
            on_time,
            "–" if on_time is None else f"{on_time:.1f}%",
            gettext("%(met)s of %(judged)s closed cases judged", met=met, judged=judged),
        ),
        Figure(
            "average_rating",
            gettext("Average rating"),
            average,
            "–" if average is None else f"{average:.2f}",
            gettext("%(count)s ratings, 1 poor to 5 excellent", count=len(ratings)),
        ),
        Figure(
            "escalations",
            gettext("Escalations"),
            len(escalations),
            f"{len(escalations):,}",
            gettext(
                "at risk %(at_risk)s · steps 1-3: %(one)s, %(two)s, %(three)s",
                at_risk=by_step[0],
                one=by_step[1],
                two=by_step[2],
                three=by_step[3],
            ),
        ),
    )


# --- the whole report --------------------------------------------------------------------------


@read_only
def engineers_report(uow: UnitOfWork, filters: Filters) -> Report:
    """The engineers' report of ``filters`` (period, depot, fault level, part family),
    read in one transaction. An empty period gives zeros and empty tables."""
    period = filters.period
    cases = select_cases(load_cases(uow, period), filters)
    raised = load_raised_escalations(uow, period)
    people = set(cases["reported_by"])
    names = auth.full_names(uow, people)
    escalations = build_escalation_list(raised, cases, names)
    engineers = build_engineers_table(cases, escalations, period, names)
    remarks = signed_records(cases, period, names)
    tables = {
        "engineers": engineers,
        "monthly": build_monthly_table(cases, escalations, period, names),
        "remarks": remarks,
        "escalations": escalations,
    }
    assert tuple(tables) == TABLE_NAMES
    return Report(
        name=NAME,
        filters=filters,
        generated_at=clock.now(),
        figures=build_figures(engineers, remarks, escalations),
        tables=tables,
        details={"months": [first_of_month(month.start) for month in months_of(period)]},
    )
