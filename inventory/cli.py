"""Terminal commands of the inventory (being written)."""

from typing import Any


def register(app: Any) -> None:
    pass
