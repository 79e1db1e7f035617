"""The service-levels report: what planners and supervisors read about a period.

Everything here reads; nothing writes. The functions take a unit of work and a
``Period`` (Asia/Shanghai calendar dates, both ends included) and answer pandas
DataFrames or small dataclasses; ``reports.render`` turns them into PDF, CSV,
XLSX and JSON.

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

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import func, select

from core import clock
from core.auth import User
from core.db import UnitOfWork, read_only
from core.errors import Invalid
from depots.models import City, Depot
from inventory.models import Part, StockBalance
from inventory.service.targets import effective_targets
from rma import kinds
from rma.models import FAULT_LEVELS, OPEN_STATUSES, Escalation, Kind, Rma
from rma.service.promises import JUDGED
from rma.service.queries import overdue_returns_query

DEFAULT_DAYS = 30  # the default period: the 30 days before today, and today
MAX_SPAN_DAYS = 731  # two years, a leap day included
EARLIEST = date(2000, 1, 1)
LATEST = date(2199, 12, 31)
TOP_SHORTAGES = 20
REMARKS_PER_ENGINEER = 3
EMERGENCY = "emergency"
SHIPPING_KINDS = kinds.SHIPPING_KINDS
KINDS = tuple(k.value for k in Kind)
ESCALATION_STEPS = (0, 1, 2, 3)  # 0: at risk (no depot could meet the due time)

# Short names of the kinds, for narrow table columns.
SHORT_KINDS = {"advance_replacement": "replacement", "repair": "repair", "loaner": "loaner"}
KIND_LABELS = {
    Kind.ADVANCE_REPLACEMENT.value: "advance replacement",
    Kind.REPAIR.value: "repair",
    Kind.LOANER.value: "loaner",
}


@dataclass(frozen=True)
class TableInfo:
    title: str
    description: str


# The tables of the report, in the order they are printed and exported.
TABLES: dict[str, TableInfo] = {
    "summary": TableInfo("Headline", "The headline figures of the period, one per row."),
    "weekly": TableInfo(
        "RMAs opened and closed per week",
        "Weeks start on Monday; the first and last week are cut to the period.",
    ),
    "depots": TableInfo(
        "Replacements by depot",
        "Shipments in the period, and the 24-hour promise on the deliveries in the period.",
    ),
    "fault_levels": TableInfo(
        "By fault level and kind",
        "Cases opened, closed and cancelled; the promise of the kind (24-hour replacement, "
        "72-working-hour repair) on the deliveries and returns in the period.",
    ),
    "escalations": TableInfo(
        "Escalations raised",
        "Escalations raised in the period, by fault level and rung of the ladder "
        "(step 0: the case was at risk at allocation).",
    ),
    "engineers": TableInfo(
        "Engineers' evaluations",
        "Per engineer: cases opened, cases closed, the customers' ratings of the closed "
        "cases and the share of them whose promise was met.",
    ),
    "remarks": TableInfo(
        "Latest customer remarks",
        f"Up to {REMARKS_PER_ENGINEER} most recent remarks per engineer, from cases closed "
        "in the period.",
    ),
    "ratings": TableInfo("Rating distribution", "Ratings of the cases closed in the period."),
    "stock": TableInfo(
        "Stock health by depot (now)",
        "Stock value, and units short of target or above twice the target.",
    ),
    "shortages": TableInfo(
        f"Top {TOP_SHORTAGES} shortages (now)",
        "The depot and part positions furthest below target.",
    ),
    "overdue_returns": TableInfo(
        "Overdue defective returns (now)",
        "Units replaced or loaned in advance that should be back by now and are not.",
    ),
}
TABLE_NAMES: tuple[str, ...] = tuple(TABLES)


# --- the period -----------------------------------------------------------------------------


def _as_date(value: date | str | None, name: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    text = value.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Invalid(f"{name}: {value!r} is not a date (YYYY-MM-DD)", field=name) from None


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
    ) -> Period:
        """The period from optional ``start``/``end`` dates (``date`` or ISO text).

        Without ``end`` it ends today (Asia/Shanghai); without ``start`` it starts
        ``DEFAULT_DAYS`` days before the end. Raises ``Invalid`` for text that is no
        date, a start after the end, a span of more than two years, or dates outside
        the years 2000 to 2199.
        """
        first, last = _as_date(start, "start"), _as_date(end, "end")
        last = last or today or clock.local(clock.now()).date()
        if not EARLIEST <= last <= LATEST:
            raise Invalid(f"end must be between {EARLIEST} and {LATEST}", field="end")
        first = first or max(last - timedelta(days=DEFAULT_DAYS), EARLIEST)
        for name, value in (("start", first), ("end", last)):
            if not EARLIEST <= value <= LATEST:
                raise Invalid(f"{name} must be between {EARLIEST} and {LATEST}", field=name)
        if first > last:
            raise Invalid(f"start {first} is after end {last}", field="start")
        if (last - first).days + 1 > MAX_SPAN_DAYS:
            raise Invalid(
                f"the period {first} to {last} is longer than two years; choose a shorter one",
                field="end",
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
        return f"{self.start.isoformat()} to {self.end.isoformat()}"


# --- results --------------------------------------------------------------------------------


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

    @property
    def escalations_total(self) -> int:
        return sum(self.escalations.values())

    def rows(self) -> list[tuple[str, str, Any]]:
        """(key, label, value) for each figure, in print order."""
        rows: list[tuple[str, str, Any]] = [
            ("opened", "RMAs opened", self.opened),
            ("closed", "RMAs closed", self.closed),
            ("cancelled", "RMAs cancelled", self.cancelled),
            ("open_now", "RMAs open now", self.open_now),
            ("replacements_delivered", "Replacements delivered", self.replacements_delivered),
            ("replacements_on_time", "Delivered within 24 h", self.replacements_on_time),
            (
                "replacement_met_pct",
                "24-hour replacement promise met (%)",
                self.replacement_met_pct,
            ),
            ("repairs_returned", "Repairs returned", self.repairs_returned),
            ("repairs_on_time", "Returned within 72 working hours", self.repairs_on_time),
            ("repair_met_pct", "72-working-hour repair promise met (%)", self.repair_met_pct),
            ("ratings", "Customer ratings received", self.ratings),
            ("average_rating", "Average customer rating (1-5)", self.average_rating),
        ]
        rows += [
            (f"escalations_{level}", f"Escalations raised, {level}", count)
            for level, count in self.escalations.items()
        ]
        rows += [
            ("escalations_total", "Escalations raised, all levels", self.escalations_total),
            ("overdue_returns_now", "Defective returns overdue now", self.overdue_returns_now),
        ]
        return rows


@dataclass(frozen=True)
class StockHealth:
    """Stock health now: per depot, and the worst shortages."""

    depots: pd.DataFrame
    shortages: pd.DataFrame
    targets_stored: bool


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
            raise Invalid(f"table must be one of {', '.join(self.tables)}", field="table")
        return self.tables[name]


# --- loading --------------------------------------------------------------------------------

_INSTANTS = (
    "reported_at",
    "approved_at",
    "shipped_at",
    "delivered_at",
    "due_replacement",
    "returned_at",
    "due_repair_return",
    "closed_at",
    "cancelled_at",
)
_CASE_COLUMNS = (
    Rma.number,
    Rma.fault_level,
    Rma.kind,
    Rma.status,
    Rma.reported_by,
    Rma.depot_code,
    Rma.service,
    Rma.shipping_cost,
    Rma.rating,
    Rma.remarks,
    Rma.signed_by,
    *(getattr(Rma, name) for name in _INSTANTS),
)


@read_only
def load_cases(uow: UnitOfWork, period: Period) -> pd.DataFrame:
    """Every RMA that can have a step in ``period``: reported before its end and
    not closed or cancelled before its start. One row per RMA; instants are
    pandas UTC timestamps (NaT when the step has not happened)."""
    query = select(*_CASE_COLUMNS).where(
        Rma.reported_at < period.end_at,
        (Rma.closed_at.is_(None)) | (Rma.closed_at >= period.start_at),
        (Rma.cancelled_at.is_(None)) | (Rma.cancelled_at >= period.start_at),
    )
    names = [column.key for column in _CASE_COLUMNS]
    frame = pd.DataFrame([tuple(row) for row in uow.session.execute(query)], columns=names)
    for name in _INSTANTS:
        frame[name] = pd.to_datetime(frame[name], utc=True)
    frame["shipping_cost"] = pd.to_numeric(frame["shipping_cost"].astype(object)).astype(float)
    frame["rating"] = pd.to_numeric(frame["rating"]).astype("Float64")
    frame["remarks"] = frame["remarks"].fillna("")
    return frame


def _within(series: pd.Series, period: Period) -> pd.Series:
    """True where the instant lies in the period (NaT never does)."""
    return (series >= pd.Timestamp(period.start_at)) & (series < pd.Timestamp(period.end_at))


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _mean(values: pd.Series, digits: int = 2) -> float | None:
    values = values.dropna()
    return round(float(values.mean()), digits) if len(values) else None


def _promise_columns(cases: pd.DataFrame, period: Period | None) -> tuple[pd.Series, pd.Series]:
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
        happened = done.notna() if period is None else _within(done, period)
        this = cases["kind"].isin(promise.kinds) & happened & due.notna()
        judged |= this
        met |= this & (done <= due)
    return judged, met


# --- headline -------------------------------------------------------------------------------


def _escalation_counts(uow: UnitOfWork, period: Period) -> pd.DataFrame:
    rows = uow.session.execute(
        select(Escalation.fault_level, Escalation.step, func.count())
        .where(Escalation.raised_at >= period.start_at, Escalation.raised_at < period.end_at)
        .group_by(Escalation.fault_level, Escalation.step)
    ).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=["fault_level", "step", "count"])


def build_headline(
    cases: pd.DataFrame,
    period: Period,
    *,
    open_now: int,
    escalations: pd.DataFrame,
    overdue_now: int,
) -> Headline:
    """The headline from loaded cases and the counts only the database knows."""
    judged, met = _promise_columns(cases, period)
    replacement = judged & cases["kind"].isin(SHIPPING_KINDS)
    repair = judged & (cases["kind"] == Kind.REPAIR.value)
    closed = _within(cases["closed_at"], period)
    ratings = cases.loc[closed, "rating"].dropna()
    by_level = {level: 0 for level in FAULT_LEVELS}
    for level, count in escalations.groupby("fault_level")["count"].sum().items():
        by_level[str(level)] = by_level.get(str(level), 0) + int(count)
    return Headline(
        opened=int(_within(cases["reported_at"], period).sum()),
        closed=int(closed.sum()),
        cancelled=int(_within(cases["cancelled_at"], period).sum()),
        open_now=open_now,
        replacements_delivered=int(replacement.sum()),
        replacements_on_time=int((replacement & met).sum()),
        replacement_met_pct=_pct(int((replacement & met).sum()), int(replacement.sum())),
        repairs_returned=int(repair.sum()),
        repairs_on_time=int((repair & met).sum()),
        repair_met_pct=_pct(int((repair & met).sum()), int(repair.sum())),
        ratings=len(ratings),
        average_rating=_mean(ratings),
        escalations=by_level,
        overdue_returns_now=overdue_now,
    )


@read_only
def headline(uow: UnitOfWork, period: Period, *, now: datetime | None = None) -> Headline:
    """The headline figures of ``period``; "now" figures at ``now`` (default: the clock)."""
    now = clock.as_utc(now or clock.now())
    return build_headline(
        load_cases(uow, period),
        period,
        open_now=_open_now(uow),
        escalations=_escalation_counts(uow, period),
        overdue_now=int(
            uow.session.scalar(
                select(func.count()).select_from(overdue_returns_query(now).subquery())
            )
            or 0
        ),
    )


def _open_now(uow: UnitOfWork) -> int:
    return int(
        uow.session.scalar(select(func.count(Rma.id)).where(Rma.status.in_(OPEN_STATUSES))) or 0
    )


# --- by depot -------------------------------------------------------------------------------


def _depots(uow: UnitOfWork) -> pd.DataFrame:
    rows = uow.session.execute(
        select(Depot.code, Depot.name, City.name, City.name_zh)
        .join(City, City.id == Depot.city_id)
        .order_by(Depot.code)
    ).all()
    return pd.DataFrame(
        [tuple(r) for r in rows], columns=["depot", "depot_name", "city", "city_zh"]
    )


def build_depot_table(cases: pd.DataFrame, period: Period, depots: pd.DataFrame) -> pd.DataFrame:
    """One row per depot (every depot, zeros included)."""
    judged, met = _promise_columns(cases, period)
    shipped = cases["kind"].isin(SHIPPING_KINDS) & _within(cases["shipped_at"], period)
    delivered = judged & cases["kind"].isin(SHIPPING_KINDS)
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
                "met_pct": _pct(on_time, int(arrived.sum())),
                "avg_hours_to_delivery": _mean(hours[arrived], 1),
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
    return build_depot_table(load_cases(uow, period), period, _depots(uow))


# --- by fault level and kind ----------------------------------------------------------------


def build_fault_level_table(cases: pd.DataFrame, period: Period) -> pd.DataFrame:
    """One row per fault level and kind (all nine, zeros included)."""
    judged, met = _promise_columns(cases, period)
    opened = _within(cases["reported_at"], period)
    closed = _within(cases["closed_at"], period)
    cancelled = _within(cases["cancelled_at"], period)
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
                    "met_pct": _pct(kept, checked),
                    "average_rating": _mean(cases.loc[closed & mine, "rating"]),
                }
            )
    return pd.DataFrame(rows)


@read_only
def fault_level_service(uow: UnitOfWork, period: Period) -> pd.DataFrame:
    """Cases and promises of ``period`` by fault level (C-1..C-3) and kind."""
    return build_fault_level_table(load_cases(uow, period), period)


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
    return build_escalation_table(_escalation_counts(uow, period))


# --- engineers ------------------------------------------------------------------------------


def _names(uow: UnitOfWork, usernames: set[str]) -> dict[str, str]:
    if not usernames:
        return {}
    rows = uow.session.execute(
        select(User.username, User.full_name).where(User.username.in_(sorted(usernames)))
    ).all()
    return {username: (full or username) for username, full in rows}


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


def build_engineer_tables(
    cases: pd.DataFrame, period: Period, names: Mapping[str, str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(evaluations, remarks): one row per engineer with cases opened or closed in
    the period, the most closed first; and their latest remarks, newest first."""
    opened = _within(cases["reported_at"], period)
    closed = _within(cases["closed_at"], period)
    judgeable, met = _promise_columns(cases, None)
    people = sorted(set(cases.loc[opened | closed, "reported_by"]))
    rows, remark_rows = [], []
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
                "average_rating": _mean(ratings.astype(float)),
                **{f"rating_{n}": int((ratings == n).sum()) for n in range(1, 6)},
                "promise_judged": judged,
                "promise_met": kept,
                "met_pct": _pct(kept, judged),
                "latest_remark": spoken["remarks"].iloc[0] if len(spoken) else "",
            }
        )
        for case in spoken.head(REMARKS_PER_ENGINEER).itertuples(index=False):
            remark_rows.append(
                {
                    "engineer": person,
                    "name": names.get(person, person),
                    "rma": case.number,
                    "closed_at": case.closed_at.tz_convert(clock.SHANGHAI),
                    "rating": None if pd.isna(case.rating) else int(case.rating),
                    "signed_by": case.signed_by or "",
                    "remarks": case.remarks,
                }
            )
    evaluations = pd.DataFrame(rows, columns=_ENGINEER_COLUMNS)
    if len(evaluations):
        evaluations = evaluations.sort_values(
            ["closed", "cases", "engineer"], ascending=[False, False, True], kind="stable"
        ).reset_index(drop=True)
    remarks = pd.DataFrame(
        remark_rows,
        columns=["engineer", "name", "rma", "closed_at", "rating", "signed_by", "remarks"],
    )
    if len(remarks):
        remarks = remarks.sort_values(
            ["closed_at", "rma"], ascending=[False, True], kind="stable"
        ).reset_index(drop=True)
    return evaluations, remarks


