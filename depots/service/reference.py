"""Reference data every installation needs: calendars, cities, depots, default lanes."""

from __future__ import annotations

from core.db import UnitOfWork, transactional
from depots.service.calendars import seed_calendars
from depots.service.network import seed_network


@transactional
def seed_reference_data(uow: UnitOfWork) -> None:
    """Insert whatever reference rows are missing; never overwrites planners' edits.

    Calendars come first: depots point at the calendar they work to.
    """
    seed_calendars(uow)
    seed_network(uow)
