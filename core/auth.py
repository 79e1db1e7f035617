"""Users, roles, API tokens, login and the authorization checks.

Passwords are hashed with scrypt (werkzeug); API tokens are random and only
their SHA-256 is stored, so a database dump does not hand out live tokens.
Authorization is decided on the server for every request: pages and API calls
name the roles they admit, and services check depot-level rights themselves
through the ``Actor`` they are given.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from flask import abort, g, redirect, request, url_for
from flask_login import UserMixin, current_user
from sqlalchemy import CheckConstraint, Column, String, bindparam, text, update
from sqlalchemy import select as sa_select
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel, col, func, select
from werkzeug.security import check_password_hash, generate_password_hash

from core import clock
from core.db import UnitOfWork, UTCDateTime, read_only, transactional
from core.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from core.i18n import gettext, join_or, lazy_gettext, ngettext

# Werkzeug's scrypt defaults (N=2^15) in production; the test suite lowers the
# cost through the environment, since every test user pays it.
PASSWORD_HASH_METHOD = os.environ.get("PASSWORD_HASH_METHOD", "scrypt")


class Role(StrEnum):
    ADMIN = "admin"
    PLANNER = "planner"
    ENGINEER = "engineer"
    DEPOT_STAFF = "depot_staff"
    SUPERVISOR = "supervisor"


ROLE_NAMES = tuple(role.value for role in Role)
# What people call each role, in the reader's language.
ROLE_LABELS = {
    Role.ADMIN.value: lazy_gettext("administrator"),
    Role.PLANNER.value: lazy_gettext("planner"),
    Role.ENGINEER.value: lazy_gettext("service engineer"),
    Role.DEPOT_STAFF.value: lazy_gettext("depot staff"),
    Role.SUPERVISOR.value: lazy_gettext("service supervisor"),
}
# The longest password the sign-in form accepts.
MAX_PASSWORD_LENGTH = 256


def role_label(role: str) -> str:
    """The role as people call it, in the current language (the code when unknown)."""
    return str(ROLE_LABELS.get(role, role))


class User(SQLModel, table=True):
    __tablename__ = "app_user"
    __table_args__ = (
        CheckConstraint(
            "role IN ('admin', 'planner', 'engineer', 'depot_staff', 'supervisor')",
            name="role_known",
        ),
        CheckConstraint(
            "(role = 'depot_staff') = (depot_code IS NOT NULL)", name="depot_staff_has_depot"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    full_name: str = Field(default="", max_length=120)
    email: str | None = Field(default=None, max_length=200)
    password_hash: str = Field(max_length=255)
    role: str = Field(max_length=20)
    depot_code: str | None = Field(default=None, foreign_key="depot.code", max_length=4)
    active: bool = True
    # The interface language the user chose ("zh_CN", "en"); None follows the browser.
    language: str | None = Field(default=None, max_length=16)
    created_at: datetime = Field(sa_type=UTCDateTime, default_factory=clock.now)


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    token_hash: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime, default_factory=clock.now)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class UserFields(Protocol):
    """What an ``Actor`` is made of: a ``User`` row, or the same columns read as a row."""

    @property
    def id(self) -> int | None: ...
    @property
    def username(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def depot_code(self) -> str | None: ...
    @property
    def full_name(self) -> str: ...
    @property
    def language(self) -> str | None: ...
    @property
    def password_hash(self) -> str: ...


@dataclass(frozen=True)
class Actor(UserMixin):
    """Who is acting: what services are told, instead of a request or an ORM row."""

    id: int
    username: str
    role: str
    depot_code: str | None = None
    full_name: str = ""
    language: str | None = None  # the interface language chosen, None: the browser's
    # The password this actor was authenticated with (``password_stamp``): a browser
    # session starts only while it is still the user's (``core.sessions``).
    session_stamp: str = ""

    @classmethod
    def of(cls, user: UserFields) -> Actor:
        assert user.id is not None
        return cls(
            user.id,
            user.username,
            user.role,
            user.depot_code,
            user.full_name,
            user.language,
            password_stamp(user.password_hash),
        )

    def get_id(self) -> str:
        return str(self.id)

    def has_role(self, *roles: str) -> bool:
        return self.role in roles

    def require_role(self, *roles: str) -> None:
        """Raise ``Forbidden`` unless the actor holds one of ``roles`` (admins always pass)."""
        if self.role != Role.ADMIN and self.role not in roles:
            raise Forbidden(
                gettext(
                    "%(role)s may not do this; needs %(roles)s",
                    role=role_label(self.role),
                    roles=join_or([role_label(role) for role in roles]),
                )
            )

    def can_act_for_depot(self, depot_code: str) -> bool:
        """Depot staff act only for their own depot; other roles are not depot-bound."""
        return self.role != Role.DEPOT_STAFF or self.depot_code == depot_code

    def require_depot(self, depot_code: str) -> None:
        if not self.can_act_for_depot(depot_code):
            raise Forbidden(
                gettext(
                    "%(user)s works at %(depot)s, not %(other)s",
                    user=self.username,
                    depot=self.depot_code,
                    other=depot_code,
                )
            )


def password_stamp(stored_password_hash: str) -> str:
    """A short fingerprint of a stored password hash: what an actor was authenticated
    with, so a session is not started under a password changed in between."""
    return hashlib.sha256(stored_password_hash.encode()).hexdigest()[:16]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_FULL_NAME = 120
MAX_EMAIL = 200


def validate_role(role: str, depot_code: str | None) -> None:
    """A known role, and a depot exactly when the role is depot staff (``Invalid``)."""
    if role not in ROLE_NAMES:
        raise Invalid(
            gettext(
                "unknown role '%(role)s'; one of %(roles)s", role=role, roles=", ".join(ROLE_NAMES)
            ),
            field="role",
        )
    if role == Role.DEPOT_STAFF and not depot_code:
        raise Invalid(gettext("depot staff must be bound to a depot"), field="depot")
    if role != Role.DEPOT_STAFF and depot_code:
        raise Invalid(gettext("only depot staff are bound to a depot"), field="depot")


def validate_password(password: str, min_password_length: int) -> None:
    """A password long enough (``min_password_length``) and not longer than sign-in takes."""
    if len(password) < min_password_length:
        raise Invalid(
            ngettext(
                "password must be at least %(num)d character",
                "password must be at least %(num)d characters",
                min_password_length,
            ),
            field="password",
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise Invalid(
            gettext("password must be at most %(num)d characters", num=MAX_PASSWORD_LENGTH),
            field="password",
        )


def require_known_depot(session: Session, depot_code: str) -> None:
    """``Invalid`` unless ``depot_code`` names a depot. Core reads the depot table by
    SQL: the depots package sits above core and is not imported here."""
    known = session.execute(
        text("SELECT 1 FROM depot WHERE code = :code"), {"code": depot_code}
    ).first()
    if known is None:
        raise Invalid(gettext("unknown depot '%(depot)s'", depot=depot_code), field="depot")


def password_hash(password: str) -> str:
    """The stored form of ``password`` (scrypt, salted)."""
    return generate_password_hash(password, method=PASSWORD_HASH_METHOD)


def _validate_new_user(
    username: str,
    password: str,
    role: str,
    depot_code: str | None,
    full_name: str,
    email: str | None,
    min_password_length: int,
) -> None:
    if not USERNAME_PATTERN.match(username):
        raise Invalid(
            gettext("username must be 1-64 letters, digits, '-', '_' or '.'"), field="username"
        )
    if len(full_name) > MAX_FULL_NAME:
        raise Invalid(
            gettext("the full name must be at most %(num)d characters", num=MAX_FULL_NAME),
            field="full_name",
        )
    if email and (len(email) > MAX_EMAIL or not EMAIL_PATTERN.match(email)):
        raise Invalid(
            gettext("'%(email)s' is not an e-mail address", email=email[:MAX_EMAIL]), field="email"
        )
    validate_role(role, depot_code)
    validate_password(password, min_password_length)


@transactional
def create_user(
    uow: UnitOfWork,
    username: str,
    password: str,
    role: str,
    *,
    depot_code: str | None = None,
    full_name: str = "",
    email: str | None = None,
    min_password_length: int = 10,
) -> Actor:
    """Create a user; raises ``Invalid`` for bad values, ``Conflict`` if the name is taken."""
    depot_code = depot_code.strip().upper() if depot_code else None
    full_name = full_name.strip()
    email = email.strip() if email else None
    _validate_new_user(username, password, role, depot_code, full_name, email, min_password_length)
    session = uow.session
    if session.exec(select(User).where(User.username == username)).first():
        raise Conflict(gettext("user '%(user)s' already exists", user=username), field="username")
    if depot_code is not None:
        require_known_depot(session, depot_code)
    user = User(
        username=username,
        full_name=full_name or username,
        email=email or None,
        password_hash=password_hash(password),
        role=role,
        depot_code=depot_code,
    )
    session.add(user)
    session.flush()
    return Actor.of(user)


@read_only
def authenticate(uow: UnitOfWork, username: str, password: str) -> Actor:
    """The actor for valid credentials; ``Unauthorized`` otherwise (same answer either way)."""
    user = uow.session.exec(select(User).where(User.username == username)).first()
    if user is None or not user.active or not check_password_hash(user.password_hash, password):
        raise Unauthorized(gettext("unknown user or wrong password"))
    return Actor.of(user)


@transactional
def issue_token(uow: UnitOfWork, actor: Actor, ttl_hours: int) -> tuple[str, datetime]:
    """A new bearer token for ``actor`` and when it expires. Only its hash is stored."""
    token = secrets.token_urlsafe(32)
    expires_at = clock.now() + timedelta(hours=ttl_hours)
    uow.session.add(ApiToken(user_id=actor.id, token_hash=hash_token(token), expires_at=expires_at))
    return token, expires_at


# The token check runs before every API request: built once, read as plain columns (no
# ORM rows, no session), since all it yields is an ``Actor``.
_TOKEN_QUERY = (
    sa_select(
        ApiToken.revoked_at,
        ApiToken.expires_at,
        User.id,
        User.username,
        User.role,
        User.depot_code,
        User.full_name,
        User.language,
        User.password_hash,
        User.active,
    )
    .join_from(ApiToken, User, User.id == ApiToken.user_id)  # type: ignore[arg-type]
    .where(ApiToken.token_hash == bindparam("token_hash"))
)


def actor_for_token(uow: UnitOfWork, token: str) -> Actor:
    """The actor a live token belongs to; ``Unauthorized`` if unknown, expired or revoked.

    Read in the unit of work's transaction when one is open, else on a pooled connection
    of its own (one SELECT; no retry needed, a read meets no conflict). On PostgreSQL
    that read runs in autocommit: one statement is its own snapshot, and it saves the
    BEGIN and ROLLBACK round trips every API request paid."""
    parameters = {"token_hash": hash_token(token)}
    if uow.in_transaction:
        row = uow.session.execute(_TOKEN_QUERY, parameters).first()
    else:
        with uow.engine.connect() as connection:
            if uow.dialect == "postgresql":
                connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            row = connection.execute(_TOKEN_QUERY, parameters).first()
    if row is None:
        raise Unauthorized(gettext("unknown token"))
    if row.revoked_at is not None:
        raise Unauthorized(gettext("token revoked"))
    if clock.as_utc(row.expires_at) <= clock.now():
        raise Unauthorized(gettext("token expired"))
    if not row.active:
        raise Unauthorized(gettext("user disabled"))
    return Actor.of(row)


@transactional
def revoke_token(uow: UnitOfWork, token: str) -> None:
    """Revoke a token so it is refused from now on; ``NotFound`` if it never existed."""
    api_token = uow.session.exec(
        select(ApiToken).where(ApiToken.token_hash == hash_token(token))
    ).first()
    if api_token is None:
        raise NotFound(gettext("unknown token"))
    if api_token.revoked_at is None:
        api_token.revoked_at = clock.now()
        uow.session.add(api_token)


def revoke_all_tokens(session: Session, user_id: int) -> int:
    """Revoke every token of a user not revoked yet (live or expired), inside the
    caller's transaction; how many were still live."""
    now = clock.now()
    live = session.exec(
        select(func.count())
        .select_from(ApiToken)
        .where(
            ApiToken.user_id == user_id,
            col(ApiToken.revoked_at).is_(None),
            col(ApiToken.expires_at) > now,
        )
    ).one()
    session.execute(
        update(ApiToken)
        .where(col(ApiToken.user_id) == user_id, col(ApiToken.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    return int(live)


@read_only
def list_users(uow: UnitOfWork) -> list[Actor]:
    users = uow.session.exec(select(User).order_by(User.username)).all()
    return [Actor.of(user) for user in users]


@read_only
def full_names(uow: UnitOfWork, usernames: Iterable[str]) -> dict[str, str]:
    """{username: full name} of the known users among ``usernames`` (the username
    again for a user without a full name); unknown usernames are left out. One
    query, none for no usernames."""
    wanted = sorted(set(usernames))
    if not wanted:
        return {}
    rows = uow.session.exec(
        select(User.username, User.full_name).where(col(User.username).in_(wanted))
    ).all()
    return {username: (full or username) for username, full in rows}


# --- request-level checks -------------------------------------------------------------

F = TypeVar("F", bound=Callable[..., Any])


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def api_actor() -> Actor:
    """The actor of the current API request (set by the API's authentication hook)."""
    actor = g.get("actor")
    if actor is None:
        raise Unauthorized(gettext("missing or invalid bearer token"))
    return actor


def api_roles(*roles: str) -> Callable[[F], F]:
    """API route guard: 401 without a valid token, 403 for other roles (admins pass).

    The roles are also recorded on the view, so ``enforce_api_access`` refuses a
    request before its body is even validated: a caller without the right gets
    401/403, never a validation answer that tells them about the route.
    """

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            actor = api_actor()
            if roles:
                actor.require_role(*roles)
            return view(*args, **kwargs)

        wrapper.required_roles = roles  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


PUBLIC_API_ENDPOINTS = frozenset({"core_api.issue_token"})


def enforce_api_access(endpoint: str | None, view: Callable[..., Any] | None) -> None:
    """Authorize an API request from its route alone, before any input is read.

    Every API route needs a valid token except the token endpoint itself; roles
    come from the ``api_roles`` guard found anywhere in the view's wrapper chain.
    Unknown routes are left to the 404/405 handlers.
    """
    if endpoint is None or view is None or endpoint in PUBLIC_API_ENDPOINTS:
        return
    roles = required_roles(view) or ()
    actor = api_actor()
    if roles:
        actor.require_role(*roles)


def required_roles(view: Callable[..., Any] | None) -> tuple[str, ...] | None:
    """The roles an API view is limited to by ``api_roles`` (found anywhere in its
    wrapper chain): ``()`` for any signed-in user, ``None`` when it has no guard."""
    current: Any = view
    while current is not None:
        if hasattr(current, "required_roles"):
            return tuple(current.required_roles)
        current = getattr(current, "__wrapped__", None)
    return None


def page_roles(*roles: str) -> Callable[[F], F]:
    """Page guard: the login page for anonymous visitors, 403 for other roles."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return redirect(url_for("core.login", next=request.full_path))
            if roles and current_user.role != Role.ADMIN and current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


# The id of the terminal's operator, who has no row in app_user.
SYSTEM_ACTOR_ID = 0


def system_actor() -> Actor:
    """The operator at the terminal: `spares` commands act with full rights, and the
    ledger records them as ``cli:<login name>``."""
    import getpass

    try:
        login = getpass.getuser()
    except Exception:  # no login name in some containers
        login = "unknown"
    return Actor(
        id=SYSTEM_ACTOR_ID, username=f"cli:{login}"[:64], role=Role.ADMIN, full_name="command line"
    )
