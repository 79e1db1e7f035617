"""A hypothesis state machine drives the stock services against a plain model.

Each example gets two new parts (one bulk, one serialized) and works them over
three depots with every kind of move: receipts, reservations (reserve, release,
pick), transfers (create, ship, receipt confirmed as shipped or itemised with
short, extra and wrong serials, cancel; extras decided: accepted or sent back;
shortfalls left in transit until a late parcel brings them or they are written
off), adjustments, scrap, condition changes and cycle counts. Extras wait in
quarantine: the model knows which, and expects every move that would take one
out behind the decision to be refused. A receipt that neither lists what arrived
nor confirms that everything did is refused. A transfer shipped without scanned
serials takes the free units in the picking order (longest on the shelf first):
the model knows when each unit last came into good stock.
The model is a handful of dictionaries. Before each call the model predicts
whether the service must accept or refuse it; after every step the database
must agree with the model to the unit: balances, reserved quantities, where
every serialized unit is and in which condition, reservation and transfer
states, and ``ledger.check_books`` finds nothing. A refused call must change
nothing (not even the ledger).
"""

from __future__ import annotations

import itertools
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import hypothesis.strategies as st
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from core import auth
from core.auth import Actor
from core.db import UnitOfWork
from core.errors import Conflict, Forbidden, Invalid, NotFound
from inventory.models import (
    Movement,
    PartIn,
    Reservation,
    StockBalance,
    Transfer,
    TransferDiscrepancy,
    Unit,
)
from inventory.service import (
    catalog,
    ledger,
    moves,
    receipts,
    reservations,
    shortfalls,
    transfers,
)
from inventory.service.receipts import ReceivedLine
from inventory.service.transfers import LineIn
from tests.inventory.conftest import require_room_for_partial_receipts

DEPOTS = ("BJ", "SH", "GZ")
CONDITIONS = ("good", "defective", "in_repair", "quarantine")
PASSWORD = "state-machine-pw"
# A refusal is any of these; InsufficientStock is a Conflict.
REFUSALS = (Conflict, Invalid, NotFound)

Key = tuple[str, str, str]  # (depot, part number, bucket)


@dataclass
class UnitModel:
    part: str
    condition: str
    location: str
    depot: str | None
    refurbished: bool = False
    # When the unit last came into a depot's good stock (model time): the picking order.
    shelved: int = field(default=0, compare=False)


@dataclass
class TransferModel:
    source: str
    target: str
    lines: dict[str, int]
    status: str = "draft"
    shipped_serials: list[str] = field(default_factory=list)
    missing_serials: list[str] = field(default_factory=list)  # still in transit
    missing_bulk: int = 0


@dataclass
class DiscrepancyModel:
    depot: str  # the receiving depot
    part: str
    kind: str
    qty: int
    serial: str | None
    resolution: str | None = None
    transfer: int = 0


@dataclass(frozen=True)
class Expected:
    """What a parcel may bring: units per part, and which serials."""

    lines: dict[str, int]
    serials: list[str]


@dataclass
class ReservationModel:
    depot: str
    part: str
    qty: int
    status: str = "active"


class Books:
    """What the stock should be: balances, reserved quantities and units."""

    def __init__(self) -> None:
        self.on_hand: Counter[Key] = Counter()
        self.reserved: Counter[Key] = Counter()
        self.units: dict[str, UnitModel] = {}
        self.clock = itertools.count(1)

    def shelve(self, serials: list[str]) -> None:
        """These units came into a depot's good stock together, now."""
        now = next(self.clock)
        for serial in serials:
            self.units[serial].shelved = now

    def in_pick_order(self, depot: str, part: str) -> list[str]:
        """Free good units of ``part`` at ``depot``, longest on the shelf first."""
        free = self.units_at(depot, part, "good")
        return sorted(free, key=lambda serial: (self.units[serial].shelved, serial))

    def good(self, depot: str, part: str) -> int:
        return self.on_hand[(depot, part, "good")]

    def available(self, depot: str, part: str) -> int:
        return self.good(depot, part) - self.reserved[(depot, part, "good")]

    def units_at(self, depot: str, part: str, condition: str) -> list[str]:
        return sorted(
            serial
            for serial, unit in self.units.items()
            if (unit.part, unit.location, unit.depot, unit.condition)
            == (part, "depot", depot, condition)
        )

    def allows(self, deltas: list[tuple[Key, int]], reserved: dict[Key, int] | None = None) -> bool:
        """Whether posting these changes keeps every touched bucket >= 0 and >= reserved."""
        reserved = reserved or {}
        net: Counter[Key] = Counter()
        for key, qty in deltas:
            net[key] += qty
        for key in set(net) | set(reserved):
            on_hand = self.on_hand[key] + net[key]
            held = self.reserved[key] + reserved.get(key, 0)
            if on_hand < 0 or held < 0 or held > on_hand:
                return False
        return True

    def post(self, deltas: list[tuple[Key, int]], reserved: dict[Key, int] | None = None) -> None:
        for key, qty in deltas:
            self.on_hand[key] += qty
        for key, qty in (reserved or {}).items():
            self.reserved[key] += qty

    def balances(self) -> dict[Key, tuple[int, int]]:
        keys = set(self.on_hand) | set(self.reserved)
        result = {key: (self.on_hand[key], self.reserved[key]) for key in keys}
        return {key: value for key, value in result.items() if value != (0, 0)}


