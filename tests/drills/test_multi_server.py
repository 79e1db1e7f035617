"""More than one server: two `spares serve` processes (two workers each) on different
ports, one PostgreSQL and one Redis, with the clients spread over both.

* no oversell: reservations of a part with 10 in stock, sent to both servers at
  once, win exactly 10 times;
* one login limit: failed sign-ins from one client address count once across both
  servers (Redis), behind the proxy hop the reference deployment has (nginx:
  ``FORWARDED_HOPS=1``);
* two schedulers: `spares escalate` started twice at the same moment raises each
  rung of each case once and prints it once;
* a server killed mid-write (SIGKILL to its whole process group, then started
  again on its port) loses nothing it acknowledged, and the books balance.

CI runs the short version (REQUIRE_POSTGRES=1); `make drill` (SPARES_DRILL_LONG=1)
writes longer and kills many times, workers and whole servers in turn.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from core.db import make_engine
from tests.drills.cli_runs import run_cli
from tests.drills.cluster import Cluster, client_address, token
from tests.drills.harness import (
    DEMO_PASSWORD,
    Deployment,
    Request,
    call,
    send_share,
    together,
)
from tests.drills.writers import books_balance, keep_writing, stock_a_part, verify

pytestmark = pytest.mark.slow

LONG = os.environ.get("SPARES_DRILL_LONG") == "1"
WORKERS = 2
LOGIN_LIMIT = 8
RACERS = 60
IN_STOCK = 10
WRITERS = 4
WRITE_SECONDS = float(os.environ.get("SPARES_MULTI_SERVER_SECONDS", "60")) if LONG else 8.0
# Long drill: a kill every few seconds, alternating a worker and a whole server.
KILL_EVERY_S = 4.0
SERVER_ENV = {"FORWARDED_HOPS": "1", "LOGIN_RATE_LIMIT": f"{LOGIN_LIMIT} per minute"}


@pytest.fixture(scope="module")
def cluster(pg_deployment: Deployment) -> Iterator[Cluster]:
    servers = [pg_deployment.launch(WORKERS, SERVER_ENV) for _ in range(2)]
    running = Cluster(pg_deployment, servers, WORKERS, SERVER_ENV)
    try:
        for server in servers:  # both boot at once
            server.wait_until_ready()
        yield running
    finally:
        for server in running.servers:
            server.stop()


def spread(urls: list[str], requests: list[Request], processes: int = 4) -> list[tuple[str, int]]:
    """Send ``requests`` from ``processes`` client processes at once, process k to
    server k mod n; (server url, status) per request, in request order."""
    numbered = list(enumerate(requests))
    shares = [numbered[i::processes] for i in range(processes)]
    outcomes = together(
        send_share,
        [(urls[k % len(urls)], share, len(share)) for k, share in enumerate(shares)],
        timeout=120,
    )
    assert [o.error for o in outcomes if o.error] == []
    answers: dict[int, tuple[str, int]] = {}
    for k, outcome in enumerate(outcomes):
        for index, answer in outcome.value[0]:
            answers[index] = (urls[k % len(urls)], answer.status)
    return [answers[i] for i in range(len(requests))]


def test_no_oversell_when_clients_are_spread_over_two_servers(cluster: Cluster) -> None:
    first, second = cluster.servers
    planner, staff = token(first, "planner"), token(second, "staff-bj")
    part = f"MS-{uuid.uuid4().hex[:8].upper()}"
    stock_a_part(first, planner, staff, part, IN_STOCK)
    race = [
        Request(
            "POST",
            "/api/v1/reservations",
            {"depot": "BJ", "part_number": part, "qty": 1, "reference": f"ms-race-{i}"},
            planner,
        )
        for i in range(RACERS)
    ]

    answers = spread(cluster.urls, race)

    statuses = sorted(status for _, status in answers)
    assert statuses.count(201) == IN_STOCK and statuses.count(409) == RACERS - IN_STOCK, (
        f"{statuses}\n{first.log()}\n{second.log()}"
    )
    assert {url for url, _ in answers} == set(cluster.urls)  # both servers served
    [row] = second.must("GET", f"/api/v1/stock?depot=BJ&part_number={part}", token=planner)
    assert (row["good"], row["reserved"], row["available"]) == (IN_STOCK, IN_STOCK, 0)


def test_the_login_limit_is_one_count_across_both_servers(cluster: Cluster) -> None:
    address = client_address()
    attempts = [
        Request(
            "POST",
            "/api/v1/auth/token",
            {"username": "planner", "password": "not-the-password"},
            headers={"X-Forwarded-For": address},
        )
        for _ in range(3 * LOGIN_LIMIT)
    ]

    answers = spread(cluster.urls, attempts)

    statuses = sorted(status for _, status in answers)
    assert statuses == [401] * LOGIN_LIMIT + [429] * (2 * LOGIN_LIMIT), statuses
    for server in cluster.servers:  # the right password is refused too, on both
        refused = call(
            server.url,
            "POST",
            "/api/v1/auth/token",
            {"username": "planner", "password": DEMO_PASSWORD},
            headers={"X-Forwarded-For": address},
        )
        assert refused.status == 429
    assert token(cluster.servers[0], "planner")  # another address is not held back


def test_two_schedulers_at_once_raise_each_rung_once(cluster: Cluster) -> None:
    deployment = cluster.deployment
    engine = make_engine(deployment.database_url)
    try:
        with engine.connect() as connection:
            before = connection.execute(text("SELECT count(*) FROM escalation")).scalar_one()
        # Days ahead: every open demo case has passed every rung of its ladder.
        at = (datetime.now(UTC) + timedelta(days=5)).isoformat(timespec="seconds")

        command = ["escalate", "--now", at, "--limit", "0"]
        runs = together(run_cli, [(deployment.env, command)] * 2, timeout=300)

        assert [run.error for run in runs if run.error] == []
        assert [run.value[0] for run in runs] == [0, 0], runs
        printed = [[line for line in r.value[1].splitlines() if " step " in line] for r in runs]
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT rma_id, step, count(*) FROM escalation GROUP BY rma_id, step")
            ).all()
            after = connection.execute(text("SELECT count(*) FROM escalation")).scalar_one()
    finally:
        engine.dispose()
    raised = after - before
    assert raised > 0
    assert all(count == 1 for _, _, count in rows)
    # Each escalation printed by exactly one of the two runs.
    assert len(printed[0]) + len(printed[1]) == raised
    assert not set(printed[0]) & set(printed[1])
    print(f"two schedulers: {raised} escalations raised, split {[len(p) for p in printed]}")


def test_servers_killed_mid_write_lose_nothing_acknowledged(cluster: Cluster) -> None:
    first = cluster.servers[0]
    planner, staff = token(first, "planner"), token(first, "staff-bj")
    part = f"KW-{uuid.uuid4().hex[:8].upper()}"
    stock_a_part(first, planner, staff, part, 100_000)
    writer = token(first, "planner")
    prefix = f"kill-{uuid.uuid4().hex[:6]}"
    urls = cluster.urls  # the servers come back on their ports
    result: dict[str, list] = {}

    def write() -> None:
        result["outcomes"] = together(
            keep_writing,
            [(urls, writer, part, f"{prefix}-{w}", WRITE_SECONDS) for w in range(WRITERS)],
            timeout=WRITE_SECONDS + 180,
        )

    writing = threading.Thread(target=write)
    writing.start()
    time.sleep(min(3.0, WRITE_SECONDS / 3))
    cluster.kill_and_restart(0)  # at least one whole server, mid-write
    rounds = itertools.count(1)
    while LONG and writing.is_alive():
        time.sleep(KILL_EVERY_S)
        if not writing.is_alive():
            break
        index = next(rounds)
        if index % 2:
            cluster.kill_a_worker((index // 2) % 2)
        else:
            cluster.kill_and_restart((index // 2) % 2)
    writing.join(timeout=WRITE_SECONDS + 240)
    assert not writing.is_alive()

    outcomes = result["outcomes"]
    assert [o.error for o in outcomes if o.error] == []
    logs = [o.value for o in outcomes]
    assert [u for log in logs for u in log.unexpected] == []
    engine = make_engine(cluster.deployment.database_url)
    try:
        verdict = verify(engine, prefix, logs)
    finally:
        engine.dispose()
    assert verdict.lost == [], f"acknowledged but lost: {verdict.lost[:10]}"
    assert verdict.acknowledged > 0
    for server in cluster.servers:  # both serve again
        server.must("GET", "/api/v1/auth/me", token=writer)
    books_balance(cluster.deployment)
    failed = sum(sum(log.other.values()) for log in logs)
    print(
        f"multi-server kill drill: {len(cluster.kills)} kills ({', '.join(cluster.kills)}); "
        f"{verdict.acknowledged} writes acknowledged, all found; "
        f"{verdict.unacknowledged_but_stored} stored without an answer; "
        f"{failed} requests unanswered while a server was down"
    )
