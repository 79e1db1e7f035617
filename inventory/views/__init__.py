"""Pages for depot staff and planners: stock, receipts, transfers, stock moves,
units, CSV import/export and the printable transfer note.

The pages are a thin layer over ``inventory.service``: they read form fields,
call the same use cases as the API and the CLI, and show what came back. The
services decide who may do what; pages only hide buttons a user could not use.
Depot staff see their own depot by default and can act only on it; planners and
administrators may look at every depot. A form with an error is shown again
with the error, the answer's status is 4xx, and nothing has changed.

Barcode scanners type a code and press Enter: one-line fields move on to the
next field on Enter (a few lines of inline JavaScript; without it the browser
simply submits), and serials go into text areas, one per line.

The routes live in one module per use case (``stock``, ``stock_moves``,
``transfers``, ``csv_files``); what they share is in ``common``.
"""

from flask import Blueprint

from core.web import add_nav
from inventory.views.common import IMPORTERS, STAFF, TRANSFER_ROLES, VIEWERS

views = Blueprint("inventory", __name__, template_folder="../templates")

add_nav("Stock", "inventory.stock", *VIEWERS, order=30)
add_nav("Receive", "inventory.receive", STAFF, order=31)
add_nav("Transfers", "inventory.transfers", *TRANSFER_ROLES, order=32)
add_nav("Move stock", "inventory.move", STAFF, order=33)
add_nav("Import CSV", "inventory.csv_import", *IMPORTERS, order=34)

from inventory.views import (  # noqa: E402, F401  (routes register on `views`)
    csv_files,
    stock,
    stock_moves,
    transfers,
)
