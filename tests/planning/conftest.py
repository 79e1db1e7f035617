from tests.inventory.conftest import make_part, planner, staff, stock_up  # noqa: F401
from tests.rma.conftest import account, engineer, install, supervisor  # noqa: F401
