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
from typing import Any

import numpy as np
import pandas as pd

from core import clock
from core.db import UnitOfWork, read_only
from depots.service.snapshot import Network, network
from inventory.models import Part
from inventory.service.catalog import get_part_rows, supersession_chain
from inventory.service.queries import stock_positions
from inventory.service.targets import effective_targets
from optimizer.depot_choice import Candidate, offered_options
from rma.kinds import REPLACEMENT_HOURS
from rma.service.promises import transit_options
from rma.service.queries import installed_by_part_and_city

DUE_SECONDS = REPLACEMENT_HOURS * 3600
EMERGENCY_LEVEL = "C-1"  # the one fault level that may book the emergency courier
HOURS = tuple(range(24))
PARTS_PER_QUERY = 5000
NO_LANE = np.iinfo(np.int64).max  # "never arrives": no lane from the depot to the city


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
        """Rows of ``seconds`` for ``city_ids`` (each must be one of ``self.city_ids``,
        which are sorted)."""
        arrays = (np.ndarray, pd.Series, pd.Index)
        wanted = city_ids if isinstance(city_ids, arrays) else list(city_ids)
        return self.seconds[np.searchsorted(self.city_ids, np.asarray(wanted, dtype=np.int64))]


def reaches(
    net: Network, at: datetime, *, cities: Iterable[int] | None = None
) -> tuple[Reach, Reach]:
    """Arrival after ``at`` of a unit ready at ``at`` at every depot, to each city
    (every city of the network, or ``cities``): by standard service, and by the
    option the service rule offers a C-1 case (the emergency courier where it
    arrives sooner than standard). One quote per lane gives both."""
    at = clock.as_utc(at)
    due = at + timedelta(hours=REPLACEMENT_HOURS)
    depots = tuple(depot.code for depot in net.depots)
    wanted = net.city_by_id if cities is None else {int(city) for city in cities}
    city_ids = np.array(sorted(wanted), dtype=np.int64)
    standard_seconds = np.full((len(city_ids), len(depots)), NO_LANE, dtype=np.int64)
    emergency_seconds = standard_seconds.copy()
    for row, city in enumerate(city_ids):
        lanes = net.lanes_to_city.get(int(city), {})
        for column, depot in enumerate(net.depots):
            lane = lanes.get(depot.code)
            if lane is None:
                continue
            standard, courier = transit_options(lane.terms, depot.window, at, EMERGENCY_LEVEL)
            offer = offered_options([Candidate(depot.code, 1, 0, standard, courier)], due)
            standard_seconds[row, column] = int((standard.arrives_at - at).total_seconds())
            arrives = offer[depot.code].option.arrives_at
            emergency_seconds[row, column] = int((arrives - at).total_seconds())
    return (
        Reach(at, False, depots, city_ids, standard_seconds),
        Reach(at, True, depots, city_ids, emergency_seconds),
    )


def reach(
    net: Network,
    at: datetime,
    *,
    emergency: bool = False,
    cities: Iterable[int] | None = None,
) -> Reach:
    """``reaches``' standard reach, or (``emergency``) its C-1 reach."""
    standard, courier = reaches(net, at, cities=cities)
    return courier if emergency else standard


def part_rows(uow: UnitOfWork, numbers: Iterable[str]) -> dict[str, Part]:
    """The catalogue rows of ``numbers``, read a few thousand at a time (a query's
    bound parameters are limited)."""
    ordered = sorted(set(numbers))
    found: dict[str, Part] = {}
    for start in range(0, len(ordered), PARTS_PER_QUERY):
        found.update(get_part_rows(uow, ordered[start : start + PARTS_PER_QUERY]))
    return found


def installed_pairs(uow: UnitOfWork, *, family: str | None = None) -> pd.DataFrame:
    """Active installed units per (city, part): city_id, part_number, family,
    installed_units; optionally one part family only."""
    frame = pd.DataFrame(
        [(row.city_id, row.part_number, row.count) for row in installed_by_part_and_city(uow)],
        columns=["city_id", "part_number", "installed_units"],
    )
    parts = part_rows(uow, frame["part_number"].unique().tolist())
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
        for number, part in part_rows(uow, batch).items():
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


