"""The guard of the seams: a cross-domain state machine.

Hypothesis drives the workflows together, as people would on a busy day, with
the clock moving: RMAs of every kind through every step (cancel from every
state, right and wrong depots), stock received, transfers shipped and received
as shipped, short, late or with a stranger's serial (and that extra decided),
targets set and recomputed, rebalancing plans proposed and approved (twice),
batch dispatch proposed and applied, installed units registered, and the
escalation run recording lapsed promises. A refused step must change nothing.

After every step:

* ``spares check`` is clean (ledger, balances, reservations, units, serials);
* every serial is in exactly one place: a shelf, on the road, installed at a
  customer, or shipped on an open case and expected back;
* no move is drafted twice: no two approved plans were computed from one state;
* every open case's promise can still be kept, or the case is flagged at risk;
* every at-risk C-1 promise is the earliest arrival possible (its depot choice
  shows no option that arrives sooner, emergency courier included).

CI runs a bounded number of examples; ``make drill`` runs many more
(``SPARES_MACHINE_EXAMPLES`` and ``SPARES_MACHINE_STEPS``).
"""

from __future__ import annotations

import itertools
import os
import shutil
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import func, select

from core import auth, clock
from core.db import UnitOfWork, make_engine, read_only
from core.errors import Conflict, DomainError
from inventory.models import Location, Movement, PartIn, RebalancePlan, Reservation, Unit
from inventory.service import catalog, ledger, moves, rebalancing, receipts, targets, transfers
from inventory.service.receipts import ReceivedLine
from inventory.service.transfers import LineIn
from planning.service import demand
from rma.kinds import SHIPPING_KINDS
from rma.models import OPEN_STATUSES, InstalledUnit, Kind, Rma, Status
from rma.service import chasing, customers, dispatch, escalations, lifecycle, opening, returns
from rma.service.opening import OpenRequest
from rma.service.promises import AT_RISK_NO_DEPOT, live_promises, refresh_promises
from rma.service.queries import alternatives_of

DEPOTS = ("SH", "WH", "CD")
CITIES = ("Wuhan", "Shanghai", "Urumqi")
PART = "XD-1"
START = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 Shanghai
STEPS = (
    "approve",
    "allocate",
    "ship",
    "deliver",
    "receive",
    "start",
    "finish",
    "return",
    "back",
    "back_replacement",
    "confirm",
    "close",
    "cancel",
)
RECEIPTS = ("as_shipped", "short", "extra")
EXAMPLES = int(os.environ.get("SPARES_MACHINE_EXAMPLES", "10"))
STEPS_PER_EXAMPLE = int(os.environ.get("SPARES_MACHINE_STEPS", "35"))


@read_only
def _state(uow: UnitOfWork) -> tuple:
    """What a refused step must leave exactly as it was."""
    cases = [(r.number, r.status, r.reservation_id) for r in uow.session.scalars(select(Rma))]
    held = [(r.id, r.status) for r in uow.session.scalars(select(Reservation))]
    movements = uow.session.scalar(select(func.count()).select_from(Movement))
    return cases, held, movements


