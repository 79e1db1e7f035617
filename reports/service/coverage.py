"""24-hour coverage: can a depot holding available stock deliver to each city with
installed base within 24 hours of an approval, by the lanes, at the normal cut-off?

The transit rule is the system's one rule, called, never rewritten here: for each
depot and city the lane of the network kept in memory (``depots.service.snapshot``)
is quoted by ``rma.service.promises.transit_options`` (the carrier's pick-up window,
the cut-off, the lane's hours; the emergency courier's quote for C-1) for a unit
ready at the approval instant, and the option a depot offers is the one of the
service rule (``optimizer.depot_choice.offered_options``). The due time is the
approval plus ``rma.kinds.REPLACEMENT_HOURS`` (24 h); arriving at the due instant
itself is in time.

A (city, part) pair is *covered* when some depot that holds available stock of
the part (good units less reserved ones; or of a part that supersedes it, which
the depot choice ships in its place) offers an arrival by the due time. Shares
are weighted by installed units: a city with 40 switches installed counts 40
times. Everything is computed per (city, part) pair and per (depot, city) lane
with numpy, never per installed unit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import numpy as np
import pandas as pd

from core import clock
from core.db import UnitOfWork, read_only
from depots.service.snapshot import Network, network
from inventory.service.catalog import get_part_rows, supersession_chain
from inventory.service.queries import stock_positions
from optimizer.depot_choice import Candidate, offered_options
from rma.kinds import REPLACEMENT_HOURS
from rma.service.promises import transit_options
from rma.service.queries import installed_by_part_and_city

DUE_SECONDS = REPLACEMENT_HOURS * 3600
EMERGENCY_LEVEL = "C-1"  # the one fault level that may book the emergency courier
STANDARD_LEVEL = "C-3"  # any level without it: standard service only
HOURS = tuple(range(24))
NO_LANE = np.iinfo(np.int64).max  # "never arrives": no lane from the depot to the city

# Why a gap is not covered (codes; pages and files say them in words).
NO_STOCK = "no_stock"
TOO_FAR = "too_far"


@dataclass(frozen=True)
class Reach:
    """How long after an approval at ``at`` each depot's offer arrives in each city.

    ``seconds[c, d]`` is seconds from ``at`` to the arrival at city ``city_ids[c]``
    from depot ``depots[d]`` (``NO_LANE`` without a lane)."""

    at: datetime
    emergency: bool
    depots: tuple[str, ...]
    city_ids: np.ndarray
    seconds: np.ndarray

    def rows_of(self, city_ids: Iterable[int]) -> np.ndarray:
        """Rows of ``seconds`` for ``city_ids`` (each must be a city of the network)."""
        position = {int(city): index for index, city in enumerate(self.city_ids)}
        return self.seconds[[position[int(city)] for city in city_ids]]


def reach(net: Network, at: datetime, *, emergency: bool = False) -> Reach:
    """Arrival after ``at`` of a unit ready at ``at`` at every depot, to every city,
    by standard service, or (``emergency``) by the option the service rule offers a
    C-1 case (the emergency courier where it arrives sooner than standard)."""
    at = clock.as_utc(at)
    due = at + timedelta(hours=REPLACEMENT_HOURS)
    level = EMERGENCY_LEVEL if emergency else STANDARD_LEVEL
    depots = tuple(depot.code for depot in net.depots)
    city_ids = np.array(sorted(net.city_by_id), dtype=np.int64)
    seconds = np.full((len(city_ids), len(depots)), NO_LANE, dtype=np.int64)
    for row, city in enumerate(city_ids):
        lanes = net.lanes_to_city.get(int(city), {})
        for column, depot in enumerate(net.depots):
            lane = lanes.get(depot.code)
            if lane is None:
                continue
            standard, courier = transit_options(lane.terms, depot.window, at, level)
            offer = offered_options([Candidate(depot.code, 1, 0, standard, courier)], due)
            arrives = offer[depot.code].option.arrives_at
            seconds[row, column] = int((arrives - at).total_seconds())
    return Reach(at, emergency, depots, city_ids, seconds)


@dataclass(frozen=True)
class Base:
    """What coverage is judged on: the installed base per (city, part) and the
    available units each depot could ship for each installed part."""

    pairs: pd.DataFrame  # city_id, part_number, family, installed_units
    supply: pd.DataFrame  # index part_number, columns depot codes: available units
    depots: tuple[str, ...]


def installed_pairs(uow: UnitOfWork, *, family: str | None = None) -> pd.DataFrame:
    """Active installed units per (city, part): city_id, part_number, family,
    installed_units; optionally one part family only."""
    frame = pd.DataFrame(
        [(row.city_id, row.part_number, row.count) for row in installed_by_part_and_city(uow)],
        columns=["city_id", "part_number", "installed_units"],
    )
    parts = get_part_rows(uow, frame["part_number"].unique().tolist())
    frame["family"] = frame["part_number"].map({number: p.family for number, p in parts.items()})
    if family is not None:
        frame = frame[frame["family"] == family]
    return frame[["city_id", "part_number", "family", "installed_units"]].reset_index(drop=True)


def available_stock(uow: UnitOfWork) -> dict[tuple[str, str], int]:
    """{(part number, depot code): available good units (on hand less reserved)} > 0."""
    return {
        (row.part_number, row.depot): row.good - row.reserved
        for row in stock_positions(uow)
        if row.good - row.reserved > 0
    }


def substitute_chains(uow: UnitOfWork, part_numbers: Iterable[str]) -> dict[str, list[str]]:
    """{part: the part and every part superseding it, nearest first} (the parts the
    depot choice may ship for it), reading the catalogue a few rows at a time."""
    successors: dict[str, str] = {}
    wanted, seen = set(part_numbers), set()
    while wanted - seen:
        batch = wanted - seen
        seen |= batch
        for number, part in get_part_rows(uow, batch).items():
            if part.superseded_by:
                successors[number] = part.superseded_by
                wanted.add(part.superseded_by)
    return {part: supersession_chain(successors, part) for part in part_numbers}


def supply_of(
    uow: UnitOfWork,
    parts: Iterable[str],
    depots: tuple[str, ...],
    available: Mapping[tuple[str, str], int],
    *,
    only_depot: str | None = None,
) -> pd.DataFrame:
    """Available units each depot could ship for each of ``parts`` (the part or a
    part superseding it): a frame indexed by part, one column per depot. With
    ``only_depot``, every other depot's column is zero (supply from that depot only)."""
    parts = list(dict.fromkeys(parts))
    chains = substitute_chains(uow, parts)
    links = pd.DataFrame(
        [(part, shipped) for part, chain in chains.items() for shipped in chain],
        columns=["part_number", "shipped"],
    )
    stock = pd.DataFrame(
        [(part, depot, units) for (part, depot), units in available.items() if units > 0],
        columns=["shipped", "depot", "units"],
    )
    merged = links.merge(stock, on="shipped")
    supply = (
        merged.pivot_table(
            index="part_number", columns="depot", values="units", aggfunc="sum", fill_value=0
        )
        .reindex(index=parts, columns=list(depots), fill_value=0)
        .fillna(0)
        .astype(np.int64)
    )
    if only_depot is not None:
        supply.loc[:, [depot for depot in depots if depot != only_depot]] = 0
    return supply


