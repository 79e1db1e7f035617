"""PLACEHOLDER."""

import click


@click.group("calendar")
def calendar_group() -> None:
    """Working-hours calendars."""
