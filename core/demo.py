"""The deterministic demo data set, assembled from each domain's own builder.

The builders are registered by the application (``app.py``), never imported here.

Each domain package exposes ``build_demo(uow, rng)`` for what it owns; they run
in registration order (depots before inventory before RMAs) inside one
transaction, so a failure leaves the database as it was. One seeded random
generator feeds them all, so the data set is the same on every machine.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from sqlmodel import func, select

from core.auth import User
from core.db import UnitOfWork, read_only, transactional
from core.errors import Conflict
from core.i18n import gettext

DemoBuilder = Callable[[UnitOfWork, random.Random], str]


@read_only
def _user_count(uow: UnitOfWork) -> int:
    return uow.session.exec(select(func.count()).select_from(User)).one()


def load_demo(
    uow: UnitOfWork, builders: Sequence[DemoBuilder], *, seed: int, if_empty: bool = False
) -> str:
    """Run every builder; refuse (``Conflict``) on a database that already has users."""
    if _user_count(uow) > 0:
        if if_empty:
            return "database already has data; demo not loaded"
        raise Conflict(gettext("database is not empty; the demo loads into a fresh database only"))
    return "\n".join(["demo data loaded:", *_build_all(uow, builders, seed)])


@transactional
def _build_all(uow: UnitOfWork, builders: Sequence[DemoBuilder], seed: int) -> list[str]:
    rng = random.Random(seed)  # made here so a retried transaction replays the same data
    return [builder(uow, rng) for builder in builders]