def holdings(pairs: pd.DataFrame, supply: pd.DataFrame, depots: tuple[str, ...]) -> np.ndarray:
    """Whether each depot (columns, in ``depots`` order) holds available stock for each
    pair's part (rows, in ``pairs`` order). Read once, judged at many instants."""
    if pairs.empty:
        return np.zeros((0, len(depots)), dtype=bool)
    return supply.loc[pairs["part_number"], list(depots)].to_numpy() > 0


def judge(
    pairs: pd.DataFrame,
    supply: pd.DataFrame,
    lanes: Reach,
    *,
    holds: np.ndarray | None = None,
) -> pd.DataFrame:
    """Each pair with its best depot holding stock: ``best_depot`` (None without
    stock anywhere), ``best_seconds`` (seconds from approval to that depot's
    arrival; NO_LANE when none arrives) and ``covered`` (arrival by the due time).
    ``holds``: ``holdings(pairs, supply, lanes.depots)`` when already read."""
    judged = pairs.copy()
    if judged.empty:
        judged["best_depot"] = pd.Series(dtype=object)
        judged["best_seconds"] = pd.Series(dtype=np.int64)
        judged["covered"] = pd.Series(dtype=bool)
        return judged
    if holds is None:
        holds = holdings(judged, supply, lanes.depots)
    seconds = np.where(holds, lanes.rows_of(judged["city_id"]), NO_LANE)
    best = seconds.argmin(axis=1)
    best_seconds = seconds[np.arange(len(best)), best]
    judged["best_depot"] = np.where(
        holds.any(axis=1), np.array(lanes.depots, dtype=object)[best], None
    )
    judged["best_seconds"] = best_seconds
    judged["covered"] = best_seconds <= DUE_SECONDS
    return judged


@dataclass(frozen=True)
class Weights:
    """Installed units summed per (city, set of depots holding stock): judging an
    instant then takes one row per combination, a few thousand at most, however many
    parts there are."""

    city_ids: np.ndarray
    holds: np.ndarray  # combinations x depots
    units: np.ndarray
    total: int


def weights(pairs: pd.DataFrame, holds: np.ndarray) -> Weights:
    """``pairs`` with their ``holdings`` grouped for ``covered_by``."""
    depots = holds.shape[1]
    pattern = holds.astype(np.int64) @ (np.int64(1) << np.arange(depots, dtype=np.int64))
    grouped = (
        pd.DataFrame(
            {
                "city_id": pairs["city_id"].to_numpy(dtype=np.int64),
                "pattern": pattern,
                "units": pairs["installed_units"].to_numpy(dtype=np.int64),
            }
        )
        .groupby(["city_id", "pattern"], sort=False)["units"]
        .sum()
        .reset_index()
    )
    bits = grouped["pattern"].to_numpy()[:, None] >> np.arange(depots, dtype=np.int64)
    return Weights(
        grouped["city_id"].to_numpy(),
        (bits & 1).astype(bool),
        grouped["units"].to_numpy(),
        int(grouped["units"].sum()),
    )


def covered_by(weighted: Weights, lanes: Reach) -> float | None:
    """The installed-unit-weighted covered share (0-100) at ``lanes``' instant, as
    ``share_of(judge(...))`` says it, from ``weights``; None without installed units."""
    if weighted.total == 0:
        return None
    seconds = np.where(weighted.holds, lanes.rows_of(weighted.city_ids), NO_LANE).min(axis=1)
    return 100.0 * int(weighted.units[seconds <= DUE_SECONDS].sum()) / weighted.total


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
    lanes = reach(network(uow), at or clock.now(), cities=pairs["city_id"].unique())
    stock = available_stock(uow) if available is None else available
    supply = supply_of(uow, pairs["part_number"], lanes.depots, stock)
    return share_of(judge(pairs, supply, lanes))


# --- the report's tables ---------------------------------------------------------------------

# Why a gap is not covered, and whether a transfer can close it.
OUT_OF_REACH = "out_of_reach"  # no depot's lane arrives in time: no transfer closes it
NO_STOCK_ANYWHERE = "no_stock"  # the depots in reach hold none, and no depot holds any
STOCK_TOO_FAR = "stock_too_far"  # stock is held, but only by depots too far away
# How a transfer closes a gap.
SENT_ABOVE_TARGET = "above_target"  # from a depot holding more than its target
SENT_BELOW_TARGET = "below_target"  # no depot holds more than its target: any available
SAME_TRANSFER = "same_transfer"  # a unit sent for another city already reaches this one


