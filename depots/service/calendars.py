"""PLACEHOLDER: being written."""

from core.db import UnitOfWork


def seed_calendars(uow: UnitOfWork) -> None:
    pass
