"""Audit tests reuse the RMA and inventory factories."""

from tests.rma.conftest import (  # noqa: F401  (fixtures shared with RMA tests)
    account,
    engineer,
    install,
    make_part,
    planner,
    staff,
    stock_up,
    supervisor,
)
