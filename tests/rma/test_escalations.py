"""Escalations: the ladder as data, the support clock in working hours, raising each
rung exactly once, the "at risk" alert, and acknowledging.

The helpers at the top take an engine (not fixtures), so the concurrency tests
can build cases on PostgreSQL as well; other escalation test modules import them.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Engine

from core import auth, clock
from core.auth import Actor
from core.db import UnitOfWork, read_only, transactional
from core.errors import Conflict, Forbidden, Invalid, NotFound
from depots.calendar import add_working_hours, working_hours_between
from depots.service.calendars import get_calendar
from inventory.models import PartIn
from inventory.service import catalog, moves
from rma.models import Escalation, Notification, Rma, Site
from rma.service import (
    acknowledgements,
    customers,
    escalations,
    ladder,
    lifecycle,
    opening,
    queries,
)
from rma.service.opening import OpenRequest

SH = clock.SHANGHAI
_ids = itertools.count(1)


def sh(*parts: int) -> datetime:
    """An instant given in Asia/Shanghai wall-clock time."""
    return datetime(*parts, tzinfo=SH)


@dataclass
class World:
    """Users, a part and customers to open cases for, on any engine."""

    engine: Engine
    engineer: Actor
    supervisor: Actor
    admin: Actor
    part: str

    @property
    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine)

    def customer(
        self,
        *,
        coverage: str | None = "5x8",
        city: str = "Shanghai",
        contact_email: str | None = None,
        email: str | None = None,
        loaner: bool = False,
    ) -> Site:
        """A customer with one site in ``city`` and a contract valid through 2026-2027."""
        n = next(_ids)
        customer = customers.create_customer(
            self.uow, self.supervisor, f"ESC-{n}", f"Customer {n}", email=email
        )
        site = customers.create_site(
            self.uow,
            self.supervisor,
            customer.id,
            f"Site {n}",
            city,
            contact_name="Ms Li",
            contact_phone="+86 21 5555 0000",
            contact_email=contact_email,
        )
        if coverage:
            customers.create_contract(
                self.uow,
                self.supervisor,
                customer.id,
                f"KE-{n}",
                coverage,
                datetime(2025, 12, 1).date(),
                datetime(2027, 12, 31).date(),
                loaner=loaner,
            )
        return site

    def open(
        self,
        site: Site,
        level: str,
        reported_at: datetime,
        *,
        symptom: str = "ports flapping on the core switch",
        kind: str = "repair",
    ) -> Rma:
        """An entitled RMA reported at ``reported_at``: a repair is approved at once, a
        replacement or loaner also allocated (or backordered when no depot has stock)."""
        contract = customers.list_contracts(self.uow, site.customer_id)
        unit = customers.create_installed_unit(
            self.uow,
            self.supervisor,
            f"ESCU{next(_ids):08d}",
            self.part,
            site.id,
            datetime(2025, 6, 1).date(),
            datetime(2027, 6, 1).date(),
            contract_id=contract[0].id if contract else None,
        )
        with clock.frozen(reported_at):
            return opening.open_rma(
                self.uow,
                self.engineer,
                OpenRequest(fault_level=level, kind=kind, symptom=symptom, serial=unit.serial),
            )

    def allocated(
        self,
        site: Site,
        level: str,
        opened: datetime,
        *,
        depot: str = "SH",
        kind: str = "advance_replacement",
    ) -> tuple[Rma, Actor, str]:
        """A replacement (or loaner) allocated to ``depot``, the only one holding the part;
        with the depot's staff member and the serial to ship."""
        staff = auth.create_user(
            self.uow,
            f"esc-staff-{next(_ids)}",
            "test-password-1",
            "depot_staff",
            depot_code=depot,
        )
        serial = f"ESCS{next(_ids):08d}"
        with clock.frozen(opened - timedelta(hours=1)):
            moves.receive(self.uow, staff, depot, self.part, 1, [serial])
        rma = self.open(site, level, opened, kind=kind)
        assert (rma.status, rma.depot_code) == ("allocated", depot)
        return rma, staff, serial

    def delivered(
        self,
        site: Site,
        delivered_at: datetime,
        *,
        depot: str = "SH",
        kind: str = "advance_replacement",
        level: str = "C-2",
    ) -> Rma:
        """A replacement (or loaner) shipped from ``depot`` and delivered at ``delivered_at``."""
        opened = delivered_at - timedelta(hours=6)
        rma, staff, serial = self.allocated(site, level, opened, depot=depot, kind=kind)
        with clock.frozen(opened + timedelta(hours=1)):
            lifecycle.ship(self.uow, staff, rma.number, serial)
        with clock.frozen(delivered_at):
            return lifecycle.deliver(self.uow, self.engineer, rma.number)


