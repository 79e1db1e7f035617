"""PLACEHOLDER."""

from depots.views import views  # noqa: F401
