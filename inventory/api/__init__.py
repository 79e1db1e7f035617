"""JSON API of the inventory: parts, stock and its moves, reservations, transfers,
the ledger, serialized units, and CSV in and out.

Every route needs a bearer token. Anyone signed in may read; writes need the
role named on the route's ``auth.api_roles`` guard (checked before the input is
validated, see ``core.auth.enforce_api_access``), and depot staff act only for
their own depot (the service checks that). Every POST that writes runs through
``answer_once``, so a request repeated with the same ``Idempotency-Key`` gets
the first answer again and writes nothing new.

The routes live in one module per use case (``parts``, ``stock``,
``reservations``, ``transfers``, ``ledger``, ``csv_files``); what their answers
share is in ``answers``.
"""

from flask_openapi3 import APIBlueprint, Tag

api = APIBlueprint(
    "inventory_api",
    __name__,
    url_prefix="/api/v1",
    abp_security=[{"bearer": []}],
    abp_tags=[Tag(name="inventory")],
)


from inventory.api import (  # noqa: E402, F401  (routes register on `api`)
    csv_files,
    ledger,
    parts,
    reservations,
    stock,
    transfers,
)
