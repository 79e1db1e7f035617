"""JSON API of the depots package: depots, cities, lanes, calendars."""

from flask_openapi3 import APIBlueprint

api = APIBlueprint("depots_api", __name__, url_prefix="/api/v1", abp_security=[{"bearer": []}])

from depots.api import calendars, network  # noqa: E402, F401  (routes register on `api`)
