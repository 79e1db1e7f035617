"""`spares simulate` and ``planning.service.simulation``: current, file and (history)
replays on a small world with hand-computed shares, one answer per seed, JSON and CSV
agreeing, and bad input refused with one line and exit 2."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from core.db import UnitOfWork
from core.errors import Invalid
from inventory.service import targets
from optimizer.availability import ServiceNetwork
from planning.service.simulation import targets_from_csv
from rma.service import opening
from rma.service.opening import OpenRequest


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def world(engine, planner, engineer, account, install, make_part, stock_up):
    """A part with units installed in Shanghai (demand from the installed base), a
    target of 3 at SH, and two replacements opened today in Shanghai (history)."""
    part = make_part(serialized=True, family="power")
    shanghai = account("Shanghai")
    units = [install(shanghai, part) for _ in range(12)]
    targets.set_override(UnitOfWork(engine), planner, "SH", part, 3)
    stock_up("SH", part, 3, serialized=True)
    for unit in units[:2]:
        opening.open_rma(
            UnitOfWork(engine),
            engineer,
            OpenRequest(
                fault_level="C-2", kind="advance_replacement", symptom="x", serial=unit.serial
            ),
        )
    return part


def _run(runner, *args: str):
    return runner.invoke(args=["simulate", *args])


def test_history_replay_gives_the_hand_computed_shares(runner, world):
    # Two cases in Shanghai today, SH holds 3: both shipped the same city, 4 hours.
    done = _run(runner, "--targets", "current", "--history", "--days", "30")
    assert done.exit_code == 0, done.output
    body = json.loads(done.output)
    assert set(body) == {"within_window", "cases", "by_fault_level", "by_city"}
    assert (body["cases"], body["within_window"]) == (2, 1.0)
    assert body["by_city"] == {"Shanghai": 1.0}
    assert body["by_fault_level"] == {"C-2": 1.0}


def test_a_file_of_targets_nothing_held_is_never_in_time(runner, world, tmp_path):
    empty = tmp_path / "none.csv"
    empty.write_text(f"part_number,depot,target\n{world},SH,0\n", encoding="utf-8")
    done = _run(runner, "--targets", str(empty), "--history", "--days", "30")
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["within_window"] == 0.0


def test_sampled_runs_repeat_for_a_seed_and_json_and_csv_agree(runner, world, tmp_path):
    first = _run(runner, "--targets", "current", "--days", "400", "--seed", "5")
    again = _run(runner, "--targets", "current", "--days", "400", "--seed", "5")
    assert first.exit_code == 0, first.output
    assert first.output == again.output
    body = json.loads(first.output)
    assert body["cases"] > 0
    same = tmp_path / "same.csv"
    same.write_text(f"part_number,depot,target\n{world},SH,3\n", encoding="utf-8")
    from_file = _run(runner, "--targets", str(same), "--days", "400", "--seed", "5")
    assert from_file.output == first.output
    table = _run(runner, "--targets", "current", "--days", "400", "--seed", "5", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(table.output)))
    overall = rows[0]
    assert (overall["scope"], int(overall["cases"])) == ("overall", body["cases"])
    assert float(overall["within_window"]) == pytest.approx(body["within_window"], abs=1e-6)
    cities = {r["key"]: float(r["within_window"]) for r in rows if r["scope"] == "city"}
    assert cities == pytest.approx(body["by_city"], abs=1e-6)
    assert sum(int(r["cases"]) for r in rows if r["scope"] == "fault_level") == body["cases"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--days", "0"], "days must be a whole number from 1"),
        (["--days", "x"], "--days must be a whole number"),
        (["--seed", "-1"], "seed must be a whole number from 0"),
        (["--format", "xml"], "--format must be json or csv"),
        (["--targets", "/no/such/file.csv"], "no file"),
    ],
)
def test_bad_input_exits_2_with_one_line(runner, world, args, words):
    done = _run(runner, *args)
    assert done.exit_code == 2
    lines = done.output.strip().splitlines()
    assert len(lines) == 1 and words in lines[0]


def test_a_bad_targets_file_names_its_line(runner, world, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(f"part_number,depot,target\n{world},SH,2\nNOPE,SH,1\n", encoding="utf-8")
    done = _run(runner, "--targets", str(bad))
    assert done.exit_code == 2
    assert done.output.strip() == "error: targets file line 3: unknown part NOPE"


def _network() -> ServiceNetwork:
    return ServiceNetwork(
        depots=("BJ", "SH"),
        cities=("Beijing",),
        parts=("P1", "P2"),
        unit_cost=np.ones(2),
        demand_per_day=np.ones((2, 1)),
        c1_share=np.zeros((2, 1)),
        arrival_hours=np.full((2, 1, 24), 4.0),
        arrival_hours_emergency=np.full((2, 1, 24), np.inf),
        approval_hour_weights=np.full(24, 1 / 24),
        resupply_days=np.ones((2, 2)),
    )


def test_the_targets_file_reads_into_the_networks_order():
    text = "part_number,depot,target\nP2,sh,4\n\np1,BJ,1\n"
    assert targets_from_csv(text, _network()).tolist() == [[1, 0], [0, 4]]
    with pytest.raises(Invalid) as refused:
        targets_from_csv(
            "part_number,depot,target\nP1,BJ,1\nP1,BJ,2\nP2,XX,1\nP2,SH,-1\n", _network()
        )
    assert [(p.line, p.message) for p in refused.value.fields] == [
        (3, "P1 at BJ is given twice"),
        (4, "unknown depot XX"),
        (5, "target must be a whole number from 0 to 100000"),
    ]
    with pytest.raises(Invalid, match="must start with"):
        targets_from_csv("depot,part,target\n", _network())


def test_the_repair_loop_reads_yield_and_turnaround_from_the_receipts(
    runner, engine, world, staff, make_part
):
    from datetime import timedelta

    from core import clock
    from inventory.service import moves
    from planning.service import availability
    from planning.service.demand import DEFAULT_LEAD_TIME_DAYS
    from planning.service.simulation import DEFAULT_YIELD, repair_loop

    sibling = make_part(serialized=True, family="power")  # no receipts: its family's
    other = make_part(serialized=True, family="optic")  # nothing in its family: defaults
    uow, sh = UnitOfWork(engine), staff("SH")
    now = clock.now()
    with clock.frozen(now - timedelta(days=5)):
        for serial, finding in [
            ("RY-0001", "fault_confirmed"),
            ("RY-0002", "fault_confirmed"),
            ("RY-0003", "no_fault_found"),
            ("RY-0004", "fault_confirmed"),
        ]:
            moves.receive_return(uow, sh, "SH", world, serial, finding=finding)
    with clock.frozen(now - timedelta(days=4)):
        moves.change_condition(uow, sh, "SH", world, 1, "defective", "good", ["RY-0003"])
        moves.scrap(uow, sh, "SH", world, 1, "burnt", ["RY-0004"])
    with clock.frozen(now - timedelta(days=3)):
        moves.change_condition(uow, sh, "SH", world, 2, "defective", "good", ["RY-0001", "RY-0002"])
    network = availability.service_network(uow)
    loop = repair_loop(uow, network)
    index = {part: i for i, part in enumerate(network.parts)}
    # 4 decided: 2 repaired, 1 no fault found, 1 scrapped; back to good after 2, 2, 1 days.
    for part in (world, sibling):
        p = index[part]
        assert loop.yield_share[p] == pytest.approx(3 / 4)
        assert loop.no_fault_found_share[p] == pytest.approx(1 / 4)
        assert loop.turnaround_days[p] == pytest.approx((2 + 2 + 1) / 3)
    q = index[other]
    assert (loop.yield_share[q], loop.no_fault_found_share[q]) == (DEFAULT_YIELD, 0.0)
    assert loop.turnaround_days[q] == DEFAULT_LEAD_TIME_DAYS
    # A scrapped unit is replaced over the rebalancing lane into the depot.
    transfer = availability.transfer_days(uow, network)
    assert np.array_equal(loop.transfer_days, transfer)
    # The model's lead time goes through the same loop where there are records:
    # delivery 0.5 + half the 15-day return rule + 3/4 x 5/3 days + 1/4 x transfer;
    # without any, the planner's lead time.
    for part in (world, sibling):
        p = index[part]
        expected = 0.5 + 15 / 2 + 3 / 4 * 5 / 3 + 1 / 4 * transfer[p]
        assert network.resupply_days[p] == pytest.approx(expected)
    assert np.all(network.resupply_days[q] == DEFAULT_LEAD_TIME_DAYS)

    args = ["--targets", "current", "--days", "200", "--seed", "2", "--repair-loop"]
    first, again = _run(runner, *args), _run(runner, *args)
    assert first.exit_code == 0, first.output
    assert first.output == again.output and json.loads(first.output)["cases"] > 0


def test_optimized_means_the_optimize_proposal_with_its_defaults(runner, engine, world):
    from planning.service import availability
    from planning.service.simulation import run_simulation

    run = run_simulation(UnitOfWork(engine), "optimized", days=30, seed=1)
    proposal = availability.optimize(UnitOfWork(engine))
    assert (proposal.goal, proposal.window_hours) == (0.95, 24.0)
    assert np.array_equal(run.base_stock, proposal.optimized.base_stock)
    done = _run(runner, "--targets", "optimized", "--days", "30", "--seed", "1")
    assert done.exit_code == 0, done.output
    assert json.loads(done.output) == json.loads(json.dumps(run.result.summary()))
