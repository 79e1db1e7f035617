"""Overdue defective returns now: the units replaced or loaned in advance (and
those shipped on cases cancelled since) that should be back by now and are
not. Which cases those are is ``rma.service.queries.overdue_returns``' one
rule, the one the daily reminders chase; this module only lays them out as a
table, due times in Asia/Shanghai, the longest overdue first.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from core import clock
from core.db import UnitOfWork, read_only
from rma.service import queries as rma_queries


@read_only
def overdue_returns(uow: UnitOfWork, *, now: datetime | None = None) -> pd.DataFrame:
    """Units that should be back by ``now`` (default: the clock) and are not, by the
    one rule of ``rma.service.queries.overdue_returns`` (the daily reminders
    chase the same cases): RMA, customer, city, depot, kind, part, serial expected
    back, due time (Asia/Shanghai), whole days overdue, engineer. The longest
    overdue first."""
    now = clock.as_utc(now or clock.now())
    rows = [
        {
            "rma": unit.number,
            "customer": unit.customer,
            "customer_zh": unit.customer_zh,
            "city": unit.city,
            "city_zh": unit.city_zh,
            "depot": unit.depot_code or "",
            "kind": unit.kind,
            "part_number": unit.part_number,
            "serial": unit.serial or "",
            "due": pd.Timestamp(unit.due).tz_convert(clock.SHANGHAI),
            "days_overdue": (now - unit.due).days,
            "engineer": unit.reported_by,
        }
        for unit in rma_queries.overdue_returns(uow, now)
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "rma",
            "customer",
            "customer_zh",
            "city",
            "city_zh",
            "depot",
            "kind",
            "part_number",
            "serial",
            "due",
            "days_overdue",
            "engineer",
        ],
    )
    if len(frame):
        frame = frame.sort_values(
            ["due", "rma"], ascending=[True, True], kind="stable"
        ).reset_index(drop=True)
    return frame
