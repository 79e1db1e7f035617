"""Deterministic rebalancing instances: N parts x 8 depots, written as the offline CSVs.

``python -m bench.generate --parts 10000 --out DIR [--seed 2026]`` writes
``DIR/stock.csv``, ``DIR/targets.csv`` and ``DIR/lanes.csv`` in the formats
``optimizer.offline`` reads. The same (parts, seed) always gives the same files.

How the data is shaped (skewed on purpose, like a real spares network):

* Demand per part is lognormal (median ~0.02 units/day over the whole network,
  a long tail of fast movers), split across the eight regions by a Dirichlet
  draw around regional weights (BJ, SH and GZ busiest). Each part is stocked
  only at its busiest 2 to 8 depots.
* Targets come from ``optimizer.targets.base_stock_targets`` (14-day
  replenishment, 95 % fill rate); depots with target 0 have no targets.csv row.
* Stock: about 40 % of parts sit close to target (+-1 unit noise); the others
  hold 50-150 % of their total target but concentrated at one or two depots
  (a repair hub or an overstocked region), which is what rebalancing fixes.
  Depots with no stock have no stock.csv row.
* Lanes: all 56 depot pairs with the default lane rule of DOMAIN.md applied to
  the great-circle distance between the depot cities (``depots.lanes``); the
  unit cost is the per-shipment lane cost.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from depots.lanes import default_terms, great_circle_km
from optimizer.targets import base_stock_targets

DEPOTS = (
    ("BJ", 39.904, 116.407),
    ("SH", 31.230, 121.474),
    ("GZ", 23.129, 113.264),
    ("CD", 30.573, 104.066),
    ("WH", 30.593, 114.305),
    ("XA", 34.342, 108.940),
    ("SY", 41.805, 123.431),
    ("JN", 36.651, 117.120),
)
CODES = tuple(code for code, _, _ in DEPOTS)
REGION_WEIGHT = np.array([0.20, 0.20, 0.16, 0.10, 0.10, 0.08, 0.08, 0.08])
LEAD_TIME_DAYS = 14.0
DEFAULT_SEED = 2026


def lane_table() -> list[tuple[str, str, str, str]]:
    """(from, to, hours, unit_cost) for every ordered pair of distinct depots, as text."""
    rows = []
    for code_a, lat_a, lon_a in DEPOTS:
        for code_b, lat_b, lon_b in DEPOTS:
            if code_a == code_b:
                continue
            terms = default_terms(great_circle_km(lat_a, lon_a, lat_b, lon_b))
            rows.append((code_a, code_b, str(terms.hours), str(terms.cost)))
    return rows


def lane_matrix() -> NDArray[np.float64]:
    """8 x 8 unit costs in CNY (NaN on the diagonal), in ``CODES`` order."""
    index = {code: i for i, code in enumerate(CODES)}
    matrix = np.full((len(CODES), len(CODES)), np.nan)
    for src, dst, _hours, cost in lane_table():
        matrix[index[src], index[dst]] = float(cost)
    return matrix


def instance(n_parts: int, seed: int = DEFAULT_SEED) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(available, target), each n_parts x 8 int64, for the data shape described above."""
    rng = np.random.default_rng(seed)
    n_dep = len(CODES)
    rate = rng.lognormal(mean=np.log(0.02), sigma=1.3, size=n_parts)
    share = rng.dirichlet(REGION_WEIGHT * 12, size=n_parts)
    stocked = rng.integers(2, n_dep + 1, size=n_parts)
    rank = np.argsort(np.argsort(-share, axis=1), axis=1)
    share = np.where(rank < stocked[:, None], share, 0.0)
    target = base_stock_targets(rate[:, None] * share, LEAD_TIME_DAYS)

    near = rng.random(n_parts) < 0.4
    noise = rng.integers(-1, 2, size=(n_parts, n_dep))
    balanced = np.maximum(0, target + noise * (target > 0))
    total = np.rint(target.sum(axis=1) * rng.uniform(0.5, 1.5, size=n_parts)).astype(np.int64)
    hub_weight = rng.dirichlet(np.full(n_dep, 0.3), size=n_parts)
    skewed = _multinomial_rows(rng, total, hub_weight)
    available = np.where(near[:, None], balanced, skewed)
    return available.astype(np.int64), target.astype(np.int64)


def part_numbers(n_parts: int) -> list[str]:
    """Stable, realistic-looking part numbers: ``SP-0000001`` ..."""
    return [f"SP-{i:07d}" for i in range(1, n_parts + 1)]


def write_instance(directory: Path, n_parts: int, seed: int = DEFAULT_SEED) -> dict[str, Path]:
    """Write stock.csv, targets.csv and lanes.csv into ``directory``; return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    available, target = instance(n_parts, seed)
    names = part_numbers(n_parts)
    paths = {
        "stock": directory / "stock.csv",
        "targets": directory / "targets.csv",
        "lanes": directory / "lanes.csv",
    }
    _write_cells(paths["stock"], ("depot", "part_number", "available"), names, available)
    _write_cells(paths["targets"], ("depot", "part_number", "target"), names, target)
    with paths["lanes"].open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("from_depot", "to_depot", "hours", "unit_cost"))
        writer.writerows(lane_table())
    return paths


def _write_cells(
    path: Path, header: tuple[str, str, str], names: list[str], values: NDArray[np.int64]
) -> None:
    """One row per nonzero cell, part-major (a missing row means 0 to the reader)."""
    parts, depots = np.nonzero(values)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(
            (CODES[d], names[p], v)
            for p, d, v in zip(
                parts.tolist(), depots.tolist(), values[parts, depots].tolist(), strict=True
            )
        )


def _multinomial_rows(
    rng: np.random.Generator, totals: NDArray[np.int64], weights: NDArray[np.float64]
) -> NDArray[np.int64]:
    """One multinomial draw per row (numpy's multinomial broadcasts over rows)."""
    return rng.multinomial(totals, weights).astype(np.int64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args()
    paths = write_instance(args.out, args.parts, args.seed)
    for path in paths.values():
        print(path)


if __name__ == "__main__":
    main()
