"""The 24-hour coverage report: shares worked out by hand on a small installed base,
the demo lanes' far cities by hour of approval, and the report through its surfaces."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from core import clock
from core.db import UnitOfWork
from reports.service.coverage import covered_share

NOW = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)  # Friday 2026-03-20 10:00 in Shanghai


@dataclass(frozen=True)
class Base:
    switch: str
    router: str


@pytest.fixture
def base(engine, request: pytest.FixtureRequest) -> Base:
    """P1 (switch): 2 available at SH; installed 3 in Shanghai, 1 in Urumqi.
    P2 (router, family line_card): 1 available at BJ; installed 2 in Harbin."""
    new_part, receive, open_account, install_unit = (
        request.getfixturevalue(name) for name in ("make_part", "stock_up", "account", "install")
    )
    with clock.frozen(NOW):
        switch = new_part(part_number="P1-SWITCH", family="chassis")
        router = new_part(part_number="P2-ROUTER", family="line_card")
        receive("SH", switch, 2)
        receive("BJ", router, 1)
        shanghai, urumqi, harbin = (open_account(c) for c in ("Shanghai", "Urumqi", "Harbin"))
        for _ in range(3):
            install_unit(shanghai, switch)
        install_unit(urumqi, switch)
        for _ in range(2):
            install_unit(harbin, router)
    return Base(switch, router)


def test_no_installed_base_has_no_share(engine):
    assert covered_share(UnitOfWork(engine), at=NOW) is None


def test_covered_share_weights_pairs_by_installed_units(engine, base: Base):
    # Shanghai (3, SH courier 4 h) and Harbin (2, BJ by air 11.5 h) are covered;
    # Urumqi (1) is never within 24 hours: 5 of 6 installed units.
    assert covered_share(UnitOfWork(engine), at=NOW) == pytest.approx(100 * 5 / 6)


def test_a_plans_stock_replaces_todays(engine, base: Base):
    # Without the router at BJ, Harbin's 2 units fall out: 3 of 6.
    after = {(base.switch, "SH"): 2}
    assert covered_share(UnitOfWork(engine), available=after, at=NOW) == pytest.approx(50.0)
