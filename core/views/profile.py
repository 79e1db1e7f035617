"""Everyone's profile: the interface language (taking effect on the next page), the
password, and the signed-in sessions. The rules are in ``core.users`` and
``core.sessions``."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import PasswordField

from core import auth, sessions
from core import users as service
from core.errors import DomainError, Invalid
from core.i18n import LANGUAGES, force_locale, gettext, language_for, lazy_gettext, ngettext
from core.views import views
from core.views.forms import show_error, signed_in_actor
from core.views.session import session_idle, session_token
from core.web import settings, uow

# The choice that stores no language: pages follow the browser's Accept-Language.
FOLLOW_BROWSER = ""


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(lazy_gettext("Current password"))
    password = PasswordField(lazy_gettext("New password"))
    confirm = PasswordField(lazy_gettext("New password again"))


def _profile_page(
    *,
    status: int = 200,
    password_form: PasswordChangeForm | None = None,
    language_error: str | None = None,
) -> Any:
    actor = signed_in_actor()
    return (
        render_template(
            "core/profile.html",
            me=actor,
            languages=LANGUAGES,
            chosen=actor.language if actor.language in LANGUAGES else FOLLOW_BROWSER,
            language_error=language_error,
            password_form=password_form or PasswordChangeForm(formdata=None),
            min_length=settings().min_password_length,
            sessions=sessions.live_sessions(uow(), actor, session_token(), idle=session_idle()),
        ),
        status,
    )


@views.route("/profile")
@auth.page_roles()
def profile() -> Any:
    return _profile_page()


@views.route("/profile/language", methods=["POST"])
@auth.page_roles()
def profile_language() -> Any:
    raw = request.form.get("language", FOLLOW_BROWSER)
    choice = None if raw == FOLLOW_BROWSER else raw
    try:
        service.set_language(uow(), signed_in_actor(), choice)
    except DomainError as error:
        return _profile_page(status=error.status, language_error=error.detail)
    # Said in the language chosen: it is the one the next page comes in.
    with force_locale(language_for(choice)):
        flash(gettext("Language saved."), "ok")
    return redirect(url_for("core.profile"))


@views.route("/profile/password", methods=["POST"])
@auth.page_roles()
def profile_password() -> Any:
    form = PasswordChangeForm()
    try:
        if (form.password.data or "") != (form.confirm.data or ""):
            raise Invalid(gettext("The two new passwords differ."), field="confirm")
        service.change_own_password(
            uow(),
            signed_in_actor(),
            form.current_password.data or "",
            form.password.data or "",
            min_password_length=settings().min_password_length,
            keep_session=session_token(),
        )
    except DomainError as error:
        show_error(form, error)
        return _profile_page(status=error.status, password_form=form)
    flash(gettext("Password changed. Your other sessions are signed out."), "ok")
    return redirect(url_for("core.profile"))


@views.route("/profile/sessions/end-others", methods=["POST"])
@auth.page_roles()
def profile_end_other_sessions() -> Any:
    """Sign out everywhere else: every session of the user but this one ends."""
    token = session_token()
    ended = sessions.end_other_sessions(uow(), signed_in_actor(), token) if token else 0
    flash(
        ngettext("%(num)d other session signed out.", "%(num)d other sessions signed out.", ended),
        "ok",
    )
    return redirect(url_for("core.profile"))
