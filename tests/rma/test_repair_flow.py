"""The repair journey and the state machine's refusals, through the service layer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core import clock
from core.errors import Conflict, Forbidden, Invalid, NotFound
from rma.service import lifecycle, opening, queries, returns
from rma.service.opening import OpenRequest


def _open(uow, engineer, unit, *, kind="repair", level="C-2"):
    return opening.open_rma(
        uow,
        engineer,
        OpenRequest(fault_level=level, kind=kind, symptom="port flaps", serial=unit.serial),
    )


def test_entitled_repair_is_approved_at_once_and_numbered(
    uow, engineer, account, install, make_part
):
    unit = install(account(), make_part(serialized=True))
    with clock.frozen(datetime(2026, 3, 2, 2, 0, tzinfo=UTC)):
        rma = _open(uow, engineer, unit)
    assert rma.status == "approved"
    assert rma.number == f"RMA-2026-{rma.id:06d}"
    assert rma.entitled and not rma.billable
    assert lifecycle.allowed_actions(rma) == ["receive-defective", "cancel"]


def test_repair_return_is_due_72_working_hours_after_receipt(
    uow, engineer, staff, account, install, make_part
):
    unit = install(account(coverage=None), make_part(serialized=True))
    rma = _open(uow, engineer, unit)
    # Received Friday 2026-09-18 10:00 Shanghai: Sun 20 Sep is a make-up working day,
    # Fri 25 Sep starts the Mid-Autumn closure (25-27), then National Day (1-7 Oct).
    received = datetime(2026, 9, 18, 2, 0, tzinfo=UTC)
    with clock.frozen(received):
        rma = returns.receive_defective(uow, staff("WH"), rma.number, "WH", unit.serial)
    assert rma.status == "received"
    # 7 h Fri + 8 h Sun 20 + 8 h x 4 (21-24) = 47 h; Mon 28, Tue 29, Wed 30 give 24 h -> 71 h;
    # the last hour on Thu 8 Oct (first working day after National Day) until 10:00.
    assert clock.local(rma.due_repair_return) == datetime(2026, 10, 8, 10, 0, tzinfo=clock.SHANGHAI)
    for step in (returns.start_repair, returns.finish_repair, returns.return_repaired):
        rma = step(uow, staff("WH"), rma.number)
    rma = lifecycle.close(uow, engineer, rma.number, 5, "fast and friendly", "Ms. Chen")
    assert (rma.status, rma.rating, rma.signed_by) == ("closed", 5, "Ms. Chen")
    view = queries.get_rma(uow, rma.number)
    assert [e.action for e in view.events] == [
        "open",
        "approve",
        "receive-defective",
        "start-repair",
        "finish-repair",
        "return-repaired",
        "close",
    ]


def test_an_illegal_step_is_409_with_the_allowed_next_steps(
    uow, engineer, account, install, make_part
):
    rma = _open(uow, engineer, install(account(), make_part(serialized=True)))
    with pytest.raises(Conflict) as refused:
        lifecycle.close(uow, engineer, rma.number, 5, "", "someone")
    assert refused.value.extra["allowed"] == ["receive-defective", "cancel"]
    assert queries.get_rma(uow, rma.number).rma.status == "approved"


def test_only_the_receiving_depots_staff_receive(
    uow, engineer, staff, make_user, account, install, make_part
):
    unit = install(account(), make_part(serialized=True))
    rma = _open(uow, engineer, unit)
    with pytest.raises(Forbidden):
        returns.receive_defective(uow, staff("BJ"), rma.number, "SH", unit.serial)
    with pytest.raises(Forbidden):
        returns.receive_defective(uow, engineer, rma.number, "SH", unit.serial)
    with pytest.raises(Invalid, match="is for serial"):
        returns.receive_defective(uow, staff("SH"), rma.number, "SH", "OTHER-SERIAL")


def test_billable_rma_waits_for_a_supervisor(
    uow, engineer, supervisor, account, install, make_part, make_user
):
    make_user("supervisor")  # someone to notify
    unit = install(account(coverage=None), make_part(serialized=True), warranty_days=-5)
    rma = _open(uow, engineer, unit)
    assert (rma.status, rma.billable) == ("requested", True)
    with pytest.raises(Forbidden):
        lifecycle.approve(uow, engineer, rma.number)
    assert lifecycle.approve(uow, supervisor, rma.number).status == "approved"


def test_one_open_rma_per_serial(uow, engineer, account, install, make_part):
    unit = install(account(), make_part(serialized=True))
    first = _open(uow, engineer, unit)
    with pytest.raises(Conflict, match=first.number):
        _open(uow, engineer, unit)
    lifecycle.cancel(uow, engineer, first.number, "opened by mistake")
    assert _open(uow, engineer, unit).status == "approved"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"fault_level": "C-9"}, Invalid),
        ({"kind": "teleport"}, Invalid),
        ({"symptom": "   "}, Invalid),
        ({"serial": "NOPE-123"}, NotFound),
        ({"serial": None}, Invalid),
    ],
)
def test_bad_requests_open_nothing(uow, engineer, account, install, make_part, change, error):
    unit = install(account(), make_part(serialized=True))
    fields = {"fault_level": "C-2", "kind": "repair", "symptom": "dead", "serial": unit.serial}
    fields.update(change)
    with pytest.raises(error):
        opening.open_rma(uow, engineer, OpenRequest(**fields))
    assert queries.list_rmas(uow) == []