@dataclass(frozen=True)
class CoverageTables:
    """The coverage report's data: tables (column keys as in the files), the shares
    behind the headline and the approval instants they were judged at."""

    now: datetime
    emergency_now: bool
    installed_units: int
    covered_pct: float | None
    covered_emergency_pct: float | None
    by_family: pd.DataFrame
    by_city: pd.DataFrame
    by_hour: pd.DataFrame
    gaps: pd.DataFrame
    closing_transfers: pd.DataFrame
    depots: pd.DataFrame  # depot, city, city_zh, lat, lon: for the map


def _hours(seconds: np.ndarray | pd.Series) -> np.ndarray:
    """Seconds to hours with two decimals; NaN for "never" (no lane, no stock)."""
    values = np.asarray(seconds, dtype=np.float64)
    return np.where(values >= NO_LANE, np.nan, np.round(values / 3600.0, 2))


def _pct(covered: pd.Series, total: pd.Series) -> pd.Series:
    return (100.0 * covered / total.where(total > 0)).astype(float)


def _fastest(lanes: Reach, city_ids: pd.Series, only_depot: str | None) -> tuple[Any, Any]:
    """The depot whose lane arrives soonest at each city (any stock), and in seconds."""
    seconds = lanes.rows_of(city_ids)
    if only_depot is not None:
        keep = np.array([depot == only_depot for depot in lanes.depots])
        seconds = np.where(keep, seconds, NO_LANE)
    best = seconds.argmin(axis=1) if len(seconds) else np.array([], dtype=np.int64)
    best_seconds = seconds[np.arange(len(best)), best]
    names = np.where(best_seconds < NO_LANE, np.array(lanes.depots, dtype=object)[best], None)
    return names, best_seconds


def _by_family(judged: pd.DataFrame) -> pd.DataFrame:
    judged = judged.assign(covered_units=judged["installed_units"].where(judged["covered"], 0))
    frame = (
        judged.groupby("family", sort=True)
        .agg(
            installed_units=("installed_units", "sum"),
            covered_units=("covered_units", "sum"),
            pairs=("covered", "size"),
            gaps=("covered", lambda covered: int((~covered).sum())),
        )
        .reset_index()
    )
    frame["covered_pct"] = _pct(frame["covered_units"], frame["installed_units"]).round(1)
    return frame[["family", "installed_units", "covered_units", "covered_pct", "pairs", "gaps"]]


def _by_city(
    judged: pd.DataFrame, emergency: pd.DataFrame, net: Network, lanes: Reach, depot: str | None
) -> pd.DataFrame:
    judged = judged.assign(
        covered_units=judged["installed_units"].where(judged["covered"], 0),
        covered_emergency_units=judged["installed_units"].where(emergency["covered"], 0),
    )
    frame = (
        judged.groupby("city_id", sort=False)
        .agg(
            installed_units=("installed_units", "sum"),
            covered_units=("covered_units", "sum"),
            covered_emergency_units=("covered_emergency_units", "sum"),
            gaps=("covered", lambda covered: int((~covered).sum())),
        )
        .reset_index()
    )
    cities = [net.city_by_id[int(city)] for city in frame["city_id"]]
    frame["city"] = [city.name for city in cities]
    frame["city_zh"] = [city.name_zh for city in cities]
    frame["province"] = [city.province for city in cities]
    frame["lat"] = [city.lat for city in cities]
    frame["lon"] = [city.lon for city in cities]
    frame["covered_pct"] = _pct(frame["covered_units"], frame["installed_units"]).round(1)
    frame["covered_emergency_pct"] = _pct(
        frame["covered_emergency_units"], frame["installed_units"]
    ).round(1)
    fastest, seconds = _fastest(lanes, frame["city_id"], depot)
    frame["fastest_depot"] = fastest
    frame["fastest_hours"] = _hours(seconds)
    frame = frame.sort_values(["covered_pct", "city"], kind="stable").reset_index(drop=True)
    return frame[
        [
            "city",
            "city_zh",
            "province",
            "lat",
            "lon",
            "installed_units",
            "covered_units",
            "covered_pct",
            "covered_emergency_pct",
            "gaps",
            "fastest_depot",
            "fastest_hours",
        ]
    ]


