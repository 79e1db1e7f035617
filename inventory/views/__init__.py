"""Pages for depot staff and planners: stock, receipts, transfers, stock moves,
units and bins, the ledger, reservations, CSV import/export and the printable
transfer note.

The pages are a thin layer over ``inventory.service``: they read form fields,
call the same use cases as the API and the CLI, and show what came back. The
services decide who may do what; pages only hide buttons a user could not use.
Depot staff see their own depot by default and can act only on it; planners and
administrators may look at every depot. A form with an error is shown again
with the error, the answer's status is 4xx, and nothing has changed.

Every word is in the reader's language (the catalogue in
``inventory/translations``); stored codes (``in_transit``, ``partially_received``)
are shown through ``inventory.labels``. Lists are paged, sorted and filtered on
the server (``inventory.service.lists``). A transfer is ``T2`` in its URL too
(``/transfers/T2``; ``/transfers/2`` still works).

Barcode scanners type a code and press Enter: one-line fields move on to the
next field on Enter (a few lines of inline JavaScript; without it the browser
simply submits), and serials go into text areas, one per line.

The routes live in one module per use case (``stock``, ``units``, ``lists``,
``stock_moves``, ``transfers``, ``csv_files``); what they share is in ``common``.
"""

from typing import Any

from flask import Blueprint
from flask.blueprints import BlueprintSetupState
from flask_babel import pgettext
from flask_babel.speaklater import LazyString
from werkzeug.routing import BaseConverter, ValidationError

from core.i18n import lazy_gettext
from core.web import add_nav
from inventory.service.transfers import TRANSFER_CODE, transfer_code
from inventory.views.common import IMPORTERS, STAFF, TRANSFER_ROLES, VIEWERS, label_helpers

views = Blueprint("inventory", __name__, template_folder="../templates")


class TransferCodeConverter(BaseConverter):
    """``<transfer:transfer_id>``: ``T2`` (or ``2``) in a URL, the id 2 in the view;
    links are always built as ``T2``."""

    regex = r"[Tt]?\d{1,18}"

    def to_python(self, value: str) -> int:
        match = TRANSFER_CODE.match(value)
        if match is None:
            raise ValidationError()
        return int(match.group(1))

    def to_url(self, value: Any) -> str:
        return transfer_code(int(value))


def _register_converter(state: BlueprintSetupState) -> None:
    state.app.url_map.converters["transfer"] = TransferCodeConverter


# Recorded before any route, so the converter exists when the routes are added.
views.record_once(_register_converter)


@views.context_processor
def _labels() -> dict[str, Any]:
    return label_helpers()


add_nav(lazy_gettext("Stock"), "inventory.stock", *VIEWERS, order=30)
# "Receive" in the inventory's sense (入库), not another package's (接收): a context.
add_nav(LazyString(lambda: pgettext("inventory", "Receive")), "inventory.receive", STAFF, order=31)
add_nav(lazy_gettext("Transfers"), "inventory.transfers", *TRANSFER_ROLES, order=32)
add_nav(lazy_gettext("Move stock"), "inventory.move", STAFF, order=33)
add_nav(lazy_gettext("Import CSV"), "inventory.csv_import", *IMPORTERS, order=34)

from inventory.views import (  # noqa: E402, F401  (routes register on `views`)
    csv_files,
    lists,
    stock,
    stock_moves,
    transfers,
    units,
)