def make_machine(template: str, folder: str) -> type[RuleBasedStateMachine]:
    numbers = itertools.count(1)

    class SeamsMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            path = f"{folder}/{uuid.uuid4().hex}.db"
            shutil.copyfile(template, path)
            self.engine = make_engine(f"sqlite:///{path}")
            self.uow = UnitOfWork(self.engine)
            self.now = START
            with clock.frozen(self.now):
                self._set_up()
            self.cases: list[str] = []
            self.plans: list[int] = []
            self.in_transit: list[int] = []
            self.approved_bases: list[str] = []

        def _set_up(self) -> None:
            make, pw = auth.create_user, "a-long-password"
            self.engineer = make(self.uow, "eng", pw, "engineer")
            self.supervisor = make(self.uow, "sup", pw, "supervisor")
            self.planner = make(self.uow, "pl", pw, "planner")
            self.staff = {
                d: make(self.uow, f"s-{d}", pw, "depot_staff", depot_code=d) for d in DEPOTS
            }
            catalog.create_part(
                self.uow,
                self.planner,
                PartIn(
                    part_number=PART,
                    description="line card",
                    family="line_card",
                    unit_cost=Decimal(1000),
                ),
            )
            for depot, qty in zip(DEPOTS, (2, 1, 1), strict=True):
                self._receive(depot, qty)
            customer = customers.create_customer(self.uow, self.supervisor, "SEAM", "Seam Co")
            today = clock.local(clock.now()).date()
            contract = customers.create_contract(
                self.uow,
                self.supervisor,
                customer.id,
                "SEAM-K",
                "7x24",
                today - timedelta(days=10),
                today + timedelta(days=300),
                loaner=True,
            )
            self.sites = [
                customers.create_site(self.uow, self.supervisor, customer.id, city, city)
                for city in CITIES
            ]
            self.contract_id = contract.id
            self.installed = [self._install(self.sites[i % len(self.sites)]) for i in range(6)]

        def _receive(self, depot: str, qty: int) -> None:
            serials = [f"SN{next(numbers):06d}" for _ in range(qty)]
            moves.receive(self.uow, self.staff[depot], depot, PART, qty, serials)

        def _install(self, site, serial: str | None = None) -> str:
            unit = customers.create_installed_unit(
                self.uow,
                self.supervisor,
                serial or f"IB{next(numbers):06d}",
                PART,
                site.id,
                date(2025, 1, 1),
                date(2027, 1, 1),
                contract_id=self.contract_id,
            )
            return unit.serial

        def teardown(self) -> None:
            self.engine.dispose()

        def _refused_changes_nothing(self, action) -> None:
            before = _state(self.uow)
            try:
                with clock.frozen(self.now):
                    action()
            except DomainError:
                assert _state(self.uow) == before

        # --- time and the scheduled run ---------------------------------------------------

        @rule(hours=st.integers(1, 30))
        def time_passes(self, hours: int) -> None:
            self.now += timedelta(hours=hours)

        @rule()
        def escalation_run(self) -> None:
            with clock.frozen(self.now):
                refresh_promises(self.uow, self.now)
                escalations.raise_due_escalations(self.uow, self.now)
                chasing.chase_overdue_returns(self.uow, self.now)

        # --- RMAs -------------------------------------------------------------------------

        @rule(
            unit=st.integers(0, 5),
            level=st.sampled_from(["C-1", "C-2", "C-3"]),
            kind=st.sampled_from([k.value for k in Kind]),
        )
        def open_case(self, unit: int, level: str, kind: str) -> None:
            request = OpenRequest(
                fault_level=level, kind=kind, symptom="down", serial=self.installed[unit]
            )
            try:
                with clock.frozen(self.now):
                    rma = opening.open_rma(self.uow, self.engineer, request)
            except DomainError:
                return
            self.cases.append(rma.number)

        @precondition(lambda self: self.cases)
        @rule(pick=st.integers(0, 999), step=st.sampled_from(STEPS), depot=st.sampled_from(DEPOTS))
        def case_step(self, pick: int, step: str, depot: str) -> None:
            number = self.cases[pick % len(self.cases)]
            with self.uow.transaction(write=False):
                rma = self.uow.session.scalar(select(Rma).where(Rma.number == number))
                assert rma is not None
                free = self._free_serial(rma.depot_code)
            staff = self.staff[depot]
            home = self.staff.get(rma.depot_code or rma.return_depot or depot, staff)
            calls = {
                "approve": lambda: lifecycle.approve(self.uow, self.supervisor, number),
                "allocate": lambda: lifecycle.allocate_again(self.uow, self.engineer, number),
                "ship": lambda: lifecycle.ship(self.uow, home, number, free),
                "deliver": lambda: lifecycle.deliver(self.uow, self.engineer, number),
                "receive": lambda: returns.receive_defective(
                    self.uow, staff, number, depot, rma.serial
                ),
                "start": lambda: returns.start_repair(self.uow, home, number),
                "finish": lambda: returns.finish_repair(self.uow, home, number),
                "return": lambda: returns.return_repaired(self.uow, home, number),
                "back": lambda: returns.loaner_back(
                    self.uow, staff, number, depot, rma.shipped_serial
                ),
                "back_replacement": lambda: returns.receive_replacement_back(
                    self.uow, staff, number, depot, rma.shipped_serial
                ),
                "confirm": lambda: lifecycle.confirm_cause(self.uow, self.engineer, number, "c"),
                "close": lambda: lifecycle.close(self.uow, self.engineer, number, 4, "", "Ms. T"),
                "cancel": lambda: lifecycle.cancel(self.uow, self.engineer, number, "withdrawn"),
            }
            self._refused_changes_nothing(calls[step])

        def _free_serial(self, depot: str | None) -> str | None:
            if depot is None:
                return None
            return self.uow.session.scalar(
                select(Unit.serial)
                .where(
                    Unit.depot_code == depot,
                    Unit.part_number == PART,
                    Unit.location == Location.DEPOT,
                    Unit.condition == "good",
                    Unit.reservation_id.is_(None),
                )
                .order_by(Unit.serial)
                .limit(1)
            )

        @rule(site=st.integers(0, 2), serial_from=st.sampled_from(["new", "stock"]))
        def register_installed_unit(self, site: int, serial_from: str) -> None:
            if serial_from == "new":
                with clock.frozen(self.now):
                    self.installed.append(self._install(self.sites[site]))
                return
            with self.uow.transaction(write=False):
                stocked = self._free_serial("SH") or self._free_serial("WH")
            if stocked is None:
                return
            before = _state(self.uow)
            try:
                with clock.frozen(self.now):
                    self._install(self.sites[site], stocked)
            except Conflict:
                assert _state(self.uow) == before
            else:
                raise AssertionError(f"{stocked} on a shelf was registered as installed")

        # --- stock and transfers ------------------------------------------------------------

        @rule(depot=st.sampled_from(DEPOTS), qty=st.integers(1, 2))
        def receive_stock(self, depot: str, qty: int) -> None:
            with clock.frozen(self.now):
                self._receive(depot, qty)

        @rule(
            source=st.sampled_from(DEPOTS),
            destination=st.sampled_from(DEPOTS),
            late=st.booleans(),
            receipt=st.sampled_from(RECEIPTS),
        )
        def transfer(self, source: str, destination: str, late: bool, receipt: str) -> None:
            if source == destination:
                return
            try:
                with clock.frozen(self.now):
                    draft = transfers.create_transfer(
                        self.uow, self.planner, source, destination, [LineIn(PART, 1)]
                    )
                    transfers.ship_transfer(self.uow, self.staff[source], draft.transfer.id)
            except DomainError:
                return
            self.in_transit.append(draft.transfer.id)
            if not late:
                self.receive_transfer(len(self.in_transit) - 1, receipt)

        @precondition(lambda self: self.in_transit)
        @rule(pick=st.integers(0, 99), receipt=st.sampled_from(RECEIPTS))
        def receive_transfer(self, pick: int, receipt: str) -> None:
            transfer_id = self.in_transit.pop(pick % len(self.in_transit))
            view = transfers.get_transfer(self.uow, transfer_id)
            shipped = [row.serial for row in view.serials]
            if receipt == "as_shipped":
                received = None
            elif receipt == "short":
                received = [ReceivedLine(PART, serials=shipped[1:])]
            else:
                received = [ReceivedLine(PART, serials=[*shipped, f"STRANGER{next(numbers):05d}"])]
            with clock.frozen(self.now):
                receipts.receive_transfer(
                    self.uow,
                    self.staff[view.transfer.to_depot],
                    transfer_id,
                    received,
                    as_shipped=received is None,  # an empty receipt is confirmed, never assumed
                )

        @rule(accept=st.booleans())
        def decide_an_extra(self, accept: bool) -> None:
            waiting = [
                (view.transfer, item)
                for view in transfers.list_transfers(self.uow, status="received")
                for item in view.discrepancies
                if receipts.awaits_decision(item)
            ]
            if not waiting:
                return
            transfer, item = waiting[0]
            with clock.frozen(self.now):
                receipts.resolve_discrepancy(
                    self.uow,
                    self.staff[transfer.to_depot],
                    item.id,
                    "accept" if accept else "send_back",
                )

        # --- planning -----------------------------------------------------------------------

        @rule(depot=st.sampled_from(DEPOTS), units=st.integers(0, 3))
        def set_target(self, depot: str, units: int) -> None:
            with clock.frozen(self.now):
                targets.set_override(self.uow, self.planner, depot, PART, units)

        @rule()
        def recompute_targets(self) -> None:
            with clock.frozen(self.now):
                demand.compute_targets(self.uow, self.planner)

        @rule()
        def propose_plan(self) -> None:
            with clock.frozen(self.now):
                plan = rebalancing.propose_plan(self.uow, self.planner).plan
            if plan.units_moved:
                self.plans.append(plan.id or 0)

        @precondition(lambda self: self.plans)
        @rule(pick=st.integers(0, 99))
        def approve_plan(self, pick: int) -> None:
            plan_id = self.plans[pick % len(self.plans)]
            with self.uow.transaction(write=False):
                plan = self.uow.session.get(RebalancePlan, plan_id)
                assert plan is not None
                basis, status = plan.basis, plan.status
                current = rebalancing.read_inputs(self.uow).basis()
            before = _state(self.uow)
            try:
                with clock.frozen(self.now):
                    rebalancing.approve_plan(self.uow, self.planner, plan_id)
            except Conflict:
                assert status != "proposed" or basis != current, "a current plan was refused"
                assert _state(self.uow) == before
                return
            assert status == "proposed" and basis == current, "a stale plan was approved"
            self.approved_bases.append(basis or "")

        @rule()
        def batch_dispatch(self) -> None:
            with clock.frozen(self.now):
                proposal = dispatch.propose(self.uow, self.planner)
                before = _state(self.uow)
                report = dispatch.apply(self.uow, self.planner, proposal.basis)
            if not report.applied:
                assert _state(self.uow) == before, "a dispatch that changed nothing wrote"

        # --- the invariants -----------------------------------------------------------------

        @invariant()
        def books_balance(self) -> None:
            assert ledger.check_books(self.uow) == []

        @invariant()
        def every_serial_is_in_exactly_one_place(self) -> None:
            with self.uow.transaction(write=False):
                session = self.uow.session
                installed = set(
                    session.scalars(select(InstalledUnit.serial).where(InstalledUnit.active))
                )
                out = {
                    r.shipped_serial
                    for r in session.scalars(
                        select(Rma).where(
                            Rma.status.in_(OPEN_STATUSES), Rma.shipped_serial.is_not(None)
                        )
                    )
                    if r.status in (Status.SHIPPED, Status.RETURNING)
                    or (r.kind == Kind.LOANER and r.status == Status.DELIVERED)
                }
                for serial, location in session.execute(select(Unit.serial, Unit.location)):
                    if location in (Location.DEPOT, Location.IN_TRANSIT):
                        assert serial not in installed, f"{serial} on a shelf and installed"
                        assert serial not in out, f"{serial} on a shelf and out on a case"
                    elif location == Location.CUSTOMER:
                        # At the customer's: installed, or shipped on a case that expects
                        # it back (a cancelled exchange's unit can be both: one place).
                        assert serial in installed or serial in out, (
                            f"{serial} at a customer is neither installed nor expected back"
                        )

        @invariant()
        def no_move_is_drafted_twice(self) -> None:
            assert len(self.approved_bases) == len(set(self.approved_bases))

        @invariant()
        def every_open_promise_can_be_kept_or_is_at_risk(self) -> None:
            with self.uow.transaction(write=False):
                cases = list(
                    self.uow.session.scalars(
                        select(Rma).where(
                            Rma.kind.in_(SHIPPING_KINDS),
                            Rma.status.in_([Status.APPROVED, Status.ALLOCATED, Status.SHIPPED]),
                        )
                    )
                )
                promises = live_promises(self.uow, cases, self.now)
            for rma in cases:
                promise = promises[rma.id or 0]
                if promise.at_risk:
                    assert promise.reason, rma.number
                    continue
                assert rma.status in (Status.ALLOCATED, Status.SHIPPED), rma.number
                assert promise.current is not None and promise.current <= promise.due
                if rma.status == Status.ALLOCATED:
                    assert promise.deadline is not None and promise.deadline >= self.now
                else:
                    assert promise.current >= self.now, rma.number

        @invariant()
        def every_at_risk_c1_gets_the_earliest_arrival(self) -> None:
            with self.uow.transaction(write=False):
                cases = list(
                    self.uow.session.scalars(
                        select(Rma).where(
                            Rma.fault_level == "C-1",
                            Rma.status == Status.ALLOCATED,
                            Rma.at_risk,
                            Rma.at_risk_reason == AT_RISK_NO_DEPOT,
                        )
                    )
                )
            for rma in cases:
                options = alternatives_of(rma.alternatives)
                chosen = next((a for a in options if a.chosen), None)
                if chosen is None or chosen.reason != "chosen":
                    continue  # placed by batch dispatch, where cases compete
                arrivals = [a.arrival for a in options if a.arrival] + [
                    a.emergency.arrival for a in options if a.emergency and a.emergency.arrival
                ]
                assert chosen.arrival == min(arrivals), rma.number

    return SeamsMachine


def test_the_workflows_together_keep_the_books_and_the_promises(sqlite_template, tmp_path):
    machine = make_machine(str(sqlite_template), str(tmp_path))
    machine.TestCase.settings = settings(
        max_examples=EXAMPLES,
        stateful_step_count=STEPS_PER_EXAMPLE,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    machine.TestCase().runTest()
