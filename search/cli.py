"""Terminal commands of the search: rebuild the stored keys, and search from the shell."""

from __future__ import annotations

from typing import Any

import click
from flask.cli import AppGroup

from core.cli import domain_errors
from core.web import uow
from search.service import find, indexing

NOUNS = {
    "customer": ("customer", "customers"),
    "site": ("site", "sites"),
    "city": ("city", "cities"),
    "part": ("part", "parts"),
}


@click.group("search", cls=AppGroup)  # AppGroup: every command runs in the app context
def search_group() -> None:
    """The search index and searching."""


@search_group.command("reindex")
@domain_errors
def reindex_command() -> None:
    """Rebuild every search key from the customers, sites, cities and parts as they are
    (after names were changed by hand-written SQL, or the key rules changed)."""
    counts = indexing.reindex(uow())
    click.echo(
        "search index rebuilt: "
        + ", ".join(f"{count:,} {NOUNS[kind][count != 1]}" for kind, count in counts.items())
    )


@search_group.command("find")
@click.argument("text")
@domain_errors
def find_command(text: str) -> None:
    """Print what TEXT finds, kind by kind (at most 10 of each)."""
    results = find.find(uow(), text)
    if not results.groups:
        click.echo(f"nothing found for {results.text!r}")
        return
    for group in results.groups:
        click.echo(f"{group.kind}: {group.total:,}")
        for hit in group.hits:
            click.echo(f"  {hit.english_label()}")
        if group.more:
            click.echo(f"  ... and {group.more:,} more")


def register(app: Any) -> None:
    app.cli.add_command(search_group)
