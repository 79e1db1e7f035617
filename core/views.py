"""Sign-in, sign-out and the home page."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from core import auth
from core.errors import Unauthorized
from core.i18n import gettext, lazy_gettext
from core.web import add_nav, limiter, uow

views = Blueprint("core", __name__, template_folder="templates")

add_nav(lazy_gettext("Home"), "core.home", order=0)


class LoginForm(FlaskForm):
    username = StringField(lazy_gettext("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(lazy_gettext("Password"), validators=[DataRequired(), Length(max=256)])


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
            flash(gettext("Signed in as %(user)s.", user=actor.username), "ok")
            return redirect(_safe_next(request.args.get("next")))
    elif request.method == "POST":
        status = 400
    return render_template("login.html", form=form), status


@views.route("/logout", methods=["POST"])
def logout() -> Any:
    logout_user()
    flash(gettext("Signed out."), "ok")
    return redirect(url_for("core.login"))


@views.route("/")
@auth.page_roles()
def home() -> Any:
    return render_template("home.html")
