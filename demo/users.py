"""Demo logins: one per role and one depot-staff user per depot, all `spares-demo`."""

from __future__ import annotations

import random

from sqlmodel import select

from core.auth import Role, create_user
from core.db import UnitOfWork
from depots.models import Depot
from rma.demo import EXTRA_ENGINEERS

DEMO_PASSWORD = "spares-demo"

ROLE_USERS = {
    "admin": ("Administrator", Role.ADMIN),
    "planner": ("Li Na (planner)", Role.PLANNER),
    "engineer": ("Wang Wei (service engineer)", Role.ENGINEER),
    "supervisor": ("Zhang Min (service supervisor)", Role.SUPERVISOR),
}


def build_users(uow: UnitOfWork, _rng: random.Random) -> str:
    for username, (full_name, role) in ROLE_USERS.items():
        create_user(
            uow,
            username,
            DEMO_PASSWORD,
            role,
            full_name=full_name,
            email=f"{username}@spares.example",
        )
    for username, full_name in EXTRA_ENGINEERS.items():
        create_user(
            uow,
            username,
            DEMO_PASSWORD,
            Role.ENGINEER,
            full_name=full_name,
            email=f"{username}@spares.example",
        )
    depots = uow.session.exec(select(Depot).order_by(Depot.code)).all()
    for depot in depots:
        create_user(
            uow,
            f"staff-{depot.code.lower()}",
            DEMO_PASSWORD,
            Role.DEPOT_STAFF,
            depot_code=depot.code,
            full_name=f"{depot.name} staff",  # "Beijing depot staff"
            email=f"staff-{depot.code.lower()}@spares.example",
        )
    count = len(ROLE_USERS) + len(EXTRA_ENGINEERS) + len(depots)
    return f"  {count} users (password {DEMO_PASSWORD!r})"
