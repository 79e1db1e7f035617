"""The administrators' user management: the list (paginated, sorted and filtered on
the server), creating a user, and one user's page (role and depot, deactivate,
reactivate, reset the password). The rules are in ``core.users``; a refused form
comes back with the reason next to the field and a 4xx status."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import pgettext
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField

from core import auth
from core import users as service
from core.auth import ROLE_NAMES, Role
from core.errors import DomainError
from core.i18n import gettext, lazy_gettext, ngettext, zh_first
from core.pagination import PageRequest
from core.views import views
from core.views.forms import show_error, signed_in_actor
from core.web import add_nav, settings, uow

add_nav(lazy_gettext("Users"), "core.users", Role.ADMIN, order=95)

SEARCH_MAX = 100


def _status_labels() -> dict[str, str]:
    """An account's status in the reader's language, under its own context: the
    packages' catalogues are merged, and another package's "active" (a contract's,
    a reservation's: 有效) read beside this page's 启用/停用."""
    return {
        "active": pgettext("user status", "active"),
        "inactive": pgettext("user status", "inactive"),
    }


class NewUserForm(FlaskForm):
    username = StringField(lazy_gettext("Username"))
    full_name = StringField(lazy_gettext("Full name"))
    email = StringField(lazy_gettext("E-mail"))
    role = SelectField(lazy_gettext("Role"), validate_choice=False)
    depot = SelectField(lazy_gettext("Depot (depot staff only)"), validate_choice=False)
    password = PasswordField(lazy_gettext("Initial password"))


class RoleForm(FlaskForm):
    role = SelectField(lazy_gettext("Role"), validate_choice=False)
    depot = SelectField(lazy_gettext("Depot (depot staff only)"), validate_choice=False)


class PasswordResetForm(FlaskForm):
    password = PasswordField(lazy_gettext("New password"))


def _with_choices(form: Any) -> Any:
    """Fill a form's role and depot choices (labels in the reader's language)."""
    form.role.choices = [(role, auth.role_label(role)) for role in ROLE_NAMES]
    form.depot.choices = [("", gettext("none"))] + [
        (code, f"{code} {zh_first(name_zh, name)}")
        for code, name, name_zh in service.depot_choices(uow())
    ]
    return form


def _min_length() -> int:
    return settings().min_password_length


# --- the list -------------------------------------------------------------------------------


@views.route("/users")
@auth.page_roles(Role.ADMIN)
def users() -> Any:
    role = request.args.get("role", "")
    status = request.args.get("status", "")
    filters = service.UserFilter(
        role=role if role in ROLE_NAMES else "",
        status=status if status in service.STATUSES else "",
        search=request.args.get("q", "")[:SEARCH_MAX],
    )
    page_request = PageRequest.from_args(
        request.args, sorts=service.USER_SORTS, default_sort="username"
    )
    listing = service.list_users(uow(), signed_in_actor(), filters, page_request)
    kept = {"q": filters.search, "role": filters.role, "status": filters.status}
    return render_template(
        "core/users.html",
        listing=listing,
        filters=filters,
        args={name: value for name, value in kept.items() if value},
        roles=[(name, auth.role_label(name)) for name in ROLE_NAMES],
        statuses=_status_labels(),
    )


# --- creating a user ------------------------------------------------------------------------


@views.route("/users/new", methods=["GET", "POST"])
@auth.page_roles(Role.ADMIN)
def user_new() -> Any:
    form = _with_choices(NewUserForm())
    if request.method == "GET":
        form.role.data = Role.ENGINEER.value
        return render_template("core/user_new.html", form=form, min_length=_min_length())
    try:
        created = service.create_user(
            uow(),
            signed_in_actor(),
            service.NewUser(
                username=form.username.data or "",
                full_name=form.full_name.data or "",
                email=form.email.data or None,
                role=form.role.data or "",
                depot_code=form.depot.data or None,
                password=form.password.data or "",
            ),
            min_password_length=_min_length(),
        )
    except DomainError as error:
        show_error(form, error)
        page = render_template("core/user_new.html", form=form, min_length=_min_length())
        return page, error.status
    flash(gettext("User %(user)s created.", user=created.username), "ok")
    return redirect(url_for("core.user", user_id=created.id))


# --- one user -------------------------------------------------------------------------------


def _user_page(
    user_id: int,
    *,
    status: int = 200,
    role_form: RoleForm | None = None,
    password_form: PasswordResetForm | None = None,
    status_error: str | None = None,
) -> Any:
    user = service.get_user(uow(), signed_in_actor(), user_id)
    if role_form is None:
        role_form = _with_choices(RoleForm(formdata=None))
        role_form.role.data = user.role
        role_form.depot.data = user.depot_code or ""
    return (
        render_template(
            "core/user.html",
            user=user,
            is_me=user.id == signed_in_actor().id,
            role_form=role_form,
            password_form=password_form or PasswordResetForm(formdata=None),
            status_error=status_error,
            min_length=_min_length(),
            status_labels=_status_labels(),
        ),
        status,
    )


@views.route("/users/<int:user_id>")
@auth.page_roles(Role.ADMIN)
def user(user_id: int) -> Any:
    return _user_page(user_id)


@views.route("/users/<int:user_id>/role", methods=["POST"])
@auth.page_roles(Role.ADMIN)
def user_role(user_id: int) -> Any:
    form = _with_choices(RoleForm())
    try:
        changed = service.set_role(
            uow(), signed_in_actor(), user_id, form.role.data or "", form.depot.data or None
        )
    except DomainError as error:
        show_error(form, error)
        return _user_page(user_id, status=error.status, role_form=form)
    if changed.depot_code:
        message = gettext(
            "%(user)s is now %(role)s at %(depot)s.",
            user=changed.username,
            role=auth.role_label(changed.role),
            depot=changed.depot_code,
        )
    else:
        message = gettext(
            "%(user)s is now %(role)s.", user=changed.username, role=auth.role_label(changed.role)
        )
    flash(message, "ok")
    return redirect(url_for("core.user", user_id=user_id))


@views.route("/users/<int:user_id>/deactivate", methods=["POST"])
@auth.page_roles(Role.ADMIN)
def user_deactivate(user_id: int) -> Any:
    try:
        target = service.get_user(uow(), signed_in_actor(), user_id)
        revoked = service.deactivate(uow(), signed_in_actor(), user_id)
    except DomainError as error:
        return _user_page(user_id, status=error.status, status_error=error.detail)
    flash(
        ngettext(
            "%(user)s is deactivated: signed out everywhere, %(num)d API token revoked.",
            "%(user)s is deactivated: signed out everywhere, %(num)d API tokens revoked.",
            revoked,
            user=target.username,
        ),
        "ok",
    )
    return redirect(url_for("core.user", user_id=user_id))


@views.route("/users/<int:user_id>/reactivate", methods=["POST"])
@auth.page_roles(Role.ADMIN)
def user_reactivate(user_id: int) -> Any:
    try:
        target = service.reactivate(uow(), signed_in_actor(), user_id)
    except DomainError as error:
        return _user_page(user_id, status=error.status, status_error=error.detail)
    flash(gettext("%(user)s can sign in again.", user=target.username), "ok")
    return redirect(url_for("core.user", user_id=user_id))


@views.route("/users/<int:user_id>/password", methods=["POST"])
@auth.page_roles(Role.ADMIN)
def user_password(user_id: int) -> Any:
    form = PasswordResetForm()
    try:
        target = service.get_user(uow(), signed_in_actor(), user_id)
        revoked = service.reset_password(
            uow(),
            signed_in_actor(),
            user_id,
            form.password.data or "",
            min_password_length=_min_length(),
        )
    except DomainError as error:
        show_error(form, error)
        return _user_page(user_id, status=error.status, password_form=form)
    flash(
        ngettext(
            "New password set for %(user)s: signed out everywhere, %(num)d API token revoked.",
            "New password set for %(user)s: signed out everywhere, %(num)d API tokens revoked.",
            revoked,
            user=target.username,
        ),
        "ok",
    )
    return redirect(url_for("core.user", user_id=user_id))