def make_world(engine: Engine) -> World:
    """Seed the ladder and create the people and the part cases need."""
    n = next(_ids)

    def user(role: str) -> Actor:
        return auth.create_user(
            UnitOfWork(engine),
            f"esc-{role}-{n}",
            "test-password-1",
            role,
            full_name=f"{role} {n}",
            email=f"{role}-{n}@customer-service.example",
        )

    ladder.seed_ladder(UnitOfWork(engine))
    planner = user("planner")
    part = catalog.create_part(
        UnitOfWork(engine),
        planner,
        PartIn(
            part_number=f"SW-CORE-{n}",
            description="core switch 48x10G",
            family="chassis",
            serialized=True,
            unit_cost=Decimal("25000.00"),
        ),
    ).part_number
    return World(engine, user("engineer"), user("supervisor"), user("admin"), part)


@transactional
def arrange(uow: UnitOfWork, number: str, **values: object) -> None:
    """Put an RMA into a state the lifecycle reaches through depots and couriers."""
    uow.session.execute(update(Rma).where(Rma.number == number).values(**values))


@read_only
def outbox(uow: UnitOfWork, kind: str | None = None) -> list[Notification]:
    query = select(Notification).order_by(Notification.id)
    if kind:
        query = query.where(Notification.kind == kind)
    return list(uow.session.scalars(query))


@read_only
def escalation_rows(uow: UnitOfWork) -> list[Escalation]:
    return list(uow.session.scalars(select(Escalation).order_by(Escalation.id)))


def steps_of(raised: list[Escalation]) -> list[tuple[int, int]]:
    return [(e.rma_id, e.step) for e in raised]


@pytest.fixture
def world(engine: Engine) -> World:
    return make_world(engine)


# --- the ladder -----------------------------------------------------------------------------


def test_default_ladder_follows_the_domain_table(world):
    steps = {
        (s.fault_level, s.step): (s.after_hours, s.notify_title, s.notify_email)
        for s in ladder.list_ladder(world.uow)
    }
    assert steps == {
        ("C-1", 1): (1.0, "regional service supervisor", "regional-supervisor@spares.example"),
        ("C-1", 2): (8.0, "HQ service manager", "hq-service-manager@spares.example"),
        ("C-1", 3): (24.0, "HQ service director", "hq-service-director@spares.example"),
        ("C-2", 1): (1.0, "regional service supervisor", "regional-supervisor@spares.example"),
        ("C-2", 2): (8.0, "HQ service manager", "hq-service-manager@spares.example"),
        ("C-2", 3): (24.0, "HQ service director", "hq-service-director@spares.example"),
        ("C-3", 1): (1.0, "service engineer", "service-engineers@spares.example"),
        ("C-3", 2): (8.0, "regional service supervisor", "regional-supervisor@spares.example"),
        ("C-3", 3): (24.0, "HQ service manager", "hq-service-manager@spares.example"),
    }


def test_seeding_again_keeps_an_administrators_edits(world):
    ladder.update_step(world.uow, world.admin, "C-2", 2, notify_email="ops@acme.example")
    assert ladder.seed_ladder(world.uow) == 0
    step = ladder.list_ladder(world.uow, "C-2")[1]
    assert step.notify_email == "ops@acme.example"
    assert len(ladder.list_ladder(world.uow)) == 9


