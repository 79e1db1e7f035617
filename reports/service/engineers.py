"""The engineers' evaluations: per engineer (the ``reported_by`` of the cases),
cases opened and closed in the period, the customers' ratings of the closed
ones and the share of them whose promise was met; their latest remarks; and the
distribution of ratings over every case closed in the period. Names are
``core.auth``'s full names, the username for anyone unknown.

``signed_records`` lists every service record signed in a period (a case closed in
it, with the customer's rating, remarks and signature); the engineers' own report
(``reports.service.engineers_report``) applies ``build_engineer_tables`` to each
month and lists those records in full.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from core import auth, clock
from core.db import UnitOfWork, read_only
from reports.service.counting import mean, pct, promise_columns
from reports.service.loading import load_cases
from reports.service.period import Period, within

REMARKS_PER_ENGINEER = 3

_ENGINEER_COLUMNS = [
    "engineer",
    "name",
    "cases",
    "closed",
    "ratings",
    "average_rating",
    *(f"rating_{n}" for n in range(1, 6)),
    "promise_judged",
    "promise_met",
    "met_pct",
    "latest_remark",
]


_RECORD_COLUMNS = ["engineer", "name", "rma", "closed_at", "rating", "signed_by", "remarks"]


def signed_records(cases: pd.DataFrame, period: Period, names: Mapping[str, str]) -> pd.DataFrame:
    """Every service record signed in ``period`` (a case closed in it), newest first:
    the engineer (``reported_by``) and their name, the RMA, when it was closed
    (Asia/Shanghai), the customer's rating (None when not rated), who signed and the
    remarks ("" when none)."""
    done = cases[within(cases["closed_at"], period)]
    records = pd.DataFrame(
        {
            "engineer": done["reported_by"],
            "name": [names.get(person, person) for person in done["reported_by"]],
            "rma": done["number"],
            "closed_at": done["closed_at"].dt.tz_convert(clock.SHANGHAI),
            "rating": done["rating"].astype("Int64"),
            "signed_by": done["signed_by"].fillna(""),
            "remarks": done["remarks"],
        },
        columns=_RECORD_COLUMNS,
    )
    return records.sort_values(
        ["closed_at", "rma"], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)


def build_engineer_tables(
    cases: pd.DataFrame, period: Period, names: Mapping[str, str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(evaluations, remarks): one row per engineer with cases opened or closed in
    the period, the most closed first; and their latest remarks, newest first."""
    opened = within(cases["reported_at"], period)
    closed = within(cases["closed_at"], period)
    judgeable, met = promise_columns(cases, None)
    people = sorted(set(cases.loc[opened | closed, "reported_by"]))
    rows = []
    for person in people:
        mine = cases["reported_by"] == person
        done = cases[closed & mine].sort_values("closed_at", ascending=False)
        ratings = done["rating"].dropna().astype(int)
        judged = int((closed & mine & judgeable).sum())
        kept = int((closed & mine & judgeable & met).sum())
        spoken = done[done["remarks"].str.strip() != ""]
        rows.append(
            {
                "engineer": person,
                "name": names.get(person, person),
                "cases": int((opened & mine).sum()),
                "closed": len(done),
                "ratings": len(ratings),
                "average_rating": mean(ratings.astype(float)),
                **{f"rating_{n}": int((ratings == n).sum()) for n in range(1, 6)},
                "promise_judged": judged,
                "promise_met": kept,
                "met_pct": pct(kept, judged),
                "latest_remark": spoken["remarks"].iloc[0] if len(spoken) else "",
            }
        )
    evaluations = pd.DataFrame(rows, columns=_ENGINEER_COLUMNS)
    if len(evaluations):
        evaluations = evaluations.sort_values(
            ["closed", "cases", "engineer"], ascending=[False, False, True], kind="stable"
        ).reset_index(drop=True)
    records = signed_records(cases, period, names)
    with_remarks = records[records["remarks"].str.strip() != ""]
    remarks = with_remarks.groupby("engineer", sort=False).head(REMARKS_PER_ENGINEER)
    return evaluations, remarks.reset_index(drop=True)


@read_only
def engineer_evaluations(uow: UnitOfWork, period: Period) -> pd.DataFrame:
    """Per engineer (``reported_by``): cases opened and closed in ``period``, average
    rating and distribution 1-5 of the closed ones, the share of their closed cases
    whose promise was met, and the latest remark."""
    cases = load_cases(uow, period)
    names = auth.full_names(uow, cases["reported_by"])
    evaluations, _ = build_engineer_tables(cases, period, names)
    return evaluations


def build_rating_table(cases: pd.DataFrame, period: Period) -> pd.DataFrame:
    """How many closed cases got each rating 1-5, and the share of each."""
    ratings = cases.loc[within(cases["closed_at"], period), "rating"].dropna().astype(int)
    total = len(ratings)
    return pd.DataFrame(
        [
            {
                "rating": n,
                "count": int((ratings == n).sum()),
                "share_pct": pct(int((ratings == n).sum()), total),
            }
            for n in range(1, 6)
        ]
    )
