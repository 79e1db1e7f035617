"""The escalation ladder: who is told after how many support hours, per fault
level. Data an administrator edits; the defaults come from DOMAIN.md."""

from __future__ import annotations

import math
import re

from sqlalchemy import select

from core.auth import Actor, Role
from core.db import UnitOfWork, lock_for_update, read_only, transactional
from core.errors import Invalid, NotFound
from core.i18n import gettext
from rma.models import (
    FAULT_LEVELS,
    EscalationStep,
)

EMAIL_PATTERN = re.compile(r"^[^@\s<>,;:\"()\[\]]+@[^@\s<>,;:\"()\[\]]+\.[^@\s<>,;:\"()\[\]]+$")
TITLE_MAX = 80
EMAIL_MAX = 200

REGIONAL_SUPERVISOR = ("regional service supervisor", "regional-supervisor@spares.example")
HQ_MANAGER = ("HQ service manager", "hq-service-manager@spares.example")
HQ_DIRECTOR = ("HQ service director", "hq-service-director@spares.example")
SERVICE_ENGINEERS = ("service engineer", "service-engineers@spares.example")

# DOMAIN.md's ladder. The addresses are placeholders an administrator replaces
# with the real mailboxes (`spares ladder set`, see docs/OPERATIONS.md).
DEFAULT_LADDER: tuple[tuple[str, int, float, tuple[str, str]], ...] = (
    ("C-1", 1, 1.0, REGIONAL_SUPERVISOR),
    ("C-1", 2, 8.0, HQ_MANAGER),
    ("C-1", 3, 24.0, HQ_DIRECTOR),
    ("C-2", 1, 1.0, REGIONAL_SUPERVISOR),
    ("C-2", 2, 8.0, HQ_MANAGER),
    ("C-2", 3, 24.0, HQ_DIRECTOR),
    ("C-3", 1, 1.0, SERVICE_ENGINEERS),
    ("C-3", 2, 8.0, REGIONAL_SUPERVISOR),
    ("C-3", 3, 24.0, HQ_MANAGER),
)


# --- the ladder ---------------------------------------------------------------------------


@transactional
def seed_ladder(uow: UnitOfWork) -> int:
    """Insert the default ladder steps that are missing; returns how many were added.

    Idempotent and respectful of edits: an existing (fault level, step) row is
    never changed.
    """
    existing = set(uow.session.execute(select(EscalationStep.fault_level, EscalationStep.step)))
    added = 0
    for level, step, hours, (title, email) in DEFAULT_LADDER:
        if (level, step) not in existing:
            uow.session.add(
                EscalationStep(
                    fault_level=level,
                    step=step,
                    after_hours=hours,
                    notify_title=title,
                    notify_email=email,
                )
            )
            added += 1
    uow.session.flush()
    return added


@read_only
def list_ladder(uow: UnitOfWork, fault_level: str | None = None) -> list[EscalationStep]:
    """The ladder ordered by fault level and step (of one level if given).

    Raises ``Invalid`` for an unknown fault level.
    """
    query = select(EscalationStep).order_by(EscalationStep.fault_level, EscalationStep.step)
    if fault_level is not None:
        query = query.where(EscalationStep.fault_level == fault_level_of(fault_level))
    return list(uow.session.scalars(query))


@transactional
def update_step(
    uow: UnitOfWork,
    actor: Actor,
    fault_level: str,
    step: int,
    *,
    after_hours: float | None = None,
    notify_title: str | None = None,
    notify_email: str | None = None,
) -> EscalationStep:
    """Change one rung of the ladder (administrators only); omitted fields stay.

    ``after_hours`` are support hours (working hours, or calendar hours for C-1
    on 7x24) and must be > 0 and strictly between the neighbouring steps' hours
    of the same level; ``notify_email`` must look like an e-mail address.
    Raises ``Forbidden``, ``NotFound`` (no such step), ``Invalid``. Escalations
    already raised keep the values they were raised with.
    """
    actor.require_role(Role.ADMIN)
    level = fault_level_of(fault_level)
    # Lock the whole level: two edits at once must not leave it out of order.
    rows = list(
        uow.session.scalars(
            lock_for_update(
                select(EscalationStep)
                .where(EscalationStep.fault_level == level)
                .order_by(EscalationStep.step)
                .execution_options(populate_existing=True),
                uow,
            )
        )
    )
    target = next((row for row in rows if row.step == step), None)
    if target is None:
        raise NotFound(gettext("the %(level)s ladder has no step %(step)s", level=level, step=step))
    if after_hours is not None:
        hours = _hours(after_hours)
        below = [row.after_hours for row in rows if row.step < step]
        above = [row.after_hours for row in rows if row.step > step]
        if below and hours <= max(below):
            raise Invalid(
                gettext(
                    "after_hours of %(level)s step %(step)s must be more than step "
                    "%(previous)s's %(hours)s",
                    level=level,
                    step=step,
                    previous=step - 1,
                    hours=_hours_text(max(below)),
                ),
                field="after_hours",
            )
        if above and hours >= min(above):
            raise Invalid(
                gettext(
                    "after_hours of %(level)s step %(step)s must be less than step "
                    "%(next)s's %(hours)s",
                    level=level,
                    step=step,
                    next=step + 1,
                    hours=_hours_text(min(above)),
                ),
                field="after_hours",
            )
        target.after_hours = hours
    if notify_title is not None:
        title = notify_title.strip()
        if not title or len(title) > TITLE_MAX:
            raise Invalid(
                gettext("notify_title is required, at most %(count)s characters", count=TITLE_MAX),
                field="notify_title",
            )
        target.notify_title = title
    if notify_email is not None:
        target.notify_email = _email(notify_email)
    uow.session.add(target)
    uow.session.flush()
    return target


def fault_level_of(value: str) -> str:
    level = (value or "").strip().upper()
    if level not in FAULT_LEVELS:
        raise Invalid(
            gettext("fault_level must be one of %(choices)s", choices=", ".join(FAULT_LEVELS)),
            field="fault_level",
        )
    return level


def _hours(value: float) -> float:
    try:
        hours = float(value)
    except (TypeError, ValueError):
        raise Invalid(
            gettext("after_hours must be a number of hours"), field="after_hours"
        ) from None
    if isinstance(value, bool) or not math.isfinite(hours) or hours <= 0:
        raise Invalid(
            gettext("after_hours must be a positive number of hours"), field="after_hours"
        )
    if hours > 24 * 366:
        raise Invalid(gettext("after_hours must be at most a year"), field="after_hours")
    return hours


def _email(value: str) -> str:
    email = (value or "").strip()
    if len(email) > EMAIL_MAX or not EMAIL_PATTERN.match(email):
        raise Invalid(
            gettext(
                "notify_email %(value)s does not look like an e-mail address", value=repr(value)
            ),
            field="notify_email",
        )
    return email


def _hours_text(hours: float) -> str:
    return f"{hours:g} h"
