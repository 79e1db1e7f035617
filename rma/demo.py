"""Demo customers, contracts, installed base and a few months of RMA history.

Customers are the kinds of organisations that buy network equipment through
system integrators - banks, carriers, hospitals, universities, power grids,
city governments - with sites in every customer city. History is produced by
running the real RMA use cases with the clock set in the past, so every case
has a consistent event trail, stock moves and promises; the open cases at the
end are spread over every state, some near or past their due times.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select

from core import clock
from core.auth import Actor, Role
from core.db import UnitOfWork
from depots.models import City, Depot
from inventory.models import Location, Part, Unit
from rma.models import OPEN_STATUSES, Contract, Customer, InstalledUnit, Rma, Site
from rma.service import entitlement, lifecycle, opening, returns
from rma.service.escalations import raise_due_escalations
from rma.service.opening import OpenRequest

# More service engineers than the one demo login, so evaluations compare people; their
# logins are made with the other demo users (``demo.users``).
EXTRA_ENGINEERS = {
    "chen.jie": "Chen Jie (service engineer)",
    "liu.yang": "Liu Yang (service engineer)",
    "zhao.lei": "Zhao Lei (service engineer)",
}

ORGANISATIONS = [
    ("BANK", "Bank", "银行"),
    ("TEL", "Telecom", "电信"),
    ("MOB", "Mobile", "移动"),
    ("HOSP", "People's Hospital", "人民医院"),
    ("UNIV", "University", "大学"),
    ("GRID", "Power Supply Company", "供电公司"),
    ("GOV", "Municipal Data Centre", "市政务数据中心"),
    ("METRO", "Metro Group", "地铁集团"),
    ("AIR", "Airport Group", "机场集团"),
]

SYMPTOMS = [
    "Power supply LED red, unit reboots under load",
    "Line card not recognised after upgrade; slot shows 'unregistered'",
    "CRC errors rising on uplink ports, optics replaced without effect",
    "Fan tray alarm: fan 2 speed 0 rpm, temperature rising",
    "Main processing unit hangs every few hours, console unresponsive",
    "Intermittent packet loss on the 100GE ports of the spine",
    "Chassis does not power on after a site power cut",
    "Optical module reports Rx power -40 dBm, link down",
    "Firewall session table resets, core dump in the logs",
    "Wireless controller drops all APs after config commit",
]

CAUSES = [
    "Failed power module: output voltage out of range under load",
    "Line card ASIC fault confirmed by diagnostics",
    "Fan tray motor failure",
    "Corrupted flash on the main processing unit",
    "Optical transmitter degraded below specification",
]

SIGNERS = [
    "Ms. Chen",
    "Mr. Wang",
    "Ms. Liu",
    "Mr. Zhao",
    "Ms. Huang",
    "Mr. Zhou",
    "Ms. Wu",
    "Mr. Xu",
    "Ms. Sun",
    "Mr. Ma",
]
REMARKS = [
    "Replacement arrived before noon, thank you.",
    "Engineer was patient and clear.",
    "Took longer than promised.",
    "Very fast, problem solved.",
    "Courier could not find the site at first.",
    "",
]

# How long ago the open cases in each state were reported (hours, range).
OPEN_CASE_AGE_HOURS = {
    "requested": (1, 30),
    "approved": (1, 20),
    "allocated": (2, 30),
    "shipped": (6, 30),
    "delivered": (30, 200),
    "defective_received": (16 * 24, 20 * 24),
    "received": (10, 30),
    "in_repair": (70, 100),
    "repaired": (130, 160),
    "returned": (190, 230),
    "back": (16 * 24, 20 * 24),
}

INSTALLED_FAMILIES = ("chassis", "line_card", "supervisor", "power", "optic", "module")


def build_demo(uow: UnitOfWork, rng: random.Random) -> str:
    """Customers in every city, contracts, installed base, RMA history and open cases."""
    now = clock.now()
    today = clock.local(now).date()
    cities = list(uow.session.scalars(select(City).order_by(City.name)))
    parts = list(
        uow.session.scalars(
            select(Part)
            .where(Part.family.in_(INSTALLED_FAMILIES), Part.superseded_by.is_(None))
            .order_by(Part.part_number)
        )
    )
    superseded = list(
        uow.session.scalars(
            select(Part).where(Part.superseded_by.is_not(None)).order_by(Part.part_number)
        )
    )
    sites: list[Site] = []
    units: list[InstalledUnit] = []
    serial = 0
    for index, city in enumerate(cities):
        code, kind, kind_zh = ORGANISATIONS[index % len(ORGANISATIONS)]
        customer = Customer(
            code=f"{code}-{city.name[:3].upper()}{index:02d}"[:20],
            name=f"{city.name} {kind}",
            name_zh=f"{city.name_zh}{kind_zh}",
            email=f"it-{index:02d}@customer.example",
        )
        uow.session.add(customer)
        uow.session.flush()
        contracts: list[Contract] = []
        if rng.random() < 0.7:
            coverage = (
                "7x24"
                if kind in ("Bank", "Telecom", "Mobile", "Airport Group", "Metro Group")
                or rng.random() < 0.3
                else "5x8"
            )
            contract = Contract(
                number=f"SC-{today.year}-{index:04d}",
                customer_id=customer.id,
                coverage=coverage,
                starts_on=today - timedelta(days=rng.randint(30, 600)),
                ends_on=today + timedelta(days=rng.randint(60, 900)),
                loaner=rng.random() < 0.4,
            )
            uow.session.add(contract)
            contracts.append(contract)
        uow.session.flush()
        for site_no in range(1, 2 + (index % 3 == 0)):
            site = Site(
                customer_id=customer.id,
                city_id=city.id,
                name=f"{customer.name} site {site_no}",
                address=f"No. {rng.randint(1, 999)} {city.name} Road",
                contact_name=rng.choice(SIGNERS),
                contact_phone=f"1{rng.randint(3, 9)}{rng.randint(100000000, 999999999)}",
                contact_email=f"noc-{index:02d}-{site_no}@customer.example",
            )
            uow.session.add(site)
            uow.session.flush()
            sites.append(site)
            for _ in range(rng.randint(4, 9)):
                serial += 1
                part = rng.choice(superseded if rng.random() < 0.08 and superseded else parts)
                shipped = today - timedelta(days=rng.randint(10, 5 * 365))
                warranty_end = shipped + timedelta(days=3 * 365)
                phase = "in_warranty" if warranty_end >= today else "out_of_warranty"
                if (today - shipped).days < 60:
                    phase = rng.choice(["acceptance", "installation", "trial_run"])
                unit = InstalledUnit(
                    serial=f"{city.name[:2].upper()}{serial:08d}",
                    part_number=part.part_number,
                    site_id=site.id,
                    contract_id=contracts[0].id if contracts else None,
                    shipped_on=shipped,
                    warranty_end=warranty_end,
                    phase=phase,
                )
                uow.session.add(unit)
                units.append(unit)
    uow.session.flush()
    history = _history(uow, rng, units, now)
    return f"  {len(cities)} customers, {len(sites)} sites, {len(units)} installed units, {history}"


def _staff(uow: UnitOfWork, depot: str) -> Actor:
    return Actor(id=0, username=f"staff-{depot.lower()}", role=Role.DEPOT_STAFF, depot_code=depot)


def _free_serial(uow: UnitOfWork, rma: Rma) -> str | None:
    return uow.session.scalar(
        select(Unit.serial)
        .where(
            Unit.depot_code == rma.depot_code,
            Unit.part_number == rma.ship_part_number,
            Unit.location == Location.DEPOT,
            Unit.condition == "good",
            Unit.reservation_id.is_(None),
        )
        .order_by(Unit.serial)
    )


def _history(uow: UnitOfWork, rng: random.Random, units: list[InstalledUnit], now: datetime) -> str:
    """Closed cases over the last four months, then open cases in every state."""
    engineers = [
        Actor(id=0, username=name, role=Role.ENGINEER) for name in ("engineer", *EXTRA_ENGINEERS)
    ]
    supervisor = Actor(id=0, username="supervisor", role=Role.SUPERVISOR)
    pool = rng.sample(units, k=min(len(units), 110))
    closed = 0
    for unit in pool[:70]:
        reported = now - timedelta(days=rng.uniform(20, 120), hours=rng.uniform(0, 12))
        kind = rng.choice(["advance_replacement"] * 6 + ["repair"] * 3 + ["loaner"])
        if rng.random() < 0.07:
            rma = _run_case(
                uow,
                rng,
                unit,
                "advance_replacement",
                reported,
                rng.choice(engineers),
                supervisor,
                until="allocated",
            )
            if rma is not None and rma.status in OPEN_STATUSES:
                with clock.frozen(reported + timedelta(hours=2)):
                    lifecycle.cancel(
                        uow,
                        Actor(id=0, username=rma.reported_by, role=Role.ENGINEER),
                        rma.number,
                        "customer found a loose cable",
                    )
            continue
        rma = _run_case(
            uow, rng, unit, kind, reported, rng.choice(engineers), supervisor, until="closed"
        )
        closed += rma is not None and rma.status == "closed"
    open_states = [
        "requested",
        "approved",
        "allocated",
        "allocated",
        "shipped",
        "shipped",
        "delivered",
        "delivered",
        "defective_received",
        "received",
        "in_repair",
        "repaired",
        "returned",
        "back",
    ]
    opened = 0
    spare = [unit for unit in units if unit not in pool]
    for index, unit in enumerate(pool[70:]):
        target = open_states[index % len(open_states)]
        if target == "requested":
            # A billable case waits for a supervisor only where no contract covers it.
            unit = _uncovered_unit(uow, spare, now) or unit
        kind = (
            "repair"
            if target in ("approved", "received", "in_repair", "repaired", "returned")
            else "loaner"
            if target == "back"
            else "advance_replacement"
        )
        # Old enough for the steps to lie in the past; replacements still waiting
        # to ship range from fresh to past their 24-hour promise.
        low, high = OPEN_CASE_AGE_HOURS[target]
        reported = now - timedelta(hours=rng.uniform(low, high))
        rma = _run_case(
            uow, rng, unit, kind, reported, rng.choice(engineers), supervisor, until=target
        )
        opened += rma is not None
    # Escalations that the every-minute job would have raised by now.
    raised = raise_due_escalations(uow, now)
    return f"{closed} closed and {opened} open RMAs, {len(raised)} escalations raised"


def _uncovered_unit(
    uow: UnitOfWork, candidates: list[InstalledUnit], now: datetime
) -> InstalledUnit | None:
    """Take from ``candidates`` a unit whose customer has no contract covering an
    advance replacement today: out of warranty, a case on it needs approval."""
    today = clock.local(now).date()
    for index, unit in enumerate(candidates):
        site = uow.session.get(Site, unit.site_id)
        if site is None:
            continue
        covered = entitlement.decide(uow, site.customer_id, None, "advance_replacement", today)
        if not covered.entitled:
            return candidates.pop(index)
    return None


def _run_case(
    uow: UnitOfWork,
    rng: random.Random,
    unit: InstalledUnit,
    kind: str,
    reported: datetime,
    engineer: Actor,
    supervisor: Actor,
    until: str,
) -> Rma | None:
    """Play one case through the real use cases, the clock moving with it."""
    step_at = reported
    level = rng.choices(["C-1", "C-2", "C-3"], weights=[1, 3, 6])[0]
    if until == "requested":
        unit.phase, unit.warranty_end = "out_of_warranty", reported.date() - timedelta(days=30)
        uow.session.add(unit)
    with clock.frozen(step_at):
        try:
            rma = opening.open_rma(
                uow,
                engineer,
                OpenRequest(
                    fault_level=level, kind=kind, symptom=rng.choice(SYMPTOMS), serial=unit.serial
                ),
            )
        except Exception:  # a unit with an open case already, or no longer active
            return None
    if until == "requested":
        return rma  # waiting for approval, or approved at once under a contract
    if rma.status == "requested":
        step_at += timedelta(hours=rng.uniform(0.5, 3))
        if step_at > clock.now():
            return rma  # the next step lies in the future: the case is open there
        with clock.frozen(step_at):
            rma = lifecycle.approve(uow, supervisor, rma.number)
    if until in ("approved",) or rma.backorder:
        return rma
    if kind == "repair":
        return _repair(uow, rng, rma, step_at, engineer, until)
    if until == "allocated":
        return rma
    serial = _free_serial(uow, rma)
    if serial is None:
        return rma
    step_at = max(step_at + timedelta(minutes=rng.uniform(20, 90)), rma.ships_at or step_at)
    if step_at > clock.now():
        return rma  # the next step lies in the future: the case is open there
    with clock.frozen(step_at):
        rma = lifecycle.ship(uow, _staff(uow, rma.depot_code or ""), rma.number, serial)
        # Most causes are confirmed by remote diagnosis by the time the unit ships;
        # the rest keep the escalation clock running.
        if rng.random() < 0.8:
            rma = lifecycle.confirm_cause(uow, engineer, rma.number, rng.choice(CAUSES))
    if until == "shipped":
        return rma
    late = timedelta(hours=rng.choice([0, 0, 0, 0, 3, 9]))
    step_at = (rma.promised_delivery or step_at) + late
    if step_at > clock.now():
        return rma  # the next step lies in the future: the case is open there
    with clock.frozen(step_at):
        rma = lifecycle.deliver(uow, engineer, rma.number)
    if until == "delivered":
        return rma
    depot = rma.depot_code or "BJ"
    step_at += timedelta(days=rng.uniform(2, 12))
    if step_at > clock.now():
        return rma  # the next step lies in the future: the case is open there
    with clock.frozen(step_at):
        if kind == "loaner":
            rma = returns.loaner_back(
                uow, _staff(uow, depot), rma.number, depot, rma.shipped_serial
            )
        else:
            rma = returns.receive_defective(uow, _staff(uow, depot), rma.number, depot, rma.serial)
    if until in ("defective_received", "back"):
        return rma
    return _close(uow, rng, rma, step_at, engineer)


def _repair(
    uow: UnitOfWork, rng: random.Random, rma: Rma, step_at: datetime, engineer: Actor, until: str
) -> Rma:
    depot = _nearest_depot(uow, rma)
    steps = [
        (
            "received",
            lambda: returns.receive_defective(
                uow, _staff(uow, depot), rma.number, depot, rma.serial
            ),
        ),
        ("in_repair", lambda: returns.start_repair(uow, _staff(uow, depot), rma.number)),
        ("repaired", lambda: returns.finish_repair(uow, _staff(uow, depot), rma.number)),
        ("returned", lambda: returns.return_repaired(uow, _staff(uow, depot), rma.number)),
    ]
    for state, step in steps:
        step_at += timedelta(hours=rng.uniform(4, 30))
        if step_at > clock.now():
            return rma
        with clock.frozen(step_at):
            rma = step()
            if state == "in_repair" and rng.random() < 0.8:
                rma = lifecycle.confirm_cause(uow, engineer, rma.number, rng.choice(CAUSES))
        if until == state:
            return rma
    return _close(uow, rng, rma, step_at, engineer)


def _close(
    uow: UnitOfWork, rng: random.Random, rma: Rma, step_at: datetime, engineer: Actor
) -> Rma:
    step_at += timedelta(hours=rng.uniform(1, 48))
    if step_at > clock.now():
        return rma
    with clock.frozen(step_at):
        return lifecycle.close(
            uow,
            engineer,
            rma.number,
            rng.choices([5, 4, 3, 2, 1], weights=[50, 30, 12, 5, 3])[0],
            rng.choice(REMARKS),
            rng.choice(SIGNERS),
        )


def _nearest_depot(uow: UnitOfWork, rma: Rma) -> str:
    site = uow.session.get(Site, rma.site_id)
    city = uow.session.get(City, site.city_id) if site else None
    depots = list(uow.session.scalars(select(Depot)))
    if city is None:
        return "BJ"
    return min(depots, key=lambda d: (d.lat - city.lat) ** 2 + (d.lon - city.lon) ** 2).code