def test_administrator_changes_a_step(world):
    row = ladder.update_step(
        world.uow,
        world.admin,
        "c-1",
        2,
        after_hours=4,
        notify_title="HQ duty manager",
        notify_email="duty@hq.example",
    )
    assert (row.after_hours, row.notify_title, row.notify_email) == (
        4.0,
        "HQ duty manager",
        "duty@hq.example",
    )
    assert ladder.list_ladder(world.uow, "C-1")[1].after_hours == 4.0


def test_only_administrators_change_the_ladder(world):
    with pytest.raises(Forbidden):
        ladder.update_step(world.uow, world.supervisor, "C-1", 1, after_hours=2)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"after_hours": 0}, "positive"),
        ({"after_hours": -3}, "positive"),
        ({"after_hours": float("nan")}, "positive"),
        ({"after_hours": 1}, "more than step 1"),  # step 2 must be above step 1's 1 h
        ({"after_hours": 30}, "less than step 3"),  # and below step 3's 24 h
        ({"notify_email": "not an address"}, "e-mail"),
        ({"notify_email": "a@b"}, "e-mail"),
        ({"notify_title": "  "}, "notify_title"),
    ],
)
def test_bad_ladder_edits_are_refused_and_change_nothing(world, changes, message):
    before = [
        (s.after_hours, s.notify_title, s.notify_email) for s in ladder.list_ladder(world.uow)
    ]
    with pytest.raises(Invalid, match=message):
        ladder.update_step(world.uow, world.admin, "C-2", 2, **changes)
    after = [(s.after_hours, s.notify_title, s.notify_email) for s in ladder.list_ladder(world.uow)]
    assert after == before


def test_unknown_level_or_step_is_refused(world):
    with pytest.raises(Invalid):
        ladder.update_step(world.uow, world.admin, "C-9", 1, after_hours=2)
    with pytest.raises(NotFound):
        ladder.update_step(world.uow, world.admin, "C-1", 7, after_hours=200)


# --- the support clock in working hours -------------------------------------------------------


def test_c2_reported_friday_afternoon_escalates_monday_morning(world):
    rma = world.open(world.customer(), "C-2", sh(2026, 3, 13, 16, 30))  # Friday 16:30
    assert escalations.raise_due_escalations(world.uow, sh(2026, 3, 16, 9, 29)) == []
    raised = escalations.raise_due_escalations(world.uow, sh(2026, 3, 16, 9, 30))
    assert steps_of(raised) == [(rma.id, 1)]
    assert clock.local(raised[0].due_at) == sh(2026, 3, 16, 9, 30)
    assert raised[0].notify_email == "regional-supervisor@spares.example"
    assert raised[0].support_hours == 1.0


def test_spring_festival_stops_the_clock_and_the_make_up_saturday_runs_it(world):
    rma = world.open(world.customer(), "C-1", sh(2026, 2, 13, 10, 0))  # Friday before the festival
    raised = escalations.raise_due_escalations(world.uow, sh(2026, 2, 28, 12, 0))
    due = {e.step: clock.local(e.due_at) for e in raised}
    assert due == {
        1: sh(2026, 2, 13, 11, 0),
        2: sh(2026, 2, 14, 10, 0),  # Saturday 14 Feb is a make-up working day
        3: sh(2026, 2, 25, 10, 0),  # 15 h by Saturday evening, closed 15-23 Feb, 8 h on the 24th
    }
    assert {e.rma_id for e in raised} == {rma.id}


def test_labour_day_holidays_do_not_count(world):
    rma = world.open(world.customer(), "C-3", sh(2026, 4, 30, 16, 0))  # Thursday before May 1-5
    assert steps_of(escalations.raise_due_escalations(world.uow, sh(2026, 5, 5, 23, 0))) == [
        (rma.id, 1)
    ]
    raised = escalations.raise_due_escalations(world.uow, sh(2026, 5, 6, 16, 0))
    assert steps_of(raised) == [(rma.id, 2)]
    assert clock.local(raised[0].due_at) == sh(2026, 5, 6, 16, 0)
    assert raised[0].notify_title == "regional service supervisor"


