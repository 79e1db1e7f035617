"""Reading the audit trail: the filters the API, the page, the CSV and the CLI share,
one page of entries (server-side pagination), a keyset page for the API, and the
whole filtered selection in chunks for the CSV. Only administrators read it."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlmodel import col, select

from core import clock
from core.audit.models import MAX_ACTOR, MAX_ENTITY, MAX_KEY, AuditEntry
from core.audit.recorder import AUDITED
from core.auth import Actor, Role
from core.csv_files import safe_cell
from core.db import UnitOfWork, read_only
from core.errors import Invalid
from core.i18n import gettext
from core.pagination import Page, PageRequest, paginate

# Entries written by ``record`` rather than by a row change.
EXPLICIT_KINDS = ("dispatch",)
ENTITY_KINDS = tuple(sorted({*AUDITED.values(), *EXPLICIT_KINDS}))
SORTS = ("at", "actor", "entity", "action")
CSV_CHUNK = 1000
CSV_COLUMNS = (
    "id",
    "at",
    "actor",
    "entity",
    "entity_key",
    "action",
    "before",
    "after",
    "request_id",
)


@dataclass(frozen=True)
class AuditFilters:
    """Which entries: one kind of entity (and one of its keys), one actor, and the
    instants ``start`` (inclusive) to ``end`` (exclusive), UTC."""

    entity: str | None = None
    entity_key: str | None = None
    actor: str | None = None
    start: datetime | None = None
    end: datetime | None = None


def parse_filters(
    entity: str | None = None,
    actor: str | None = None,
    start: str | None = None,
    end: str | None = None,
) -> AuditFilters:
    """Filters from text as people type them: ``entity`` a kind (``lane``) or a kind
    and key (``lane:12``, ``target:BJ/SFP-10G-SR``); ``start``/``end`` a day
    (Asia/Shanghai; ``end`` includes its day) or an instant with its offset.
    ``Invalid`` (naming the field) for anything else."""
    kind, key = None, None
    if entity and entity.strip():
        kind, _, key_text = entity.strip().partition(":")
        kind = kind.strip().lower()
        key = key_text.strip() or None
        if kind not in ENTITY_KINDS:
            raise Invalid(
                gettext(
                    "unknown entity %(kind)r; one of: %(kinds)s",
                    kind=kind[:MAX_ENTITY],
                    kinds=", ".join(ENTITY_KINDS),
                ),
                field="entity",
            )
        if key is not None and len(key) > MAX_KEY:
            raise Invalid(gettext("the entity key is too long"), field="entity")
    who = (actor or "").strip() or None
    if who is not None and len(who) > MAX_ACTOR:
        raise Invalid(gettext("the actor name is too long"), field="actor")
    since = _instant(start, "from", end_of_day=False)
    until = _instant(end, "to", end_of_day=True)
    if since is not None and until is not None and until <= since:
        raise Invalid(gettext("'to' must be after 'from'"), field="to")
    return AuditFilters(kind, key, who, since, until)


def _instant(text: str | None, field: str, *, end_of_day: bool) -> datetime | None:
    if text is None or not text.strip():
        return None
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            if end_of_day:
                day += timedelta(days=1)
            return datetime.combine(day, time(), clock.SHANGHAI).astimezone(UTC)
        instant = datetime.fromisoformat(value)
    except (ValueError, OverflowError):
        instant = None
    if instant is None or instant.tzinfo is None:
        raise Invalid(
            gettext(
                "%(field)s must be a day (2026-12-01) or an instant with its offset "
                "(2026-12-01T09:00+08:00)",
                field=field,
            ),
            field=field,
        )
    try:
        return instant.astimezone(UTC)
    except OverflowError as error:
        raise Invalid(gettext("%(field)s is out of range", field=field), field=field) from error


def _require_admin(actor: Actor) -> None:
    actor.require_role(Role.ADMIN)


def _query(filters: AuditFilters) -> Any:
    query = select(AuditEntry)
    if filters.entity is not None:
        query = query.where(col(AuditEntry.entity) == filters.entity)
    if filters.entity_key is not None:
        query = query.where(col(AuditEntry.entity_key) == filters.entity_key)
    if filters.actor is not None:
        query = query.where(col(AuditEntry.actor) == filters.actor)
    if filters.start is not None:
        query = query.where(col(AuditEntry.at) >= filters.start)
    if filters.end is not None:
        query = query.where(col(AuditEntry.at) < filters.end)
    return query


SORT_COLUMNS = {
    "at": col(AuditEntry.id),  # ids follow time: the index on id sorts fastest
    "actor": col(AuditEntry.actor),
    "entity": col(AuditEntry.entity),
    "action": col(AuditEntry.action),
}


@read_only
def audit_page(
    uow: UnitOfWork, actor: Actor, filters: AuditFilters, request: PageRequest
) -> Page[AuditEntry]:
    """One page of the filtered entries and the selection's size (administrators)."""
    _require_admin(actor)
    return paginate(uow.session, _query(filters), request, SORT_COLUMNS, col(AuditEntry.id))


@read_only
def audit_entries(
    uow: UnitOfWork,
    actor: Actor,
    filters: AuditFilters,
    *,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """Up to ``limit`` filtered entries, newest first, older than ``before_id``."""
    _require_admin(actor)
    query = _query(filters)
    if before_id is not None:
        query = query.where(col(AuditEntry.id) < before_id)
    return list(uow.session.exec(query.order_by(col(AuditEntry.id).desc()).limit(limit)))


def iter_entries(uow: UnitOfWork, actor: Actor, filters: AuditFilters) -> Iterator[AuditEntry]:
    """Every filtered entry, newest first, read in chunks (each its own short read)."""
    before_id: int | None = None
    while True:
        chunk = audit_entries(uow, actor, filters, before_id=before_id, limit=CSV_CHUNK)
        yield from chunk
        if len(chunk) < CSV_CHUNK:
            return
        before_id = chunk[-1].id


def as_row(entry: AuditEntry) -> dict[str, Any]:
    """An entry as JSON answers and CSV lines show it (instants in Asia/Shanghai)."""
    return {
        "id": entry.id,
        "at": clock.local(entry.at).isoformat(),
        "actor": entry.actor,
        "entity": entry.entity,
        "entity_key": entry.entity_key,
        "action": entry.action,
        "before": entry.before,
        "after": entry.after,
        "request_id": entry.request_id,
    }


def entries_csv(uow: UnitOfWork, actor: Actor, filters: AuditFilters) -> Iterator[str]:
    """The filtered selection as CSV text, header first, produced piece by piece."""
    _require_admin(actor)
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flushed() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_COLUMNS)
    yield flushed()
    for entry in iter_entries(uow, actor, filters):
        row = as_row(entry)
        for name in ("before", "after"):
            value = row[name]
            row[name] = "" if value is None else json.dumps(value, ensure_ascii=False)
        writer.writerow([safe_cell(row[name]) for name in CSV_COLUMNS])
        yield flushed()
