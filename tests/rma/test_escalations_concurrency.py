"""Two (or more) escalation runs at the same time, on SQLite and PostgreSQL: every
escalation exists once and its e-mail is queued once, and no run fails."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from core.db import UnitOfWork, read_only
from rma.models import Escalation, Notification
from rma.service import escalations
from tests.rma.test_escalations import World, arrange, make_world, sh

PROJECT = Path(__file__).resolve().parents[2]
REPORTED = sh(2026, 3, 9, 9, 0)  # Monday
NOW = sh(2026, 3, 12, 12, 0)  # Thursday: every rung of every case is due


@read_only
def _rows(uow: UnitOfWork) -> tuple[list[tuple[int, int]], Counter[str]]:
    pairs = [(e.rma_id, e.step) for e in uow.session.scalars(select(Escalation))]
    keys = Counter(
        n.dedupe_key
        for n in uow.session.scalars(select(Notification).where(Notification.kind == "escalation"))
    )
    return pairs, keys


def _cases(world: World, count: int) -> set[tuple[int, int]]:
    """``count`` open cases of mixed levels, a third at risk; the (rma, step) pairs due."""
    expected: set[tuple[int, int]] = set()
    levels = ("C-1", "C-2", "C-3")
    for i in range(count):
        site = world.customer(coverage="7x24" if i % 2 else "5x8")
        rma = world.open(site, levels[i % 3], REPORTED + timedelta(minutes=i))
        expected |= {(rma.id, step) for step in (1, 2, 3)}
        if i % 3 == 0:
            arrange(world.uow, rma.number, at_risk=True, allocated_at=REPORTED)
            expected.add((rma.id, 0))
    return expected


def _assert_exactly_once(world: World, expected: set[tuple[int, int]], per_run: list[list]) -> None:
    returned = [pair for run in per_run for pair in run]
    assert Counter(returned) == Counter(expected), "a run raised something twice or missed it"
    pairs, keys = _rows(world.uow)
    assert sorted(pairs) == sorted(expected)
    assert keys and max(keys.values()) == 1  # one e-mail per escalation and recipient
    ladder_mails = sum(1 for key in keys if key.split(":")[2] != "0")
    assert ladder_mails == sum(1 for _rma, step in expected if step != 0)


def test_concurrent_runs_in_threads_raise_each_escalation_once(any_engine):
    world = make_world(any_engine)
    expected = _cases(world, 24)
    start = threading.Barrier(4)
    results: list[list[tuple[int, int]]] = [[] for _ in range(4)]
    errors: list[BaseException] = []

    def run(slot: int) -> None:
        try:
            start.wait()
            raised = escalations.raise_due_escalations(UnitOfWork(any_engine), NOW)
            results[slot] = [(e.rma_id, e.step) for e in raised]
        except BaseException as error:  # reported below; a thread must not swallow it
            errors.append(error)

    threads = [threading.Thread(target=run, args=(slot,)) for slot in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    _assert_exactly_once(world, expected, results)


RUNNER = """
import json, sys, time
from datetime import datetime
from core.db import UnitOfWork, make_engine
from rma.service.escalations import raise_due_escalations

engine = make_engine(sys.argv[1])
now = datetime.fromisoformat(sys.argv[2])
engine.connect().close()  # connect before the start line, so both runs start together
time.sleep(max(0.0, float(sys.argv[3]) - time.time()))
raised = raise_due_escalations(UnitOfWork(engine), now)
print(json.dumps([[e.rma_id, e.step] for e in raised]))
"""


@pytest.mark.slow
def test_two_escalate_processes_at_once_raise_each_escalation_once(any_engine):
    world = make_world(any_engine)
    expected = _cases(world, 45)
    url = any_engine.url.render_as_string(hide_password=False)
    go = time.time() + 3.0
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", RUNNER, url, NOW.isoformat(), str(go)],
            cwd=PROJECT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    for process, (_out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
    per_run = [[tuple(pair) for pair in json.loads(out)] for out, _err in outputs]
    _assert_exactly_once(world, expected, per_run)


def test_run_that_read_before_another_committed_skips_what_the_other_raised(any_engine):
    """The unique (rma, step) constraint is the last line: a run whose screening saw
    nothing raised still inserts nothing twice and does not fail."""
    world = make_world(any_engine)
    expected = _cases(world, 3)
    first = escalations.raise_due_escalations(UnitOfWork(any_engine), NOW)
    assert {(e.rma_id, e.step) for e in first} == expected
    # Simulate the stale screening: offer every pair again straight to the insert.
    uow = UnitOfWork(any_engine)
    with uow.transaction():
        again = escalations._insert_once(
            uow,
            [
                (
                    escalations._Due(
                        rma_id, step, "t", "x@y.example", 1.0, datetime.now(NOW.tzinfo)
                    ),
                    "C-1",
                )
                for rma_id, step in expected
            ],
            NOW,
        )
    assert again == {}
    _assert_exactly_once(world, expected, [[(e.rma_id, e.step) for e in first]])
