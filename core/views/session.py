"""Sign-in, sign-out, the home page and the favicon."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from core import auth
from core.errors import Unauthorized
from core.i18n import gettext, lazy_gettext
from core.views import views
from core.web import add_nav, current_nav, limiter, uow

add_nav(lazy_gettext("Home"), "core.home", order=0)

# The session keeps the stamp of the password it was signed in with (auth.password_stamp).
STAMP_KEY = "password_stamp"


def remember_password_stamp(stamp: str) -> None:
    """Keep this browser session going under a (new) password."""
    session[STAMP_KEY] = stamp


@views.app_context_processor
def _header_helpers() -> dict[str, Any]:
    """``current_nav(items)``: the one navigation item the header highlights."""
    return {"current_nav": lambda items: current_nav(items, request.path, request.endpoint)}


@views.before_app_request
def _end_sessions_of_an_old_password() -> None:
    """A password changed since this session signed in ends it: the user is
    anonymous from this request on (pages then ask them to sign in)."""
    if request.path.startswith(("/api/", "/static/")):
        return
    if current_user.is_authenticated and session.get(STAMP_KEY) != current_user.session_stamp:
        logout_user()
        session.pop(STAMP_KEY, None)


class LoginForm(FlaskForm):
    username = StringField(
        lazy_gettext("Username"),
        validators=[
            DataRequired(lazy_gettext("Enter your username.")),
            Length(
                max=64, message=lazy_gettext("A username has at most %(num)d characters.", num=64)
            ),
        ],
    )
    password = PasswordField(
        lazy_gettext("Password"),
        validators=[
            DataRequired(lazy_gettext("Enter your password.")),
            Length(
                max=auth.MAX_PASSWORD_LENGTH,
                message=lazy_gettext(
                    "A password has at most %(num)d characters.", num=auth.MAX_PASSWORD_LENGTH
                ),
            ),
        ],
    )


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths, so the login page cannot be used to redirect away."""
    if not target:
        return url_for("core.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("core.home")
    return target


@views.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            actor = auth.authenticate(uow(), form.username.data or "", form.password.data or "")
        except Unauthorized:
            form.password.errors = [gettext("Unknown user or wrong password.")]
            status = 401
        else:
            login_user(actor)
            remember_password_stamp(actor.session_stamp)
            flash(gettext("Signed in as %(user)s.", user=actor.username), "ok")
            return redirect(_safe_next(request.args.get("next")))
    elif request.method == "POST":
        status = 400
    return render_template("login.html", form=form), status


@views.route("/logout", methods=["POST"])
def logout() -> Any:
    logout_user()
    session.pop(STAMP_KEY, None)
    flash(gettext("Signed out."), "ok")
    return redirect(url_for("core.login"))


@views.route("/")
@auth.page_roles()
def home() -> Any:
    return render_template("home.html")


@views.route("/favicon.ico")
def favicon() -> Any:
    """Browsers ask for /favicon.ico on their own; the icon is an SVG."""
    return redirect(url_for("static", filename="favicon.svg"), code=301)