def judge(pairs: pd.DataFrame, supply: pd.DataFrame, lanes: Reach) -> pd.DataFrame:
    """Each pair with its best depot holding stock: ``best_depot`` (None without
    stock anywhere), ``best_seconds`` (seconds from approval to that depot's
    arrival; NO_LANE when none arrives) and ``covered`` (arrival by the due time)."""
    judged = pairs.copy()
    if judged.empty:
        judged["best_depot"] = pd.Series(dtype=object)
        judged["best_seconds"] = pd.Series(dtype=np.int64)
        judged["covered"] = pd.Series(dtype=bool)
        return judged
    holds = supply.loc[judged["part_number"], list(lanes.depots)].to_numpy() > 0
    seconds = np.where(holds, lanes.rows_of(judged["city_id"]), NO_LANE)
    best = seconds.argmin(axis=1)
    best_seconds = seconds[np.arange(len(best)), best]
    judged["best_depot"] = np.where(
        holds.any(axis=1), np.array(lanes.depots, dtype=object)[best], None
    )
    judged["best_seconds"] = best_seconds
    judged["covered"] = best_seconds <= DUE_SECONDS
    return judged


def share_of(judged: pd.DataFrame) -> float | None:
    """Installed-unit-weighted covered share (0-100), None without installed units."""
    total = int(judged["installed_units"].sum()) if not judged.empty else 0
    if total == 0:
        return None
    return 100.0 * int(judged.loc[judged["covered"], "installed_units"].sum()) / total


def approval_at_hour(now: datetime, hour: int) -> datetime:
    """Today (Asia/Shanghai, the day of ``now``) at ``hour``:00, as aware UTC."""
    today = clock.local(now).date()
    return datetime.combine(today, time(hour), tzinfo=clock.SHANGHAI).astimezone(UTC)


@read_only
def covered_share(
    uow: UnitOfWork,
    *,
    available: Mapping[tuple[str, str], int] | None = None,
    at: datetime | None = None,
) -> float | None:
    """Installed-unit-weighted share (0-100) of (city, part) pairs with installed base
    that a depot holding available stock reaches within 24 hours, approving at ``at``
    (default now), normal cut-off, no emergency courier. ``available`` maps
    (part_number, depot_code) -> available good units and replaces today's stock (a
    plan's "after"). None when there is no installed base."""
    pairs = installed_pairs(uow)
    if pairs.empty:
        return None
    net = network(uow)
    lanes = reach(net, at or clock.now())
    stock = available_stock(uow) if available is None else available
    supply = supply_of(uow, pairs["part_number"], lanes.depots, stock)
    return share_of(judge(pairs, supply, lanes))