@read_only
def engineer_evaluations(uow: UnitOfWork, period: Period) -> pd.DataFrame:
    """Per engineer (``reported_by``): cases opened and closed in ``period``, average
    rating and distribution 1-5 of the closed ones, the share of their closed cases
    whose promise was met, and the latest remark."""
    cases = load_cases(uow, period)
    evaluations, _ = build_engineer_tables(cases, period, _names(uow, set(cases["reported_by"])))
    return evaluations


def build_rating_table(cases: pd.DataFrame, period: Period) -> pd.DataFrame:
    """How many closed cases got each rating 1-5, and the share of each."""
    ratings = cases.loc[_within(cases["closed_at"], period), "rating"].dropna().astype(int)
    total = len(ratings)
    return pd.DataFrame(
        [
            {
                "rating": n,
                "count": int((ratings == n).sum()),
                "share_pct": _pct(int((ratings == n).sum()), total),
            }
            for n in range(1, 6)
        ]
    )


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
        inside = series[_within(series, period)]
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


# --- stock health ---------------------------------------------------------------------------


@read_only
def stock_health(uow: UnitOfWork, *, top: int = TOP_SHORTAGES) -> StockHealth:
    """Stock health now: per depot (every depot) the good units and their value
    (CNY), units in transit to it, the sum of targets, units and parts short of
    target and units above twice the target with their value; and the ``top``
    largest shortages (part, depot, available, in transit, target, short)."""
    depots = _depots(uow)
    stock = pd.DataFrame(
        [
            tuple(r)
            for r in uow.session.execute(
                select(
                    StockBalance.depot_code,
                    StockBalance.part_number,
                    StockBalance.bucket,
                    func.sum(StockBalance.on_hand),
                    func.sum(StockBalance.reserved),
                )
                .where(StockBalance.bucket.in_(["good", "in_transit"]))
                .group_by(StockBalance.depot_code, StockBalance.part_number, StockBalance.bucket)
            )
        ],
        columns=["depot", "part_number", "bucket", "on_hand", "reserved"],
    )
    good = stock[stock["bucket"] == "good"].set_index(["depot", "part_number"])
    transit = stock[stock["bucket"] == "in_transit"].set_index(["depot", "part_number"])
    targets = pd.DataFrame(
        [(depot, part, target) for (depot, part), target in effective_targets(uow).items()],
        columns=["depot", "part_number", "target"],
    ).set_index(["depot", "part_number"])
    targets_stored = len(targets) > 0
    keys = good.index.union(transit.index).union(targets.index)
    positions = pd.DataFrame(index=keys)
    positions["good"] = good["on_hand"].reindex(keys).fillna(0).astype(int)
    positions["available"] = positions["good"] - good["reserved"].reindex(keys).fillna(0).astype(
        int
    )
    positions["in_transit"] = transit["on_hand"].reindex(keys).fillna(0).astype(int)
    positions["target"] = targets["target"].reindex(keys).fillna(0).astype(int)
    positions = positions.reset_index()
    parts = _parts(uow)
    positions["unit_cost"] = (
        positions["part_number"].map(parts["unit_cost"]).fillna(0.0).astype(float)
    )
    positions["description"] = positions["part_number"].map(parts["description"]).fillna("")
    position = positions["available"] + positions["in_transit"]
    if targets_stored:
        positions["short"] = (positions["target"] - position).clip(lower=0)
        positions["excess"] = (position - 2 * positions["target"]).clip(lower=0)
    else:
        positions["short"] = 0
        positions["excess"] = 0
    positions["value"] = positions["good"] * positions["unit_cost"]
    positions["excess_value"] = positions["excess"] * positions["unit_cost"]
    rows = []
    for depot in depots.itertuples(index=False):
        mine = positions[positions["depot"] == depot.depot]
        rows.append(
            {
                "depot": depot.depot,
                "depot_name": depot.depot_name,
                "city_zh": depot.city_zh,
                "good_units": int(mine["good"].sum()),
                "stock_value_cny": round(float(mine["value"].sum()), 2),
                "in_transit": int(mine["in_transit"].sum()),
                "target_units": int(mine["target"].sum()),
                "parts_short": int((mine["short"] > 0).sum()) if targets_stored else None,
                "units_short": int(mine["short"].sum()) if targets_stored else None,
                "units_excess": int(mine["excess"].sum()) if targets_stored else None,
                "excess_value_cny": round(float(mine["excess_value"].sum()), 2)
                if targets_stored
                else None,
            }
        )
    shortages = positions[positions["short"] > 0].copy()
    shortages["short_value_cny"] = (shortages["short"] * shortages["unit_cost"]).round(2)
    shortages = shortages.sort_values(
        ["short", "short_value_cny", "part_number", "depot"],
        ascending=[False, False, True, True],
        kind="stable",
    ).head(top)
    shortages = shortages[
        [
            "part_number",
            "description",
            "depot",
            "available",
            "in_transit",
            "target",
            "short",
            "short_value_cny",
        ]
    ].reset_index(drop=True)
    return StockHealth(pd.DataFrame(rows), shortages, targets_stored)