def test_c1_on_a_7x24_contract_counts_calendar_hours(world):
    round_the_clock = world.open(world.customer(coverage="7x24"), "C-1", sh(2026, 2, 13, 10, 0))
    office_hours = world.open(world.customer(coverage="5x8"), "C-1", sh(2026, 2, 13, 10, 0))
    raised = escalations.raise_due_escalations(world.uow, sh(2026, 2, 14, 10, 0))
    assert sorted(steps_of(raised)) == [
        (round_the_clock.id, 1),
        (round_the_clock.id, 2),
        (round_the_clock.id, 3),
        (office_hours.id, 1),
        (office_hours.id, 2),
    ]
    top = next(e for e in raised if e.rma_id == round_the_clock.id and e.step == 3)
    assert clock.local(top.due_at) == sh(2026, 2, 14, 10, 0)


def test_c2_on_a_7x24_contract_still_counts_working_hours(world):
    world.open(world.customer(coverage="7x24"), "C-2", sh(2026, 3, 13, 16, 30))
    assert escalations.raise_due_escalations(world.uow, sh(2026, 3, 15, 23, 0)) == []


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    level=st.sampled_from(["C-1", "C-2", "C-3"]),
    coverage=st.sampled_from(["5x8", "7x24"]),
    reported_minutes=st.integers(0, 60 * 24 * 300),
    gaps=st.lists(st.integers(1, 60 * 30), min_size=1, max_size=6),
)
def test_each_rung_is_raised_at_the_first_run_after_its_hours_have_passed(
    world, level, coverage, reported_minutes, gaps
):
    """However the runs are spaced, a rung is raised by the first run that finds its
    support hours elapsed, never before, never twice, with ``due_at`` the instant
    the hours were complete."""
    reported = sh(2026, 1, 5, 0, 0) + timedelta(minutes=reported_minutes)
    rma = world.open(world.customer(coverage=coverage), level, reported)
    calendar = get_calendar(world.uow, lifecycle.escalation_calendar_code(rma))
    limits = {s.step: s.after_hours for s in ladder.list_ladder(world.uow, level)}
    at, seen = reported, {}
    for gap in gaps:
        at += timedelta(minutes=gap)
        elapsed = working_hours_between(calendar, reported, at)
        for escalation in escalations.raise_due_escalations(world.uow, at):
            if escalation.rma_id != rma.id:
                continue
            assert escalation.step not in seen
            assert limits[escalation.step] <= elapsed
            assert escalation.due_at == add_working_hours(
                calendar, reported, limits[escalation.step]
            )
            assert escalation.due_at <= at
            seen[escalation.step] = at
        assert set(seen) == {step for step, hours in limits.items() if hours <= elapsed}


# --- exactly once, and only while the cause is unknown ----------------------------------------


def test_each_rung_is_raised_once_however_often_the_job_runs(world):
    world.open(world.customer(), "C-2", sh(2026, 3, 9, 9, 0))
    moments = [sh(2026, 3, 9, 10, 0) + timedelta(minutes=m) for m in range(0, 60 * 24 * 5, 97)]
    raised = [e for at in moments for e in escalations.raise_due_escalations(world.uow, at)]
    assert sorted(e.step for e in raised) == [1, 2, 3]
    assert len(escalation_rows(world.uow)) == 3
    assert len(outbox(world.uow, "escalation")) == 3


def test_a_late_run_raises_every_rung_crossed_meanwhile_with_its_own_due_time(world):
    world.open(world.customer(), "C-3", sh(2026, 3, 9, 9, 0))  # Monday
    raised = escalations.raise_due_escalations(world.uow, sh(2026, 3, 20, 9, 0))
    assert [(e.step, clock.local(e.due_at)) for e in raised] == [
        (1, sh(2026, 3, 9, 10, 0)),
        (2, sh(2026, 3, 9, 17, 0)),
        (3, sh(2026, 3, 11, 17, 0)),
    ]


def test_confirmed_cause_stops_the_clock(world):
    rma = world.open(world.customer(), "C-2", sh(2026, 3, 9, 9, 0))
    escalations.raise_due_escalations(world.uow, sh(2026, 3, 9, 10, 30))
    with clock.frozen(sh(2026, 3, 9, 11, 0)):
        lifecycle.confirm_cause(world.uow, world.engineer, rma.number, "failed PSU")
    assert escalations.raise_due_escalations(world.uow, sh(2026, 3, 20, 9, 0)) == []
    assert [e.step for e in escalation_rows(world.uow)] == [1]


