"""PLACEHOLDER."""

from depots.api import api  # noqa: F401
