"""PLACEHOLDER: being written."""

from core.db import UnitOfWork


def seed_network(uow: UnitOfWork) -> None:
    pass
