"""The audit trail's one table: who changed what, when, from what to what.

Rows are append-only: the database itself refuses UPDATE and DELETE (triggers
written in migration 0008, on SQLite and PostgreSQL alike), as it does for the
ledger.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from core.db import BigId, UTCDateTime

MAX_ACTOR = 64
MAX_ENTITY = 40
MAX_KEY = 200
MAX_ACTION = 40
MAX_REQUEST_ID = 128


class AuditEntry(SQLModel, table=True):
    """One recorded change: ``entity`` is the kind of thing (``lane``, ``rma``),
    ``entity_key`` its id or natural key, ``action`` what happened (``create``,
    ``update``, ``delete``, or a named step such as ``approve``); ``before`` and
    ``after`` hold the changed columns' values (JSON; None for a creation's
    before and a deletion's after)."""

    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_at", "at"),
        Index("ix_audit_entry_entity_key", "entity", "entity_key"),
        Index("ix_audit_entry_actor_at", "actor", "at"),
    )

    id: int | None = Field(
        default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True)
    )
    at: datetime = Field(sa_type=UTCDateTime)
    actor: str = Field(max_length=MAX_ACTOR)
    entity: str = Field(max_length=MAX_ENTITY)
    entity_key: str = Field(max_length=MAX_KEY)
    action: str = Field(max_length=MAX_ACTION)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    request_id: str | None = Field(default=None, max_length=MAX_REQUEST_ID)
