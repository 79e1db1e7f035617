"""Which depot ships a replacement: gather the options and let the optimizer choose.

The candidates for an RMA are the eight depots. At each, the unit shipped is
the requested part when it has some available, otherwise the nearest part that
supersedes it. Transit comes from the stored lanes (depot -> the site's city)
and each depot's pickup window; the emergency courier is quoted for C-1 cases
only. ``optimizer.depot_choice`` ranks them (due time, target stock, cost,
arrival, code) and explains why each lost.

This module only decides (``decide``) and reads; the lifecycle applies the
decision through its allowed steps (holding the unit, recording the promise).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select

from core import clock
from core.db import UnitOfWork, read_only
from core.errors import Invalid
from core.i18n import gettext
from depots.models import City
from depots.service.network import CityInfo
from depots.service.snapshot import network
from inventory.models import StockBalance
from inventory.service.catalog import substitutes
from inventory.service.targets import targets_of_parts
from optimizer.depot_choice import Candidate, DepotDecision, choose_depot
from rma.models import Rma, Site
from rma.service.promises import transit_options


@dataclass(frozen=True)
class Options:
    """What the optimizer is given, plus which part each depot would ship and by which lane."""

    candidates: list[Candidate]
    part_at: dict[str, str]
    lane_at: dict[str, int]


# Built once: every allocation asks it.
_GOOD_STOCK = select(
    StockBalance.depot_code,
    StockBalance.part_number,
    StockBalance.on_hand,
    StockBalance.reserved,
).where(
    StockBalance.part_number.in_(bindparam("parts", expanding=True)),
    StockBalance.bucket == "good",
)


def gather_options(
    uow: UnitOfWork,
    part_number: str,
    city: City | CityInfo,
    fault_level: str,
    ready_at: datetime,
    *,
    exclude: Sequence[str] = (),
) -> Options:
    """Candidate depots for shipping ``part_number`` (or a successor) to ``city``."""
    chain = substitutes(uow, part_number)
    available: dict[tuple[str, str], int] = {
        (depot, part): on_hand - reserved
        for depot, part, on_hand, reserved in uow.session.execute(_GOOD_STOCK, {"parts": chain})
    }
    targets = targets_of_parts(uow, chain)
    net = network(uow)  # kept in memory while no process changes it
    lanes = net.lanes_to_city.get(city.id or 0, {})
    candidates, part_at, lane_at = [], {}, {}
    for depot in net.depots:
        if depot.code in exclude:
            continue
        part = next((p for p in chain if available.get((depot.code, p), 0) > 0), chain[0])
        lane = lanes.get(depot.code)
        standard = emergency = None
        if lane is not None:
            standard, emergency = transit_options(lane.terms, depot.window, ready_at, fault_level)
            lane_at[depot.code] = lane.id
        part_at[depot.code] = part
        candidates.append(
            Candidate(
                depot.code,
                max(0, available.get((depot.code, part), 0)),
                targets.get((depot.code, part), 0),
                standard,
                emergency,
            )
        )
    return Options(candidates, part_at, lane_at)


def site_city(uow: UnitOfWork, rma: Rma) -> CityInfo:
    """The city of the case's site (from the network kept in memory)."""
    site = uow.session.get(Site, rma.site_id)
    assert site is not None
    return network(uow).city_by_id[site.city_id]


def alternatives_json(decision: DepotDecision, part_at: dict[str, str]) -> str:
    """The alternatives as stored on the case (instants ISO 8601, money as text): the
    English reason and emergency note, and each as a code with its arguments
    (``optimizer.depot_choice``), for pages to say in the reader's language."""

    def instant(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return json.dumps(
        [
            {
                "depot": alt.depot,
                "part_number": part_at.get(alt.depot),
                "service": alt.service,
                "ships_at": instant(alt.ships_at),
                "arrival": instant(alt.arrives_at),
                "cost": str(alt.cost) if alt.cost is not None else None,
                "meets_due": alt.meets_due,
                "chosen": alt.chosen,
                "reason": alt.reason,
                "reason_code": alt.reason_code,
                "reason_args": dict(alt.reason_args),
                "emergency": {
                    "ships_at": instant(alt.emergency.ships_at),
                    "arrival": instant(alt.emergency.arrives_at),
                    "cost": str(alt.emergency.cost),
                    "booked": alt.service == "emergency",
                    "note": alt.emergency_note,
                    "note_code": alt.emergency_code,
                    "note_args": dict(alt.emergency_args),
                }
                if alt.emergency is not None
                else None,
            }
            for alt in decision.alternatives
        ]
    )


@dataclass(frozen=True)
class Allocation:
    """The depot choice for a case, with what it rests on; nothing is held yet."""

    decision: DepotDecision
    options: Options

    @property
    def part_number(self) -> str | None:
        depot = self.decision.depot
        return self.options.part_at[depot] if depot else None

    @property
    def lane_id(self) -> int | None:
        depot = self.decision.depot
        return self.options.lane_at.get(depot) if depot else None


def decide(
    uow: UnitOfWork, rma: Rma, ready_at: datetime, *, exclude: Sequence[str] = ()
) -> Allocation:
    """Which depot should ship ``rma``'s unit when it is ready at ``ready_at``,
    leaving out the depots in ``exclude``. Reads only; the lifecycle applies it."""
    if rma.due_replacement is None:
        raise Invalid(gettext("%(rma)s has no replacement due time", rma=rma.number))
    city = site_city(uow, rma)
    options = gather_options(uow, rma.part_number, city, rma.fault_level, ready_at, exclude=exclude)
    return Allocation(choose_depot(options.candidates, rma.due_replacement), options)


@read_only
def preview(
    uow: UnitOfWork, part_number: str, city_name: str, fault_level: str, at: datetime | None = None
) -> tuple[DepotDecision, Options]:
    """The depot choice for a hypothetical request, reserving nothing."""
    from rma.service.customers import require_city

    city = require_city(uow, city_name)
    ready_at = clock.as_utc(at) if at else clock.now()
    options = gather_options(uow, part_number, city, fault_level, ready_at)
    return choose_depot(options.candidates, ready_at + timedelta(hours=24)), options
