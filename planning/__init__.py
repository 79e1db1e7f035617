"""The planners' surfaces: target stock, rebalancing plans, batch dispatch and the
depot-choice calculator, as JSON API (``api``), pages (``views``) and terminal
commands (``cli``).

Nothing here decides anything: the use cases live in ``inventory.service``
(targets, rebalancing) and ``rma.service`` (demand, dispatch, allocation), the
decisions in ``optimizer``; these modules parse input, call them, and show what
came back. The one query they share, the targets matching a depot and part
filter, is below.
"""

from __future__ import annotations

from core.db import UnitOfWork, read_only
from inventory.models import StockTarget
from inventory.service import targets
from inventory.service.catalog import get_part_row
from inventory.service.stock import require_depot


@read_only
def find_targets(
    uow: UnitOfWork,
    *,
    depot: str | None = None,
    part_number: str | None = None,
    nonzero: bool = False,
    limit: int = 1000,
    offset: int = 0,
) -> list[StockTarget]:
    """Stored targets, by part then depot; ``NotFound`` for an unknown depot or part.

    For one depot and one part the pair is always answered (unless ``nonzero``
    or an offset leaves it out): an unsaved all-zero row when nothing is stored,
    because a missing target is 0. Rows are detached and safe to read afterwards.
    """
    depot_code = require_depot(uow, depot).code if depot else None
    part = get_part_row(uow, part_number).part_number if part_number else None
    rows = targets.list_targets(
        uow, depot=depot_code, part_number=part, nonzero=nonzero, limit=limit, offset=offset
    )
    if depot_code and part and not rows and not nonzero and offset == 0:
        rows = [StockTarget(depot_code=depot_code, part_number=part)]
    return rows
