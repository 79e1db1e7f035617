"""Managing users: the administrators' use cases (list, create, role and depot,
deactivate, reactivate, reset a password) and each user's own (language, password).

Every use case is told who acts (an ``Actor``); administration needs an active
administrator (or the operator at the terminal, ``auth.system_actor``). The rules:

* an administrator cannot deactivate or demote themselves, and the last active
  administrator cannot be removed at all, so someone can always manage the users;
* deactivating ends every browser session of the user on the server and revokes
  every API token, in the same transaction (``core.sessions``);
* a new password ends the user's browser sessions, and an administrator's reset
  revokes the API tokens too (the old password may be what leaked); a user
  changing their own password stays signed in in the session they did it from;
* the locking writer locks, in one statement sorted by id, the acting user, the
  target and every active administrator, so two administrators removing each other
  at the same moment cannot leave the system without one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, or_, text
from sqlmodel import col, select
from werkzeug.security import check_password_hash

from core import auth, sessions
from core.auth import Actor, Role, User
from core.db import UnitOfWork, lock_for_update, read_only, transactional
from core.errors import Conflict, Forbidden, Invalid, NotFound
from core.i18n import LANGUAGES, gettext
from core.pagination import Page, PageRequest, paginate

# A user is named by id (pages) or by username (the command line).
UserKey = int | str

STATUSES = ("active", "inactive")
USER_SORTS = ("username", "name", "role", "depot", "status")
_SORT_COLUMNS = {
    "username": col(User.username),
    "name": func.lower(col(User.full_name)),
    "role": col(User.role),
    # Depot staff first by depot, then everyone else (NULL sorts differently per database).
    "depot": func.coalesce(col(User.depot_code), "~"),
    "status": col(User.active),
}


@dataclass(frozen=True)
class UserView:
    """A user as the pages and the command line show them (never the password hash)."""

    id: int
    username: str
    full_name: str
    email: str | None
    role: str
    depot_code: str | None
    active: bool
    language: str | None
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserView:
        assert user.id is not None
        return cls(
            id=user.id,
            username=user.username,
            full_name=user.full_name,
            email=user.email,
            role=user.role,
            depot_code=user.depot_code,
            active=user.active,
            language=user.language,
            created_at=user.created_at,
        )


@dataclass(frozen=True)
class UserFilter:
    """Which users a list shows: a role, a status (``active``/``inactive``) and a
    search in username, full name and e-mail; empty values do not filter."""

    role: str = ""
    status: str = ""
    search: str = ""


@dataclass(frozen=True)
class UserList:
    """One page of users and the counts of the whole selection."""

    page: Page[UserView]
    active: int
    inactive: int


@dataclass(frozen=True)
class NewUser:
    """What an administrator types to create a user."""

    username: str
    full_name: str
    email: str | None
    role: str
    depot_code: str | None
    password: str


def _require_admin_role(actor: Actor) -> None:
    actor.require_role(Role.ADMIN)


@read_only
def list_users(
    uow: UnitOfWork, actor: Actor, filters: UserFilter, request: PageRequest
) -> UserList:
    """One page of the users matching ``filters``, sorted in SQL, with the counts of
    active and inactive users in the whole selection."""
    _require_admin_role(actor)
    query = select(User)
    if filters.role:
        query = query.where(col(User.role) == filters.role)
    if filters.status in STATUSES:
        query = query.where(col(User.active).is_(filters.status == "active"))
    term = filters.search.strip().lower()
    if term:
        query = query.where(
            or_(
                func.lower(col(User.username)).contains(term, autoescape=True),
                func.lower(col(User.full_name)).contains(term, autoescape=True),
                func.lower(func.coalesce(col(User.email), "")).contains(term, autoescape=True),
            )
        )
    session = uow.session
    page = paginate(session, query, request, _SORT_COLUMNS, col(User.id))
    selection = query.subquery()
    active, inactive = session.execute(
        select(
            func.coalesce(func.sum(case((selection.c.active, 1), else_=0)), 0),
            func.coalesce(func.sum(case((selection.c.active, 0), else_=1)), 0),
        )
    ).one()
    views = [UserView.of(user) for user in page.items]
    return UserList(Page(views, page.total, page.request), int(active), int(inactive))


@read_only
def all_users(uow: UnitOfWork) -> list[UserView]:
    """Every user by username (the terminal's list)."""
    return [UserView.of(row) for row in uow.session.exec(select(User).order_by(col(User.username)))]


@read_only
def get_user(uow: UnitOfWork, actor: Actor, user: UserKey) -> UserView:
    """One user, for an administrator; ``NotFound`` when there is no such user."""
    _require_admin_role(actor)
    found = uow.session.exec(select(User).where(_named(user))).first()
    if found is None:
        raise _not_found(user)
    return UserView.of(found)


@read_only
def depot_choices(uow: UnitOfWork) -> list[tuple[str, str, str]]:
    """(code, city name, Chinese city name) of every depot, by code, for the forms.
    Read by SQL: the depots package sits above core."""
    result = uow.session.execute(
        text(
            "SELECT depot.code, city.name, city.name_zh FROM depot "
            "JOIN city ON city.id = depot.city_id ORDER BY depot.code"
        )
    )
    return [(code, name, name_zh) for code, name, name_zh in result]


@transactional
def create_user(
    uow: UnitOfWork, actor: Actor, new: NewUser, *, min_password_length: int
) -> UserView:
    """Create a user (``auth.create_user``'s rules: ``Invalid``, ``Conflict`` for a
    username taken), for an active administrator."""
    _lock(uow, actor, None)
    created = auth.create_user(
        uow,
        new.username.strip(),
        new.password,
        new.role,
        depot_code=new.depot_code,
        full_name=new.full_name,
        email=new.email,
        min_password_length=min_password_length,
    )
    return get_user(uow, actor, created.id)


@transactional
def set_role(
    uow: UnitOfWork, actor: Actor, user: UserKey, role: str, depot_code: str | None
) -> UserView:
    """Give a user another role (and depot: depot staff have exactly one, nobody else
    any). An administrator cannot demote themselves, nor anyone the last active one."""
    depot_code = depot_code.strip().upper() if depot_code else None
    target, admins = _locked(uow, actor, user)
    auth.validate_role(role, depot_code)
    if depot_code is not None:
        auth.require_known_depot(uow.session, depot_code)
    if role != Role.ADMIN and target.role == Role.ADMIN:
        if target.id == actor.id:
            raise Conflict(
                gettext(
                    "You cannot take away your own administrator role; ask another administrator."
                ),
                field="role",
            )
        _keep_an_administrator(target, admins)
    target.role = role
    target.depot_code = depot_code
    uow.session.add(target)
    uow.session.flush()
    return UserView.of(target)


@transactional
def deactivate(uow: UnitOfWork, actor: Actor, user: UserKey) -> int:
    """Deactivate a user: they cannot sign in, their sessions end on their next
    request and every API token they hold is revoked now. Returns how many live
    tokens were revoked. Deactivating an inactive user changes nothing."""
    target, admins = _locked(uow, actor, user)
    if target.id == actor.id:
        raise Conflict(
            gettext("You cannot deactivate your own account; ask another administrator.")
        )
    if not target.active:
        return 0
    if target.role == Role.ADMIN:
        _keep_an_administrator(target, admins)
    target.active = False
    uow.session.add(target)
    assert target.id is not None
    sessions.end_user_sessions(uow.session, target.id, sessions.DEACTIVATED)
    return auth.revoke_all_tokens(uow.session, target.id)


@transactional
def reactivate(uow: UnitOfWork, actor: Actor, user: UserKey) -> UserView:
    """Let a deactivated user sign in again (with the password they had)."""
    target, _ = _locked(uow, actor, user)
    target.active = True
    uow.session.add(target)
    return UserView.of(target)


@transactional
def reset_password(
    uow: UnitOfWork, actor: Actor, user: UserKey, password: str, *, min_password_length: int
) -> int:
    """Set a new password for a user (who may then change it on their profile), end
    their browser sessions and revoke their API tokens; returns how many live tokens
    were revoked."""
    target, _ = _locked(uow, actor, user)
    auth.validate_password(password, min_password_length)
    target.password_hash = auth.password_hash(password)
    uow.session.add(target)
    assert target.id is not None
    sessions.end_user_sessions(uow.session, target.id, sessions.PASSWORD)
    return auth.revoke_all_tokens(uow.session, target.id)


@transactional
def change_own_password(
    uow: UnitOfWork,
    actor: Actor,
    current: str,
    new: str,
    *,
    min_password_length: int,
    keep_session: str | None = None,
) -> int:
    """A signed-in user changes their password: the current one must be right, the
    new one long enough and different. The browser session ``keep_session`` (the
    token of the one it was changed from) goes on; the user's other sessions end.
    Returns how many sessions ended."""
    me = _own_row(uow, actor)
    if not check_password_hash(me.password_hash, current):
        raise Invalid(gettext("The current password is not right."), field="current_password")
    auth.validate_password(new, min_password_length)
    if new == current:
        raise Invalid(
            gettext("The new password must differ from the current one."), field="password"
        )
    me.password_hash = auth.password_hash(new)
    uow.session.add(me)
    assert me.id is not None
    return sessions.end_user_sessions(
        uow.session, me.id, sessions.PASSWORD, keep_token=keep_session
    )


@transactional
def set_language(uow: UnitOfWork, actor: Actor, language: str | None) -> None:
    """A user's interface language: a code of ``core.i18n.LANGUAGES``, or None to
    follow the browser. It applies from their next page."""
    if language is not None and language not in LANGUAGES:
        raise Invalid(
            gettext("unknown language '%(language)s'", language=language), field="language"
        )
    me = _own_row(uow, actor)
    me.language = language
    uow.session.add(me)


# --- helpers ------------------------------------------------------------------------------


def _named(user: UserKey) -> object:
    return col(User.id) == user if isinstance(user, int) else col(User.username) == user


def _not_found(user: UserKey) -> NotFound:
    return NotFound(gettext("no user '%(user)s'", user=user))


def _lock(uow: UnitOfWork, actor: Actor, user: UserKey | None) -> list[User]:
    """Lock the acting user, the target (if any) and every active administrator, in
    one statement sorted by id, and check the actor is still an active administrator
    (the terminal's operator has no row and passes). Returns the rows locked."""
    _require_admin_role(actor)
    wanted = [col(User.id) == actor.id, (col(User.role) == Role.ADMIN) & col(User.active)]
    if user is not None:
        wanted.append(_named(user))
    rows = list(
        uow.session.exec(
            lock_for_update(select(User).where(or_(*wanted)).order_by(col(User.id)), uow)
        ).all()
    )
    me = next((row for row in rows if row.id == actor.id), None)
    still_admin = me is not None and me.active and me.role == Role.ADMIN
    if not still_admin and not (me is None and actor.id == auth.SYSTEM_ACTOR_ID):
        raise Forbidden(gettext("Your account is no longer an active administrator."))
    return rows


def _locked(uow: UnitOfWork, actor: Actor, user: UserKey) -> tuple[User, list[User]]:
    """``_lock`` for a use case acting on ``user``: the target (``NotFound`` when
    missing) and the active administrators."""
    rows = _lock(uow, actor, user)
    target = next((row for row in rows if _is(row, user)), None)
    if target is None:
        raise _not_found(user)
    return target, [row for row in rows if row.role == Role.ADMIN and row.active]


def _is(row: User, user: UserKey) -> bool:
    return row.id == user if isinstance(user, int) else row.username == user


def _keep_an_administrator(target: User, admins: list[User]) -> None:
    if target.active and [admin.id for admin in admins] == [target.id]:
        raise Conflict(
            gettext(
                "%(user)s is the last active administrator and must stay one.", user=target.username
            )
        )


def _own_row(uow: UnitOfWork, actor: Actor) -> User:
    me = uow.session.exec(
        lock_for_update(select(User).where(col(User.id) == actor.id), uow)
    ).first()
    if me is None or not me.active:
        raise NotFound(gettext("no user '%(user)s'", user=actor.username))
    return me
