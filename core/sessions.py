"""Browser sessions kept on the server, so that ending one really ends it.

The browser's signed cookie carries only a random session token; the server keeps
its SHA-256 in ``web_session`` with the user, when it started, when it was last
seen and when (and why) it ended. A page request is signed in only while its
token names a session that has not ended, has been used within the idle limit,
and belongs to an active user. So a cookie copied before sign-out is worth
nothing after it:

* signing out ends that one session;
* deactivating a user, or an administrator's password reset, ends all of the
  user's sessions; a user changing their own password ends all but the one they
  changed it from (``core.users`` calls ``end_user_sessions`` in its transaction);
* a user may end their other sessions from their profile.

A session starts only if the password it was authenticated with is still the
user's (``Actor.session_stamp``), checked under the user row's lock, so a sign-in
racing a password change cannot leave a session under the old password.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import CheckConstraint, Column, String, update
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel, col, select

from core import clock
from core.auth import Actor, User, password_stamp
from core.db import UnitOfWork, UTCDateTime, lock_for_update, read_only, transactional
from core.errors import Unauthorized
from core.i18n import gettext

# Why a session ended.
LOGOUT = "logout"
DEACTIVATED = "deactivated"
PASSWORD = "password"
ENDED_ELSEWHERE = "ended_elsewhere"  # the user ended it from another session
END_REASONS = (LOGOUT, DEACTIVATED, PASSWORD, ENDED_ELSEWHERE)

# ``last_seen_at`` is written at most this often per session: a write on every
# page would take SQLite's writer lock for every read.
TOUCH_EVERY = timedelta(minutes=5)
MAX_USER_AGENT = 200
MAX_ADDRESS = 64


class WebSession(SQLModel, table=True):
    __tablename__ = "web_session"
    __table_args__ = (
        CheckConstraint(
            "end_reason IS NULL OR end_reason IN "
            "('logout', 'deactivated', 'password', 'ended_elsewhere')",
            name="end_reason_known",
        ),
        CheckConstraint("(ended_at IS NULL) = (end_reason IS NULL)", name="ended_with_reason"),
    )

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    user_id: int = Field(foreign_key="app_user.id", index=True)
    created_at: datetime = Field(sa_type=UTCDateTime, default_factory=clock.now)
    last_seen_at: datetime = Field(sa_type=UTCDateTime, default_factory=clock.now)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    end_reason: str | None = Field(default=None, max_length=20)
    user_agent: str = Field(default="", max_length=MAX_USER_AGENT)
    address: str = Field(default="", max_length=MAX_ADDRESS)


@dataclass(frozen=True)
class LiveSession:
    """A session a request may continue: who, and whether it is time to record
    that it was seen (``needs_touch``)."""

    id: int
    actor: Actor
    needs_touch: bool


@dataclass(frozen=True)
class SessionView:
    """One of a user's live sessions, as their profile lists it."""

    id: int
    created_at: datetime
    last_seen_at: datetime
    user_agent: str
    address: str
    current: bool


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transactional
def start_session(uow: UnitOfWork, actor: Actor, *, user_agent: str = "", address: str = "") -> str:
    """Start a session for an actor just authenticated; returns the token for the
    cookie (only its hash is stored). ``Unauthorized`` when the user was deactivated
    or their password changed since they were authenticated."""
    user = uow.session.exec(
        lock_for_update(select(User).where(col(User.id) == actor.id), uow)
    ).first()
    if user is None or not user.active or password_stamp(user.password_hash) != actor.session_stamp:
        raise Unauthorized(gettext("unknown user or wrong password"))
    token = secrets.token_urlsafe(32)
    uow.session.add(
        WebSession(
            token_hash=_hash(token),
            user_id=actor.id,
            user_agent=user_agent[:MAX_USER_AGENT],
            address=address[:MAX_ADDRESS],
        )
    )
    return token


@read_only
def live_session(uow: UnitOfWork, token: str, *, idle: timedelta) -> LiveSession | None:
    """The session ``token`` names if a request may go on with it: not ended, seen
    within ``idle``, of an active user; None otherwise."""
    row = uow.session.exec(
        select(WebSession, User)
        .join(User, col(User.id) == col(WebSession.user_id))
        .where(col(WebSession.token_hash) == _hash(token))
    ).first()
    if row is None:
        return None
    web_session, user = row
    now = clock.now()
    last_seen = clock.as_utc(web_session.last_seen_at)
    if web_session.ended_at is not None or not user.active or last_seen <= now - idle:
        return None
    assert web_session.id is not None
    return LiveSession(web_session.id, Actor.of(user), now - last_seen >= TOUCH_EVERY)


@transactional
def touch(uow: UnitOfWork, session_id: int) -> None:
    """Record that a live session was used now (nothing happens to an ended one)."""
    uow.session.execute(
        update(WebSession)
        .where(col(WebSession.id) == session_id, col(WebSession.ended_at).is_(None))
        .values(last_seen_at=clock.now())
    )


@transactional
def end_session(uow: UnitOfWork, token: str) -> None:
    """Sign-out: the session ``token`` names ends now (an unknown or ended one: nothing)."""
    uow.session.execute(
        update(WebSession)
        .where(col(WebSession.token_hash) == _hash(token), col(WebSession.ended_at).is_(None))
        .values(ended_at=clock.now(), end_reason=LOGOUT)
    )


def end_user_sessions(
    session: Session, user_id: int, reason: str, *, keep_token: str | None = None
) -> int:
    """End every live session of a user (but the one ``keep_token`` names), inside
    the caller's transaction; how many were ended."""
    assert reason in END_REASONS
    condition = [col(WebSession.user_id) == user_id, col(WebSession.ended_at).is_(None)]
    if keep_token is not None:
        condition.append(col(WebSession.token_hash) != _hash(keep_token))
    result = session.execute(
        update(WebSession).where(*condition).values(ended_at=clock.now(), end_reason=reason)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


@transactional
def end_other_sessions(uow: UnitOfWork, actor: Actor, token: str) -> int:
    """A user ends all their sessions but the one ``token`` names; how many ended."""
    return end_user_sessions(uow.session, actor.id, ENDED_ELSEWHERE, keep_token=token)


@read_only
def live_sessions(
    uow: UnitOfWork, actor: Actor, current_token: str | None, *, idle: timedelta
) -> list[SessionView]:
    """The actor's live sessions, the most recently seen first; ``current`` marks the
    one ``current_token`` names."""
    current_hash = _hash(current_token) if current_token else None
    rows = uow.session.exec(
        select(WebSession)
        .where(
            col(WebSession.user_id) == actor.id,
            col(WebSession.ended_at).is_(None),
            col(WebSession.last_seen_at) > clock.now() - idle,
        )
        .order_by(col(WebSession.last_seen_at).desc(), col(WebSession.id).desc())
    ).all()
    return [
        SessionView(
            id=row.id or 0,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            user_agent=row.user_agent,
            address=row.address,
            current=row.token_hash == current_hash,
        )
        for row in rows
    ]
