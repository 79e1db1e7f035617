"""The service-levels figures, computed from the hand-built history of
``conftest.py`` and checked against the same figures worked out by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy import func, select

from core.db import UnitOfWork
from inventory.models import LedgerEntry, Movement
from reports.service.breakdowns import (
    depot_service,
    escalation_service,
    fault_level_service,
    weekly_flow,
)
from reports.service.engineers import engineer_evaluations
from reports.service.headline import headline
from reports.service.overdue_returns import overdue_returns
from reports.service.period import Period
from reports.service.service_levels import ServiceLevels, service_levels
from reports.service.stock_health import stock_health
from rma.models import Escalation, Notification, Rma, RmaEvent
from tests.reports.conftest import History


@pytest.fixture
def report(engine, history: History) -> ServiceLevels:
    return service_levels(UnitOfWork(engine), history.period, now=history.now)


def _row(frame: pd.DataFrame, **match: object) -> dict[str, object]:
    mask = pd.Series(True, index=frame.index)
    for column, value in match.items():
        mask &= frame[column] == value
    rows = frame[mask].to_dict("records")
    assert len(rows) == 1, f"{match}: {rows}"
    return rows[0]


def _na(value: object) -> bool:
    return value is None or pd.isna(value)


def test_history_is_what_the_tests_assume(history: History):
    cases = history.cases
    assert {k: c.status for k, c in cases.items()} == {
        "Z": "closed",
        "A": "closed",
        "B": "closed",
        "C": "closed",
        "D": "delivered",
        "E": "cancelled",
    }
    assert (cases["A"].depot_code, cases["B"].depot_code, cases["D"].depot_code) == (
        "SH",
        "SH",
        "BJ",
    )
    assert cases["D"].service == "emergency" and cases["A"].service == "standard"
    assert cases["A"].shipping_cost == Decimal("80.00")  # same-city courier


def test_headline_counts_the_period_and_judges_each_promise(report: ServiceLevels):
    h = report.headline
    # Opened in the period: A, B, C, D, E (Z was opened before it).
    assert (h.opened, h.closed, h.cancelled) == (5, 4, 1)
    # Only D is still open.
    assert h.open_now == 1
    # Deliveries: A (5 h) and D (15 h) on time, B (30 h) late.
    assert (h.replacements_delivered, h.replacements_on_time, h.replacement_met_pct) == (
        3,
        2,
        66.7,
    )
    # Repairs returned in the period: Z and C, both within 72 working hours.
    assert (h.repairs_returned, h.repairs_on_time, h.repair_met_pct) == (2, 2, 100.0)
    # Ratings of Z, A, B, C: (3 + 5 + 2 + 4) / 4.
    assert (h.ratings, h.average_rating) == (4, 3.5)
    assert h.escalations == {"C-1": 3, "C-2": 0, "C-3": 0}
    assert h.escalations_total == 3
    # D was due back on 03-18 10:00 and it is 03-20.
    assert h.overdue_returns_now == 1


def test_depots_add_their_shipments_costs_and_deliveries(report: ServiceLevels, history: History):
    depots = report.tables["depots"]
    assert list(depots["depot"]) == ["BJ", "CD", "GZ", "JN", "SH", "SY", "WH", "XA"]
    sh = _row(depots, depot="SH")
    b_cost = float(history.cases["B"].shipping_cost)
    assert (sh["shipped"], sh["emergency"], sh["delivered"], sh["on_time"]) == (2, 0, 2, 1)
    assert sh["shipping_cost_cny"] == pytest.approx(80.00 + b_cost)
    assert sh["met_pct"] == 50.0
    assert sh["avg_hours_to_delivery"] == 17.5  # (5 + 30) / 2
    bj = _row(depots, depot="BJ")
    assert (bj["shipped"], bj["emergency"], bj["delivered"], bj["on_time"]) == (1, 1, 1, 1)
    assert bj["shipping_cost_cny"] == pytest.approx(float(history.cases["D"].shipping_cost))
    assert (bj["met_pct"], bj["avg_hours_to_delivery"]) == (100.0, 15.0)
    assert bj["city_zh"] == "北京"
    idle = depots[~depots["depot"].isin(["SH", "BJ"])]
    assert (idle[["shipped", "emergency", "delivered", "on_time"]] == 0).all().all()
    assert idle["met_pct"].isna().all() and (idle["shipping_cost_cny"] == 0).all()
    # The cancelled E was quoted but never shipped: its cost is not counted.
    assert depots["delivered"].sum() == report.headline.replacements_delivered


def test_fault_levels_and_kinds(report: ServiceLevels):
    table = report.tables["fault_levels"]
    assert len(table) == 9
    c1 = _row(table, fault_level="C-1", kind="advance_replacement")
    assert (c1["opened"], c1["closed"], c1["promise_judged"], c1["promise_met"]) == (1, 0, 1, 1)
    assert _na(c1["average_rating"])
    c2 = _row(table, fault_level="C-2", kind="advance_replacement")
    assert (c2["opened"], c2["closed"], c2["met_pct"], c2["average_rating"]) == (1, 1, 100.0, 5.0)
    c3 = _row(table, fault_level="C-3", kind="advance_replacement")
    assert (c3["opened"], c3["closed"], c3["cancelled"]) == (2, 1, 1)
    assert (c3["promise_judged"], c3["promise_met"], c3["met_pct"]) == (1, 0, 0.0)
    repairs = _row(table, fault_level="C-3", kind="repair")
    assert (repairs["opened"], repairs["closed"], repairs["promise_met"]) == (1, 2, 2)
    assert repairs["average_rating"] == 3.5  # Z 3, C 4
    assert table["opened"].sum() == report.headline.opened
    assert table["closed"].sum() == report.headline.closed


def test_escalations_by_level_and_step(report: ServiceLevels):
    table = report.tables["escalations"]
    assert _row(table, fault_level="C-1") == {
        "fault_level": "C-1",
        "at_risk": 0,
        "step_1": 1,
        "step_2": 1,
        "step_3": 1,
        "total": 3,
    }
    assert table.loc[table["fault_level"] != "C-1", "total"].sum() == 0


def test_engineers_are_evaluated_on_their_closed_cases(report: ServiceLevels):
    engineers = report.tables["engineers"]
    assert list(engineers["engineer"]) == ["eng-wang", "eng-li"]  # most closed first
    wang = _row(engineers, engineer="eng-wang")
    assert wang["name"] == "Wang Wei"
    # Opened A and B in the period; closed Z, A and B in it.
    assert (wang["cases"], wang["closed"], wang["ratings"]) == (2, 3, 3)
    assert wang["average_rating"] == 3.33  # (3 + 5 + 2) / 3
    assert [wang[f"rating_{n}"] for n in range(1, 6)] == [0, 1, 1, 0, 1]
    assert (wang["promise_judged"], wang["promise_met"], wang["met_pct"]) == (3, 2, 66.7)
    assert wang["latest_remark"] == "Replacement came a day late"
    li = _row(engineers, engineer="eng-li")
    assert (li["name"], li["cases"], li["closed"], li["average_rating"]) == ("Li Qiang", 3, 1, 4.0)
    assert [li[f"rating_{n}"] for n in range(1, 6)] == [0, 0, 0, 1, 0]
    assert (li["promise_judged"], li["promise_met"], li["met_pct"]) == (1, 1, 100.0)
    assert li["latest_remark"] == ""


def test_latest_remarks_newest_first_and_ratings_distribution(report: ServiceLevels):
    remarks = report.tables["remarks"]
    assert list(remarks["remarks"]) == [
        "Replacement came a day late",
        "Fast and friendly",
        "Repaired well",
    ]
    assert list(remarks["rating"]) == [2, 5, 3]
    assert list(remarks["signed_by"]) == ["Mr. Sun", "Mr. Zhao", "Ms. Chen"]
    assert str(remarks["closed_at"].iloc[0]) == "2026-03-06 11:00:00+08:00"
    ratings = report.tables["ratings"]
    assert list(ratings["count"]) == [0, 1, 1, 1, 1]
    assert list(ratings["share_pct"]) == [0.0, 25.0, 25.0, 25.0, 25.0]


def test_weeks_start_on_monday_and_cover_the_period(report: ServiceLevels):
    weekly = report.tables["weekly"]
    assert list(weekly["week_start"]) == [date(2026, 3, 2), date(2026, 3, 9)]
    assert list(weekly["week"]) == ["2026-W10", "2026-W11"]
    assert list(weekly["opened"]) == [5, 0]
    assert list(weekly["closed"]) == [4, 0]


def test_stock_health_values_shortage_and_excess(report: ServiceLevels):
    stock = report.tables["stock"]
    sh = _row(stock, depot="SH")
    # One good P1 left at SH (the two defective units are not good stock), target 3.
    assert (sh["good_units"], sh["stock_value_cny"], sh["target_units"]) == (1, 1000.0, 3)
    assert (sh["parts_short"], sh["units_short"], sh["units_excess"]) == (1, 2, 0)
    bj = _row(stock, depot="BJ")
    assert (bj["good_units"], bj["stock_value_cny"], bj["units_short"]) == (0, 0.0, 1)
    gz = _row(stock, depot="GZ")
    # Ten cables at 50 CNY against a target of 2: 6 above twice the target.
    assert (gz["good_units"], gz["stock_value_cny"], gz["units_short"]) == (10, 500.0, 0)
    assert (gz["units_excess"], gz["excess_value_cny"]) == (6, 300.0)
    assert report.targets_stored
    shortages = report.tables["shortages"]
    assert shortages[["part_number", "depot", "available", "target", "short"]].to_dict(
        "records"
    ) == [
        {"part_number": "P1-SWITCH", "depot": "SH", "available": 1, "target": 3, "short": 2},
        {"part_number": "P2-ROUTER", "depot": "BJ", "available": 0, "target": 1, "short": 1},
    ]


def test_overdue_returns_list_the_unit_still_at_the_customer(
    report: ServiceLevels, history: History
):
    overdue = report.tables["overdue_returns"].to_dict("records")
    assert len(overdue) == 1
    row = overdue[0]
    assert row["rma"] == history.cases["D"].number
    assert (row["city"], row["city_zh"], row["depot"]) == ("Harbin", "哈尔滨", "BJ")
    assert row["days_overdue"] == 2  # due 03-18 10:00, now 03-20 12:00
    assert str(row["due"]) == "2026-03-18 10:00:00+08:00"
    assert row["engineer"] == "eng-li"


def test_a_single_day_counts_by_shanghai_dates(engine, history: History):
    monday = service_levels(
        UnitOfWork(engine), Period(date(2026, 3, 2), date(2026, 3, 2)), now=history.now
    )
    h = monday.headline
    # A, C, D and E were opened on Monday; E was cancelled; Z came back from repair.
    assert (h.opened, h.closed, h.cancelled, h.repairs_returned) == (4, 0, 1, 1)
    assert h.replacements_delivered == 1  # A; D arrived on Tuesday
    tuesday = service_levels(
        UnitOfWork(engine), Period(date(2026, 3, 3), date(2026, 3, 3)), now=history.now
    )
    assert (tuesday.headline.opened, tuesday.headline.closed) == (1, 1)  # B opened, Z closed


def test_an_empty_period_gives_zeros_not_an_error(engine, history: History):
    report = service_levels(
        UnitOfWork(engine), Period(date(2025, 1, 1), date(2025, 1, 31)), now=history.now
    )
    h = report.headline
    assert (h.opened, h.closed, h.replacements_delivered, h.repairs_returned, h.ratings) == (
        0,
        0,
        0,
        0,
        0,
    )
    assert h.replacement_met_pct is None and h.repair_met_pct is None
    assert h.average_rating is None and h.escalations_total == 0
    assert report.tables["engineers"].empty and report.tables["remarks"].empty
    assert len(report.tables["depots"]) == 8 and report.tables["depots"]["shipped"].sum() == 0
    assert report.tables["weekly"]["opened"].sum() == 0 and len(report.tables["weekly"]) == 5
    assert list(report.tables["ratings"]["count"]) == [0] * 5
    # "Now" figures do not depend on the period.
    assert h.open_now == 1 and len(report.tables["overdue_returns"]) == 1


def test_without_targets_shortage_and_excess_are_not_assessed(engine, stock_up, make_part):
    stock_up("SH", make_part(), 4)
    health = stock_health(UnitOfWork(engine))
    assert not health.targets_stored
    sh = _row(health.depots, depot="SH")
    assert sh["good_units"] == 4 and sh["stock_value_cny"] == 400.0
    assert sh["units_short"] is None and sh["units_excess"] is None
    assert health.shortages.empty


def test_each_public_function_agrees_with_the_whole_report(
    engine, history: History, report: ServiceLevels
):
    uow, period = UnitOfWork(engine), history.period
    assert headline(uow, period, now=history.now) == report.headline
    for function, table in (
        (depot_service, "depots"),
        (fault_level_service, "fault_levels"),
        (escalation_service, "escalations"),
        (engineer_evaluations, "engineers"),
        (weekly_flow, "weekly"),
    ):
        pd.testing.assert_frame_equal(function(uow, period), report.tables[table])
    pd.testing.assert_frame_equal(
        overdue_returns(uow, now=history.now), report.tables["overdue_returns"]
    )


def test_reading_the_report_changes_nothing(engine, history: History):
    tables = (Rma, RmaEvent, Escalation, Notification, Movement, LedgerEntry)

    def counts() -> list[int]:
        with engine.connect() as connection:
            return [
                connection.execute(select(func.count()).select_from(t)).scalar_one() for t in tables
            ]

    before = counts()
    service_levels(UnitOfWork(engine), history.period, now=history.now)
    assert counts() == before


def test_unknown_table_is_refused_by_name(report: ServiceLevels):
    from core.errors import Invalid

    with pytest.raises(Invalid, match="engineers"):
        report.table("people")
