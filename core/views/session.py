"""Sign-in, sign-out, the home page and the favicon."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from core import auth, sessions
from core.errors import Unauthorized
from core.i18n import gettext, lazy_gettext
from core.views import views
from core.web import add_nav, current_nav, limiter, settings, uow

add_nav(lazy_gettext("Home"), "core.home", order=0)

# The browser's (signed) session cookie carries the server-side session's token.
SESSION_TOKEN_KEY = "session_token"


def session_token() -> str | None:
    """The token of this browser's server-side session (``core.sessions``), if any."""
    token = session.get(SESSION_TOKEN_KEY)
    return token if isinstance(token, str) else None


def signed_in_actor_for(user_id: str) -> auth.Actor | None:
    """Flask-Login's user loader: the actor of this request's session, when the
    session the cookie names is still live on the server and is ``user_id``'s."""
    token = session_token()
    if token is None or not user_id.isdigit():
        return None
    live = sessions.live_session(uow(), token, idle=session_idle())
    if live is None or live.actor.id != int(user_id):
        session.pop(SESSION_TOKEN_KEY, None)
        return None
    if live.needs_touch:
        sessions.touch(uow(), live.id)
    return live.actor


def session_idle() -> timedelta:
    return timedelta(hours=settings().session_idle_hours)


@views.app_context_processor
def _header_helpers() -> dict[str, Any]:
    """``current_nav(items)``: the one navigation item the header highlights."""
    return {"current_nav": lambda items: current_nav(items, request.path, request.endpoint)}


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
            token = sessions.start_session(
                uow(),
                actor,
                user_agent=request.user_agent.string,
                address=request.remote_addr or "",
            )
        except Unauthorized:
            form.password.errors = [gettext("Unknown user or wrong password.")]
            status = 401
        else:
            session[SESSION_TOKEN_KEY] = token
            login_user(actor)
            flash(gettext("Signed in as %(user)s.", user=actor.username), "ok")
            return redirect(_safe_next(request.args.get("next")))
    elif request.method == "POST":
        status = 400
    return render_template("login.html", form=form), status


@views.route("/logout", methods=["POST"])
def logout() -> Any:
    """Sign out: the session ends on the server, so a copy of the cookie is refused too."""
    token = session.pop(SESSION_TOKEN_KEY, None)
    if isinstance(token, str):
        sessions.end_session(uow(), token)
    logout_user()
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
