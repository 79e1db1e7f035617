"""The sign-in limit: attempts per client address, counted in one place for every
server process, and failing closed.

Flask-Limiter counts sign-in attempts (the login page and the API's token
endpoint) in the store ``RATELIMIT_STORAGE_URI`` names. ``memory://`` counts in
one process only: N gunicorn workers, or N servers, would allow N times the
limit. So:

* ``spares serve`` with more than one worker refuses to start without a shared
  store (Redis), and refuses to start while that store does not answer
  (``require_shared_store``); one worker with ``memory://`` is allowed and says in
  the log that its count is its own;
* while the app runs, a store that stops answering is never replaced by
  per-process memory: sign-in answers 503 until the store is back, and each
  refusal is logged at ERROR. Requests already signed in are not affected.

Behind a reverse proxy every client has the proxy's address; ``FORWARDED_HOPS``
(the number of proxies in front, default 0) makes the client's own address the
one counted (werkzeug's ``ProxyFix``). Set it only behind a proxy that sets
``X-Forwarded-For``: otherwise a client could name any address it likes.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from flask import Flask, jsonify, render_template, request
from limits.errors import StorageError
from limits.storage import storage_from_string
from werkzeug.middleware.proxy_fix import ProxyFix

from core.config import Settings
from core.i18n import gettext
from core.web import is_api_request, limiter

logger = logging.getLogger("spares.login_limit")

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# A store that does not answer within this many seconds counts as down.
STORE_TIMEOUT_S = 2.0
UNAVAILABLE_API_DETAIL = "sign-in is unavailable: the attempt counter cannot be reached"


def is_shared(storage_uri: str) -> bool:
    """Whether every process using ``storage_uri`` sees the same counts."""
    return not storage_uri.startswith("memory://")


def storage_options(storage_uri: str) -> dict[str, Any]:
    """Options for the limiter's store: errors raised as ``StorageError`` (so they can
    be answered with 503) and short timeouts for a network store."""
    options: dict[str, Any] = {"wrap_exceptions": True}
    if storage_uri.startswith(("redis://", "rediss://", "redis+unix://")):
        options.update(socket_connect_timeout=STORE_TIMEOUT_S, socket_timeout=STORE_TIMEOUT_S)
    return options


def init_login_limit(app: Flask, settings: Settings) -> None:
    """Configure the limiter on ``app`` (failing closed) and trust ``FORWARDED_HOPS``
    proxies for the client address."""
    app.config.update(
        RATELIMIT_STORAGE_URI=settings.ratelimit_storage_uri,
        RATELIMIT_STORAGE_OPTIONS=storage_options(settings.ratelimit_storage_uri),
        RATELIMIT_KEY_PREFIX=settings.ratelimit_key_prefix,
        # Fail closed: no silent fall-back to per-process counting, no swallowed errors.
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=False,
        RATELIMIT_SWALLOW_ERRORS=False,
        RATELIMIT_HEADERS_ENABLED=True,
        LOGIN_RATE_LIMIT=settings.login_rate_limit,
    )
    limiter.init_app(app)
    if settings.forwarded_hops:
        hops = settings.forwarded_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    @app.errorhandler(StorageError)
    def _store_down(error: StorageError) -> Any:
        logger.error(
            "sign-in refused on %s %s: the limit's store does not answer (%s)",
            request.method,
            request.path,
            error,
        )
        if is_api_request():
            return jsonify({"error": "unavailable", "detail": UNAVAILABLE_API_DETAIL}), 503
        detail = gettext("Signing in is not possible right now. Try again in a few minutes.")
        return render_template("error.html", status=503, detail=detail), 503


def serving_storage_uri(workers: int) -> str:
    """The store ``spares serve`` counts in: ``RATELIMIT_STORAGE_URI`` when set; else
    Redis (``REDIS_URL`` or the local default) for several workers, memory for one."""
    configured = os.environ.get("RATELIMIT_STORAGE_URI")
    if configured:
        return configured
    return os.environ.get("REDIS_URL", DEFAULT_REDIS_URL) if workers > 1 else "memory://"


def shared_store_problem(storage_uri: str, workers: int) -> str | None:
    """Why ``workers`` processes cannot count sign-ins in ``storage_uri``, or None."""
    if not is_shared(storage_uri):
        if workers > 1:
            return (
                f"{workers} workers would each count sign-in attempts in their own memory "
                f"({storage_uri}); set RATELIMIT_STORAGE_URI to a shared Redis"
            )
        return None
    try:
        store = storage_from_string(storage_uri, **storage_options(storage_uri))
        answers = store.check()
    except Exception as error:  # a malformed address or a missing driver
        return f"the sign-in limit's store {storage_uri} cannot be used: {error}"
    if not answers:
        return f"the sign-in limit's store {storage_uri} does not answer"
    return None


def require_shared_store(workers: int) -> str:
    """Decide where ``spares serve`` counts sign-ins, and check that store now.

    Returns the store's address (also put in the environment for the workers);
    raises ``SystemExit`` with one readable line, logged at ERROR, when the
    workers could not share one count.
    """
    storage_uri = serving_storage_uri(workers)
    problem = shared_store_problem(storage_uri, workers)
    if problem is not None:
        logger.error("not serving: %s", problem)
        raise SystemExit(f"error: not serving: {problem}")
    if not is_shared(storage_uri):
        logger.warning(
            "sign-in attempts are counted in this one process (%s); several servers "
            "need RATELIMIT_STORAGE_URI=redis://...",
            storage_uri,
        )
    os.environ["RATELIMIT_STORAGE_URI"] = storage_uri
    return storage_uri
