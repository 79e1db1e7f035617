"""The offline what-if rebalancing (optimizer.offline): files in, plan out, or clear problems."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from optimizer import offline
from optimizer.offline import MAX_PROBLEMS, PlanFileError, rebalance_files
from optimizer.rebalance import rebalance_matrix

STOCK = "depot,part_number,available\nBJ,SW-1,5\nSH,SW-1,0\nGZ,RT-9,4\n"
TARGETS = "depot,part_number,target\nBJ,SW-1,2\nSH,SW-1,2\nGZ,RT-9,1\nWH,RT-9,2\nCD,FW-3,1\n"
LANES = (
    "from_depot,to_depot,hours,unit_cost\n"
    "BJ,SH,11.52,466.84\n"
    "GZ,WH,12.43,362.74\n"
    "BJ,CD,12.23,607.87\n"
)


def write(directory: Path, stock=STOCK, targets=TARGETS, lanes=LANES) -> list[Path]:
    paths = [directory / "stock.csv", directory / "targets.csv", directory / "lanes.csv"]
    for path, text in zip(paths, (stock, targets, lanes), strict=True):
        if isinstance(text, bytes):
            path.write_bytes(text)
        elif text is not None:
            path.write_text(text, encoding="utf-8")
    return paths


def read_plan(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def problems_for(tmp_path: Path, **files) -> list[str]:
    out = tmp_path / "plan.csv"
    with pytest.raises(PlanFileError) as caught:
        rebalance_files(*write(tmp_path, **files), out)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".plan.csv")] == []
    return caught.value.problems


def test_plan_moves_surplus_into_shortages_and_totals_add_up(tmp_path):
    out = tmp_path / "plan.csv"
    summary = rebalance_files(*write(tmp_path), out)
    assert read_plan(out) == [
        # BJ spares 3 of SW-1; SH is 2 short. GZ spares 3 of RT-9; WH is 2 short.
        # FW-3 is short at CD but nobody has one (no stock rows): it stays short.
        {"part_number": "SW-1", "from_depot": "BJ", "to_depot": "SH", "qty": "2",
         "unit_cost": "466.84", "cost": "933.68"},
        {"part_number": "RT-9", "from_depot": "GZ", "to_depot": "WH", "qty": "2",
         "unit_cost": "362.74", "cost": "725.48"},
    ]  # fmt: skip
    assert summary.out_path == out
    assert summary.parts == 3 and summary.plan_rows == 2
    assert summary.units_moved == 4
    assert summary.total_cost == Decimal("1659.16")
    assert summary.shortage_before == 5 and summary.shortage_left == 1
    assert summary.surplus_before == 6
    assert set(summary.seconds) == {"reading", "building", "solving", "writing"}


def test_plan_matches_the_in_memory_optimizer_on_a_generated_instance(tmp_path):
    rng = np.random.default_rng(11)
    codes = ["BJ", "SH", "GZ", "CD", "WH", "XA", "SY", "JN"]
    target = rng.integers(0, 4, (60, 8))
    available = np.maximum(0, target + rng.integers(-3, 4, (60, 8)))
    lanes = np.round(rng.uniform(60, 900, (8, 8)), 2)
    lanes[rng.random((8, 8)) < 0.3] = np.nan
    np.fill_diagonal(lanes, np.nan)
    stock = "depot,part_number,available\n" + "".join(
        f"{codes[d]},P{p},{available[p, d]}\n"
        for p in range(60)
        for d in range(8)
        if available[p, d]
    )
    targets = "depot,part_number,target\n" + "".join(
        f"{codes[d]},P{p},{target[p, d]}\n" for p in range(60) for d in range(8) if target[p, d]
    )
    lane_text = "from_depot,to_depot,hours,unit_cost\n" + "".join(
        f"{codes[i]},{codes[j]},10,{lanes[i, j]:.2f}\n"
        for i in range(8)
        for j in range(8)
        if not np.isnan(lanes[i, j])
    )
    summary = rebalance_files(*write(tmp_path, stock, targets, lane_text), tmp_path / "plan.csv")
    expected = rebalance_matrix(available, target, lanes)
    assert summary.units_moved == expected.units_moved
    assert summary.total_cost == expected.total_cost
    rows = read_plan(tmp_path / "plan.csv")
    assert sum(int(r["qty"]) for r in rows) == expected.units_moved
    assert sum(Decimal(r["cost"]) for r in rows) == expected.total_cost
    assert all(Decimal(r["cost"]) == int(r["qty"]) * Decimal(r["unit_cost"]) for r in rows)


def test_files_with_bom_spaces_blank_lines_extra_columns_and_odd_header_case_are_read(tmp_path):
    stock = "\ufeffPart_Number , Depot,available,note\n SW-1 , BJ , 5 ,x\n\nSW-1,SH,0,y\n"
    summary = rebalance_files(*write(tmp_path, stock=stock), tmp_path / "plan.csv")
    assert summary.units_moved == 2
    assert read_plan(tmp_path / "plan.csv")[0]["part_number"] == "SW-1"


def test_progress_reports_every_phase_in_order(tmp_path):
    seen: list[tuple[str, int, int]] = []
    rebalance_files(*write(tmp_path), tmp_path / "plan.csv", progress=lambda *a: seen.append(a))
    phases = list(dict.fromkeys(phase for phase, _, _ in seen))
    assert phases == ["reading", "building", "solving", "writing"]
    reading = [(done, total) for phase, done, total in seen if phase == "reading"]
    assert reading[-1][0] == reading[-1][1] > 0
    assert seen[-1] == ("writing", 2, 2)


def test_an_existing_plan_is_replaced_only_by_a_complete_one(tmp_path):
    out = tmp_path / "plan.csv"
    out.write_text("old plan\n")
    with pytest.raises(PlanFileError):
        rebalance_files(*write(tmp_path, stock="depot,part_number\n"), out)
    assert out.read_text() == "old plan\n"
    rebalance_files(*write(tmp_path), out)
    assert out.read_text().startswith("part_number,from_depot,to_depot,qty,unit_cost,cost\n")


def test_a_failure_while_writing_leaves_no_partial_file(tmp_path, monkeypatch):
    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(offline.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        rebalance_files(*write(tmp_path), tmp_path / "plan.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lanes.csv", "stock.csv", "targets.csv"]


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(
            {"stock": "depot,part_number\nBJ,SW-1\n"},
            ["stock.csv: missing column(s) available"],
            id="missing column",
        ),
        pytest.param(
            {"lanes": "from_depot,to_depot,cost\n"},
            ["lanes.csv: missing column(s) hours, unit_cost"],
            id="missing lane columns",
        ),
        pytest.param(
            {"stock": STOCK + "SH,RT-9,-3\n"},
            ["stock.csv line 5: available must be a whole number >= 0, got '-3'"],
            id="negative number",
        ),
        pytest.param(
            {"targets": TARGETS + "SY,RT-9,two\nJN,RT-9,1.5\nXA,RT-9,\n"},
            [
                "targets.csv line 7: target must be a whole number >= 0, got 'two'",
                "targets.csv line 8: target must be a whole number >= 0, got '1.5'",
                "targets.csv line 9: target must be a whole number >= 0, got ''",
            ],
            id="non-numbers",
        ),
        pytest.param(
            {"stock": STOCK + "SH,RT-9,99999999999\n"},
            ["stock.csv line 5: available must be at most 1000000000, got '99999999999'"],
            id="too large",
        ),
        pytest.param(
            {"stock": STOCK + "HK,SW-1,1\nbj,SW-1,1\n"},
            [
                "stock.csv line 5: depot must be one of BJ SH GZ CD WH XA SY JN, got 'HK'",
                "stock.csv line 6: depot must be one of BJ SH GZ CD WH XA SY JN, got 'bj'",
            ],
            id="unknown depots",
        ),
        pytest.param(
            {"stock": STOCK + ",SW-9,1\n"},
            ["stock.csv line 5: depot must be one of BJ SH GZ CD WH XA SY JN, got ''"],
            id="empty depot",
        ),
        pytest.param(
            {"targets": TARGETS + "SY,,1\n"},
            ["targets.csv line 7: part_number is empty"],
            id="empty part number",
        ),
        pytest.param(
            {"stock": STOCK + "BJ,SW-1,7\n"},
            ["stock.csv line 5: duplicate row for part SW-1 at BJ (first on line 2)"],
            id="duplicate stock row",
        ),
        pytest.param(
            {"targets": TARGETS + "WH,RT-9,3\n"},
            ["targets.csv line 7: duplicate row for part RT-9 at WH (first on line 5)"],
            id="duplicate target row",
        ),
        pytest.param(
            {"lanes": LANES + "BJ,SH,12,400.00\n"},
            ["lanes.csv line 5: duplicate lane BJ -> SH (first on line 2)"],
            id="duplicate lane",
        ),
        pytest.param(
            {"lanes": LANES + "BJ,BJ,4,80\nSH,XX,4,80\n"},
            [
                "lanes.csv line 5: from_depot and to_depot must differ, got 'BJ' twice",
                "lanes.csv line 6: to_depot must be one of BJ SH GZ CD WH XA SY JN, got 'XX'",
            ],
            id="bad lane depots",
        ),
        pytest.param(
            {"lanes": LANES + "SH,GZ,-1,abc\nSH,WH,10,-5\nSH,CD,10,1.234\n"},
            [
                "lanes.csv line 5: hours must be a number > 0 and <= 240, got '-1'",
                "lanes.csv line 5: unit_cost must be CNY >= 0 and <= 1000000, got 'abc'",
                "lanes.csv line 6: unit_cost must be CNY >= 0 and <= 1000000, got '-5'",
                "lanes.csv line 7: unit_cost must have at most 2 decimals, got '1.234'",
            ],
            id="bad lane numbers",
        ),
        pytest.param(
            {"stock": STOCK + "SH,RT-9\nSH,RT-9,1,extra\n"},
            [
                "stock.csv line 5: expected 3 fields, got 2",
                "stock.csv line 6: expected 3 fields, got 4",
            ],
            id="wrong field count",
        ),
        pytest.param(
            {"stock": "depot,part_number,available\nBJ,SW-\xff,1\n".encode("latin-1")},
            ["stock.csv: is not UTF-8 text"],
            id="not utf-8",
        ),
        pytest.param(
            {"targets": ""},
            ["targets.csv: is empty; expected columns depot,part_number,target"],
            id="empty file",
        ),
        pytest.param(
            {"lanes": None},
            ["lanes.csv: cannot be read (No such file or directory)"],
            id="missing file",
        ),
    ],
)
def test_bad_files_raise_one_readable_line_per_problem_and_write_nothing(tmp_path, files, expected):
    assert problems_for(tmp_path, **files) == expected


def test_problems_in_several_files_are_all_reported_in_file_and_line_order(tmp_path):
    problems = problems_for(
        tmp_path,
        stock=STOCK + "SH,RT-9,-1\nHK,RT-9,1\n",
        targets=TARGETS + "SY,RT-9,x\n",
        lanes=LANES + "BJ,BJ,4,80\n",
    )
    assert problems == [
        "stock.csv line 5: available must be a whole number >= 0, got '-1'",
        "stock.csv line 6: depot must be one of BJ SH GZ CD WH XA SY JN, got 'HK'",
        "targets.csv line 7: target must be a whole number >= 0, got 'x'",
        "lanes.csv line 5: from_depot and to_depot must differ, got 'BJ' twice",
    ]


def test_line_numbers_count_quoted_values_that_span_lines(tmp_path):
    stock = 'depot,part_number,available\nBJ,"SW\n1",5\nSH,SW-2,-1\n'
    assert problems_for(tmp_path, stock=stock) == [
        "stock.csv line 4: available must be a whole number >= 0, got '-1'"
    ]


def test_many_problems_are_capped_with_a_count_of_the_rest(tmp_path):
    rows = "".join(f"BJ,P{i},-1\n" for i in range(MAX_PROBLEMS + 25))
    problems = problems_for(tmp_path, stock="depot,part_number,available\n" + rows)
    assert len(problems) == MAX_PROBLEMS + 1
    assert problems[0] == "stock.csv line 2: available must be a whole number >= 0, got '-1'"
    assert problems[-1] == "... and 25 more problems"


def test_output_path_problems_are_reported_before_reading(tmp_path):
    paths = write(tmp_path)
    with pytest.raises(PlanFileError) as caught:
        rebalance_files(*paths, tmp_path / "missing-dir" / "plan.csv")
    missing = tmp_path / "missing-dir"
    assert caught.value.problems == [
        f"{missing / 'plan.csv'}: the directory {missing} does not exist"
    ]
    with pytest.raises(PlanFileError) as caught:
        rebalance_files(*paths, paths[0])
    assert caught.value.problems == [f"{paths[0]}: would overwrite the input file stock.csv"]
    assert paths[0].read_text() == STOCK


def test_error_message_counts_the_problems(tmp_path):
    with pytest.raises(PlanFileError, match="2 problems in the input files"):
        rebalance_files(*write(tmp_path, stock=STOCK + "HK,X,1\nBJ,Y,-1\n"), tmp_path / "p.csv")


def test_an_unwritable_output_is_a_plan_file_error(tmp_path, monkeypatch):
    def refuse(**kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(offline.tempfile, "mkstemp", refuse)
    out = tmp_path / "plan.csv"
    with pytest.raises(PlanFileError) as caught:
        rebalance_files(*write(tmp_path), out)
    assert caught.value.problems == [f"{out}: cannot be written (Permission denied)"]
    assert not out.exists()


def test_the_plan_gets_a_normal_file_mode(tmp_path):
    out = tmp_path / "plan.csv"
    rebalance_files(*write(tmp_path), out)
    assert out.stat().st_mode & 0o777 == 0o644
