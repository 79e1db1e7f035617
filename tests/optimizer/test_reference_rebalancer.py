"""The benchmark's stand-in reference (bench/reference_rebalancer.py) solves our problem.

The scale bench compares ``optimizer.offline.rebalance_files`` with a stand-in for
issue 12's reference rebalancer; the ratio means something only if both plan the
same thing. On generated networks (and ones with lanes missing) both plans must be
valid - no depot ships more than its surplus or receives more than its shortage,
every row on a lane of lanes.csv at its price - and cover the same shortage at the
same freight (alternative optima may differ row by row).
"""

from __future__ import annotations

import csv
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from bench.generate import write_instance
from bench.reference_rebalancer import rebalance_csv
from optimizer.offline import rebalance_files


def fen(text: str) -> int:
    return int(Decimal(text) * 100)


def read_cells(path: Path, column: str) -> Counter[tuple[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return Counter(
            {(r["part_number"], r["depot"]): int(r[column]) for r in csv.DictReader(handle)}
        )


def checked_plan(directory: Path, plan: Path) -> tuple[int, int]:
    """(units moved, freight in fen) of a plan after checking it against its inputs."""
    stock = read_cells(directory / "stock.csv", "available")
    target = read_cells(directory / "targets.csv", "target")
    with (directory / "lanes.csv").open(newline="", encoding="utf-8") as handle:
        lanes = {
            (r["from_depot"], r["to_depot"]): fen(r["unit_cost"]) for r in csv.DictReader(handle)
        }
    shipped: Counter[tuple[str, str]] = Counter()
    received: Counter[tuple[str, str]] = Counter()
    units = freight = 0
    with plan.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            part, src, dst, qty = (
                row["part_number"],
                row["from_depot"],
                row["to_depot"],
                int(row["qty"]),
            )
            assert qty > 0
            assert fen(row["unit_cost"]) == lanes[(src, dst)]
            assert fen(row["cost"]) == qty * lanes[(src, dst)]
            shipped[(part, src)] += qty
            received[(part, dst)] += qty
            units += qty
            freight += fen(row["cost"])
    for cell, qty in shipped.items():
        assert qty <= stock[cell] - target[cell], f"{cell} ships more than its surplus"
    for cell, qty in received.items():
        assert qty <= target[cell] - stock[cell], f"{cell} receives more than its shortage"
    return units, freight


def plan_both(directory: Path) -> tuple[tuple[int, int], tuple[int, int]]:
    files = [directory / name for name in ("stock.csv", "targets.csv", "lanes.csv")]
    ours = rebalance_files(*files, directory / "ours.csv")
    reference = rebalance_csv(*files, directory / "reference.csv")
    assert (ours.units_moved, ours.total_cost) == (reference.units_moved, reference.total_cost)
    return checked_plan(directory, directory / "ours.csv"), checked_plan(
        directory, directory / "reference.csv"
    )


@pytest.mark.parametrize(("parts", "seed"), [(40, 1), (300, 2), (2_000, 3)])
def test_both_plans_cover_the_same_shortage_at_the_same_freight(tmp_path, parts, seed):
    write_instance(tmp_path, parts, seed)
    ours, reference = plan_both(tmp_path)
    assert ours == reference
    assert ours[0] > 0


@pytest.mark.parametrize("dropped", [("GZ", "SY", "BJ"), ("SH", "WH")])
def test_with_lanes_missing_both_plans_agree(tmp_path, dropped):
    write_instance(tmp_path, 500, 7)
    lanes = (tmp_path / "lanes.csv").read_text(encoding="utf-8").splitlines()
    # Every lane into the dropped depots goes, and half the others: shortage is left.
    kept = [lanes[0]] + [
        line
        for n, line in enumerate(lanes[1:])
        if line.split(",")[1] not in dropped and (n % 2 == 0 or line.startswith("BJ"))
    ]
    (tmp_path / "lanes.csv").write_text("\n".join(kept) + "\n", encoding="utf-8")
    ours, reference = plan_both(tmp_path)
    assert ours == reference and ours[0] > 0


def test_both_move_the_most_units_before_saving_freight(tmp_path):
    # One unit spare at BJ and at SH, one short at GZ and at CD. The cheapest plan
    # (BJ->GZ, 1 CNY) moves one unit; moving both costs 200 CNY and must win.
    (tmp_path / "stock.csv").write_text(
        "depot,part_number,available\nBJ,P,1\nSH,P,1\n", encoding="utf-8"
    )
    (tmp_path / "targets.csv").write_text(
        "depot,part_number,target\nGZ,P,1\nCD,P,1\n", encoding="utf-8"
    )
    (tmp_path / "lanes.csv").write_text(
        "from_depot,to_depot,hours,unit_cost\nBJ,GZ,10,1.00\nBJ,CD,10,100.00\nSH,GZ,10,100.00\n",
        encoding="utf-8",
    )
    ours, reference = plan_both(tmp_path)
    assert ours == reference == (2, 20_000)
