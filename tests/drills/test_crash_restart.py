"""The crash drill: writers keep writing through two app servers while PostgreSQL
itself is shut down immediately (no checkpoint: crash recovery on start) and started
again, and while servers and workers are SIGKILLed. Nothing acknowledged may be
lost, the servers must write again once the database is back, and the books must
balance.

The database is a PostgreSQL cluster of the drill's own (``initdb`` in a temporary
folder, its own port): restarting the shared test server would break every other
test running at the time. It runs only under `make drill` (SPARES_DRILL_LONG=1).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.db import make_engine
from tests.drills.cluster import Cluster, token
from tests.drills.harness import Deployment, DrillError, Server, free_port, together
from tests.drills.writers import books_balance, keep_writing, stock_a_part, verify

LONG = os.environ.get("SPARES_DRILL_LONG") == "1"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not LONG, reason="restarts a PostgreSQL cluster: `make drill` only"),
]

WORKERS = 2
WRITERS = 4
SECONDS = float(os.environ.get("SPARES_CRASH_SECONDS", "90"))
# (seconds into the run, what happens)
SCHEDULE = (
    (8.0, "postgres"),
    (20.0, "worker"),
    (30.0, "server"),
    (45.0, "postgres"),
    (60.0, "worker"),
    (70.0, "postgres"),
)


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster in a folder of its own, run as the ``postgres`` user."""

    bin: Path
    data: Path
    port: int
    log: Path

    def run(self, *args: str, timeout: float = 120) -> str:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=False
        )
        if result.returncode != 0:
            raise DrillError(f"{' '.join(command)}: {result.stdout}{result.stderr}")
        return result.stdout

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/drill"

    def restart_immediately(self) -> float:
        """Immediate shutdown (like a crash: no checkpoint) and start; seconds it took
        until the cluster accepted connections again."""
        started = time.monotonic()
        # -l again: without it the new postmaster would write to (and hold open) the
        # pipe this process reads pg_ctl's output from.
        self.run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-m",
            "immediate",
            "-w",
            "-t",
            "120",
            "restart",
        )
        return time.monotonic() - started


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[PrivatePostgres]:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.skip("no PostgreSQL server binaries (initdb) on this machine")
    # Under /tmp itself: pytest's folders are private to root, out of postgres' reach.
    folder = Path(tempfile.mkdtemp(prefix="spares-crash-pg-"))
    folder.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    cluster = PrivatePostgres(
        Path(found[-1]).parent, folder / "data", free_port(), folder / "postgres.log"
    )
    cluster.run("initdb", "-D", str(cluster.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
    options = f"-p {cluster.port} -k {folder} -c listen_addresses=127.0.0.1"
    cluster.run(
        "pg_ctl", "-D", str(cluster.data), "-o", options, "-l", str(cluster.log), "-w", "start"
    )
    try:
        cluster.run(
            "createdb", "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres", "drill"
        )
        yield cluster
    finally:
        with contextlib.suppress(DrillError, subprocess.TimeoutExpired):
            cluster.run("pg_ctl", "-D", str(cluster.data), "-m", "fast", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def test_writes_survive_postgres_restarts_and_server_kills(
    private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    deployment = Deployment.create(private_postgres.url, tmp_path)
    deployment.prepare()
    env = {"FORWARDED_HOPS": "1"}
    servers = [deployment.launch(WORKERS, env) for _ in range(2)]
    cluster = Cluster(deployment, servers, WORKERS, env)
    try:
        for server in servers:
            server.wait_until_ready()
        _drill(cluster, private_postgres)
    finally:
        for server in cluster.servers:
            server.stop()


def _drill(cluster: Cluster, postgres: PrivatePostgres) -> None:
    first = cluster.servers[0]
    planner, staff = token(first, "planner"), token(first, "staff-bj")
    part = f"CR-{uuid.uuid4().hex[:8].upper()}"
    stock_a_part(first, planner, staff, part, 100_000)
    writer = token(first, "planner")
    prefix = f"crash-{uuid.uuid4().hex[:6]}"
    urls = cluster.urls
    result: dict[str, list] = {}

    def write() -> None:
        result["outcomes"] = _together_writers(urls, writer, part, prefix)

    writing = threading.Thread(target=write)
    began = time.monotonic()
    writing.start()
    restarts: list[float] = []
    for at, what in SCHEDULE:
        if at >= SECONDS:
            break
        time.sleep(max(0.0, began + at - time.monotonic()))
        if what == "postgres":
            restarts.append(postgres.restart_immediately())
        elif what == "worker":
            cluster.kill_a_worker(len(cluster.kills) % 2)
        else:
            cluster.kill_and_restart(1)
    writing.join(timeout=SECONDS + 300)
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
    assert restarts, "PostgreSQL was never restarted"
    for index, server in enumerate(cluster.servers):  # each writes again after it all
        _writes_again(server, writer, part, f"{prefix}-after-{index}")
    books_balance(cluster.deployment)
    failed = sum(sum(log.other.values()) for log in logs)
    print(
        f"crash drill: {len(restarts)} PostgreSQL immediate restarts "
        f"({', '.join(f'{s:.1f} s' for s in restarts)}), {len(cluster.kills)} kills "
        f"({', '.join(cluster.kills)}); {verdict.acknowledged} writes acknowledged, all found; "
        f"{verdict.unacknowledged_but_stored} stored without an answer; "
        f"{failed} requests refused or unanswered during the outages"
    )


def _together_writers(urls: list[str], token_: str, part: str, prefix: str) -> list:
    return together(
        keep_writing,
        [(urls, token_, part, f"{prefix}-{w}", SECONDS) for w in range(WRITERS)],
        timeout=SECONDS + 240,
    )


def _writes_again(server: Server, writer: str, part: str, reference: str) -> None:
    body = {"depot": "BJ", "part_number": part, "qty": 1, "reference": reference}
    server.must("POST", "/api/v1/reservations", body, writer, status=201)
