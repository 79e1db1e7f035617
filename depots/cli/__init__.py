"""Terminal commands of the depots package."""

from typing import Any

from depots.cli.calendars import calendar_group
from depots.cli.network import lanes_group


def register(app: Any) -> None:
    from core.cli import SEEDERS_KEY
    from depots.service.reference import seed_reference_data

    app.cli.add_command(calendar_group)
    app.cli.add_command(lanes_group)
    app.extensions[SEEDERS_KEY].append(seed_reference_data)
