"""Pages of the depots package: the depot map, the lanes editor, the calendars."""

from flask import Blueprint

views = Blueprint("depots", __name__, template_folder="../templates")

from depots.views import calendars, network  # noqa: E402, F401  (routes register on `views`)
