"""A small, hand-built service history for the report tests.

Six RMAs played through the real lifecycle services with the clock frozen, so
every figure of the service-levels report over ``PERIOD`` can be worked out by
hand (the expectations live in the tests, next to the arithmetic):

==== =========== ===================== ===== ===================================================
case engineer    kind                  level what happens (Asia/Shanghai)
==== =========== ===================== ===== ===================================================
Z    eng-wang    repair                C-3   opened Fri 02-27 (before the period), returned
                                             Mon 03-02 12:00 within 72 working hours, closed
                                             Tue 03-03, rating 3 "Repaired well"
A    eng-wang    advance replacement   C-2   Shanghai, SH stock: opened Mon 03-02 10:00,
                                             delivered 5 h after approval (on time), closed
                                             Thu 03-05 10:00, rating 5 "Fast and friendly"
B    eng-wang    advance replacement   C-3   Suzhou, SH stock: opened Tue 03-03 10:00,
                                             delivered 30 h after approval (late), closed
                                             Fri 03-06 11:00, rating 2 "Replacement came a day
                                             late"
C    eng-li      repair                C-3   Shanghai: opened Mon 03-02 10:00, returned Wed
                                             03-04 10:00 (on time), closed Thu 03-05 10:00,
                                             rating 4, no remark
D    eng-li      advance replacement   C-1   Harbin, BJ stock only, opened Mon 03-02 19:00:
                                             emergency courier, delivered Tue 10:00 (15 h, on
                                             time), never returned (due back 03-18 10:00);
                                             escalated to steps 1-3 on Wed 03-11
E    eng-li      advance replacement   C-3   Shanghai: opened Mon 03-02 10:00, cancelled 12:00
==== =========== ===================== ===== ===================================================

Stock afterwards: part P1 (1,000 CNY) 1 good at SH (plus 2 defective), target 3;
part P2 (2,000 CNY) none at BJ, target 1; part P3 (50 CNY) 10 good at GZ,
target 2.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from core import auth, clock
from core.auth import Actor
from core.db import UnitOfWork
from inventory.service import targets
from reports.service.period import Period
from rma.models import Rma
from rma.service import escalations, lifecycle, opening, queries, returns
from rma.service.opening import OpenRequest
from tests.conftest import TEST_PASSWORD
from tests.inventory.conftest import make_part, planner, staff, stock_up  # noqa: F401
from tests.rma.conftest import account, install, supervisor  # noqa: F401

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 2026-03-02 10:00 in Shanghai
PERIOD = Period(date(2026, 3, 2), date(2026, 3, 15))
NOW = datetime(2026, 3, 20, 4, 0, tzinfo=UTC)  # Friday 03-20 12:00 in Shanghai
SETUP = datetime(2026, 2, 20, 2, 0, tzinfo=UTC)


@dataclass(frozen=True)
class History:
    cases: dict[str, Rma]
    period: Period
    now: datetime
    wang: Actor
    li: Actor


@pytest.fixture
def history(engine, request: pytest.FixtureRequest) -> History:
    # The factories are the inventory and RMA tests' own fixtures, imported above.
    staff_at, planner_user, open_account, install_unit, new_part, receive = (
        request.getfixturevalue(name)
        for name in ("staff", "planner", "account", "install", "make_part", "stock_up")
    )
    uow = UnitOfWork(engine)
    wang = auth.create_user(uow, "eng-wang", TEST_PASSWORD, "engineer", full_name="Wang Wei")
    li = auth.create_user(uow, "eng-li", TEST_PASSWORD, "engineer", full_name="Li Qiang")
    sh, bj = staff_at("SH"), staff_at("BJ")
    with clock.frozen(SETUP):
        p1 = new_part(serialized=True, part_number="P1-SWITCH", unit_cost=Decimal("1000.00"))
        p2 = new_part(serialized=True, part_number="P2-ROUTER", unit_cost=Decimal("2000.00"))
        p3 = new_part(part_number="P3-CABLE", unit_cost=Decimal("50.00"), family="cable")
        p1_serials = receive("SH", p1, 3, serialized=True)
        p2_serials = receive("BJ", p2, 1, serialized=True)
        receive("GZ", p3, 10)
        shanghai, suzhou, harbin = (
            open_account("Shanghai"),
            open_account("Suzhou"),
            open_account("Harbin"),
        )
        units = {
            "Z": install_unit(shanghai, p1),
            "A": install_unit(shanghai, p1),
            "B": install_unit(suzhou, p1),
            "C": install_unit(shanghai, p1),
            "D": install_unit(harbin, p2),
            "E": install_unit(shanghai, p1),
        }

    def at(moment: datetime, step: Callable[[], Rma]) -> Rma:
        with clock.frozen(moment):
            return step()

    def open_case(key: str, who: Actor, kind: str, level: str, moment: datetime) -> Rma:
        request = OpenRequest(
            fault_level=level, kind=kind, symptom="unit fails", serial=units[key].serial
        )
        return at(moment, lambda: opening.open_rma(uow, who, request))

    cases: dict[str, Rma] = {}
    # Z: a repair opened before the period, returned and closed in it.
    friday = T0 - timedelta(days=3)
    z = open_case("Z", wang, "repair", "C-3", friday).number
    at(friday + timedelta(hours=1), lambda: returns.receive_defective(uow, sh, z, "SH", None))
    at(friday + timedelta(hours=2), lambda: returns.start_repair(uow, sh, z))
    at(T0 - timedelta(minutes=30), lambda: returns.finish_repair(uow, sh, z))
    at(T0 + timedelta(hours=2), lambda: returns.return_repaired(uow, sh, z))
    cases["Z"] = at(
        T0 + timedelta(days=1),
        lambda: lifecycle.close(uow, wang, z, 3, "Repaired well", "Ms. Chen"),
    )
    # A: on time from Shanghai.
    a = open_case("A", wang, "advance_replacement", "C-2", T0).number
    at(T0 + timedelta(hours=1), lambda: lifecycle.ship(uow, sh, a, p1_serials[0]))
    at(T0 + timedelta(hours=5), lambda: lifecycle.deliver(uow, wang, a))
    at(
        T0 + timedelta(days=2),
        lambda: returns.receive_defective(uow, sh, a, "SH", units["A"].serial),
    )
    cases["A"] = at(
        T0 + timedelta(days=3),
        lambda: lifecycle.close(uow, wang, a, 5, "Fast and friendly", "Mr. Zhao"),
    )
    # E: opened and cancelled the same morning (its reservation is released).
    e = open_case("E", li, "advance_replacement", "C-3", T0).number
    cases["E"] = at(
        T0 + timedelta(hours=2), lambda: lifecycle.cancel(uow, li, e, "customer fixed it")
    )
    # C: a repair returned within 72 working hours.
    c = open_case("C", li, "repair", "C-3", T0).number
    at(T0 + timedelta(hours=1), lambda: returns.receive_defective(uow, sh, c, "SH", None))
    at(T0 + timedelta(hours=2), lambda: returns.start_repair(uow, sh, c))
    at(T0 + timedelta(days=1), lambda: returns.finish_repair(uow, sh, c))
    at(T0 + timedelta(days=2), lambda: returns.return_repaired(uow, sh, c))
    cases["C"] = at(T0 + timedelta(days=3), lambda: lifecycle.close(uow, li, c, 4, "", "Ms. Wu"))
    # D: C-1 at 19:00 for Harbin, only Beijing has the part: the emergency courier.
    d_opened = T0 + timedelta(hours=9)
    d = open_case("D", li, "advance_replacement", "C-1", d_opened).number
    at(d_opened + timedelta(minutes=30), lambda: lifecycle.ship(uow, bj, d, p2_serials[0]))
    cases["D"] = at(d_opened + timedelta(hours=15), lambda: lifecycle.deliver(uow, li, d))
    # B: late from Shanghai to Suzhou.
    b_opened = T0 + timedelta(days=1)
    b = open_case("B", wang, "advance_replacement", "C-3", b_opened).number
    at(b_opened + timedelta(hours=1), lambda: lifecycle.ship(uow, sh, b, p1_serials[1]))
    at(b_opened + timedelta(hours=30), lambda: lifecycle.deliver(uow, wang, b))
    at(
        T0 + timedelta(days=4),
        lambda: returns.receive_defective(uow, sh, b, "SH", units["B"].serial),
    )
    cases["B"] = at(
        T0 + timedelta(days=4, hours=1),
        lambda: lifecycle.close(uow, wang, b, 2, "Replacement came a day late", "Mr. Sun"),
    )
    # Only D is still open when the ladder is checked on Wednesday 03-11.
    with clock.frozen(T0 + timedelta(days=9)):
        escalations.raise_due_escalations(uow, clock.now())
    for depot, part, target in (("SH", p1, 3), ("BJ", p2, 1), ("GZ", p3, 2)):
        targets.set_override(uow, planner_user, depot, part, target)
    cases = {key: queries.get_rma(uow, rma.number).rma for key, rma in cases.items()}
    return History(cases, PERIOD, NOW, wang, li)
