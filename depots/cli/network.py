"""PLACEHOLDER."""

import click


@click.group("lanes")
def lanes_group() -> None:
    """Transport lanes."""