def test_closed_and_cancelled_cases_are_not_escalated(world):
    site = world.customer()
    gone = world.open(site, "C-1", sh(2026, 3, 9, 9, 0))
    with clock.frozen(sh(2026, 3, 9, 9, 30)):
        lifecycle.cancel(world.uow, world.engineer, gone.number, "customer fixed it")
    assert escalations.raise_due_escalations(world.uow, sh(2026, 3, 20, 9, 0)) == []


def test_ladder_edits_apply_to_rungs_not_yet_raised(world):
    world.open(world.customer(), "C-2", sh(2026, 3, 9, 9, 0))
    escalations.raise_due_escalations(world.uow, sh(2026, 3, 9, 10, 0))
    ladder.update_step(
        world.uow, world.admin, "C-2", 2, after_hours=3, notify_email="night-desk@hq.example"
    )
    raised = escalations.raise_due_escalations(world.uow, sh(2026, 3, 9, 12, 0))
    assert [(e.step, e.support_hours, e.notify_email) for e in raised] == [
        (2, 3.0, "night-desk@hq.example")
    ]
    assert [n.to_address for n in outbox(world.uow, "escalation")][-1] == "night-desk@hq.example"


# --- what the notification says ----------------------------------------------------------------


def test_escalation_queues_an_email_with_the_case_facts(world):
    site = world.customer(city="Chengdu")
    rma = world.open(site, "C-1", sh(2026, 3, 9, 9, 0), symptom="BGP sessions drop every 5 min")
    escalations.raise_due_escalations(world.uow, sh(2026, 3, 9, 17, 0))
    messages = outbox(world.uow, "escalation")
    assert [(m.to_address, m.status, m.rma_id) for m in messages] == [
        ("regional-supervisor@spares.example", "pending", rma.id),
        ("hq-service-manager@spares.example", "pending", rma.id),
    ]
    manager = messages[1]
    assert manager.subject == (
        f"{rma.number} C-1: 8 working hours without a confirmed cause"
        " - escalated to HQ service manager"
    )
    assert messages[0].subject.startswith(f"{rma.number} C-1: 1 working hour without")
    for fact in (
        "Customer ",
        "Chengdu",
        world.part,
        "core switch 48x10G",
        "BGP sessions drop every 5 min",
        "Status:       approved",
        "2026-03-09 09:00",
        f"/rmas/{rma.number}",
    ):
        assert fact in manager.body


def test_raising_is_recorded_in_the_case_history(world):
    rma = world.open(world.customer(), "C-2", sh(2026, 3, 9, 9, 0))
    escalations.raise_due_escalations(world.uow, sh(2026, 3, 9, 10, 0))
    history = queries.get_rma(world.uow, rma.number).events
    assert [e.action for e in history][-1] == "escalate"
    assert json.loads(history[-1].detail)["step"] == 1


# --- at risk -----------------------------------------------------------------------------------


def test_backordered_replacement_is_escalated_as_at_risk_once(world):
    # No depot holds the part: the allocation backorders the case and flags it at risk.
    rma = world.open(world.customer(), "C-3", sh(2026, 3, 9, 9, 0), kind="advance_replacement")
    assert rma.at_risk and rma.backorder
    with clock.frozen(sh(2026, 3, 9, 9, 5)):
        raised = escalations.raise_due_escalations(world.uow, clock.now())
        again = escalations.raise_due_escalations(world.uow, clock.now())
    assert [(e.step, clock.local(e.due_at)) for e in raised] == [(0, sh(2026, 3, 9, 9, 0))]
    assert again == []
    messages = outbox(world.uow, "escalation")
    supervisor_email = f"{world.supervisor.username.removeprefix('esc-')}@customer-service.example"
    assert sorted(m.to_address for m in messages) == sorted(
        ["regional-supervisor@spares.example", supervisor_email]
    )
    assert raised[0].notify_email == ", ".join(sorted(m.to_address for m in messages))
    assert "at risk" in messages[0].subject and "2026-03-10 09:00" in messages[0].subject


