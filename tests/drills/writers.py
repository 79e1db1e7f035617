"""Writers that keep writing while servers (or the database) are killed under them,
and the check that nothing they were told was written is missing.

A writer is a client process: one reservation of one unit after another, each with
a reference of its own, sent round robin to the servers it is given. It keeps the
answer of every request: a 201 is an acknowledged write (its reference and id must
be in the database afterwards, whatever was killed meanwhile); a refused
connection, a timeout or a 5xx is not acknowledged (the write may or may not have
happened: either is allowed, and is counted).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.drills.harness import Deployment, Server, call

DEPOT = "BJ"
# A failed request (server gone) is retried against the next server after this pause,
# so a writer does not spin on a dead port.
PAUSE_AFTER_FAILURE_S = 0.05
WRITE_TIMEOUT_S = 30.0


@dataclass
class WriterLog:
    """What one writer was told: acknowledged references with their ids, and the
    count of every other answer by status (0: no answer at all)."""

    acknowledged: dict[str, int] = field(default_factory=dict)
    other: Counter[int] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)  # 4xx bodies: a defect, not a crash


def keep_writing(urls: list[str], token: str, part: str, prefix: str, seconds: float) -> WriterLog:
    """Reserve one unit of ``part`` at BJ again and again for ``seconds``, round robin
    over ``urls`` (run in a client process of ``harness.together``)."""
    log = WriterLog()
    stop = time.monotonic() + seconds
    number = 0
    while time.monotonic() < stop:
        url = urls[number % len(urls)]
        reference = f"{prefix}-{number:06d}"
        number += 1
        body = {"depot": DEPOT, "part_number": part, "qty": 1, "reference": reference}
        answer = call(
            url, "POST", "/api/v1/reservations", body, token=token, timeout=WRITE_TIMEOUT_S
        )
        if answer.status == 201:
            log.acknowledged[reference] = int(answer.body["id"])
            continue
        log.other[answer.status] += 1
        if 400 <= answer.status < 500:
            log.unexpected.append(f"{answer.status} {reference}: {answer.body}"[:300])
        time.sleep(PAUSE_AFTER_FAILURE_S)
    return log


@dataclass(frozen=True)
class Verdict:
    acknowledged: int  # writes answered 201
    stored: int  # reservations of the drill found in the database
    lost: list[str]  # acknowledged but missing (or stored under another id)
    unacknowledged_but_stored: int  # committed, but the answer never arrived


def verify(engine: Engine, prefix: str, logs: list[WriterLog]) -> Verdict:
    """Compare what the writers were told with what the database holds."""
    told = {ref: id_ for log in logs for ref, id_ in log.acknowledged.items()}
    with engine.connect() as connection:
        stored = dict(
            connection.execute(
                text("SELECT reference, id FROM reservation WHERE reference LIKE :prefix"),
                {"prefix": f"{prefix}-%"},
            ).all()
        )
    lost = sorted(ref for ref, id_ in told.items() if stored.get(ref) != id_)
    return Verdict(len(told), len(stored), lost, len(set(stored) - set(told)))


def stock_a_part(server: Server, planner: str, staff: str, part: str, qty: int) -> None:
    """A new bulk part with ``qty`` in good stock at BJ, through the API."""
    server.must(
        "POST",
        "/api/v1/parts",
        {
            "part_number": part,
            "description": f"drill part {part}",
            "family": "line_card",
            "serialized": False,
            "unit_cost": 10,
        },
        planner,
        status=201,
    )
    server.must(
        "POST",
        "/api/v1/stock/receipts",
        {"depot": DEPOT, "part_number": part, "qty": qty, "serials": []},
        staff,
        status=201,
    )


def books_balance(deployment: Deployment) -> str:
    """`spares check` output; raises AssertionError when the books do not balance."""
    check = deployment.cli("check")
    assert check.returncode == 0, check.stdout + check.stderr
    return check.stdout