def _out_of_reach(lanes: Reach, cities: pd.Series, net: Network, depot: str | None) -> list[str]:
    """Cities of ``cities`` that no (supplying) depot's lane reaches by the due time."""
    _, seconds = _fastest(lanes, cities, depot)
    names = [net.city_by_id[int(city)].name for city in cities[seconds > DUE_SECONDS]]
    return sorted(names)


def _by_hour(
    pairs: pd.DataFrame,
    supply: pd.DataFrame,
    net: Network,
    now: datetime,
    depot: str | None,
) -> pd.DataFrame:
    cities = pd.Series(pairs["city_id"].unique())
    weighted = weights(pairs, holdings(pairs, supply, tuple(d.code for d in net.depots)))
    rows = []
    for hour in HOURS:
        at = approval_at_hour(now, hour)
        standard, emergency = reaches(net, at, cities=cities)
        far = _out_of_reach(standard, cities, net, depot)
        far_emergency = _out_of_reach(emergency, cities, net, depot)
        rows.append(
            {
                "hour": hour,
                "approved_at": at,
                "covered_pct": covered_by(weighted, standard),
                "covered_emergency_pct": covered_by(weighted, emergency),
                "cities_out_of_reach": len(far),
                "out_of_reach": ", ".join(far),
                "out_of_reach_emergency": ", ".join(far_emergency),
            }
        )
    frame = pd.DataFrame(rows)
    for column in ("covered_pct", "covered_emergency_pct"):
        frame[column] = frame[column].astype(float).round(1)
    return frame


def _gaps(judged: pd.DataFrame, lanes: Reach, net: Network, depot: str | None) -> pd.DataFrame:
    gaps = judged[~judged["covered"]].copy()
    fastest, seconds = _fastest(lanes, gaps["city_id"], depot)
    gaps["fastest_depot"] = fastest
    gaps["fastest_hours"] = _hours(seconds)
    gaps["best_hours"] = _hours(gaps["best_seconds"])
    gaps["reason"] = np.select(
        [seconds > DUE_SECONDS, gaps["best_depot"].isna()],
        [OUT_OF_REACH, NO_STOCK_ANYWHERE],
        STOCK_TOO_FAR,
    )
    gaps["city"] = [net.city_by_id[int(city)].name for city in gaps["city_id"]]
    gaps["city_zh"] = [net.city_by_id[int(city)].name_zh for city in gaps["city_id"]]
    gaps = gaps.sort_values(
        ["installed_units", "city", "part_number"], ascending=[False, True, True], kind="stable"
    ).reset_index(drop=True)
    return gaps[
        [
            "city",
            "city_zh",
            "part_number",
            "family",
            "installed_units",
            "best_depot",
            "best_hours",
            "fastest_depot",
            "fastest_hours",
            "reason",
            "city_id",
        ]
    ]