def test_supervisors_already_told_by_the_allocation_are_not_told_twice(world):
    # Only Shenyang holds the part; Lhasa is too far for the 24-hour promise.
    rma, _staff, _serial = world.allocated(
        world.customer(city="Lhasa"), "C-3", sh(2026, 3, 9, 9, 0), depot="SY"
    )
    assert rma.at_risk and not rma.backorder
    assert len(outbox(world.uow, "at_risk")) == 1  # the allocation's own alert
    (raised,) = escalations.raise_due_escalations(world.uow, sh(2026, 3, 9, 9, 5))
    assert raised.step == 0
    assert [m.to_address for m in outbox(world.uow, "escalation")] == [
        "regional-supervisor@spares.example"
    ]


def test_delivered_case_is_no_longer_at_risk(world):
    rma, staff, serial = world.allocated(
        world.customer(city="Lhasa"), "C-3", sh(2026, 3, 9, 9, 0), depot="SY"
    )
    with clock.frozen(sh(2026, 3, 9, 9, 1)):
        lifecycle.confirm_cause(world.uow, world.engineer, rma.number, "dead supervisor card")
    with clock.frozen(sh(2026, 3, 9, 10, 0)):
        lifecycle.ship(world.uow, staff, rma.number, serial)
    with clock.frozen(sh(2026, 3, 10, 15, 0)):
        lifecycle.deliver(world.uow, world.engineer, rma.number)
    assert escalations.raise_due_escalations(world.uow, sh(2026, 3, 10, 16, 0)) == []


# --- listing and acknowledging -----------------------------------------------------------------


def test_open_escalations_are_listed_with_their_case_until_acknowledged(world):
    c1 = world.open(world.customer(), "C-1", sh(2026, 3, 9, 9, 0))
    c3 = world.open(world.customer(), "C-3", sh(2026, 3, 9, 9, 30))
    escalations.raise_due_escalations(world.uow, sh(2026, 3, 9, 11, 0))
    listed = acknowledgements.list_escalations(world.uow)
    assert [(r.number, e.step) for e, r in listed] == [(c1.number, 1), (c3.number, 1)]
    assert [
        r.number for _e, r in acknowledgements.list_escalations(world.uow, fault_level="C-3")
    ] == [c3.number]
    first = listed[0][0]
    with clock.frozen(sh(2026, 3, 9, 11, 5)):
        done = acknowledgements.acknowledge(world.uow, world.supervisor, first.id)
    assert done.acknowledged_by == world.supervisor.username
    assert [r.number for _e, r in acknowledgements.list_escalations(world.uow)] == [c3.number]
    everything = acknowledgements.list_escalations(world.uow, open_only=False)
    assert len(everything) == 2
    assert queries.get_rma(world.uow, c1.number).events[-1].action == "acknowledge-escalation"


def test_acknowledging_twice_or_without_rights_is_refused(world):
    world.open(world.customer(), "C-1", sh(2026, 3, 9, 9, 0))
    (escalation,) = escalations.raise_due_escalations(world.uow, sh(2026, 3, 9, 10, 0))
    with pytest.raises(Forbidden):
        acknowledgements.acknowledge(world.uow, world.engineer, escalation.id)
    acknowledgements.acknowledge(world.uow, world.supervisor, escalation.id)
    with pytest.raises(Conflict, match=r"RMA-\d{4}-\d{6} step 1 was already acknowledged"):
        acknowledgements.acknowledge(world.uow, world.admin, escalation.id)
    with pytest.raises(NotFound):
        acknowledgements.acknowledge(world.uow, world.supervisor, 999_999)


def test_listing_rejects_bad_filters(world):
    with pytest.raises(Invalid):
        acknowledgements.list_escalations(world.uow, fault_level="C-4")
    with pytest.raises(Invalid):
        acknowledgements.list_escalations(world.uow, limit=0)


