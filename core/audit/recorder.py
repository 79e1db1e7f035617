"""The one place that writes the audit trail.

Two SQLAlchemy session events see every write the services make, so no use case
has to remember to call anything:

* ``after_flush``: each inserted, updated or deleted ORM object of an audited
  table becomes one entry with its column values before and after. The values
  are those the session already holds (attribute history, the object's own
  state): recording costs no SELECT. The entries wait on the session and are
  written at commit, in one multi-row INSERT per transaction; a rollback drops
  them with the changes.
* ``do_orm_execute``: a bulk ``insert``/``update``/``delete`` run through the
  session on an audited table (a parts import, targets replaced) becomes one
  entry per row given, or one summary entry for a statement-wide change.

A few actions are not a row change worth reading on their own (a dispatch run);
their use case calls ``record`` for one explicit entry.

An RMA's step is its event (``rma_event``): the event's action names the entry
and, when the case's row changed in the same flush, the row's before and after
are folded into that one entry.

Who acted, in this order: the ``Actor`` the use case was called with (noted by
``core.db`` on the session), ``acting_as`` around the call, the signed-in user or
API token of the current request, else the terminal's operator
(``core.auth.system_actor``). The request id is ``g.request_id`` (set by the
request-id middleware) or the ``X-Request-ID`` header.

Every table is either audited or listed in ``NOT_AUDITED`` with the reason; a
test keeps it that way as tables are added.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Mapper, ORMExecuteState, Session
from sqlalchemy.orm.state import InstanceState

from core import clock
from core.audit.models import MAX_ACTION, MAX_ACTOR, MAX_KEY, MAX_REQUEST_ID, AuditEntry
from core.db import ACTOR_INFO_KEY, UnitOfWork

# table -> the entity kind people read in the trail
AUDITED: dict[str, str] = {
    # configuration
    "depot": "depot",
    "city": "city",
    "lane": "lane",
    "calendar": "calendar",
    "calendar_day": "calendar_day",
    "escalation_step": "ladder_step",
    "stock_target": "target",
    "app_user": "user",
    # master data
    "part": "part",
    "customer": "customer",
    "site": "site",
    "contract": "contract",
    "installed_unit": "installed_unit",
    # state
    "rma": "rma",
    "rma_event": "rma",  # a case's step: keyed by its case (see _event_entry)
    "escalation": "escalation",
    "rebalance_plan": "plan",
    "transfer": "transfer",
    "transfer_line": "transfer_line",
    "transfer_discrepancy": "discrepancy",
    "stock_count": "count",
    "reservation": "reservation",
}

NOT_AUDITED: dict[str, str] = {
    "audit_entry": "the trail itself",
    "movement": "the ledger: an append-only record of its own",
    "ledger_entry": "the ledger: an append-only record of its own",
    "defective_receipt": "derived from audited steps: the finding is written in the case's "
    "history (rma_event), the outcome follows a ledger movement",
    "stock_balance": "derived from the ledger and checked against it",
    "part_stock": "the balances pivoted, kept by the ledger's posting and checked against them",
    "unit": "a serialized unit's place and condition change with the ledger moves that record them",
    "transfer_serial": "the serials a transfer shipped and received, recorded by the ledger",
    "stock_bin": "shelf places written by receipts and moves (stock work, not configuration)",
    "rebalance_move": "a plan's computed moves, saved with the plan; the plan is audited",
    "search_key": "an index derived from names that are audited where they live",
    "idempotency_record": "stored answers of repeated requests",
    "api_token": "credentials; issuing and revoking a token is signing in and out",
    "notification": "the outbox's delivery bookkeeping",
    "web_session": "signed-in browser sessions; signing in and out is not a change",
    "reference_generation": "a counter of the changes of reference data, which are audited",
}

# Columns whose values must never be copied into the trail: only that they changed.
SECRET_COLUMNS: dict[str, frozenset[str]] = {"app_user": frozenset({"password_hash"})}
SECRET = "***"
# The session's info key holding the entries of the transaction, written at commit.
PENDING_KEY = "audit_pending"

_acting: ContextVar[str | None] = ContextVar("audit_acting", default=None)


@contextmanager
def acting_as(actor: Any) -> Iterator[None]:
    """Record the writes inside the block as ``actor`` (an ``Actor`` or a name),
    for callers whose use case does not take the actor as an argument."""
    name = actor if isinstance(actor, str) else actor.username
    token = _acting.set(name)
    try:
        yield
    finally:
        _acting.reset(token)


@functools.cache
def _terminal_actor() -> str:
    from core.auth import system_actor  # core.auth imports flask-login; load it lazily

    return system_actor().username


def _actor(session: Session) -> str:
    name = session.info.get(ACTOR_INFO_KEY) or _acting.get() or _request_actor()
    return (name or _terminal_actor())[:MAX_ACTOR]


def _request_actor() -> str | None:
    from flask import g, has_request_context

    if not has_request_context():
        return None
    api_actor = g.get("actor")
    if api_actor is not None:
        return str(api_actor.username)
    from flask_login import current_user

    if current_user and current_user.is_authenticated:
        return str(current_user.username)
    return "anonymous"


def _request_id() -> str | None:
    from flask import g, has_request_context, request

    if not has_request_context():
        return None
    found = g.get("request_id") or request.headers.get("X-Request-ID")
    return str(found)[:MAX_REQUEST_ID] if found else None


def plain(value: Any) -> Any:
    """A column value as JSON can hold it: instants in UTC ISO 8601, money as text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, enum.Enum):
        return plain(value.value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return str(value)


def _key(values: Iterable[Any]) -> str:
    return "/".join(str(plain(v)) for v in values)[:MAX_KEY]


class _Flush:
    """The entries of one flush or statement, written together."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.rows: list[dict[str, Any]] = []
        self.at = clock.now()
        self.actor = _actor(session)
        self.request_id = _request_id()

    def add(
        self,
        entity: str,
        key: str,
        action: str,
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        row = {
            "at": self.at,
            "actor": self.actor,
            "entity": entity,
            "entity_key": key[:MAX_KEY],
            "action": action,
            "before": dict(before) if before is not None else None,
            "after": dict(after) if after is not None else None,
            "request_id": self.request_id,
        }
        self.rows.append(row)
        return row

    def write(self) -> None:
        """Keep the entries for the transaction's commit (see ``_before_commit``)."""
        if self.rows:
            self.session.info.setdefault(PENDING_KEY, []).extend(self.rows)


@functools.cache
def _mapper_columns(mapper: Mapper[Any]) -> tuple[tuple[str, str], ...]:
    # Mappers are configured once per process; every flush of every case walks these.
    return tuple((prop.key, prop.columns[0].name) for prop in mapper.column_attrs)


def _columns(state: InstanceState[Any]) -> tuple[tuple[str, str], ...]:
    """(attribute key, column name) of the mapped table's columns, in table order."""
    return _mapper_columns(state.mapper)


def _values(state: InstanceState[Any], table: str) -> dict[str, Any]:
    """The values the object holds (never loading an unloaded one), secrets masked."""
    secret = SECRET_COLUMNS.get(table, frozenset())
    held = state.dict
    values: dict[str, Any] = {}
    for key, column in _columns(state):
        if key in held and held[key] is not None:
            values[column] = SECRET if column in secret else plain(held[key])
    return values


def _changes(state: InstanceState[Any], table: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The changed columns' values before (where the session knew them) and after."""
    secret = SECRET_COLUMNS.get(table, frozenset())
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    # A column attribute has history only once it was set: its value as loaded is then
    # kept in ``committed_state``. Asking the others costs a history object each (a case
    # row has some forty columns, most untouched by a step) and yields nothing.
    touched = state.committed_state
    for key, column in _columns(state):
        if key not in touched:
            continue
        history = state.attrs[key].history  # no load: PASSIVE_NO_INITIALIZE
        if not history.added and not history.deleted:
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if history.deleted and history.added and plain(old) == plain(new):
            continue
        if history.deleted:
            before[column] = SECRET if column in secret else plain(old)
        after[column] = SECRET if column in secret else plain(new)
    return before, after


def _identity(state: InstanceState[Any]) -> str:
    """The object's primary key as held (a new row's key is set by the INSERT; the
    identity map only learns it after the flush)."""
    if state.identity is not None:
        return _key(state.identity)
    mapper = state.mapper
    held = state.dict
    return _key(
        held.get(mapper.get_property_by_column(column).key) for column in mapper.primary_key
    )


def _table(state: InstanceState[Any]) -> str | None:
    table = getattr(state.mapper.local_table, "name", None)
    return table if table in AUDITED else None


def _after_flush(session: Session, _context: Any) -> None:
    work = _Flush(session)
    case_rows: dict[str, dict[str, Any]] = {}  # entries of RMA rows, by case id
    events: list[InstanceState[Any]] = []
    for obj in session.new:
        state = inspect(obj)
        table = _table(state)
        if table == "rma_event":
            events.append(state)
        elif table is not None:
            row = work.add(AUDITED[table], _identity(state), "create", None, _values(state, table))
            if table == "rma":
                case_rows[row["entity_key"]] = row
    for obj in session.dirty:
        state = inspect(obj)
        table = _table(state)
        if table is None or table == "rma_event" or state.deleted:
            continue
        before, after = _changes(state, table)
        if after or before:
            row = work.add(AUDITED[table], _identity(state), "update", before, after)
            if table == "rma":
                case_rows[row["entity_key"]] = row
    for obj in session.deleted:
        state = inspect(obj)
        table = _table(state)
        if table is not None:
            work.add(AUDITED[table], _identity(state), "delete", _values(state, table), None)
    _event_entries(work, case_rows, [_values(state, "rma_event") for state in events])
    work.write()


def _event_entries(
    work: _Flush, case_rows: dict[str, dict[str, Any]], events: list[dict[str, Any]]
) -> None:
    """An RMA event names the step: the event that led the case to its new status
    (else its last event) renames the case row's entry of the same flush; any
    other event becomes an entry of its own."""
    by_case: dict[str, list[dict[str, Any]]] = {}
    for values in events:
        by_case.setdefault(_key([values.get("rma_id")]), []).append(values)
    for key, steps in by_case.items():
        row = case_rows.get(key)
        chosen = None
        if row is not None:
            status = (row["after"] or {}).get("status")
            matching = [e for e in steps if status and e.get("to_status") == status]
            chosen = matching[-1] if matching else steps[-1]
        for values in steps:
            step = {k: values[k] for k in ("from_status", "to_status", "detail") if k in values}
            action = str(values.get("action") or "event")[:MAX_ACTION]
            if row is not None and values is chosen:
                row["action"] = action
                row["after"] = {**(row["after"] or {}), "step": step}
                continue
            before = {"status": step["from_status"]} if step.get("from_status") else None
            work.add("rma", key, action, before, {"step": step})


def _statement_table(statement: Any) -> str | None:
    table = getattr(getattr(statement, "table", None), "name", None)
    return table if table in AUDITED else None


def _primary_key(statement: Any) -> list[str]:
    table = getattr(statement, "table", None)
    return [column.name for column in table.primary_key.columns] if table is not None else []


def _statement_summary(statement: Any) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    where = getattr(statement, "whereclause", None)
    if where is not None:
        try:
            summary["where"] = str(where.compile(compile_kwargs={"literal_binds": True}))
        except Exception:  # a value without a literal form: the clause with placeholders
            summary["where"] = str(where)
    multi = getattr(statement, "_multi_values", ())
    if multi:
        summary["rows"] = sum(len(values) for values in multi)
    else:
        values = getattr(statement, "_values", None) or {}
        for column, value in values.items():
            name = getattr(column, "name", None) or getattr(column, "key", None) or str(column)
            literal = getattr(value, "value", value)
            summary[str(name)] = plain(literal) if not hasattr(literal, "compile") else "<sql>"
    return summary


def _on_execute(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = _statement_table(state.statement)
    if table is None:
        return
    action = "create" if state.is_insert else "update" if state.is_update else "delete"
    work = _Flush(state.session)
    params = state.parameters
    rows = params if isinstance(params, list) else [params] if params else []
    if table == "rma_event" and state.is_insert:
        _event_entries(work, {}, [{k: plain(v) for k, v in row.items()} for row in rows])
        work.write()
        return
    kind = AUDITED[table]
    if rows:
        primary = _primary_key(state.statement)
        secret = SECRET_COLUMNS.get(table, frozenset())
        for row in rows:
            values = {k: SECRET if k in secret else plain(v) for k, v in row.items()}
            key = _key(row[c] for c in primary) if all(c in row for c in primary) else "*"
            before, after = (values, None) if state.is_delete else (None, values)
            work.add(kind, key, action, before, after)
    else:
        summary = _statement_summary(state.statement)
        before, after = (summary, None) if state.is_delete else (None, summary)
        work.add(kind, "*", action, before, after)
    work.write()


def record(
    uow: UnitOfWork,
    entity: str,
    key: str,
    action: str,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> None:
    """One explicit entry, in the use case's transaction, for an action that is
    not a row change of its own (a dispatch run)."""
    work = _Flush(uow.session)
    work.add(
        entity,
        key,
        action,
        plain(dict(before)) if before is not None else None,
        plain(dict(after)) if after is not None else None,
    )
    work.write()


def _before_commit(session: Session) -> None:
    # The commit's own flush comes after this event: flush first, so the last
    # changes' entries join the others, then write them all in one INSERT.
    if session.new or session.dirty or session.deleted:
        session.flush()
    rows = session.info.pop(PENDING_KEY, None)
    if rows:
        session.connection().execute(insert(AuditEntry.__table__), rows)  # type: ignore[attr-defined]


def _forget(session: Session, *_: Any) -> None:
    """A rolled-back transaction changed nothing, so it records nothing."""
    session.info.pop(PENDING_KEY, None)


def install() -> None:
    """Listen on every session (idempotent; done when this module is imported)."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "do_orm_execute", _on_execute)
        event.listen(Session, "before_commit", _before_commit)
        event.listen(Session, "after_rollback", _forget)
        event.listen(Session, "after_soft_rollback", _forget)


install()
