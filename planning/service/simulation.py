"""Simulate a year (or N days) of replacement demand against a set of targets.

The network is the one the availability model reads
(``planning.service.availability.service_network``); the targets are

* ``current``: today's effective targets (planners' overrides included);
* ``optimized``: what ``POST /targets/optimize`` proposes with its defaults (goal 0.95,
  24 hours), so the simulation checks that prediction;
* a CSV file of ``part_number,depot,target`` lines (a header line with those names;
  pairs not listed hold nothing).

Demand is sampled with a seed from the network's rates, or (``history=True``) the
real RMA history of the last ``days`` days is replayed: each case of the shipping
kinds at its approval time (its report time when not approved), its part and its
site's city, at its fault level. ``optimizer.simulation`` does the replay.

Resupply is the network's lead time, or (``repair_loop=True``) the repair loop read
from the defective units' receipts (``repair_loop``): each part's yield, no-fault-found
share and turnaround over ``window_days`` (the part's own when it has decided
receipts, else its family's, else ``DEFAULT_YIELD`` and the default lead time), the
rebalancing lane into the depot (``availability.transfer_days``) for the transfer
replacing a scrapped unit.
``repair_resupply_days`` is the mean lead time that loop gives, for the model.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select

from core import clock
from core.db import UnitOfWork, read_only
from core.errors import FieldProblem, Invalid
from core.i18n import gettext
from depots.lanes import SHANGHAI
from depots.service.snapshot import network as depot_network
from inventory.service.repair_yield import RepairYield, yields_for_parts
from inventory.service.targets import MAX_TARGET
from optimizer.availability import ServiceNetwork
from optimizer.simulation import DemandEvent, RepairLoop, SimulationResult, simulate
from planning.service import availability
from planning.service.demand import DEFAULT_LEAD_TIME_DAYS, DEFAULT_WINDOW_DAYS, DEMAND_KINDS
from rma.models import Rma, Site

OPTIMIZED, CURRENT = "optimized", "current"
MAX_DAYS = 3650
MAX_SEED = 2**32 - 1
FILE_COLUMNS = ("part_number", "depot", "target")
MAX_FILE_PROBLEMS = 20
# Assumed when neither a part nor its family has a decided receipt yet: one unit in
# ten scrapped, none found without fault, back after the default lead time.
DEFAULT_YIELD = 0.9


@dataclass(frozen=True)
class SimulationRun:
    """One run: which targets, how many days and the seed, and what it achieved."""

    targets: str
    days: int
    seed: int
    history: bool
    network: ServiceNetwork
    base_stock: NDArray[np.int64]
    result: SimulationResult


def check_days(days: int) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise Invalid(
            gettext("days must be a whole number from 1 to %(most)s", most=MAX_DAYS), field="days"
        )
    return days


def check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise Invalid(
            gettext("seed must be a whole number from 0 to %(most)s", most=MAX_SEED), field="seed"
        )
    return seed


def targets_from_csv(text: str, network: ServiceNetwork) -> NDArray[np.int64]:
    """(P, D) base stock from ``part_number,depot,target`` lines; ``Invalid`` listing
    each bad line (unknown part or depot, a target that is not a whole number from 0
    to 100,000, a pair given twice), nothing read then."""
    reader = csv.reader(io.StringIO(text))
    header = [cell.strip().lower() for cell in next(reader, [])]
    if header != list(FILE_COLUMNS):
        raise Invalid(
            gettext("the targets file must start with the line part_number,depot,target"),
            field="targets",
        )
    parts = {p: i for i, p in enumerate(network.parts)}
    depots = {d: i for i, d in enumerate(network.depots)}
    stock = np.zeros((len(network.parts), len(network.depots)), dtype=np.int64)
    seen: set[tuple[int, int]] = set()
    problems: list[FieldProblem] = []
    for line, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        message = _line_problem(row, parts, depots)
        if message is None:
            p, d = parts[row[0].strip().upper()], depots[row[1].strip().upper()]
            if (p, d) in seen:
                message = gettext("%(part)s at %(depot)s is given twice", part=row[0], depot=row[1])
            else:
                seen.add((p, d))
                stock[p, d] = int(row[2].strip())
        if message is not None:
            problems.append(FieldProblem(field="", message=message, line=line))
    if problems:
        first = problems[0]
        raise Invalid(
            gettext(
                "targets file line %(line)s: %(problem)s", line=first.line, problem=first.message
            ),
            fields=problems[:MAX_FILE_PROBLEMS],
        )
    return stock


def _line_problem(row: list[str], parts: dict[str, int], depots: dict[str, int]) -> str | None:
    if len(row) != len(FILE_COLUMNS):
        return gettext("expected part_number,depot,target")
    part, depot, target = (cell.strip() for cell in row)
    if part.upper() not in parts:
        return gettext("unknown part %(part)s", part=part or "-")
    if depot.upper() not in depots:
        return gettext("unknown depot %(depot)s", depot=depot or "-")
    if not target.isdigit() or int(target) > MAX_TARGET:
        return gettext("target must be a whole number from 0 to %(most)s", most=MAX_TARGET)
    return None


@read_only
def history_events(uow: UnitOfWork, network: ServiceNetwork, days: int) -> list[DemandEvent]:
    """The cases of the shipping kinds of the last ``days`` days as demand events, in
    hours from the first day's midnight (Asia/Shanghai); parts or cities outside the
    network are left out."""
    now = clock.now().astimezone(SHANGHAI)
    start = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days - 1)
    # The network's cities in its own order: the depot network's cities by id.
    city_ids = sorted(depot_network(uow).city_by_id)
    if len(city_ids) != len(network.cities):
        raise Invalid(gettext("the network changed while it was read; try again"))
    city_index = {city_id: c for c, city_id in enumerate(city_ids)}
    part_index = {p: i for i, p in enumerate(network.parts)}
    rows = uow.session.execute(
        select(Rma.part_number, Site.city_id, Rma.fault_level, Rma.approved_at, Rma.reported_at)
        .join(Site, Site.id == Rma.site_id)
        .where(Rma.reported_at >= start, Rma.kind.in_(list(DEMAND_KINDS)))
    )
    events = []
    for part, city_id, level, approved_at, reported_at in rows:
        if part not in part_index or city_id not in city_index:
            continue
        at = clock.as_utc(approved_at or reported_at)
        hours = (at - start).total_seconds() / 3600.0
        events.append(DemandEvent(hours, part_index[part], city_index[city_id], level))
    return sorted(events)


@read_only
def repair_loop(
    uow: UnitOfWork, network: ServiceNetwork, *, window_days: int = DEFAULT_WINDOW_DAYS
) -> RepairLoop:
    """The repair loop of the network's parts from the receipts of the last
    ``window_days`` days (see the module notes for the fall-backs)."""
    since = clock.now() - timedelta(days=window_days)
    found = yields_for_parts(uow, network.parts, since)
    parts = len(network.parts)
    shares = np.full((3, parts), np.nan)  # yield, no fault found, turnaround days
    for p, part in enumerate(network.parts):
        row: RepairYield | None = found.get(part)
        if row is not None:
            shares[0, p] = row.yield_share if row.yield_share is not None else np.nan
            shares[1, p] = row.no_fault_found_share or 0.0
            shares[2, p] = row.turnaround_days if row.turnaround_days is not None else np.nan
    yield_share = np.where(np.isnan(shares[0]), DEFAULT_YIELD, shares[0])
    return RepairLoop(
        yield_share=yield_share,
        no_fault_found_share=np.minimum(np.nan_to_num(shares[1]), yield_share),
        turnaround_days=np.where(np.isnan(shares[2]), DEFAULT_LEAD_TIME_DAYS, shares[2]),
        transfer_days=availability.transfer_days(uow, network),
    )


def repair_resupply_days(uow: UnitOfWork, network: ServiceNetwork) -> NDArray[np.float64]:
    """(P, D) the mean days from shipping a unit to its replacement on the shelf
    through the repair loop (``RepairLoop.mean_resupply_days``)."""
    return repair_loop(uow, network).mean_resupply_days(network)


def _base_stock(uow: UnitOfWork, targets: str, network: ServiceNetwork) -> NDArray[np.int64]:
    if targets == CURRENT:
        return availability.current_stock(uow, network)
    if targets == OPTIMIZED:
        return availability.optimize(uow).optimized.base_stock
    raise Invalid(gettext("targets must be optimized, current or a file"), field="targets")


@read_only
def run_simulation(
    uow: UnitOfWork,
    targets: str = CURRENT,
    *,
    days: int = 365,
    seed: int = 0,
    history: bool = False,
    targets_file: str | None = None,
    with_repair_loop: bool = False,
) -> SimulationRun:
    """Simulate ``days`` days against ``targets`` ("current", "optimized", or "file"
    with the CSV text in ``targets_file``), resupplied after the network's lead time
    or through the repair loop. ``Invalid`` for bad days, seed or file."""
    days, seed = check_days(days), check_seed(seed)
    network = availability.service_network(uow)
    if targets_file is not None:
        stock = targets_from_csv(targets_file, network)
    else:
        stock = _base_stock(uow, targets, network)
    events = history_events(uow, network, days) if history else None
    loop = repair_loop(uow, network) if with_repair_loop else None
    result = simulate(network, stock, days=days, seed=seed, events=events, repair=loop)
    return SimulationRun(
        targets="file" if targets_file is not None else targets,
        days=days,
        seed=seed,
        history=history,
        network=network,
        base_stock=stock,
        result=result,
    )


def as_rows(result: SimulationResult) -> list[dict[str, object]]:
    """The result as CSV rows: scope (overall, fault_level, city), key, cases, within,
    within_window (a share, empty without cases)."""
    rows: list[dict[str, object]] = [
        {
            "scope": "overall",
            "key": "",
            "cases": result.cases,
            "within": sum(t.within for t in result.by_city.values()),
            "within_window": _share(result.within_window),
        }
    ]
    for scope, tallies in (("fault_level", result.by_fault_level), ("city", result.by_city)):
        for key, tally in tallies.items():
            rows.append(
                {
                    "scope": scope,
                    "key": key,
                    "cases": tally.cases,
                    "within": tally.within,
                    "within_window": _share(tally.share),
                }
            )
    return rows


def _share(value: float | None) -> str:
    return "" if value is None or math.isnan(value) else f"{value:.6f}"
