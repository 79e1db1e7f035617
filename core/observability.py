"""What an operator watches: ``/healthz``, ``/metrics`` and one JSON log line per request.

* **Request ids.** Every request gets an id: the caller's ``X-Request-ID`` when it
  looks like one (letters, digits and ``._:/+=@-``, at most 128), a new one
  otherwise. It is kept in ``flask.g.request_id`` (the audit trail reads it there),
  sent back in ``X-Request-ID``, and put on every log record made during the request.
* **Logs.** ``spares serve`` (gunicorn, through ``gunicorn_log_config``) and the
  development server (``spares run``, through ``configure_logging``) write one JSON
  object per line on standard error (``LOG_FORMAT=text`` for people); a request ends
  with one line (``"message": "request"``) with its id, method, route, path, status,
  duration and user; an unexpected error adds a line with its traceback
  (``exc_info``).
* **Metrics.** Request counts and latency by route (the URL rule, never the raw
  path, so ids in paths do not make new series), and the business figures the
  domains register (``Figure``), read from the database at scrape time. Under
  gunicorn every worker writes its counters to ``PROMETHEUS_MULTIPROC_DIR``
  (prometheus_client's multiprocess mode, set up by ``prepare_worker_metrics``)
  and whichever worker answers the scrape sums them all. ``/metrics`` answers only
  to ``METRICS_ALLOWED_IPS`` or with ``Authorization: Bearer METRICS_TOKEN``; with
  neither set it does not exist (404).
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import logging
import os
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from flask import Blueprint, Flask, Response, current_app, g, has_request_context, jsonify, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from pythonjsonlogger.json import JsonFormatter
from sqlalchemy.engine import Engine

from core import clock, health
from core.config import Settings, instance_path, load_settings
from core.db import UnitOfWork
from core.web import ENGINE_KEY

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/+=@-]{0,127}")
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
METRICS_KEY = "spares.metrics"
LOG_FORMATS = ("json", "text")
# Methods outside this set are counted as OTHER, so a client cannot mint series.
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_UNMATCHED_ROUTE = "<unmatched>"
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

request_log = logging.getLogger("spares.request")
logger = logging.getLogger(__name__)


# --- business figures, registered by the domains ------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One metric a domain reports from its tables: ``kind`` is ``gauge`` or
    ``counter`` (a count that only grows, such as escalations raised); ``samples``
    pair label values (in ``labels``' order) with a value."""

    name: str
    documentation: str
    kind: str
    labels: tuple[str, ...] = ()
    samples: tuple[tuple[tuple[str, ...], float], ...] = ()

    def family(self) -> Metric:
        maker = CounterMetricFamily if self.kind == "counter" else GaugeMetricFamily
        family = maker(self.name, self.documentation, labels=list(self.labels))
        for values, value in self.samples:
            family.add_metric(list(values), value)
        return family


# Reads a domain's figures in the unit of work it is given, as of ``now``.
FigureSource = Callable[[UnitOfWork, datetime], Sequence[Figure]]


class _FiguresCollector:
    """Asks every registered source at scrape time; a database that cannot answer
    gives ``spares_figures_up 0`` instead of a failed scrape."""

    def __init__(self, engine: Engine, sources: Sequence[FigureSource]) -> None:
        self.engine = engine
        self.sources = tuple(sources)

    def collect(self) -> Iterator[Metric]:
        try:
            now = clock.now()
            # Built whole before yielding: a failing source must not leave half a scrape.
            families = [
                figure.family()
                for source in self.sources
                for figure in source(UnitOfWork(self.engine), now)
            ]
            up = 1.0
        except Exception:  # a scrape must still answer the request metrics
            logger.exception("metrics: the business figures could not be read")
            families, up = [], 0.0
        yield from families
        yield GaugeMetricFamily(
            "spares_figures_up", "1 when the business figures were read from the database", up
        )


# --- request metrics ----------------------------------------------------------------------