class InventoryMachine(RuleBasedStateMachine):
    """Bound to one database and its users by ``machine_for``."""

    engine: Engine
    planner: Actor
    staff: dict[str, Actor]
    part_numbers: Any  # an iterator of unique numbers, shared by all examples
    serial_numbers: Any

    def __init__(self) -> None:
        super().__init__()
        self.uow = UnitOfWork(self.engine)
        n = next(self.part_numbers)
        self.bulk = f"SMB-{n:05d}"
        self.serialized = f"SMS-{n:05d}"
        for number, serialized in ((self.bulk, False), (self.serialized, True)):
            catalog.create_part(
                self.uow,
                self.planner,
                PartIn(
                    part_number=number,
                    description=f"state machine part {number}",
                    family="optic",
                    serialized=serialized,
                    unit_cost=Decimal("10.00"),
                ),
            )
        self.books = Books()
        self.reservations: dict[int, ReservationModel] = {}
        self.transfers: dict[int, TransferModel] = {}
        self.discrepancies: dict[int, DiscrepancyModel] = {}

    # --- helpers ---------------------------------------------------------------------------

    def part(self, serialized: bool) -> str:
        return self.serialized if serialized else self.bulk

    def new_serials(self, n: int) -> list[str]:
        return [f"SM{next(self.serial_numbers):08d}" for _ in range(n)]

    def movement_count(self) -> int:
        with self.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(Movement)).scalar_one()

    def attempt(
        self,
        expect_ok: bool,
        call: Callable[[], Any],
        *,
        refusals: tuple[type[Exception], ...] = REFUSALS,
    ) -> Any:
        """Run ``call``; it must succeed exactly when the model says so, and a refusal
        must not have written a movement. Returns the result, or None when refused."""
        before = self.movement_count()
        try:
            result = call()
        except refusals as error:
            assert not expect_ok, f"refused although the model allows it: {error!r}"
            assert self.movement_count() == before, "a refused call wrote to the ledger"
            return None
        assert expect_ok, f"accepted although the model refuses it: {result!r}"
        return result

    def pick_serials(self, data: st.DataObject, depot: str, condition: str, n: int) -> list[str]:
        """``n`` serials for a move out of (depot, serialized part, condition): units that
        are there when enough are, else padded with units from elsewhere or unknown ones
        (a move the service must refuse)."""
        there = self.books.units_at(depot, self.serialized, condition)
        if len(there) >= n:
            return data.draw(st.permutations(there))[:n]
        elsewhere = sorted(
            s for s, u in self.books.units.items() if u.part == self.serialized and s not in there
        )
        padding = data.draw(st.permutations(elsewhere))[: n - len(there)]
        return there + padding + self.new_serials(n - len(there) - len(padding))

    def waiting_serials(self) -> dict[str, str]:
        """Serialized extras that wait for a decision: serial -> the depot they wait at."""
        return {
            d.serial: d.depot
            for d in self.discrepancies.values()
            if d.kind == "extra" and d.resolution is None and d.serial
        }

    def leaves_waiting_extras(
        self, depot: str, serialized: bool, bucket: str, serials: list[str], deltas: list
    ) -> bool:
        """Whether a move out of ``bucket`` leaves every waiting extra in quarantine."""
        if bucket != "quarantine":
            return True
        if serialized:
            return not set(serials) & set(self.waiting_serials())
        key = (depot, self.bulk, "quarantine")
        waiting = sum(
            d.qty
            for d in self.discrepancies.values()
            if d.kind == "extra" and d.resolution is None and not d.serial and d.depot == depot
        )
        left = self.books.on_hand[key] + sum(qty for k, qty in deltas if k == key)
        return left >= waiting

    def out_deltas(
        self, depot: str, serialized: bool, condition: str, serials: list[str], qty: int
    ) -> list[tuple[Key, int]] | None:
        """Ledger changes of taking ``qty`` (or the named serials) out of a bucket, or None
        when the serials are not all there."""
        part = self.part(serialized)
        if not serialized:
            return [((depot, part, condition), -qty)]
        there = set(self.books.units_at(depot, part, condition))
        if not set(serials) <= there:
            return None
        return [((depot, part, condition), -1) for _ in serials]

    # --- receipts and adjustments -----------------------------------------------------------

    @initialize(
        opening=st.lists(st.integers(0, 12), min_size=2 * len(DEPOTS), max_size=2 * len(DEPOTS))
    )
    def opening_stock(self, opening: list[int]) -> None:
        """Start with some good stock of both parts at every depot, so moves can succeed."""
        for (depot, serialized), qty in zip(
            itertools.product(DEPOTS, (False, True)), opening, strict=True
        ):
            if qty:
                self.receive(depot, serialized, qty)

    @rule(depot=st.sampled_from(DEPOTS), serialized=st.booleans(), qty=st.integers(1, 5))
    def receive(self, depot: str, serialized: bool, qty: int) -> None:
        part = self.part(serialized)
        serials = self.new_serials(qty) if serialized else []
        self.attempt(
            True,
            lambda: moves.receive(self.uow, self.staff[depot], depot, part, qty, serials),
        )
        self.books.post([((depot, part, "good"), qty)])
        for serial in serials:
            self.books.units[serial] = UnitModel(part, "good", "depot", depot)
        self.books.shelve(serials)

    @precondition(lambda self: self.books.units)
    @rule(data=st.data(), depot=st.sampled_from(DEPOTS))
    def receive_a_known_serial_is_refused(self, data: st.DataObject, depot: str) -> None:
        serial = data.draw(st.sampled_from(sorted(self.books.units)))
        self.attempt(
            False,
            lambda: moves.receive(self.uow, self.staff[depot], depot, self.serialized, 1, [serial]),
        )

    @rule(depot=st.sampled_from(DEPOTS), other=st.sampled_from(DEPOTS))
    def staff_cannot_move_stock_of_another_depot(self, depot: str, other: str) -> None:
        if depot == other:
            return
        self.attempt(
            False,
            lambda: moves.receive(self.uow, self.staff[other], depot, self.bulk, 1),
            refusals=(Forbidden,),
        )

    @rule(
        data=st.data(),
        depot=st.sampled_from(DEPOTS),
        serialized=st.booleans(),
        qty=st.integers(-3, 3).filter(bool),
        condition=st.sampled_from(CONDITIONS),
    )
    def adjust(
        self, data: st.DataObject, depot: str, serialized: bool, qty: int, condition: str
    ) -> None:
        part = self.part(serialized)
        if qty > 0:
            serials = self.new_serials(qty) if serialized else []
            deltas = [((depot, part, condition), qty)]
        else:
            serials = self.pick_serials(data, depot, condition, -qty) if serialized else []
            deltas = self.out_deltas(depot, serialized, condition, serials, -qty)
        ok = (
            deltas is not None
            and self.books.allows(deltas)
            and (
                qty > 0 or self.leaves_waiting_extras(depot, serialized, condition, serials, deltas)
            )
        )
        done = self.attempt(
            ok,
            lambda: moves.adjust(
                self.uow,
                self.staff[depot],
                depot,
                part,
                qty,
                "state machine",
                serials,
                condition=condition,
            ),
        )
        if done is None:
            return
        self.books.post(deltas)
        for serial in serials:
            if qty > 0:
                self.books.units[serial] = UnitModel(part, condition, "depot", depot)
            else:
                unit = self.books.units[serial]
                unit.location, unit.depot = "missing", None
        if qty > 0 and condition == "good":
            self.books.shelve(serials)

    @rule(
        data=st.data(),
        depot=st.sampled_from(DEPOTS),
        serialized=st.booleans(),
        qty=st.integers(1, 3),
        condition=st.sampled_from(CONDITIONS),
    )
    def scrap(
        self, data: st.DataObject, depot: str, serialized: bool, qty: int, condition: str
    ) -> None:
        part = self.part(serialized)
        serials = self.pick_serials(data, depot, condition, qty) if serialized else []
        deltas = self.out_deltas(depot, serialized, condition, serials, qty)
        ok = (
            deltas is not None
            and self.books.allows(deltas)
            and self.leaves_waiting_extras(depot, serialized, condition, serials, deltas)
        )
        done = self.attempt(
            ok,
            lambda: moves.scrap(
                self.uow,
                self.staff[depot],
                depot,
                part,
                qty,
                "beyond repair",
                serials,
                condition=condition,
            ),
        )
        if done is None:
            return
        self.books.post(deltas)
        for serial in serials:
            unit = self.books.units[serial]
            unit.location, unit.depot = "scrapped", None

    @rule(
        data=st.data(),
        depot=st.sampled_from(DEPOTS),
        serialized=st.booleans(),
        qty=st.integers(1, 3),
        conditions=st.permutations(CONDITIONS),
    )
    def change_condition(
        self,
        data: st.DataObject,
        depot: str,
        serialized: bool,
        qty: int,
        conditions: list[str],
    ) -> None:
        source, target = conditions[0], conditions[1]
        part = self.part(serialized)
        serials = self.pick_serials(data, depot, source, qty) if serialized else []
        out = self.out_deltas(depot, serialized, source, serials, qty)
        deltas = None if out is None else [*out, ((depot, part, target), qty)]
        ok = (
            deltas is not None
            and self.books.allows(deltas)
            and self.leaves_waiting_extras(depot, serialized, source, serials, deltas)
        )
        done = self.attempt(
            ok,
            lambda: moves.change_condition(
                self.uow, self.staff[depot], depot, part, qty, source, target, serials
            ),
        )
        if done is None:
            return
        self.books.post(deltas)
        for serial in serials:
            unit = self.books.units[serial]
            unit.condition = target
            if target == "good" and source in ("defective", "in_repair"):
                unit.refurbished = True
        if target == "good":
            self.books.shelve(serials)

    @rule(
        data=st.data(),
        depot=st.sampled_from(DEPOTS),
        serialized=st.booleans(),
        condition=st.sampled_from(CONDITIONS),
    )
    def count(self, data: st.DataObject, depot: str, serialized: bool, condition: str) -> None:
        part = self.part(serialized)
        key = (depot, part, condition)
        expected = self.books.on_hand[key]
        if not serialized:
            counted = data.draw(st.integers(0, expected + 3), label="counted")
            ok = counted >= self.books.reserved[key]
            done = self.attempt(
                ok,
                lambda: moves.count(
                    self.uow, self.staff[depot], depot, part, counted, condition=condition
                ),
            )
            if done is not None and counted != expected:
                self.books.post([(key, counted - expected)])
            return
        on_books = self.books.units_at(depot, part, condition)
        missing_anywhere = sorted(
            s for s, u in self.books.units.items() if u.part == part and u.location == "missing"
        )
        seen = data.draw(st.lists(st.sampled_from(on_books), unique=True)) if on_books else []
        if missing_anywhere:
            seen += data.draw(st.lists(st.sampled_from(missing_anywhere), unique=True, max_size=2))
        if data.draw(st.booleans(), label="a new serial on the shelf"):
            seen += self.new_serials(1)
        # An extra counted missing may turn up again only where it waits for its decision.
        waiting = self.waiting_serials()
        revives_ok = all(
            waiting[s] == depot and condition == "quarantine"
            for s in seen
            if s in waiting and s not in on_books
        )
        ok = len(seen) >= self.books.reserved[key] and revives_ok
        done = self.attempt(
            ok,
            lambda: moves.count(
                self.uow, self.staff[depot], depot, part, serials=seen, condition=condition
            ),
        )
        if done is None:
            return
        gone = [s for s in on_books if s not in seen]
        found = [s for s in seen if s not in on_books]
        assert sorted(done.missing) == sorted(gone) and sorted(done.found) == sorted(found)
        self.books.post([(key, len(found) - len(gone))] if found or gone else [])
        for serial in gone:
            unit = self.books.units[serial]
            unit.location, unit.depot = "missing", None
        for serial in found:
            unit = self.books.units.setdefault(serial, UnitModel(part, condition, "depot", depot))
            unit.location, unit.depot, unit.condition = "depot", depot, condition
        if condition == "good":
            self.books.shelve(found)

    # --- reservations ---------------------------------------------------------------------

    @rule(depot=st.sampled_from(DEPOTS), serialized=st.booleans(), qty=st.integers(1, 4))
    def reserve(self, depot: str, serialized: bool, qty: int) -> None:
        part = self.part(serialized)
        change = {(depot, part, "good"): qty}
        done = self.attempt(
            self.books.allows([], change),
            lambda: reservations.reserve(self.uow, self.planner, depot, part, qty, "RMA-SM"),
        )
        if done is None:
            return
        self.books.post([], change)
        self.reservations[done.id] = ReservationModel(depot, part, qty)

    @precondition(lambda self: self.reservations)
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        rid = data.draw(st.sampled_from(sorted(self.reservations)))
        held = self.reservations[rid]
        self.attempt(True, lambda: reservations.release(self.uow, self.planner, rid))
        if held.status == "active":
            self.books.post([], {(held.depot, held.part, "good"): -held.qty})
            held.status = "released"

    @precondition(lambda self: self.reservations)
    @rule(data=st.data())
    def pick(self, data: st.DataObject) -> None:
        rid = data.draw(st.sampled_from(sorted(self.reservations)))
        held = self.reservations[rid]
        serialized = held.part == self.serialized
        serials = self.pick_serials(data, held.depot, "good", held.qty) if serialized else []
        deltas = self.out_deltas(held.depot, serialized, "good", serials, held.qty)
        change = {(held.depot, held.part, "good"): -held.qty}
        ok = held.status == "active" and deltas is not None and self.books.allows(deltas, change)
        done = self.attempt(
            ok, lambda: reservations.pick(self.uow, self.staff[held.depot], rid, serials)
        )
        if done is None:
            return
        self.books.post(deltas, change)
        held.status = "picked"
        for serial in serials:
            unit = self.books.units[serial]
            unit.location, unit.depot = "customer", None

    # --- transfers ------------------------------------------------------------------------

    @rule(
        data=st.data(),
        route=st.permutations(DEPOTS),
        bulk_qty=st.integers(0, 4),
        serial_qty=st.integers(0, 3),
        split_bulk_line=st.booleans(),
        scan=st.booleans(),
    )
    def create_and_ship(
        self,
        data: st.DataObject,
        route: list[str],
        bulk_qty: int,
        serial_qty: int,
        split_bulk_line: bool,
        scan: bool,
    ) -> None:
        source, target = route[0], route[1]
        if bulk_qty == serial_qty == 0:
            bulk_qty = 1
        lines: list[LineIn] = []
        if bulk_qty:
            # Two lines for one part are one line of their sum: the check must see the sum.
            if split_bulk_line and bulk_qty > 1:
                lines += [LineIn(self.bulk, 1), LineIn(self.bulk, bulk_qty - 1)]
            else:
                lines.append(LineIn(self.bulk, bulk_qty))
        if serial_qty:
            lines.append(LineIn(self.serialized, serial_qty))
        view = self.attempt(
            True, lambda: transfers.create_transfer(self.uow, self.planner, source, target, lines)
        )
        totals = {line.part_number: line.qty for line in view.lines}
        assert totals == {
            p: q for p, q in ((self.bulk, bulk_qty), (self.serialized, serial_qty)) if q
        }
        self.transfers[view.transfer.id] = TransferModel(source, target, totals)
        self.ship(data, view.transfer.id, scan)

    @precondition(lambda self: any(t.status == "draft" for t in self.transfers.values()))
    @rule(data=st.data(), scan=st.booleans())
    def ship_a_draft(self, data: st.DataObject, scan: bool) -> None:
        drafts = sorted(i for i, t in self.transfers.items() if t.status == "draft")
        self.ship(data, data.draw(st.sampled_from(drafts)), scan)

    def ship(self, data: st.DataObject, transfer_id: int, scan: bool) -> None:
        model = self.transfers[transfer_id]
        source, target = model.source, model.target
        deltas: list[tuple[Key, int]] = []
        scanned: dict[str, list[str]] | None = None
        chosen: list[str] = []
        for part, qty in model.lines.items():
            deltas += [((source, part, "good"), -qty), ((target, part, "in_transit"), qty)]
            if part == self.serialized:
                free = self.books.in_pick_order(source, part)
                if scan and len(free) >= qty:
                    chosen = data.draw(st.permutations(free))[:qty]
                    scanned = {part: chosen}
                else:
                    chosen = free[:qty]  # the service takes them in the picking order
        ok = self.books.allows(deltas)
        done = self.attempt(
            ok,
            lambda: transfers.ship_transfer(self.uow, self.staff[source], transfer_id, scanned),
        )
        if done is None:
            return
        shipped = sorted(s.serial for s in done.serials)
        assert shipped == sorted(chosen), f"shipped {shipped}, expected {sorted(chosen)}"
        self.books.post(deltas)
        model.status, model.shipped_serials = "shipped", chosen
        for serial in chosen:
            unit = self.books.units[serial]
            unit.location, unit.depot = "in_transit", target

    @precondition(lambda self: any(t.status == "draft" for t in self.transfers.values()))
    @rule(data=st.data())
    def cancel_a_draft(self, data: st.DataObject) -> None:
        drafts = sorted(i for i, t in self.transfers.items() if t.status == "draft")
        transfer_id = data.draw(st.sampled_from(drafts))
        self.attempt(True, lambda: transfers.cancel_transfer(self.uow, self.planner, transfer_id))
        self.transfers[transfer_id].status = "cancelled"

    @precondition(lambda self: any(t.status == "shipped" for t in self.transfers.values()))
    @rule(data=st.data())
    def an_empty_receipt_is_refused(self, data: st.DataObject) -> None:
        """Nothing listed and nothing confirmed never means "everything arrived"."""
        shipped = sorted(i for i, t in self.transfers.items() if t.status == "shipped")
        transfer_id = data.draw(st.sampled_from(shipped))
        target = self.transfers[transfer_id].target
        self.attempt(
            False,
            lambda: receipts.receive_transfer(self.uow, self.staff[target], transfer_id),
            refusals=(Invalid,),
        )

    @precondition(lambda self: any(t.status == "shipped" for t in self.transfers.values()))
    @rule(data=st.data(), itemised=st.booleans())
    def receive_a_transfer(self, data: st.DataObject, itemised: bool) -> None:
        shipped = sorted(i for i, t in self.transfers.items() if t.status == "shipped")
        transfer_id = data.draw(st.sampled_from(shipped))
        model = self.transfers[transfer_id]
        expected = Expected(dict(model.lines), list(model.shipped_serials))
        self.receive_parcel(data, transfer_id, expected, itemised, late=False)

    @precondition(
        lambda self: any(t.status == "partially_received" for t in self.transfers.values())
    )
    @rule(data=st.data(), itemised=st.booleans())
    def receive_a_late_parcel(self, data: st.DataObject, itemised: bool) -> None:
        """The units a transfer was short of arrive late, some or all of them."""
        waiting = sorted(i for i, t in self.transfers.items() if t.status == "partially_received")
        transfer_id = data.draw(st.sampled_from(waiting))
        model = self.transfers[transfer_id]
        lines = {self.bulk: model.missing_bulk} if model.missing_bulk else {}
        if model.missing_serials:
            lines[self.serialized] = len(model.missing_serials)
        expected = Expected(lines, list(model.missing_serials))
        self.receive_parcel(data, transfer_id, expected, itemised, late=True)

    def receive_parcel(
        self,
        data: st.DataObject,
        transfer_id: int,
        expected: Expected,
        itemised: bool,
        *,
        late: bool,
    ) -> None:
        """A first receipt or a late parcel: itemised (with shortfalls, extras and stray
        serials) or confirmed as everything expected."""
        model = self.transfers[transfer_id]
        target = model.target
        deltas: list[tuple[Key, int]] = []
        received: list[ReceivedLine] | None = [] if itemised else None
        arrived: list[str] = []  # expected serials that arrived
        extra_new: list[str] = []
        strays: list[str] = []  # known units not on this transfer, received here anyway
        bulk_extra = bulk_short = bulk_filled = 0
        expected_discrepancies: Counter[str] = Counter()
        for part, qty in expected.lines.items():
            if part == self.bulk:
                got = data.draw(st.integers(0, qty + 2), label="bulk arrived") if itemised else qty
                if received is not None and (got or data.draw(st.booleans(), label="list 0")):
                    received.append(ReceivedLine(part, qty=got))
                bulk_filled = min(got, qty)
                if bulk_filled:
                    deltas.append(((target, part, "in_transit"), -bulk_filled))
                    deltas.append(((target, part, "good"), bulk_filled))
                if got > qty:  # extras wait in quarantine
                    bulk_extra = got - qty
                    deltas.append(((target, part, "quarantine"), bulk_extra))
                    expected_discrepancies["extra"] += 1
                bulk_short = qty - bulk_filled
                if bulk_short and not late:
                    expected_discrepancies["short"] += 1
                continue
            if not itemised:
                arrived = list(expected.serials)
            else:
                arrived = data.draw(st.lists(st.sampled_from(expected.serials), unique=True))
                if data.draw(st.booleans(), label="an unexpected new serial"):
                    extra_new = self.new_serials(1)
                others = sorted(
                    s
                    for s, u in self.books.units.items()
                    if u.part == part and s not in model.shipped_serials
                )
                if others and data.draw(st.booleans(), label="a stray known serial"):
                    strays = [data.draw(st.sampled_from(others), label="stray")]
                assert received is not None
                received.append(ReceivedLine(part, serials=arrived + extra_new + strays))
            for _ in arrived:
                deltas += [((target, part, "in_transit"), -1), ((target, part, "good"), 1)]
            if not late:
                expected_discrepancies["short"] += len(expected.serials) - len(arrived)
        # A unit we sent back is not ours: arriving again, it is an extra again.
        revived = [s for s in strays if self.books.units[s].location == "sent_back"]
        moved = [s for s in strays if s not in revived]
        deltas += [((target, self.serialized, "quarantine"), 1) for _ in extra_new + revived]
        expected_discrepancies["extra"] += len(extra_new) + len(revived)
        expected_discrepancies["wrong_serial"] += len(moved)
        for serial in moved:
            unit = self.books.units[serial]
            if unit.location == "depot":
                deltas += [
                    ((unit.depot or "", unit.part, unit.condition), -1),
                    ((target, unit.part, unit.condition), 1),
                ]
        # A stray must be on a depot's shelf, and not an extra waiting for its decision.
        waiting = self.waiting_serials()
        stray_ok = all(self.books.units[s].location == "depot" and s not in waiting for s in moved)
        # A receipt lists something (an empty list is refused), and a late parcel must
        # bring something.
        listed = received is None or bool(received)
        ok = stray_ok and listed and self.books.allows(deltas) and (not late or bool(deltas))
        if late:
            call = lambda: shortfalls.receive_late_parcel(  # noqa: E731
                self.uow, self.staff[target], transfer_id, received, all_missing=received is None
            )
        else:
            call = lambda: receipts.receive_transfer(  # noqa: E731
                self.uow, self.staff[target], transfer_id, received, as_shipped=received is None
            )
        done = self.attempt(ok, call)
        if done is None:
            return
        self.books.post(deltas)
        still_missing = [s for s in expected.serials if s not in arrived]
        for serial in arrived:
            unit = self.books.units[serial]
            unit.location, unit.depot = "depot", target
        self.books.shelve(arrived)
        for serial in extra_new:
            self.books.units[serial] = UnitModel(self.serialized, "quarantine", "depot", target)
        for serial in revived:
            unit = self.books.units[serial]
            unit.condition, unit.location, unit.depot = "quarantine", "depot", target
        for serial in moved:
            unit = self.books.units[serial]
            unit.depot = target
            if unit.condition == "good":
                self.books.shelve([serial])
        model.missing_serials, model.missing_bulk = still_missing, bulk_short
        model.status = "partially_received" if still_missing or bulk_short else "received"
        new = [d for d in done.discrepancies if d.id not in self.discrepancies]
        recorded = Counter(d.kind for d in new if not (late and d.kind == "short"))
        assert recorded == +expected_discrepancies, f"discrepancies {recorded}"
        extras = sorted((d.serial or "", d.qty) for d in new if d.kind == "extra")
        expected_extras = [("", bulk_extra)] if bulk_extra else []
        assert extras == sorted(expected_extras + [(s, 1) for s in extra_new + revived])
        if late:
            for item in self.discrepancies.values():
                if item.transfer == transfer_id and item.kind == "short" and not item.resolution:
                    filled = item.serial in arrived if item.serial else bulk_filled > 0
                    item.resolution = "arrived" if filled else None
        for item in new:
            assert item.id is not None and item.resolution is None
            self.discrepancies[item.id] = DiscrepancyModel(
                target, item.part_number, item.kind, item.qty, item.serial, transfer=transfer_id
            )

    @precondition(
        lambda self: any(t.status == "partially_received" for t in self.transfers.values())
    )
    @rule(data=st.data(), give_reason=st.booleans())
    def write_off_a_shortfall(self, data: st.DataObject, give_reason: bool) -> None:
        """What is still missing leaves the books, with a reason (none: refused)."""
        waiting = sorted(i for i, t in self.transfers.items() if t.status == "partially_received")
        transfer_id = data.draw(st.sampled_from(waiting))
        model = self.transfers[transfer_id]
        target = model.target
        deltas: list[tuple[Key, int]] = [
            ((target, self.serialized, "in_transit"), -1) for _ in model.missing_serials
        ]
        if model.missing_bulk:
            deltas.append(((target, self.bulk, "in_transit"), -model.missing_bulk))
        done = self.attempt(
            give_reason,
            lambda: shortfalls.write_off_shortfall(
                self.uow,
                self.staff[target],
                transfer_id,
                "lost by the courier" if give_reason else " ",
            ),
        )
        if done is None:
            return
        self.books.post(deltas)
        for serial in model.missing_serials:
            unit = self.books.units[serial]
            unit.location, unit.depot = "missing", None
        model.missing_serials, model.missing_bulk, model.status = [], 0, "received"
        for item in self.discrepancies.values():
            if item.transfer == transfer_id and item.kind == "short" and not item.resolution:
                item.resolution = "written_off"

    @precondition(lambda self: self.discrepancies)
    @rule(
        data=st.data(),
        decision=st.sampled_from(["accept", "send_back"]),
        own_depot=st.booleans(),
    )
    def decide_an_extra(self, data: st.DataObject, decision: str, own_depot: bool) -> None:
        """Staff of the receiving depot accept or send back an extra, once; shortfalls
        and wrong serials are not decided; staff of another depot may not decide."""
        discrepancy_id = data.draw(st.sampled_from(sorted(self.discrepancies)))
        item = self.discrepancies[discrepancy_id]
        if not own_depot:
            other = data.draw(st.sampled_from([d for d in DEPOTS if d != item.depot]))
            self.attempt(
                False,
                lambda: receipts.resolve_discrepancy(
                    self.uow, self.staff[other], discrepancy_id, decision
                ),
                refusals=(Forbidden,),
            )
            return
        key = (item.depot, item.part, "quarantine")
        deltas: list[tuple[Key, int]] = [(key, -item.qty)]
        if decision == "accept":
            deltas.append(((item.depot, item.part, "good"), item.qty))
        unit = self.books.units.get(item.serial or "")
        in_quarantine = unit is None or (unit.location, unit.depot, unit.condition) == (
            "depot",
            item.depot,
            "quarantine",
        )
        ok = (
            item.kind == "extra"
            and item.resolution is None
            and in_quarantine
            and self.books.allows(deltas)
        )
        done = self.attempt(
            ok,
            lambda: receipts.resolve_discrepancy(
                self.uow, self.staff[item.depot], discrepancy_id, decision
            ),
        )
        if done is None:
            return
        self.books.post(deltas)
        item.resolution = "accepted" if decision == "accept" else "sent_back"
        if unit is not None:
            if decision == "accept":
                unit.condition = "good"
                self.books.shelve([item.serial or ""])
            else:
                unit.location, unit.depot = "sent_back", None

    # --- what must hold after every step -------------------------------------------------

    @invariant()
    def database_agrees_with_the_model(self) -> None:
        parts = (self.bulk, self.serialized)
        with self.engine.connect() as connection:
            balances = {
                (d, p, b): (on_hand, reserved)
                for d, p, b, on_hand, reserved in connection.execute(
                    select(
                        StockBalance.depot_code,
                        StockBalance.part_number,
                        StockBalance.bucket,
                        StockBalance.on_hand,
                        StockBalance.reserved,
                    ).where(StockBalance.part_number.in_(parts))
                )
            }
            units = {
                serial: UnitModel(part, condition, location, depot, refurbished)
                for serial, part, condition, location, depot, refurbished in connection.execute(
                    select(
                        Unit.serial,
                        Unit.part_number,
                        Unit.condition,
                        Unit.location,
                        Unit.depot_code,
                        Unit.refurbished,
                    ).where(Unit.part_number.in_(parts))
                )
            }
            held = dict(
                connection.execute(
                    select(Reservation.id, Reservation.status).where(
                        Reservation.part_number.in_(parts)
                    )
                ).all()
            )
            moving = dict(
                connection.execute(
                    select(Transfer.id, Transfer.status).where(
                        Transfer.id.in_(list(self.transfers))
                    )
                ).all()
            )
            decided = dict(
                connection.execute(
                    select(TransferDiscrepancy.id, TransferDiscrepancy.resolution).where(
                        TransferDiscrepancy.transfer_id.in_(list(self.transfers))
                    )
                ).all()
            )
        for on_hand, reserved in balances.values():
            assert on_hand >= 0 and 0 <= reserved <= on_hand
        assert {k: v for k, v in balances.items() if v != (0, 0)} == self.books.balances()
        assert units == self.books.units
        assert held == {rid: r.status for rid, r in self.reservations.items()}
        assert moving == {tid: t.status for tid, t in self.transfers.items()}
        assert decided == {did: d.resolution for did, d in self.discrepancies.items()}
        # Examples share the database; each is judged on its own parts so that a failing
        # example cannot make the next ones fail (which would confuse the shrinker).
        assert [d for d in ledger.check_books(self.uow) if d.part_number in parts] == []


