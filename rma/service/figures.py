"""The RMA figures an operator watches on ``/metrics``: cases by status, cases at
risk now, escalations raised, and the notification outbox's backlog.

Read at scrape time (every 15-60 s), so each figure is one grouped count over an
indexed column; at risk is judged by ``promises.at_risk_condition``, the same rule
as the case lists' "at risk" filter.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from core import clock
from core.db import UnitOfWork, read_only
from core.observability import Figure
from rma.models import FAULT_LEVELS, Escalation, Notification, Rma, Status
from rma.service.promises import at_risk_condition

OUTBOX_STATUSES = ("pending", "sent", "failed")
# Step 0 is "at risk", 1-3 the ladder's rungs: listed even before one is raised.
LADDER_STEPS = (0, 1, 2, 3)


@read_only
def count_at_risk(uow: UnitOfWork, now: datetime) -> int:
    """How many open cases' replacement promise is at risk at ``now``
    (``promises.at_risk_condition``: flagged, or lapsed and not yet recorded)."""
    return int(uow.session.scalar(select(func.count(Rma.id)).where(at_risk_condition(now))) or 0)


@read_only
def operational_figures(uow: UnitOfWork, now: datetime) -> list[Figure]:
    """The RMA domain's figures at ``now``; every known status and fault level is
    listed, with 0 when there is none, so series do not come and go."""
    session = uow.session
    by_status = dict.fromkeys((status.value for status in Status), 0)
    by_status.update(session.execute(select(Rma.status, func.count()).group_by(Rma.status)).all())
    at_risk = dict.fromkeys(FAULT_LEVELS, 0)
    at_risk.update(
        session.execute(
            select(Rma.fault_level, func.count())
            .where(at_risk_condition(now))
            .group_by(Rma.fault_level)
        ).all()
    )
    escalations = {(level, step): 0 for level in FAULT_LEVELS for step in LADDER_STEPS}
    escalations.update(
        ((level, step), count)
        for level, step, count in session.execute(
            select(Escalation.fault_level, Escalation.step, func.count()).group_by(
                Escalation.fault_level, Escalation.step
            )
        )
    )
    outbox = dict.fromkeys(OUTBOX_STATUSES, 0)
    outbox.update(
        session.execute(
            select(Notification.status, func.count()).group_by(Notification.status)
        ).all()
    )
    oldest_pending = session.scalar(
        select(func.min(Notification.created_at)).where(Notification.status == "pending")
    )
    waiting = (now - clock.as_utc(oldest_pending)).total_seconds() if oldest_pending else 0.0
    return [
        Figure(
            "spares_rmas",
            "RMAs by status",
            "gauge",
            ("status",),
            tuple(((status,), count) for status, count in by_status.items()),
        ),
        Figure(
            "spares_rmas_at_risk",
            "Open replacements whose delivery promise is at risk now, by fault level",
            "gauge",
            ("fault_level",),
            tuple(((level,), count) for level, count in at_risk.items()),
        ),
        Figure(
            "spares_escalations_raised",
            "Escalations raised since the start, by fault level and ladder step (0: at risk)",
            "counter",
            ("fault_level", "step"),
            tuple(
                ((level, str(step)), count) for (level, step), count in sorted(escalations.items())
            ),
        ),
        Figure(
            "spares_outbox_messages",
            "Messages in the notification outbox, by status (pending: the backlog)",
            "gauge",
            ("status",),
            tuple(((status,), count) for status, count in outbox.items()),
        ),
        Figure(
            "spares_outbox_oldest_pending_seconds",
            "Age of the oldest message still waiting to be sent (0: none waiting)",
            "gauge",
            (),
            (((), max(waiting, 0.0)),),
        ),
    ]
