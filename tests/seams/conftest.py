"""Cross-workflow tests: where one capability's step is another's input.

The factories are those of the RMA and inventory tests; ``auth_for`` gives a
cached bearer header per (role, depot).
"""

from __future__ import annotations

from tests.inventory.conftest import (  # noqa: F401  (fixtures shared with inventory tests)
    make_part,
    planner,
    staff,
    stock_up,
)
from tests.rma.conftest import (  # noqa: F401  (fixtures shared with the RMA tests)
    account,
    engineer,
    install,
    supervisor,
)


def call(client, method: str, path: str, headers: dict[str, str], status: int, **kwargs):
    """One API call that must answer ``status``; its JSON body."""
    answer = client.open(path, method=method, headers=headers, **kwargs)
    assert answer.status_code == status, (answer.status_code, answer.get_json())
    return answer.get_json()
