"""Property: no sequence of RMA steps strands stock or a case.

A hypothesis state machine opens cases of every kind and level and applies
random steps - legal or not - as the right (or wrong) people. After every step:
no closed or cancelled case holds a reservation, every open case has a way
forward, reserved stock equals what allocated cases hold, and the books balance.
"""

from __future__ import annotations

import itertools
import shutil
import uuid
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from core import auth, clock
from core.db import UnitOfWork, make_engine, read_only
from core.errors import DomainError
from inventory.models import PartIn, Reservation
from inventory.service import catalog, ledger, moves
from rma.models import OPEN_STATUSES, Rma
from rma.service import customers, lifecycle, opening, queries, returns
from rma.service.opening import OpenRequest

DEPOTS = ("SH", "WH")
STEPS = (
    "approve",
    "ship",
    "deliver",
    "receive",
    "start",
    "finish",
    "return",
    "back",
    "confirm",
    "close",
    "cancel",
)


@read_only
def _snapshot(uow: UnitOfWork) -> tuple[list[Rma], list[Reservation]]:
    from sqlalchemy import select

    return (list(uow.session.scalars(select(Rma))), list(uow.session.scalars(select(Reservation))))


def make_machine(template: str, folder: str) -> type[RuleBasedStateMachine]:
    serials = itertools.count(1)

    class RmaMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            path = f"{folder}/{uuid.uuid4().hex}.db"
            shutil.copyfile(template, path)
            self.engine = make_engine(f"sqlite:///{path}")
            self.uow = UnitOfWork(self.engine)
            make = auth.create_user
            pw = "a-long-password"
            self.engineer = make(self.uow, "eng", pw, "engineer")
            self.supervisor = make(self.uow, "sup", pw, "supervisor")
            self.staff = {
                d: make(self.uow, f"s-{d}", pw, "depot_staff", depot_code=d) for d in DEPOTS
            }
            planner = make(self.uow, "pl", pw, "planner")
            catalog.create_part(
                self.uow,
                planner,
                PartIn(
                    part_number="PROP-1",
                    description="p",
                    family="power",
                    serialized=True,
                    unit_cost=Decimal(10),
                ),
            )
            for depot in DEPOTS:
                moves.receive(
                    self.uow,
                    self.staff[depot],
                    depot,
                    "PROP-1",
                    2,
                    [f"ST{depot}{next(serials):05d}" for _ in range(2)],
                )
            customer = customers.create_customer(self.uow, self.supervisor, "PROP", "Prop Co")
            site = customers.create_site(self.uow, self.supervisor, customer.id, "HQ", "Wuhan")
            today = clock.local(clock.now()).date()
            contract = customers.create_contract(
                self.uow,
                self.supervisor,
                customer.id,
                "PROP-K",
                "5x8",
                today - timedelta(days=10),
                today + timedelta(days=300),
                loaner=True,
            )
            self.units = []
            for i in range(8):
                warranty = today + timedelta(days=100 if i % 3 else -100)
                self.units.append(
                    customers.create_installed_unit(
                        self.uow,
                        self.supervisor,
                        f"PROPU{i:03d}",
                        "PROP-1",
                        site.id,
                        date(2022, 1, 1),
                        warranty,
                        contract_id=contract.id if i % 4 else None,
                    )
                )
            self.numbers: list[str] = []

        def teardown(self) -> None:
            self.engine.dispose()

        @rule(
            unit=st.integers(0, 7),
            level=st.sampled_from(["C-1", "C-2", "C-3"]),
            kind=st.sampled_from(["advance_replacement", "repair", "loaner"]),
        )
        def open_case(self, unit: int, level: str, kind: str) -> None:
            try:
                rma = opening.open_rma(
                    self.uow,
                    self.engineer,
                    OpenRequest(
                        fault_level=level, kind=kind, symptom="s", serial=self.units[unit].serial
                    ),
                )
            except DomainError:
                return
            self.numbers.append(rma.number)

        @precondition(lambda self: self.numbers)
        @rule(
            pick=st.integers(0, 1000),
            step=st.sampled_from(STEPS),
            depot=st.sampled_from(DEPOTS),
            rating=st.integers(0, 6),
        )
        def step(self, pick: int, step: str, depot: str, rating: int) -> None:
            number = self.numbers[pick % len(self.numbers)]
            rma = queries.get_rma(self.uow, number).rma
            staff = self.staff.get(rma.depot_code or rma.return_depot or depot, self.staff[depot])
            free = self._free_serial(rma)
            calls = {
                "approve": lambda: lifecycle.approve(self.uow, self.supervisor, number),
                "ship": lambda: lifecycle.ship(self.uow, staff, number, free),
                "deliver": lambda: lifecycle.deliver(self.uow, self.engineer, number),
                "receive": lambda: returns.receive_defective(
                    self.uow, self.staff[depot], number, depot, rma.serial
                ),
                "start": lambda: returns.start_repair(self.uow, staff, number),
                "finish": lambda: returns.finish_repair(self.uow, staff, number),
                "return": lambda: returns.return_repaired(self.uow, staff, number),
                "back": lambda: returns.loaner_back(
                    self.uow, self.staff[depot], number, depot, rma.shipped_serial
                ),
                "confirm": lambda: lifecycle.confirm_cause(
                    self.uow, self.engineer, number, "found it"
                ),
                "close": lambda: lifecycle.close(
                    self.uow, self.engineer, number, rating, "ok", "Ms. Test"
                ),
                "cancel": lambda: lifecycle.cancel(self.uow, self.engineer, number, "why"),
            }
            before = _snapshot(self.uow)
            try:
                calls[step]()
            except DomainError:
                after = _snapshot(self.uow)
                assert [(r.number, r.status, r.reservation_id) for r in before[0]] == [
                    (r.number, r.status, r.reservation_id) for r in after[0]
                ]
                assert [(r.id, r.status) for r in before[1]] == [(r.id, r.status) for r in after[1]]

        def _free_serial(self, rma: Rma) -> str | None:
            from inventory.service import queries

            if rma.depot_code is None:
                return None
            units = queries.list_units(
                self.uow,
                depot=rma.depot_code,
                part_number="PROP-1",
                condition="good",
                location="depot",
            )
            return next((u.serial for u in units if u.reservation_id is None), None)

        @invariant()
        def no_stranded_stock_or_case(self) -> None:
            cases, held = _snapshot(self.uow)
            active = {r.id: r for r in held if r.status == "active"}
            for case in cases:
                if case.status not in OPEN_STATUSES:
                    assert case.reservation_id not in active, case.number
                else:
                    assert lifecycle.allowed_actions(case), case.number
                if case.status == "allocated":
                    assert case.reservation_id in active, case.number
            allocated = {c.reservation_id for c in cases if c.status == "allocated"}
            assert set(active) == allocated
            assert ledger.check_books(self.uow) == []

    return RmaMachine


def test_no_sequence_of_steps_strands_stock_or_a_case(sqlite_template, tmp_path):
    machine = make_machine(str(sqlite_template), str(tmp_path))
    machine.TestCase.settings = settings(
        max_examples=15,
        stateful_step_count=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    machine.TestCase().runTest()
