"""What core's form pages share: the signed-in actor, and a refused use case's
message put next to the field it is about."""

from __future__ import annotations

from flask_login import current_user
from flask_wtf import FlaskForm

from core.auth import Actor
from core.errors import DomainError


def signed_in_actor() -> Actor:
    """The signed-in actor itself (services are given values, not request proxies)."""
    return current_user._get_current_object()  # type: ignore[attr-defined, no-any-return]


def show_error(form: FlaskForm, error: DomainError) -> None:
    """Show ``error`` on ``form``: under the field it names (``error.extra["field"]``)
    when the form has that field, else at the top of the form."""
    field = error.extra.get("field")
    if isinstance(field, str) and field in form:
        form[field].errors = [error.detail]
    else:
        form.form_errors = [error.detail]