def test_an_acknowledgement_keeps_its_note_and_a_too_long_note_changes_nothing(world):
    rma = world.open(world.customer(), "C-1", sh(2026, 3, 9, 9, 0))
    (escalation,) = escalations.raise_due_escalations(world.uow, sh(2026, 3, 9, 10, 0))
    with pytest.raises(Invalid):
        acknowledgements.acknowledge(world.uow, world.supervisor, escalation.id, "x" * 501)
    assert acknowledgements.list_escalations(world.uow)[0][0].acknowledged_at is None
    with clock.frozen(sh(2026, 3, 9, 10, 5)):
        done = acknowledgements.acknowledge(
            world.uow, world.supervisor, escalation.id, "  calling the customer  "
        )
    assert done.acknowledge_note == "calling the customer"
    last = queries.get_rma(world.uow, rma.number).events[-1]
    assert json.loads(last.detail) == {
        "escalation": escalation.id,
        "step": 1,
        "note": "calling the customer",
    }
    (taken,) = acknowledgements.list_acknowledged(world.uow)
    assert (taken.rma.number, taken.escalation.acknowledged_by) == (
        rma.number,
        world.supervisor.username,
    )


def test_every_waiting_rung_of_a_case_is_taken_on_at_once(world):
    rma = world.open(world.customer(), "C-2", sh(2026, 3, 9, 9, 0))
    other = world.open(world.customer(), "C-2", sh(2026, 3, 9, 9, 0))
    raised = escalations.raise_due_escalations(world.uow, sh(2026, 3, 12, 12, 0))
    assert sorted(e.step for e in raised if e.rma_id == rma.id) == [1, 2, 3]
    first = next(e for e in raised if e.rma_id == rma.id and e.step == 1)
    acknowledgements.acknowledge(world.uow, world.supervisor, first.id, "seen")
    with pytest.raises(Forbidden):
        acknowledgements.acknowledge_case(world.uow, world.engineer, rma.number, "no")
    done = acknowledgements.acknowledge_case(world.uow, world.supervisor, rma.number, "on it")
    assert [(e.step, e.acknowledge_note) for e in done] == [(3, "on it"), (2, "on it")]
    # The other case's rungs still wait; this case has nothing left to take on.
    waiting = acknowledgements.list_escalations(world.uow)
    assert {r.number for _e, r in waiting} == {other.number}
    with pytest.raises(Conflict, match=rma.number):
        acknowledgements.acknowledge_case(world.uow, world.supervisor, rma.number)
    with pytest.raises(NotFound):
        acknowledgements.acknowledge_case(world.uow, world.supervisor, "RMA-2026-999999")


# --- scale -------------------------------------------------------------------------------------


@transactional
def _many_open_cases(
    uow: UnitOfWork, site: Site, part: str, ages: list[timedelta], now: datetime
) -> None:
    """Open C-1 cases on 7x24 cover, reported ``age`` before ``now`` (bulk, for scale)."""
    uow.session.execute(
        insert(Rma),
        [
            {
                "number": f"RMA-2026-9{i:05d}",
                "customer_id": site.customer_id,
                "site_id": site.id,
                "part_number": part,
                "fault_level": "C-1",
                "kind": "repair",
                "symptom": "bulk",
                "status": "approved",
                "reported_by": "bulk",
                "coverage": "7x24",
                "reported_at": now - age,
                "alternatives": "[]",
            }
            for i, age in enumerate(ages)
        ],
    )


@read_only
def _count(uow: UnitOfWork, model: type) -> int:
    return uow.session.scalar(select(func.count()).select_from(model)) or 0


def test_thousands_of_open_cases_raise_only_the_steps_that_are_due(world):
    now = sh(2026, 3, 20, 10, 0)
    quiet = [timedelta(seconds=s) for s in range(3000)]  # all within the first hour
    due = [timedelta(hours=1, minutes=m) for m in range(200)]  # first rung crossed
    _many_open_cases(world.uow, world.customer(coverage="7x24"), world.part, quiet + due, now)
    # How long this takes is measured by bench/, not asserted here.
    raised = escalations.raise_due_escalations(world.uow, now)
    again = escalations.raise_due_escalations(world.uow, now)
    assert [e.step for e in raised] == [1] * len(due)
    assert again == []
    assert _count(world.uow, Notification) == len(raised)