def _closing_transfers(
    gaps: pd.DataFrame,
    lanes: Reach,
    chains: Mapping[str, list[str]],
    available: Mapping[tuple[str, str], int],
    targets: Mapping[tuple[str, str], int],
    depot: str | None,
) -> pd.DataFrame:
    """For each gap (largest installed base first) one unit sent from a depot with
    stock to spare (above target, else any available) to the depot that reaches the
    city soonest; a unit already sent to a depot in reach closes the gap too."""
    spare = {key: units - targets.get((key[1], key[0]), 0) for key, units in available.items()}
    left = dict(available)
    sent: dict[str, set[str]] = {}  # part asked for -> depots receiving a unit of it
    rows = []
    for gap in gaps.itertuples(index=False):
        seconds = lanes.rows_of([gap.city_id])[0]
        in_reach = [
            (int(seconds[index]), code)
            for index, code in enumerate(lanes.depots)
            if seconds[index] <= DUE_SECONDS and (depot is None or code == depot)
        ]
        row: dict[str, Any] = {
            "city": gap.city,
            "city_zh": gap.city_zh,
            "part_number": gap.part_number,
            "installed_units": gap.installed_units,
            "from_depot": None,
            "to_depot": None,
            "moved_part": None,
            "units": 0,
            "to_city_hours": np.nan,
            "from_available": None,
            "from_target": None,
            "closes": False,
            "how": "",
        }
        if not in_reach:
            row["how"] = OUT_OF_REACH
            rows.append(row)
            continue
        receivers = sorted(in_reach)
        already = [code for _, code in receivers if code in sent.get(gap.part_number, set())]
        if already:
            receiver = already[0]
            row.update(
                to_depot=receiver,
                to_city_hours=_hours(np.array([seconds[lanes.depots.index(receiver)]]))[0],
                closes=True,
                how=SAME_TRANSFER,
            )
            rows.append(row)
            continue
        receiver_codes = {code for _, code in receivers}
        donors = [
            (spare.get((part, code), 0), left.get((part, code), 0), part, code)
            for part in chains.get(gap.part_number, [gap.part_number])
            for code in lanes.depots
            if code not in receiver_codes and left.get((part, code), 0) > 0
        ]
        if not donors:
            row["how"] = NO_STOCK_ANYWHERE
            rows.append(row)
            continue
        # Most stock above target first, then most available, then depot code.
        best_spare, best_left, part, donor = min(donors, key=lambda d: (-d[0], -d[1], d[3], d[2]))
        receiver = receivers[0][1]
        row.update(
            from_depot=donor,
            to_depot=receiver,
            moved_part=part,
            units=1,
            to_city_hours=_hours(np.array([receivers[0][0]]))[0],
            from_available=best_left,
            from_target=targets.get((donor, part), 0),
            closes=True,
            how=SENT_ABOVE_TARGET if best_spare > 0 else SENT_BELOW_TARGET,
        )
        left[(part, donor)] = best_left - 1
        spare[(part, donor)] = best_spare - 1
        sent.setdefault(gap.part_number, set()).add(receiver)
        rows.append(row)
    columns = [
        "city",
        "city_zh",
        "part_number",
        "installed_units",
        "from_depot",
        "to_depot",
        "moved_part",
        "units",
        "to_city_hours",
        "from_available",
        "from_target",
        "closes",
        "how",
    ]
    frame = pd.DataFrame(rows, columns=columns)
    for column in ("from_available", "from_target"):
        frame[column] = frame[column].astype("Int64")
    frame["to_city_hours"] = frame["to_city_hours"].astype(float)
    frame["units"] = frame["units"].astype(np.int64)
    frame["closes"] = frame["closes"].astype(bool)
    return frame


@read_only
def coverage_tables(
    uow: UnitOfWork,
    *,
    now: datetime,
    depot: str | None = None,
    family: str | None = None,
    emergency_now: bool = False,
) -> CoverageTables:
    """The coverage report's data at ``now`` (the generation time) with today's
    stock: supply from every depot, or only from ``depot``; every part family or
    only ``family``; gaps and transfers judged by standard service, or with the
    emergency courier (``emergency_now``, a C-1 case's view)."""
    net = network(uow)
    pairs = installed_pairs(uow, family=family)
    depots = pd.DataFrame(
        [(d.code, d.city, d.city_zh, d.lat, d.lon) for d in net.depots],
        columns=["depot", "city", "city_zh", "lat", "lon"],
    )
    stock = available_stock(uow)
    cities = pd.Series(pairs["city_id"].unique(), dtype=np.int64)
    lanes, courier = reaches(net, now, cities=cities)
    supply = supply_of(uow, pairs["part_number"], lanes.depots, stock, only_depot=depot)
    holds = holdings(pairs, supply, lanes.depots)
    standard_judged = judge(pairs, supply, lanes, holds=holds)
    emergency_judged = judge(pairs, supply, courier, holds=holds)
    judged = emergency_judged if emergency_now else standard_judged
    used = courier if emergency_now else lanes
    gaps = _gaps(judged, used, net, depot)
    chains = substitute_chains(uow, gaps["part_number"].unique())
    transfers = _closing_transfers(gaps, used, chains, stock, effective_targets(uow), depot)
    return CoverageTables(
        now=clock.as_utc(now),
        emergency_now=emergency_now,
        installed_units=int(pairs["installed_units"].sum()),
        covered_pct=share_of(judged),
        covered_emergency_pct=share_of(emergency_judged),
        by_family=_by_family(judged),
        by_city=_by_city(judged, emergency_judged, net, used, depot),
        by_hour=_by_hour(pairs, supply, net, now, depot),
        gaps=gaps.drop(columns=["city_id"]),
        closing_transfers=transfers,
        depots=depots,
    )
