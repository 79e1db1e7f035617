"""The report's inputs as pandas frames, read through each domain's own queries.

Cases and escalations come from ``rma.service.queries``, the depots from
``depots.service.queries``; each is one query, whatever the period, and nothing
here writes. Instants become pandas UTC timestamps (NaT for a step that has not
happened), money a float in CNY, ratings a nullable integer.
"""

from __future__ import annotations

import pandas as pd

from core.db import UnitOfWork, read_only
from depots.service.queries import depot_places
from reports.service.period import Period
from rma.service.queries import (
    CASE_FIGURES,
    case_figures,
    escalation_counts,
    escalations_raised,
)

# The instants of ``CaseFigures``: steps and due times.
_INSTANTS = (
    "reported_at",
    "approved_at",
    "shipped_at",
    "delivered_at",
    "due_replacement",
    "returned_at",
    "due_repair_return",
    "closed_at",
    "cancelled_at",
)


@read_only
def load_cases(uow: UnitOfWork, period: Period) -> pd.DataFrame:
    """Every RMA that can have a step in ``period``: reported before its end and
    not closed or cancelled before its start. One row per RMA; instants are
    pandas UTC timestamps (NaT when the step has not happened)."""
    rows = case_figures(uow, period.start_at, period.end_at)
    frame = pd.DataFrame(
        [tuple(getattr(row, name) for name in CASE_FIGURES) for row in rows],
        columns=list(CASE_FIGURES),
    )
    for name in _INSTANTS:
        frame[name] = pd.to_datetime(frame[name], utc=True)
    frame["shipping_cost"] = pd.to_numeric(frame["shipping_cost"].astype(object)).astype(float)
    frame["rating"] = pd.to_numeric(frame["rating"]).astype("Float64")
    frame["remarks"] = frame["remarks"].fillna("")
    return frame


def load_escalations(uow: UnitOfWork, period: Period) -> pd.DataFrame:
    """Escalations raised in ``period``: fault level, step and how many."""
    rows = escalation_counts(uow, period.start_at, period.end_at)
    return pd.DataFrame(
        [(row.fault_level, row.step, row.count) for row in rows],
        columns=["fault_level", "step", "count"],
    )


def load_raised_escalations(uow: UnitOfWork, period: Period) -> pd.DataFrame:
    """Each escalation raised in ``period``: the case's number (``number``), fault
    level, step and when it was raised (a pandas UTC timestamp)."""
    rows = escalations_raised(uow, period.start_at, period.end_at)
    frame = pd.DataFrame(
        [(row.number, row.fault_level, row.step, row.raised_at) for row in rows],
        columns=["number", "fault_level", "step", "raised_at"],
    )
    frame["raised_at"] = pd.to_datetime(frame["raised_at"], utc=True)
    frame["step"] = frame["step"].astype(int)
    return frame


def load_depots(uow: UnitOfWork) -> pd.DataFrame:
    """Every depot, by code: code, name, its city's English and Chinese names."""
    return pd.DataFrame(
        [(place.code, place.name, place.city, place.city_zh) for place in depot_places(uow)],
        columns=["depot", "depot_name", "city", "city_zh"],
    )