def _parts(uow: UnitOfWork) -> pd.DataFrame:
    """Every part's description and unit cost (CNY, float), indexed by part number."""
    rows = uow.session.execute(select(Part.part_number, Part.description, Part.unit_cost)).all()
    frame = pd.DataFrame(
        [(p, d, float(c)) for p, d, c in rows], columns=["part_number", "description", "unit_cost"]
    )
    return frame.set_index("part_number")


# --- overdue returns ------------------------------------------------------------------------


@read_only
def overdue_returns(uow: UnitOfWork, *, now: datetime | None = None) -> pd.DataFrame:
    """Units that should be back by ``now`` (default: the clock) and are not, by the
    one rule of ``rma.service.queries.overdue_returns_query`` (the daily reminders
    chase the same cases): RMA, customer, city, depot, kind, part, serial expected
    back, due time (Asia/Shanghai), whole days overdue, engineer. The longest
    overdue first."""
    now = clock.as_utc(now or clock.now())
    rows = []
    for rma, customer, _site, city in uow.session.execute(overdue_returns_query(now)):
        expected = kinds.expected_back(rma)
        due = clock.as_utc(rma.due_defective_return)
        rows.append(
            {
                "rma": rma.number,
                "customer": customer.name,
                "customer_zh": customer.name_zh,
                "city": city.name,
                "city_zh": city.name_zh,
                "depot": rma.depot_code or "",
                "kind": rma.kind,
                "part_number": expected.part_number if expected else rma.part_number,
                "serial": (expected.serial if expected else None) or "",
                "due": pd.Timestamp(due).tz_convert(clock.SHANGHAI),
                "days_overdue": (now - due).days,
                "engineer": rma.reported_by,
            }
        )
    frame = pd.DataFrame(
        rows,
        columns=[
            "rma",
            "customer",
            "customer_zh",
            "city",
            "city_zh",
            "depot",
            "kind",
            "part_number",
            "serial",
            "due",
            "days_overdue",
            "engineer",
        ],
    )
    if len(frame):
        frame = frame.sort_values(
            ["due", "rma"], ascending=[True, True], kind="stable"
        ).reset_index(drop=True)
    return frame


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
    escalations = _escalation_counts(uow, period)
    overdue = overdue_returns(uow, now=now)
    names = _names(uow, set(cases["reported_by"]))
    evaluations, remarks = build_engineer_tables(cases, period, names)
    health = stock_health(uow)
    top = build_headline(
        cases, period, open_now=_open_now(uow), escalations=escalations, overdue_now=len(overdue)
    )
    summary = pd.DataFrame(
        [
            ("period_start", "Period start (Asia/Shanghai)", period.start.isoformat()),
            ("period_end", "Period end (Asia/Shanghai, included)", period.end.isoformat()),
            ("generated_at", "Generated at", clock.local(now).isoformat(timespec="seconds")),
            *top.rows(),
        ],
        columns=["metric", "label", "value"],
        dtype=object,
    )
    tables = {
        "summary": summary,
        "weekly": build_weekly_table(cases, period),
        "depots": build_depot_table(cases, period, _depots(uow)),
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
