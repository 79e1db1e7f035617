"""Following a background plan run the way a browser does: poll its page until it opens the plan."""

from __future__ import annotations

import time
from typing import Any

# Only a guard against a run that never ends; a plan in these tests takes well under a second.
GIVE_UP_AFTER_S = 120


def follow_plan_run(client: Any, started: Any) -> Any:
    """The response that ``POST /rebalance``'s run ends on: the plan's page (or the run's
    page when it failed). ``started`` is the POST's (unfollowed) response."""
    assert started.status_code == 302, started.status_code
    run_page = started.headers["Location"]
    assert "/rebalance/runs/" in run_page
    deadline = time.monotonic() + GIVE_UP_AFTER_S
    while True:
        page = client.get(run_page)
        if page.status_code == 302:
            return client.get(page.headers["Location"])
        assert page.status_code == 200, page.status_code
        if "Refresh" not in page.headers:
            return page  # finished without a plan: the failure is on the page
        assert time.monotonic() < deadline, "the plan run never finished"
        time.sleep(0.05)