class _RequestMetrics:
    """One application's request counters. Under gunicorn their values live in the
    multiprocess directory, and a scrape reads the files of every worker."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "spares_http_requests",
            "HTTP requests answered, by method, route (URL rule) and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "spares_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route (URL rule)",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        method = method if method in _KNOWN_METHODS else "OTHER"
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def prepare_worker_metrics(port: int) -> Path:
    """Before gunicorn forks: give the workers one directory for their counters
    (``PROMETHEUS_MULTIPROC_DIR``, default ``instance/prometheus-PORT``), emptied
    of a previous run's files, and switch prometheus_client to multiprocess values.

    prometheus_client picks its value class when first imported, and the master
    imported it while building the CLI's app; the workers build their metrics
    after the fork, so choosing the class again here is enough for them.
    """
    path = Path(multiprocess_dir() or instance_path() / f"prometheus-{port}")
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROC_ENV] = str(path)
    from prometheus_client import values

    values.ValueClass = values.get_value_class()
    return path


@dataclass(frozen=True)
class _MetricsAccess:
    token: str | None
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> _MetricsAccess:
        networks = []
        for item in (part.strip() for part in settings.metrics_allowed_ips.split(",")):
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError as error:
                raise ValueError(
                    f"METRICS_ALLOWED_IPS: {item!r} is not an address or network"
                ) from error
        return cls(settings.metrics_token or None, tuple(networks))

    @property
    def enabled(self) -> bool:
        return bool(self.token or self.networks)

    def allows(self, remote_addr: str | None, authorization: str | None) -> bool:
        if self.token and authorization:
            scheme, _, given = authorization.partition(" ")
            if scheme.lower() == "bearer" and hmac.compare_digest(
                given.strip().encode(), self.token.encode()
            ):
                return True
        try:
            address = ipaddress.ip_address(remote_addr or "")
        except ValueError:
            return False
        return any(address in network for network in self.networks)


@dataclass
class _Observability:
    metrics: _RequestMetrics
    figures: _FiguresCollector
    access: _MetricsAccess
    redis_url: str | None


def _state() -> _Observability:
    return current_app.extensions[METRICS_KEY]


# --- the two endpoints --------------------------------------------------------------------

endpoints = Blueprint("observability", __name__)


@endpoints.get("/healthz")
def healthz() -> Response:
    """200 ``{"status": "ok", ...}`` when the database answers, its migrations are
    the code's, and Redis (when configured) answers; 503 ``"fail"`` naming the
    failed checks otherwise. No login: load balancers ask it."""
    report = health.health(current_app.extensions[ENGINE_KEY], _state().redis_url)
    response = jsonify(report.as_json())
    response.status_code = 200 if report.healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response


@endpoints.get("/metrics")
def metrics() -> Response:
    """Prometheus text: request counts and latency by route, and the domains'
    figures. Off (404) unless ``METRICS_ALLOWED_IPS`` or ``METRICS_TOKEN`` is set."""
    state = _state()
    if not state.access.enabled:
        return _refusal(404, "not_found", "metrics are not enabled on this server")
    if not state.access.allows(request.remote_addr, request.headers.get("Authorization")):
        if state.access.token:
            response = _refusal(401, "unauthorized", "metrics need the bearer token")
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
        return _refusal(403, "forbidden", "metrics are not served to this address")
    registry = CollectorRegistry()
    if multiprocess_dir():
        MultiProcessCollector(registry)
    else:
        registry.register(state.metrics.registry)
    registry.register(state.figures)
    response = Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response


def _refusal(status: int, error: str, detail: str) -> Response:
    response = jsonify({"error": error, "detail": detail})
    response.status_code = status
    return response


# --- per request: the id, the counters, the log line --------------------------------------


def _request_id_from(header: str | None) -> str:
    if header and _SANE_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def _user_name() -> str | None:
    """Who made the request, without loading anybody for it: the API's bearer-token
    actor, else the page's user once flask-login loaded them for the view."""
    actor = g.get("actor") or g.get("_login_user")
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None
    return getattr(actor, "username", None)


def _begin_request() -> None:
    g.request_id = _request_id_from(request.headers.get(REQUEST_ID_HEADER))
    g.request_started = time.perf_counter()


def _end_request(response: Response) -> Response:
    request_id = g.get("request_id") or _request_id_from(None)
    response.headers[REQUEST_ID_HEADER] = request_id
    seconds = time.perf_counter() - g.get("request_started", time.perf_counter())
    route = request.url_rule.rule if request.url_rule is not None else _UNMATCHED_ROUTE
    _state().metrics.observe(request.method, route, response.status_code, seconds)
    request_log.log(
        logging.ERROR if response.status_code >= 500 else logging.INFO,
        "request",
        extra={
            "request_id": request_id,
            "method": request.method,
            "route": route,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round(seconds * 1000, 2),
            "user": _user_name(),
            "remote_addr": request.remote_addr,
        },
    )
    return response


