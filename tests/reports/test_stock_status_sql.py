"""The stock-status sums are SQL of their own (grouped reads of ``part_stock``, the
ledger's newest entry per depot and part, window sums): the hand-counted figures of
``test_stock_status`` on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from tests.reports.test_stock_status import (  # noqa: F401  (stock is a fixture)
    NOW,
    OLD,
    Stock,
    build,
    headline,
    rows,
    stock,
)


@pytest.fixture
def engine(any_engine: Engine) -> Engine:
    return any_engine


def test_the_figures_are_the_same_on_either_database(engine, stock: Stock):  # noqa: F811
    report = build(engine)
    assert headline(report) == {
        "on_hand_value_cny": 10200.0,
        "on_hand_units": 17,
        "in_transit_units": 1,
        "units_short": 3,
        "short_value_cny": 2100.0,
        "units_excess": 5,
        "excess_value_cny": 5400.0,
        "unmoved_value_cny": 6000.0,
    }
    unmoved = rows(report, "unmoved")
    assert [(r["depot"], r["part_number"], r["on_hand"]) for r in unmoved] == [
        ("BJ", "CHS", 1),
        ("BJ", "OPT", 10),
    ]
    assert unmoved[1]["last_moved_at"] == OLD and unmoved[1]["days_unmoved"] == (NOW - OLD).days
    by_depot = {row["depot"]: row for row in rows(report, "by_depot")}
    assert (by_depot["SH"]["on_hand_value_cny"], by_depot["GZ"]["in_transit"]) == (4200.0, 1)
    sh = build(engine, depot="SH", family="optic")
    assert headline(sh)["units_excess"] == 2 and headline(sh)["unmoved_value_cny"] == 0.0
