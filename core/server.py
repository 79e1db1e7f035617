"""Production serving with gunicorn, started from `spares serve`."""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication

from core.config import load_settings
from core.login_limit import require_shared_store
from core.observability import gunicorn_log_config, prepare_worker_metrics


class _Gunicorn(BaseApplication):
    def __init__(self, factory: Callable[[], Any], options: dict[str, Any]) -> None:
        self.factory = factory
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        # Each worker builds its own app and engine after the fork: no
        # connection pool is ever shared between processes.
        app = self.factory()
        # What is built by now (modules, the app, catalogues, mappers: some 450,000
        # objects) lives as long as the worker. Frozen, the garbage collector stops
        # walking it on every full collection: one took about 150 ms of CPU, added
        # to whichever request met it.
        gc.collect()
        gc.freeze()
        return app


def run_gunicorn(
    factory: Callable[[], Any], *, host: str, port: int, workers: int, timeout: int
) -> None:
    """Serve the apps ``factory`` builds (one per worker, after the fork)."""
    # Several workers share one sign-in count, or the server does not start.
    require_shared_store(workers)
    # Every worker's request counters go to one directory, summed on each scrape.
    prepare_worker_metrics(port)
    _Gunicorn(
        factory,
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "timeout": timeout,
            "preload_app": False,
            # gunicorn's messages and the app's (one JSON line per request, which
            # replaces gunicorn's access log) through one handler on standard error.
            "errorlog": "-",
            "logconfig_dict": gunicorn_log_config(load_settings()),
            # gunicorn's control socket defaults to one path per machine user, so
            # two servers (demo and tests, or parallel CI jobs) would take each
            # other's; Spares does not use it.
            "control_socket_disable": True,
        },
    ).run()
