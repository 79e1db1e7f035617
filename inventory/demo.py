"""Demo catalogue and opening stock: about 300 part numbers across eight depots.

The catalogue follows a network vendor's product lines (campus and data-centre
switches, routers, firewalls, wireless controllers): chassis, line cards,
supervisor engines, power supplies, fans, optics, cables. Stock is spread
unevenly - the three big depots (Beijing, Shanghai, Guangzhou) hold most of it
- with some defective and in-repair units, every part in a bin of its depot's
shelves, and a few transfers: drafts, on the road, received, and one received
short that still waits for its missing units.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import insert, select

from core import auth
from core.db import UnitOfWork
from depots.models import Depot
from inventory.models import Location, Part, StockBalance, StockBin, Unit
from inventory.service import ledger, receipts, transfers
from inventory.service.ledger import Delta

# (product line, kind of box, chassis price range in CNY)
PRODUCT_LINES = [
    ("S5735", "campus access switch", (9_000, 26_000)),
    ("S6730", "aggregation switch", (38_000, 90_000)),
    ("S7706", "campus core switch", (120_000, 260_000)),
    ("CE6881", "data-centre leaf switch", (60_000, 140_000)),
    ("CE8850", "data-centre spine switch", (180_000, 420_000)),
    ("AR6280", "enterprise router", (30_000, 85_000)),
    ("NE40E", "carrier edge router", (250_000, 600_000)),
    ("USG6650", "next-generation firewall", (70_000, 190_000)),
    ("AC6805", "wireless access controller", (45_000, 110_000)),
]

OPTICS = [
    ("SFP-GE-LX", "1000BASE-LX SFP, 1310 nm, 10 km", (300, 650)),
    ("SFP-GE-SX", "1000BASE-SX SFP, 850 nm, 550 m", (180, 400)),
    ("SFP-10G-SR", "10GBASE-SR SFP+, 850 nm, 300 m", (450, 900)),
    ("SFP-10G-LR", "10GBASE-LR SFP+, 1310 nm, 10 km", (900, 1_800)),
    ("SFP-10G-ER", "10GBASE-ER SFP+, 1550 nm, 40 km", (2_400, 4_200)),
    ("SFP28-25G-SR", "25GBASE-SR SFP28, 850 nm, 100 m", (800, 1_500)),
    ("SFP28-25G-LR", "25GBASE-LR SFP28, 1310 nm, 10 km", (1_800, 3_200)),
    ("QSFP-40G-SR4", "40GBASE-SR4 QSFP+, MPO, 150 m", (1_500, 2_800)),
    ("QSFP-40G-LR4", "40GBASE-LR4 QSFP+, LC, 10 km", (3_800, 6_500)),
    ("QSFP28-100G-SR4", "100GBASE-SR4 QSFP28, MPO, 100 m", (2_600, 4_800)),
    ("QSFP28-100G-LR4", "100GBASE-LR4 QSFP28, LC, 10 km", (6_000, 11_000)),
    ("QSFP28-100G-CWDM4", "100G CWDM4 QSFP28, 2 km", (3_500, 6_000)),
    ("QSFP-DD-400G-DR4", "400GBASE-DR4 QSFP-DD, 500 m", (9_000, 16_000)),
    ("QSFP-DD-400G-FR4", "400GBASE-FR4 QSFP-DD, 2 km", (12_000, 21_000)),
]

CABLES = [
    ("CAB-DAC-10G-1M", "10G SFP+ direct-attach copper cable, 1 m", (120, 220)),
    ("CAB-DAC-10G-3M", "10G SFP+ direct-attach copper cable, 3 m", (160, 300)),
    ("CAB-DAC-25G-3M", "25G SFP28 direct-attach copper cable, 3 m", (260, 480)),
    ("CAB-DAC-100G-3M", "100G QSFP28 direct-attach copper cable, 3 m", (700, 1_300)),
    ("CAB-AOC-100G-10M", "100G QSFP28 active optical cable, 10 m", (1_400, 2_400)),
    ("CAB-PWR-C13-CN", "power cord C13, GB plug, 1.8 m", (30, 60)),
    ("CAB-PWR-C19-CN", "power cord C19, GB plug, 2.5 m", (60, 110)),
    ("CAB-CON-RJ45", "console cable RJ45-DB9", (25, 50)),
]

STOCK_WEIGHT = {
    "BJ": 1.6,
    "SH": 1.5,
    "GZ": 1.3,
    "CD": 0.8,
    "WH": 0.8,
    "XA": 0.6,
    "SY": 0.5,
    "JN": 0.5,
}


@dataclass(frozen=True)
class DemoPart:
    part_number: str
    description: str
    family: str
    serialized: bool
    unit_cost: Decimal
    weight_kg: float
    criticality: str
    superseded_by: str | None = None


def _price(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(round(rng.uniform(low, high), -1)).quantize(Decimal("0.01"))


def demo_catalogue(rng: random.Random) -> list[DemoPart]:
    """About 300 part numbers, deterministic for a given generator state."""
    parts: list[DemoPart] = []
    for line, kind, (low, high) in PRODUCT_LINES:
        for variant in ("24", "48") if "access" in kind or "leaf" in kind else ("",):
            suffix = f"-{variant}" if variant else ""
            parts.append(
                DemoPart(
                    f"{line}{suffix}-AC",
                    f"{line} {kind} chassis{suffix}, AC",
                    "chassis",
                    True,
                    _price(rng, low, high),
                    round(rng.uniform(6, 60), 1),
                    "critical",
                )
            )
        for slot in range(1, rng.randint(5, 9)):
            ports = rng.choice(["24XGE", "48GE", "8X100GE", "36X100GE", "16X25GE", "4X400GE"])
            parts.append(
                DemoPart(
                    f"{line}-LC-{ports}-{slot:02d}",
                    f"{line} line card, {ports}, model {slot:02d}",
                    "line_card",
                    True,
                    _price(rng, low // 6, high // 3),
                    round(rng.uniform(2, 9), 1),
                    rng.choice(["critical", "high"]),
                )
            )
        for index in range(1, 3):
            parts.append(
                DemoPart(
                    f"{line}-MPU-{index}",
                    f"{line} main processing unit {index}",
                    "supervisor",
                    True,
                    _price(rng, low // 4, high // 2),
                    round(rng.uniform(2, 6), 1),
                    "critical",
                )
            )
        for watts in (600, 1200, 2200):
            parts.append(
                DemoPart(
                    f"{line}-PSU-{watts}W",
                    f"{line} {watts} W AC power module",
                    "power",
                    True,
                    _price(rng, 1_500, 9_000),
                    round(rng.uniform(1, 4), 1),
                    "high",
                )
            )
        for index in range(1, 3):
            parts.append(
                DemoPart(
                    f"{line}-FAN-{index}",
                    f"{line} fan tray {index}",
                    "fan",
                    False,
                    _price(rng, 700, 3_200),
                    round(rng.uniform(0.8, 3), 1),
                    "medium",
                )
            )
        for index in range(1, rng.randint(3, 6)):
            parts.append(
                DemoPart(
                    f"{line}-MOD-{index}",
                    f"{line} service module {index}",
                    "module",
                    True,
                    _price(rng, 4_000, 30_000),
                    round(rng.uniform(0.5, 3), 1),
                    "medium",
                )
            )
    for number, description, (low, high) in OPTICS:
        for vendor_code in ("A", "B", "C", "D", "E", "F", "G", "H", "J"):
            parts.append(
                DemoPart(
                    f"{number}-{vendor_code}",
                    f"{description} (source {vendor_code})",
                    "optic",
                    True,
                    _price(rng, low, high),
                    0.05,
                    "medium",
                )
            )
    for number, description, (low, high) in CABLES:
        parts.append(
            DemoPart(number, description, "cable", False, _price(rng, low, high), 0.3, "low")
        )
    # Newer revisions supersede some older parts (chains of two are allowed).
    revised: list[DemoPart] = []
    candidates = [p for p in parts if p.family in ("line_card", "power", "optic")]
    for old in rng.sample(candidates, 16):
        new = DemoPart(
            f"{old.part_number}-V2",
            f"{old.description}, revision 2",
            old.family,
            old.serialized,
            (old.unit_cost * Decimal("1.08")).quantize(Decimal("0.01")),
            old.weight_kg,
            old.criticality,
        )
        revised.append(new)
        parts[parts.index(old)] = DemoPart(**{**old.__dict__, "superseded_by": new.part_number})
    return parts + revised


def _opening_quantity(rng: random.Random, part: DemoPart, depot: str) -> int:
    base = {
        "chassis": 1.2,
        "line_card": 2.0,
        "supervisor": 1.5,
        "power": 3.5,
        "fan": 3.0,
        "optic": 5.0,
        "module": 1.5,
        "cable": 12.0,
    }[part.family]
    if part.superseded_by:  # old revisions are run down
        base *= 0.4
    mean = base * STOCK_WEIGHT[depot]
    return max(0, int(rng.gauss(mean, mean * 0.6)))


def build_demo(uow: UnitOfWork, rng: random.Random) -> str:
    """Catalogue, opening stock in every depot, some defective/in-repair units, transfers."""
    catalogue = demo_catalogue(rng)
    uow.session.execute(insert(Part), [{**p.__dict__, "superseded_by": None} for p in catalogue])
    for p in catalogue:
        if p.superseded_by:
            part = uow.session.get(Part, p.part_number)
            assert part is not None
            part.superseded_by = p.superseded_by
            uow.session.add(part)
    depots = list(uow.session.scalars(select(Depot.code).order_by(Depot.code)))
    serial_number = 0
    total_units = 0
    for depot in depots:
        deltas: list[Delta] = []
        units: list[dict[str, object]] = []
        for part in catalogue:
            qty = _opening_quantity(rng, part, depot)
            broken = rng.random() < 0.12 and part.serialized
            for bucket, n in (
                ("good", qty),
                ("defective", 1 if broken else 0),
                ("in_repair", 1 if broken and rng.random() < 0.5 else 0),
            ):
                if n == 0:
                    continue
                if part.serialized:
                    for _ in range(n):
                        serial_number += 1
                        serial = f"{depot}{rng.randint(10, 99)}{serial_number:07d}"
                        deltas.append(Delta(depot, part.part_number, bucket, 1, serial))
                        units.append(
                            {
                                "serial": serial,
                                "part_number": part.part_number,
                                "condition": bucket,
                                "location": Location.DEPOT,
                                "depot_code": depot,
                                "refurbished": False,
                                "note": "",
                            }
                        )
                else:
                    deltas.append(Delta(depot, part.part_number, bucket, n))
                total_units += n
        if units:
            uow.session.execute(insert(Unit), units)
        ledger.post(
            uow,
            "receipt",
            f"staff-{depot.lower()}",  # the depot's demo login received its opening stock
            deltas,
            reason="opening stock (demo data)",
            reference=f"OPEN-{depot}",
        )
    _demo_bins(uow, depots, catalogue)
    transfers_made = _demo_transfers(uow, rng, catalogue)
    return (
        f"  {len(catalogue)} parts, {total_units} units of opening stock in "
        f"{len(depots)} depots, {transfers_made} transfers"
    )


# Aisles by family: big boxes low and near the door, optics and cables in drawers.
AISLES = {
    "chassis": "A",
    "line_card": "B",
    "supervisor": "B",
    "power": "C",
    "fan": "C",
    "module": "D",
    "optic": "E",
    "cable": "F",
}


def _demo_bins(uow: UnitOfWork, depots: list[str], catalogue: list[DemoPart]) -> None:
    """Every part a default bin at every depot: aisle by family, then rack and level
    in catalogue order (``A-03-2``)."""
    rows = []
    for depot in depots:
        slots: dict[str, int] = {}
        for part in catalogue:
            aisle = AISLES[part.family]
            slot = slots.get(aisle, 0)
            slots[aisle] = slot + 1
            rack, level = divmod(slot, 4)
            rows.append(
                {
                    "depot_code": depot,
                    "part_number": part.part_number,
                    "bin": f"{aisle}-{rack + 1:02d}-{level + 1}",
                    "updated_by": f"staff-{depot.lower()}",
                }
            )
    uow.session.execute(insert(StockBin), rows)


def _demo_transfers(uow: UnitOfWork, rng: random.Random, catalogue: list[DemoPart]) -> int:
    """A few transfers in each state: draft, on the road, received, and the last one
    received with a unit short (partially received: the unit is still in transit)."""
    planner = auth.Actor(id=0, username="planner", role=auth.Role.PLANNER)
    routes = [
        ("BJ", "SY"),
        ("SH", "JN"),
        ("GZ", "CD"),
        ("BJ", "XA"),
        ("SH", "WH"),
        ("GZ", "WH"),
        ("BJ", "SH"),
    ]
    made = 0
    for index, (source, target) in enumerate(routes):
        staff_source = auth.Actor(
            id=0, username=f"staff-{source.lower()}", role=auth.Role.DEPOT_STAFF, depot_code=source
        )
        staff_target = auth.Actor(
            id=0, username=f"staff-{target.lower()}", role=auth.Role.DEPOT_STAFF, depot_code=target
        )
        picks = rng.sample(
            [p for p in catalogue if p.family in ("optic", "power", "fan", "cable")], 3
        )
        lines = []
        for part in picks:
            row = uow.session.get(StockBalance, (source, part.part_number, "good"))
            if row and row.on_hand - row.reserved >= 2:
                lines.append(transfers.LineIn(part.part_number, rng.randint(1, 2)))
        if not lines:
            continue
        draft = transfers.create_transfer(
            uow, planner, source, target, lines, note="demo rebalancing"
        )
        made += 1
        short = index == len(routes) - 1
        if index % 3 == 0 and not short:
            continue  # stays a draft
        shipped = transfers.ship_transfer(uow, staff_source, draft.transfer.id)
        if short:
            receipts.receive_transfer(
                uow, staff_target, draft.transfer.id, _one_unit_short(shipped)
            )
        elif index % 3 == 2:
            receipts.receive_transfer(uow, staff_target, draft.transfer.id, as_shipped=True)
    return made


def _one_unit_short(shipped: transfers.TransferView) -> list[receipts.ReceivedLine]:
    """A receipt of everything shipped but one unit of the first line."""
    serials: dict[str, list[str]] = {}
    for row in shipped.serials:
        serials.setdefault(row.part_number, []).append(row.serial)
    received = []
    for index, line in enumerate(shipped.lines):
        if line.part_number in serials:
            arrived = serials[line.part_number][1:] if index == 0 else serials[line.part_number]
            received.append(receipts.ReceivedLine(line.part_number, serials=arrived))
        else:
            qty = line.qty - 1 if index == 0 else line.qty
            received.append(receipts.ReceivedLine(line.part_number, qty=qty))
    return received
