"""Idempotent POSTs: a request replayed with the same ``Idempotency-Key`` gets the
first answer again and writes nothing new.

The key is claimed by inserting its row *inside* the use case's transaction, so
the answer is stored if and only if the write committed. Two copies of the same
request racing each other meet on the unique (user, key) index: the second
waits for the first to commit, fails the insert, and on its retry finds the
stored answer and replays it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, select

from core import clock
from core.db import UnitOfWork, UTCDateTime, transactional
from core.errors import Invalid
from core.i18n import gettext

MAX_KEY_LENGTH = 128


class IdempotencyRecord(SQLModel, table=True):
    """The first answer to a POST carrying an Idempotency-Key."""

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_record_user_key"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id")
    key: str = Field(max_length=MAX_KEY_LENGTH)
    fingerprint: str = Field(max_length=64)
    status: int = 0
    body: str = ""
    created_at: datetime = Field(sa_type=UTCDateTime, default_factory=clock.now)


@dataclass(frozen=True)
class Answer:
    status: int
    body: str  # JSON text, exactly as first sent
    replayed: bool


def fingerprint(method: str, path: str, payload: bytes) -> str:
    """What makes two requests "the same request" for one key."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), payload):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise Invalid(
            gettext("Idempotency-Key must be 1-%(num)d printable characters", num=MAX_KEY_LENGTH)
        )


def run_once(
    uow: UnitOfWork,
    *,
    user_id: int,
    key: str,
    request_fingerprint: str,
    work: Callable[[UnitOfWork], tuple[int, str]],
) -> Answer:
    """Run ``work`` (returning status and JSON text) once per (user, key).

    Raises ``Invalid`` when the key was used before for a different request.
    A use case that raises stores nothing, so retrying it runs it again.
    """
    check_key(key)
    try:
        return _claim_and_run(uow, user_id, key, request_fingerprint, work)
    except IntegrityError:
        # A concurrent copy committed the same key first: replay its answer.
        return _claim_and_run(uow, user_id, key, request_fingerprint, work)


@transactional
def _claim_and_run(
    uow: UnitOfWork,
    user_id: int,
    key: str,
    request_fingerprint: str,
    work: Callable[[UnitOfWork], tuple[int, str]],
) -> Answer:
    session = uow.session
    existing = session.exec(
        select(IdempotencyRecord).where(
            IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key
        )
    ).first()
    if existing is not None:
        if existing.fingerprint != request_fingerprint:
            raise Invalid(gettext("Idempotency-Key was already used for a different request"))
        return Answer(existing.status, existing.body, replayed=True)
    record = IdempotencyRecord(user_id=user_id, key=key, fingerprint=request_fingerprint)
    session.add(record)
    session.flush()
    status, body = work(uow)
    record.status, record.body = status, body
    session.add(record)
    return Answer(status, body, replayed=False)
