"""Health checks, metrics and request logs, through HTTP (the test client, and one real
`spares serve` with two gunicorn workers)."""

from __future__ import annotations

import http.client
import json
import logging
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from alembic.script import ScriptDirectory
from flask import g
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import Engine

from core import clock, schema
from core.config import load_settings
from core.db import make_engine
from core.observability import configure_logging
from rma.service import escalations
from tests.conftest import TEST_PASSWORD, bearer, make_test_app
from tests.drills.harness import Deployment
from tests.rma.test_escalations import make_world

REQUEST_LOGGER = "spares.request"


class ServerLog:
    """What the server writes on standard error once its log is configured as
    `spares run` and `spares serve` configure it (``LOG_FORMAT``)."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def clear(self) -> None:
        self.capsys.readouterr()

    def text(self) -> list[str]:
        return [line for line in self.capsys.readouterr().err.splitlines() if line.strip()]

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text()]

    def requests(self) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line["logger"] == REQUEST_LOGGER]


@contextmanager
def configured_log(fmt: str) -> Iterator[None]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    configure_logging(load_settings(secret_key="test-secret", log_format=fmt))
    try:
        yield
    finally:
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
        root.setLevel(level)


@pytest.fixture
def server_log(capsys: pytest.CaptureFixture[str]) -> Iterator[ServerLog]:
    with configured_log("json"):
        log = ServerLog(capsys)
        log.clear()
        yield log


def scrape(client: Any, **kwargs: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """/metrics parsed: (sample name, sorted labels) -> value."""
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/plain"
    return parse(response.get_data(as_text=True))


def parse(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict[Any, float], name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def code_head() -> str:
    return ScriptDirectory(str(schema.MIGRATIONS_DIR)).get_current_head() or ""


# --- /healthz -------------------------------------------------------------------------------


def test_healthz_is_ok_without_login_on_a_current_database(any_engine: Engine) -> None:
    client = make_test_app(any_engine).test_client()

    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["migrations"] == {"status": "ok", "revision": code_head()}
    assert body["checks"]["redis"]["status"] == "skipped"
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////nonexistent-folder-for-spares-tests/spares.db",
        "postgresql+psycopg://postgres@127.0.0.1:1/spares?connect_timeout=2",
    ],
    ids=["sqlite", "postgres"],
)
def test_healthz_fails_with_503_when_the_database_is_unreachable(url: str) -> None:
    engine = make_engine(url)
    client = make_test_app(engine).test_client()

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "fail"
    assert body["failed"] == ["database"]
    assert body["checks"]["database"] == {"status": "fail", "detail": "database unreachable"}
    assert body["checks"]["migrations"]["status"] == "skipped"
    # The error text (hosts, paths) goes to the log, not to this public answer.
    assert "nonexistent" not in response.get_data(as_text=True)
    engine.dispose()


def test_healthz_fails_while_migrations_are_behind_and_recovers_after_upgrade(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'behind.db'}")
    head = ScriptDirectory(str(schema.MIGRATIONS_DIR)).get_revision(code_head())
    schema.upgrade(engine, str(head.down_revision))
    client = make_test_app(engine).test_client()

    behind = client.get("/healthz")

    assert behind.status_code == 503
    body = behind.get_json()
    assert body["failed"] == ["migrations"]
    assert body["checks"]["database"]["status"] == "ok"
    migrations = body["checks"]["migrations"]
    assert migrations["status"] == "fail"
    assert (migrations["database"], migrations["code"]) == (head.down_revision, code_head())
    assert "spares db upgrade" in migrations["detail"]

    schema.upgrade(engine)
    assert client.get("/healthz").status_code == 200
    engine.dispose()


def test_healthz_fails_on_a_database_without_schema(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    client = make_test_app(engine).test_client()

    response = client.get("/healthz")

    assert response.status_code == 503
    migrations = response.get_json()["checks"]["migrations"]
    assert (migrations["status"], migrations["database"]) == ("fail", None)
    engine.dispose()


def test_healthz_fails_when_the_configured_redis_is_down(engine: Engine) -> None:
    client = make_test_app(engine, ratelimit_storage_uri="redis://127.0.0.1:1/0").test_client()

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.get_json()
    assert body["failed"] == ["redis"]
    assert body["checks"]["redis"] == {"status": "fail", "detail": "redis unreachable"}
    assert body["checks"]["database"]["status"] == "ok"


def test_healthz_pings_the_configured_redis(engine: Engine) -> None:
    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as error:
        pytest.skip(f"Redis not reachable at {url}: {error}")
    client = make_test_app(engine, ratelimit_storage_uri=url).test_client()

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json()["checks"]["redis"] == {"status": "ok"}


# --- /metrics -------------------------------------------------------------------------------


def test_metrics_are_off_unless_a_setting_allows_them(engine: Engine) -> None:
    client = make_test_app(engine).test_client()

    response = client.get("/metrics")

    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


def test_metrics_answer_only_the_allowed_networks(engine: Engine) -> None:
    client = make_test_app(engine, metrics_allowed_ips="10.0.0.0/8, 192.0.2.7").test_client()

    inside = client.get("/metrics", environ_base={"REMOTE_ADDR": "10.20.30.40"})
    exact = client.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    outside = client.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.8"})

    assert (inside.status_code, exact.status_code) == (200, 200)
    assert outside.status_code == 403
    assert outside.get_json()["error"] == "forbidden"
    assert "spares_http_requests" not in outside.get_data(as_text=True)


def test_metrics_answer_the_bearer_token(engine: Engine) -> None:
    client = make_test_app(engine, metrics_token="scrape-secret-1").test_client()

    missing = client.get("/metrics")
    wrong = client.get("/metrics", headers=bearer("scrape-secret-2"))
    right = client.get("/metrics", headers=bearer("scrape-secret-1"))

    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    assert right.status_code == 200


def test_a_malformed_allowed_network_stops_the_app_from_starting(engine: Engine) -> None:
    with pytest.raises(ValueError, match=re.escape("METRICS_ALLOWED_IPS: '10.0.0.300'")):
        make_test_app(engine, metrics_allowed_ips="10.0.0.300")


def test_requests_are_counted_by_route_not_by_path(engine: Engine) -> None:
    client = make_test_app(engine, metrics_allowed_ips="127.0.0.1").test_client()

    for path in ("/rmas/RMA-2026-000001", "/rmas/RMA-2026-000002", "/healthz", "/no/such/page"):
        client.get(path)
    client.get("/api/v1/parts")  # no token: 401

    samples = scrape(client)
    requests = "spares_http_requests_total"
    assert value(samples, requests, method="GET", route="/rmas/<number>", status="302") == 2
    assert value(samples, requests, method="GET", route="/healthz", status="200") == 1
    assert value(samples, requests, method="GET", route="<unmatched>", status="404") == 1
    assert value(samples, requests, method="GET", route="/api/v1/parts", status="401") == 1
    assert not [key for key in samples if ("route", "/rmas/RMA-2026-000001") in key[1]]
    latency = "spares_http_request_duration_seconds_count"
    assert value(samples, latency, method="GET", route="/rmas/<number>") == 2
    assert value(samples, "spares_figures_up") == 1


def test_metrics_still_answer_when_the_database_is_down() -> None:
    engine = make_engine("sqlite:////nonexistent-folder-for-spares-tests/spares.db")
    client = make_test_app(engine, metrics_allowed_ips="127.0.0.1").test_client()
    client.get("/healthz")

    samples = scrape(client)

    assert value(samples, "spares_figures_up") == 0
    assert value(samples, "spares_rmas", status="closed") is None
    requests = "spares_http_requests_total"
    assert value(samples, requests, method="GET", route="/healthz", status="503") == 1
    engine.dispose()


def test_metrics_report_cases_by_status_at_risk_escalations_and_the_outbox(
    any_engine: Engine,
) -> None:
    world = make_world(any_engine)
    reported = datetime(2026, 3, 9, 9, 0, tzinfo=clock.SHANGHAI)
    # No depot holds the part: the replacement is backordered, so at risk.
    world.open(world.customer(), "C-3", reported, kind="advance_replacement")
    world.open(world.customer(), "C-2", reported, kind="repair")
    with clock.frozen(datetime(2026, 3, 9, 9, 5, tzinfo=clock.SHANGHAI)):
        raised = escalations.raise_due_escalations(world.uow, clock.now())
    assert [(e.fault_level, e.step) for e in raised] == [("C-3", 0)]
    client = make_test_app(any_engine, metrics_allowed_ips="127.0.0.1").test_client()

    samples = scrape(client)

    assert value(samples, "spares_rmas", status="approved") == 2
    assert value(samples, "spares_rmas", status="closed") == 0
    assert value(samples, "spares_rmas_at_risk", fault_level="C-3") == 1
    assert value(samples, "spares_rmas_at_risk", fault_level="C-2") == 0
    raised_total = "spares_escalations_raised_total"
    assert value(samples, raised_total, fault_level="C-3", step="0") == 1
    assert value(samples, raised_total, fault_level="C-1", step="1") == 0
    assert (value(samples, "spares_outbox_messages", status="pending") or 0) >= 1
    assert (value(samples, "spares_outbox_oldest_pending_seconds") or 0) > 0


# --- request ids and log lines ----------------------------------------------------------------


def test_each_request_logs_one_line_with_the_callers_request_id(
    engine: Engine, server_log: ServerLog
) -> None:
    client = make_test_app(engine).test_client()

    response = client.get("/rmas/RMA-2026-000009", headers={"X-Request-ID": "lb-7f3a.2"})

    assert response.headers["X-Request-ID"] == "lb-7f3a.2"
    [line] = server_log.requests()
    assert line["message"] == "request"
    assert line["level"] == "INFO"
    assert {key: line[key] for key in ("request_id", "method", "route", "path", "status")} == {
        "request_id": "lb-7f3a.2",
        "method": "GET",
        "route": "/rmas/<number>",
        "path": "/rmas/RMA-2026-000009",
        "status": 302,
    }
    assert line["duration_ms"] >= 0
    assert line["user"] is None
    assert "time" in line


@pytest.mark.parametrize(
    "given", ["has spaces", "x" * 129, "<script>", "", "-leading-dash"], ids=repr
)
def test_an_insane_request_id_is_replaced_by_a_new_one(
    engine: Engine, server_log: ServerLog, given: str
) -> None:
    client = make_test_app(engine).test_client()

    response = client.get("/healthz", headers={"X-Request-ID": given})

    new_id = response.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", new_id)
    assert [line["request_id"] for line in server_log.requests()] == [new_id]


def test_ids_differ_per_request_and_are_kept_in_flask_g(engine: Engine) -> None:
    app = make_test_app(engine)
    seen: list[str] = []

    @app.get("/probe-request-id")
    def probe() -> str:
        seen.append(g.request_id)
        return "ok"

    client = app.test_client()
    first = client.get("/probe-request-id").headers["X-Request-ID"]
    second = client.get("/probe-request-id").headers["X-Request-ID"]

    assert first != second
    assert seen == [first, second]


def test_the_log_line_names_the_api_user_and_the_page_user(
    client: Any, make_user: Any, login: Any, server_log: ServerLog
) -> None:
    planner = make_user("planner")
    token = client.post(
        "/api/v1/auth/token", json={"username": planner.username, "password": TEST_PASSWORD}
    ).get_json()["token"]
    engineer = login("engineer")
    server_log.clear()

    client.get("/api/v1/parts", headers={**bearer(token), "X-Request-ID": "api-call"})
    client.get("/rmas", headers={"X-Request-ID": "page-call"})
    client.get("/healthz", headers={"X-Request-ID": "anonymous-call"})

    users = {line["request_id"]: line["user"] for line in server_log.requests()}
    assert users == {
        "api-call": planner.username,
        "page-call": engineer.username,
        # /healthz never loads the signed-in user: no database work it does not need.
        "anonymous-call": None,
    }


def test_an_unexpected_error_logs_its_traceback_with_the_request_id(
    engine: Engine, server_log: ServerLog
) -> None:
    app = make_test_app(engine)

    @app.get("/explode-for-test")
    def explode() -> str:
        raise RuntimeError("boom for the log")

    client = app.test_client()
    response = client.get("/explode-for-test", headers={"X-Request-ID": "err-1"})

    assert response.status_code == 500
    assert response.headers["X-Request-ID"] == "err-1"
    lines = server_log.lines()
    errors = [line for line in lines if "exc_info" in line]
    assert len(errors) == 1
    assert errors[0]["request_id"] == "err-1"
    assert errors[0]["level"] == "ERROR"
    assert "Traceback" in errors[0]["exc_info"]
    assert "RuntimeError: boom for the log" in errors[0]["exc_info"]
    [line] = [line for line in lines if line["logger"] == REQUEST_LOGGER]
    assert (line["status"], line["level"], line["request_id"]) == (500, "ERROR", "err-1")


def test_text_log_format_is_one_readable_line(
    engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    client = make_test_app(engine).test_client()
    with configured_log("text"):
        log = ServerLog(capsys)
        log.clear()
        client.get("/healthz", headers={"X-Request-ID": "text-1"})
        lines = log.text()

    assert len(lines) == 1
    assert re.search(r" INFO \[\d+\] spares\.request text-1: request$", lines[0])


# --- gunicorn: workers report together, every line is JSON -------------------------------------


def _get(url: str, path: str, request_id: str | None = None) -> tuple[int, str]:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request("GET", path, headers={"X-Request-ID": request_id} if request_id else {})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def _json_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_gunicorn_workers_report_together_and_log_json(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copyfile(sqlite_template, tmp_path / "served.db")
    deployment = Deployment.create(f"sqlite:///{tmp_path / 'served.db'}", tmp_path)
    monkeypatch.setenv("METRICS_ALLOWED_IPS", "127.0.0.1")
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    sent: list[str] = []
    guard = threading.Lock()

    def send(batch: int) -> None:
        for i in range(10):
            request_id = f"gunicorn-{batch}-{i}"
            status, _ = _get(server.url, "/healthz", request_id)
            assert status == 200
            with guard:
                sent.append(request_id)

    with deployment.serve(workers=2) as server:
        # Parallel clients, until both workers answered some (the kernel picks).
        for round_ in range(10):
            threads = [threading.Thread(target=send, args=(round_ * 4 + t,)) for t in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            answered_by = {
                line["process"]
                for line in _json_lines(server.log_path)
                if line.get("message") == "request" and line.get("route") == "/healthz"
            }
            if len(answered_by) == 2:
                break
        status, text = _get(server.url, "/metrics")

    assert len(answered_by) == 2, "one worker answered every request"
    assert status == 200
    samples = parse(text)
    total = value(
        samples, "spares_http_requests_total", method="GET", route="/healthz", status="200"
    )
    assert total == len(sent)
    lines = _json_lines(server.log_path)  # every line parses: gunicorn's own too
    assert any("Booting worker" in line["message"] for line in lines)
    logged = [line["request_id"] for line in lines if line.get("route") == "/healthz"]
    assert sorted(logged) == sorted(sent)