def machine_for(engine: Engine) -> type[InventoryMachine]:
    """The state machine bound to ``engine``, with a planner and staff at each depot."""
    uow = UnitOfWork(engine)
    planner = auth.create_user(uow, "sm-planner", PASSWORD, "planner")
    staff = {
        depot: auth.create_user(
            uow, f"sm-staff-{depot.lower()}", PASSWORD, "depot_staff", depot_code=depot
        )
        for depot in DEPOTS
    }
    return type(
        "BoundInventoryMachine",
        (InventoryMachine,),
        {
            "engine": engine,
            "planner": planner,
            "staff": staff,
            "part_numbers": itertools.count(1),
            "serial_numbers": itertools.count(1),
        },
    )


# SQLite is the fast path; PostgreSQL runs fewer, shorter examples (it is slower per call)
# to check that the row locks and the retrying unit of work behave the same.
RUNS = {
    "sqlite": settings(max_examples=30, stateful_step_count=30),
    "postgresql": settings(max_examples=10, stateful_step_count=25),
}
# Every step talks to a real database, so shrinking a failure can take minutes. CI reports
# the failing run unshrunk (every step is printed); run locally to get it shrunk.
PHASES = tuple(p for p in Phase if p != Phase.shrink) if os.environ.get("CI") else tuple(Phase)


def test_stock_services_agree_with_a_simple_model(any_engine: Engine) -> None:
    require_room_for_partial_receipts(any_engine)  # receipts may be short
    machine = machine_for(any_engine)
    run_state_machine_as_test(
        machine,
        settings=settings(
            RUNS[any_engine.dialect.name],
            deadline=None,
            phases=PHASES,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    assert ledger.check_books(UnitOfWork(any_engine)) == []


def test_the_model_refuses_what_oversells() -> None:
    """The model itself: the rules the machine holds the services to."""
    books = Books()
    key = ("BJ", "P", "good")
    books.post([(key, 3)], {key: 2})
    assert books.available("BJ", "P") == 1
    assert books.allows([(key, -1)])
    assert not books.allows([(key, -2)])
    assert not books.allows([], {key: 2})
    assert books.allows([(key, -2)], {key: -2})
    assert not books.allows([(("SH", "P", "defective"), -1)])
    assert books.balances() == {key: (3, 2)}
