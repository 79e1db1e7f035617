"""`spares targets`, `spares dispatch` and `spares rebalance`, in database and offline mode."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import load_settings
from core.db import UnitOfWork
from inventory.service import rebalancing, targets, transfers

PLAN_HEADER = "part_number,from_depot,to_depot,qty,unit_cost,cost"
STOCK = "depot,part_number,available\nBJ,P1,10\nSY,P1,0\nGZ,P2,3\n"
TARGETS = "depot,part_number,target\nBJ,P1,4\nSY,P1,5\nJN,P1,2\nSH,P2,1\n"
LANES = "from_depot,to_depot,hours,unit_cost\nBJ,SY,10,12.50\nBJ,JN,5,8\nGZ,SH,20,30.10\n"
# BJ can spare 6 of P1 for shortages of 5 at SY and 2 at JN: the cheaper JN lane is
# filled first; GZ sends its spare P2 to SH.
EXPECTED_PLAN = [
    PLAN_HEADER,
    "P1,BJ,SY,4,12.50,50.00",
    "P1,BJ,JN,2,8.00,16.00",
    "P2,GZ,SH,1,30.10,30.10",
]


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def _files(folder: Path, **overrides: str) -> dict[str, Path]:
    texts = {"stock": STOCK, "targets": TARGETS, "lanes": LANES, **overrides}
    paths = {}
    for name, text in texts.items():
        path = folder / f"{name}.csv"
        path.write_text(text, encoding="utf-8")
        paths[name] = path
    paths["out"] = folder / "plan.csv"
    return paths


def _offline_args(files: dict[str, Path], *extra: str) -> list[str]:
    return [
        "rebalance",
        "--stock",
        str(files["stock"]),
        "--targets",
        str(files["targets"]),
        "--lanes",
        str(files["lanes"]),
        "--out",
        str(files["out"]),
        *extra,
    ]


# --- targets and dispatch -------------------------------------------------------------------


def test_targets_compute_prints_the_summary(runner):
    result = runner.invoke(
        args=["targets", "compute", "--fill-rate", "0.9", "--lead-time-days", "21"]
    )
    assert result.exit_code == 0, result.output
    assert "fill rate 90%" in result.stdout and "lead time 21 days" in result.stdout


@pytest.mark.parametrize(
    "args",
    [["--fill-rate", "1.2"], ["--lead-time-days", "0"], ["--window-days", "2"]],
)
def test_targets_compute_refuses_impossible_settings_with_exit_2(runner, args):
    result = runner.invoke(args=["targets", "compute", *args])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1


def test_targets_list_shows_overrides_and_filters(runner, engine, planner, make_part):
    part = make_part()
    targets.set_override(UnitOfWork(engine), planner, "WH", part, 6)
    result = runner.invoke(args=["targets", "list", "--depot", "wh"])
    assert result.exit_code == 0, result.output
    [row] = [line for line in result.stdout.splitlines() if part in line]
    assert row.split()[:5] == ["WH", part, "6", "0", "6"]
    assert "1 target" in result.stderr
    other = runner.invoke(args=["targets", "list", "--depot", "GZ"])
    assert part not in other.stdout


def test_targets_list_of_an_unknown_depot_exits_3(runner):
    result = runner.invoke(args=["targets", "list", "--depot", "QQ"])
    assert result.exit_code == 3
    assert "unknown depot" in result.stderr


def test_dispatch_prints_the_report(runner):
    result = runner.invoke(args=["dispatch"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("0 open replacements re-planned")


# --- rebalance from the database -------------------------------------------------------------


@pytest.fixture
def shortage(engine, planner, make_part, stock_up) -> str:
    part = make_part()
    stock_up("BJ", part, 10)
    targets.set_override(UnitOfWork(engine), planner, "BJ", part, 4)
    targets.set_override(UnitOfWork(engine), planner, "SY", part, 5)
    return part


def test_rebalance_proposes_a_plan_and_prints_its_id(runner, engine, shortage):
    result = runner.invoke(args=["rebalance"])
    assert result.exit_code == 0, result.output
    [plan] = [p.plan for p in rebalancing.list_plans(UnitOfWork(engine))]
    assert plan.status == "proposed" and plan.units_moved == 5
    assert result.stdout.startswith(f"plan {plan.id}: 5 units moved")
    assert f"plan id: {plan.id}" in result.stdout


def test_rebalance_approve_drafts_the_transfers_at_once(runner, engine, shortage):
    result = runner.invoke(args=["rebalance", "--approve"])
    assert result.exit_code == 0, result.output
    [plan] = [p.plan for p in rebalancing.list_plans(UnitOfWork(engine))]
    found = rebalancing.get_plan(UnitOfWork(engine), plan.id)
    assert plan.status == "approved"
    [transfer_id] = found.transfer_ids
    assert f"draft transfers {transfer_id}" in result.stdout
    draft = transfers.get_transfer(UnitOfWork(engine), transfer_id).transfer
    assert (draft.from_depot, draft.to_depot, draft.status) == ("BJ", "SY", "draft")


def test_rebalance_approve_with_nothing_to_move_discards_the_empty_plan(runner, engine):
    result = runner.invoke(args=["rebalance", "--approve"])
    assert result.exit_code == 0, result.output
    [plan] = [p.plan for p in rebalancing.list_plans(UnitOfWork(engine))]
    assert plan.status == "discarded"
    assert "moves nothing" in result.stdout


# --- rebalance offline ----------------------------------------------------------------------


def test_offline_rebalance_writes_the_plan_and_prints_one_line(runner, tmp_path):
    files = _files(tmp_path)
    result = runner.invoke(args=_offline_args(files))
    assert result.exit_code == 0, result.output
    assert files["out"].read_text(encoding="utf-8").splitlines() == EXPECTED_PLAN
    [line] = result.stdout.splitlines()
    assert "3 moves for 2 parts, 7 units moved for 96.10 CNY" in line
    assert "shortage 8 before, 1 left" in line
    assert result.stderr == ""  # no progress bar when stderr is not a terminal


def test_offline_rebalance_draws_a_progress_bar_when_asked(runner, tmp_path):
    files = _files(tmp_path)
    result = runner.invoke(args=_offline_args(files, "--progress"))
    assert result.exit_code == 0, result.output
    for label in ("reading files", "solving", "writing plan"):
        assert label in result.stderr
    assert files["out"].exists()


BAD_FILES = {
    "missing column": (
        {"stock": "depot,part_number\nBJ,P1\n"},
        ["stock.csv: missing column(s) available"],
    ),
    "negative number": (
        {"stock": "depot,part_number,available\nBJ,P1,-3\n"},
        ["stock.csv line 2: available must be a whole number >= 0, got '-3'"],
    ),
    "unknown depot": (
        {"targets": "depot,part_number,target\nBJ,P1,4\nQQ,P1,1\n"},
        ["targets.csv line 3: depot must be one of BJ SH GZ CD WH XA SY JN, got 'QQ'"],
    ),
    "duplicate row": (
        {"stock": "depot,part_number,available\nBJ,P1,10\nSY,P1,0\nBJ,P1,2\n"},
        ["stock.csv line 4: duplicate row for part P1 at BJ (first on line 2)"],
    ),
    "duplicate lane": (
        {"lanes": "from_depot,to_depot,hours,unit_cost\nBJ,SY,10,12.50\nBJ,SY,9,11\n"},
        ["lanes.csv line 3: duplicate lane BJ -> SY (first on line 2)"],
    ),
    "several problems in two files": (
        {
            "stock": "depot,part_number,available\nBJ,P1,x\nBJ,P2,1.5\n",
            "lanes": "from_depot,to_depot,hours,unit_cost\nBJ,BJ,10,12.50\n",
        },
        [
            "stock.csv line 2: available must be a whole number >= 0, got 'x'",
            "stock.csv line 3: available must be a whole number >= 0, got '1.5'",
            "lanes.csv line 2: from_depot and to_depot must differ, got 'BJ' twice",
        ],
    ),
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_offline_rebalance_with_bad_files_exits_2_one_line_per_problem_and_writes_nothing(
    runner, tmp_path, kind
):
    overrides, problems = BAD_FILES[kind]
    files = _files(tmp_path, **overrides)
    result = runner.invoke(args=_offline_args(files))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == problems
    assert result.stdout == ""
    assert not files["out"].exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".plan")] == []


def test_offline_rebalance_with_a_missing_file_exits_2_and_keeps_an_old_plan(runner, tmp_path):
    files = _files(tmp_path)
    files["out"].write_text("an older plan\n")
    files["lanes"].unlink()
    result = runner.invoke(args=_offline_args(files))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == ["lanes.csv: cannot be read (No such file or directory)"]
    assert files["out"].read_text() == "an older plan\n"


@pytest.mark.parametrize("left_out", ["--stock", "--targets", "--lanes", "--out"])
def test_offline_rebalance_needs_all_four_files(runner, tmp_path, engine, left_out):
    args = _offline_args(_files(tmp_path))
    at = args.index(left_out)
    del args[at : at + 2]
    result = runner.invoke(args=args)
    assert result.exit_code == 2
    assert f"missing {left_out}" in result.stderr
    assert not (tmp_path / "plan.csv").exists()
    assert rebalancing.list_plans(UnitOfWork(engine)) == []  # no database plan either


def test_offline_rebalance_does_not_take_approve(runner, tmp_path):
    result = runner.invoke(args=_offline_args(_files(tmp_path), "--approve"))
    assert result.exit_code == 2
    assert not (tmp_path / "plan.csv").exists()


def test_offline_rebalance_works_without_a_database(tmp_path):
    from app import create_app

    nowhere = tmp_path / "no-such-folder" / "spares.db"
    app = create_app(load_settings(database_url=f"sqlite:///{nowhere}", secret_key="test"))
    files = _files(tmp_path)
    result = app.test_cli_runner().invoke(args=_offline_args(files))
    assert result.exit_code == 0, result.output
    assert files["out"].read_text(encoding="utf-8").splitlines() == EXPECTED_PLAN
    assert not nowhere.parent.exists()


def test_the_spares_command_plans_offline_with_database_url_pointing_nowhere(tmp_path):
    nowhere = tmp_path / "no-such-folder" / "spares.db"
    files = _files(tmp_path)
    spares = Path(sys.executable).parent / "spares"
    command = (
        [str(spares)] if spares.exists() else [sys.executable, "-c", "from app import main; main()"]
    )
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{nowhere}",
        "SPARES_INSTANCE": str(tmp_path / "instance"),
        "SECRET_KEY": "offline-test",
    }
    result = subprocess.run(
        [*command, *_offline_args(files)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert files["out"].read_text(encoding="utf-8").splitlines() == EXPECTED_PLAN
    assert "7 units moved" in result.stdout
    assert not nowhere.parent.exists()
