"""Chasing defective and loaned units that have not come back by their due time:
one reminder per case and Shanghai day, to the engineer and the customer."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

from core import clock
from core.db import UnitOfWork
from rma.service import chasing, lifecycle, queries, returns
from tests.rma.test_escalations import make_world, outbox, sh

DELIVERED = sh(2026, 3, 2, 10, 0)  # defective unit due back 15 days later
DUE_BACK = sh(2026, 3, 17, 10, 0)


def engineer_email(world) -> str:
    return f"{world.engineer.username.removeprefix('esc-')}@customer-service.example"


def test_overdue_defective_unit_is_chased_once_a_day(engine):
    world = make_world(engine)
    site = world.customer(contact_email="noc@customer.example", email="it@customer.example")
    rma = world.delivered(site, DELIVERED)
    assert clock.local(rma.due_defective_return) == DUE_BACK
    assert chasing.chase_overdue_returns(world.uow, DUE_BACK - timedelta(minutes=1)) == []
    first = chasing.chase_overdue_returns(world.uow, DUE_BACK)
    assert sorted(n.to_address for n in first) == sorted(
        [engineer_email(world), "noc@customer.example"]
    )
    assert chasing.chase_overdue_returns(world.uow, sh(2026, 3, 17, 23, 59)) == []
    second = chasing.chase_overdue_returns(world.uow, sh(2026, 3, 18, 0, 1))
    assert len(second) == 2
    assert {n.dedupe_key.rsplit(":", 1)[0] for n in first + second} == {
        f"chase:{rma.number}:2026-03-17",
        f"chase:{rma.number}:2026-03-18",
    }


def test_reminder_says_what_is_overdue_and_where_it_goes(engine):
    world = make_world(engine)
    rma = world.delivered(world.customer(), DELIVERED)
    (reminder,) = chasing.chase_overdue_returns(world.uow, DUE_BACK + timedelta(days=3))
    assert reminder.kind == "return_reminder" and reminder.rma_id == rma.id
    assert reminder.subject == (
        f"{rma.number}: defective unit replaced in advance is overdue for return (due 2026-03-17)"
    )
    for fact in (
        rma.serial,
        world.part,
        "2026-03-17 10:00",
        "overdue by 3 days",
        "depot SH",
        f"/rmas/{rma.number}",
    ):
        assert fact in reminder.body
    assert queries.get_rma(world.uow, rma.number).events[-1].action == "chase-return"


def test_customer_email_is_used_when_the_site_has_no_contact_email(engine):
    world = make_world(engine)
    world.delivered(world.customer(email="it@customer.example"), DELIVERED)
    reminders = chasing.chase_overdue_returns(world.uow, DUE_BACK)
    assert sorted(n.to_address for n in reminders) == sorted(
        [engineer_email(world), "it@customer.example"]
    )


def test_returned_unit_is_not_chased(engine):
    world = make_world(engine)
    rma, staff, serial = world.allocated(world.customer(), "C-2", DELIVERED - timedelta(hours=6))
    with clock.frozen(DELIVERED - timedelta(hours=5)):
        lifecycle.ship(world.uow, staff, rma.number, serial)
    with clock.frozen(DELIVERED):
        lifecycle.deliver(world.uow, world.engineer, rma.number)
    with clock.frozen(DUE_BACK - timedelta(days=1)):
        returns.receive_defective(world.uow, staff, rma.number, "SH", rma.serial)
    assert chasing.chase_overdue_returns(world.uow, DUE_BACK + timedelta(days=5)) == []


def test_overdue_loaner_is_chased_by_its_own_serial(engine):
    world = make_world(engine)
    rma = world.delivered(world.customer(loaner=True), DELIVERED, kind="loaner")
    (reminder,) = chasing.chase_overdue_returns(world.uow, DUE_BACK)
    assert "loaned substitute unit" in reminder.subject
    assert rma.shipped_serial in reminder.body


def test_repair_cases_are_never_chased(engine):
    world = make_world(engine)
    world.open(world.customer(), "C-3", DELIVERED)
    assert chasing.chase_overdue_returns(world.uow, DUE_BACK + timedelta(days=30)) == []
    assert outbox(world.uow, "return_reminder") == []


def test_concurrent_chasers_queue_each_reminder_once(any_engine):
    world = make_world(any_engine)
    cases = [
        world.delivered(world.customer(contact_email=f"noc{i}@customer.example"), DELIVERED)
        for i in range(4)
    ]
    start = threading.Barrier(3)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start.wait()
            chasing.chase_overdue_returns(UnitOfWork(any_engine), DUE_BACK)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    queued = Counter(n.rma_id for n in outbox(UnitOfWork(any_engine), "return_reminder"))
    assert queued == {rma.id: 2 for rma in cases}