def init_observability(app: Flask, settings: Settings, sources: Iterable[FigureSource]) -> None:
    """Give ``app`` request ids, request metrics and log lines, ``/healthz`` and
    ``/metrics`` (with the domains' figure ``sources``). ``ValueError`` for a
    malformed ``METRICS_ALLOWED_IPS``."""
    app.extensions[METRICS_KEY] = _Observability(
        metrics=_RequestMetrics(),
        figures=_FiguresCollector(app.extensions[ENGINE_KEY], list(sources)),
        access=_MetricsAccess.from_settings(settings),
        redis_url=health.redis_url_to_check(settings.ratelimit_storage_uri),
    )
    # First in, last out: the id exists before any other hook can refuse the
    # request, and the duration covers the other hooks too.
    app.before_request_funcs.setdefault(None, []).insert(0, _begin_request)
    app.after_request_funcs.setdefault(None, []).insert(0, _end_request)
    app.register_blueprint(endpoints)


# --- log output ---------------------------------------------------------------------------


class _RequestIdFilter(logging.Filter):
    """Stamps records made while a request is answered with its id."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id") and has_request_context():
            record.request_id = g.get("request_id")
        return True


class _NoDevServerAccessLine(logging.Filter):
    """Drops the development server's own line per request (werkzeug's format):
    the application's request line says more."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == "werkzeug" and str(record.msg).startswith("%s - - ["))


def _formatter(fmt: str) -> logging.Formatter:
    if fmt not in LOG_FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {fmt!r}")
    if fmt == "text":
        return logging.Formatter(
            "%(asctime)s %(levelname)s [%(process)d] %(name)s %(request_id)s: %(message)s",
            defaults={"request_id": "-"},
        )
    return JsonFormatter(
        ["levelname", "name", "message", "process"],
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp="time",
        json_ensure_ascii=False,
    )


class LogHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Standard error, one record a line (``json`` or ``text``), with request ids.

    The stream is looked up at every write, as ``logging.lastResort`` does, so a
    replaced ``sys.stderr`` (gunicorn's, a test runner's) is always the one used.
    """

    def __init__(self, fmt: str = "json") -> None:
        super().__init__()
        self.setFormatter(_formatter(fmt))
        self.addFilter(_RequestIdFilter())
        self.addFilter(_NoDevServerAccessLine())

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def _level(name: str) -> int:
    level = logging.getLevelName(name.strip().upper())
    if not isinstance(level, int):
        raise ValueError(f"LOG_LEVEL {name!r} is not a logging level")
    return level


def configure_logging(settings: Settings) -> None:
    """Send every log record at ``LOG_LEVEL`` and above to standard error in
    ``LOG_FORMAT`` (the development server; gunicorn uses ``gunicorn_log_config``).
    Calling it again replaces the handler instead of adding a second one."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, LogHandler)]:
        root.removeHandler(handler)
    root.addHandler(LogHandler(settings.log_format))
    root.setLevel(_level(settings.log_level))


def gunicorn_log_config(settings: Settings) -> dict[str, Any]:
    """gunicorn's ``logconfig_dict``: its own messages and the application's through
    one ``LogHandler`` on the root logger. gunicorn's access log is left out: the
    application's request line says more (route, user, request id)."""
    level = logging.getLevelName(_level(settings.log_level))
    _formatter(settings.log_format)  # refuse a bad LOG_FORMAT before gunicorn starts
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "root": {"level": level, "handlers": ["spares"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": [], "propagate": True},
            "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
        },
        "handlers": {"spares": {"()": f"{__name__}.LogHandler", "fmt": settings.log_format}},
    }


def logged_run_command() -> click.Command:
    """Flask's ``run`` (the development server) with the log configured first."""
    from flask.cli import run_command

    original = run_command.callback
    assert original is not None

    @functools.wraps(original)
    def run_with_logs(*args: Any, **kwargs: Any) -> Any:
        configure_logging(load_settings())
        return original(*args, **kwargs)

    command = click.Command(
        name=run_command.name,
        callback=run_with_logs,
        params=run_command.params,
        help=run_command.help,
        short_help=run_command.short_help,
        context_settings=run_command.context_settings,
    )
    return command
