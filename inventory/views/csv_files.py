"""CSV pages: stock and ledger lines of the depot shown as CSV files, and the
import of parts or opening stock from an uploaded or pasted CSV (planners)."""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for

from core import auth
from core.errors import DomainError, Invalid, NotFound
from core.i18n import gettext, lazy_gettext
from core.web import uow
from inventory.service import exports, imports
from inventory.views import views
from inventory.views.common import (
    IMPORTERS,
    VIEWERS,
    current_actor,
    form_with_error,
    viewed_depot,
)


def _csv_response(body: str, filename: str) -> Response:
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@views.route("/stock.csv")
@auth.page_roles(*VIEWERS)
def stock_csv() -> Response:
    """Stock of the depot shown (staff: their own), as CSV."""
    depot = viewed_depot(current_actor(), request.args.get("depot"))
    body = exports.export_stock_csv(uow(), depot=depot)
    return _csv_response(body, f"stock-{depot or 'all'}.csv")


@views.route("/ledger.csv")
@auth.page_roles(*VIEWERS)
def ledger_csv() -> Response:
    """Ledger lines of the depot shown (staff: their own), optionally one part, as CSV."""
    depot = viewed_depot(current_actor(), request.args.get("depot"))
    part_number = (request.args.get("part_number") or "").strip() or None
    body = exports.export_ledger_csv(uow(), depot=depot, part_number=part_number)
    suffix = f"-{part_number.replace('/', '_')}" if part_number else ""
    return _csv_response(body, f"ledger-{depot or 'all'}{suffix}.csv")


CSV_KINDS = {"parts": lazy_gettext("Parts catalogue"), "stock": lazy_gettext("Opening stock")}


def _uploaded_text() -> str:
    """The CSV text of the upload (UTF-8 or GB18030), or of the pasted text."""
    upload = request.files.get("file")
    raw = upload.read() if upload is not None and upload.filename else b""
    if raw:
        return imports.decode_csv(raw)
    pasted = request.form.get("text", "")
    if pasted.strip():
        return pasted
    raise Invalid(gettext("Choose a CSV file (or paste its text) first"), field="file")


@views.route("/stock/import", methods=["GET", "POST"])
@auth.page_roles(*IMPORTERS)
def csv_import() -> Any:
    kind = request.values.get("kind", "parts")
    if kind not in CSV_KINDS:
        raise NotFound(gettext("unknown import %(kind)r", kind=kind))
    if request.method == "GET":
        return render_template("inventory/import.html", kind=kind, kinds=CSV_KINDS)
    run = imports.import_parts if kind == "parts" else imports.import_stock
    try:
        report = run(uow(), current_actor(), _uploaded_text())
    except DomainError as error:
        problems = error.fields if isinstance(error, Invalid) else ()
        return form_with_error(
            "inventory/import.html", error, kind=kind, kinds=CSV_KINDS, problems=problems
        )
    flash(gettext("Imported %(summary)s.", summary=report.summary()), "ok")
    return redirect(url_for(".csv_import", kind=kind))
