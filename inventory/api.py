"""JSON API of the inventory (being written)."""

from flask_openapi3 import APIBlueprint, Tag

api = APIBlueprint(
    "inventory_api",
    __name__,
    url_prefix="/api/v1",
    abp_security=[{"bearer": []}],
    abp_tags=[Tag(name="inventory")],
)
