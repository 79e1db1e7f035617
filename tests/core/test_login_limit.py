"""The sign-in limit fails closed: with its store down, sign-in answers 503 (logged)
instead of counting in per-process memory, and works again once the store is back;
`spares serve` refuses several workers without a shared store that answers."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.conftest import TEST_PASSWORD, csrf_token, make_test_app
from tests.drills.harness import REPO_ROOT, free_port, spares_command

DOWN = "redis://127.0.0.1:1/0"  # nothing listens on port 1: refused at once
CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}


def _sessions(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM web_session")).scalar_one()


def _sign_in(client, username: str, password: str = TEST_PASSWORD, headers: dict | None = None):
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_token(client)},
        headers=headers or {},
    )


def test_with_the_store_down_sign_in_answers_503_and_nobody_is_signed_in(engine, make_user, caplog):
    person = make_user("planner")
    app = make_test_app(engine, ratelimit_storage_uri=DOWN, login_rate_limit="3 per minute")
    client = app.test_client()

    with caplog.at_level(logging.ERROR, logger="spares.login_limit"):
        page = _sign_in(client, person.username, headers=CHINESE)
        api = client.post(
            "/api/v1/auth/token", json={"username": person.username, "password": TEST_PASSWORD}
        )

    assert page.status_code == 503
    assert "现在无法登录" in page.get_data(as_text=True)
    assert api.status_code == 503
    assert api.get_json() == {
        "error": "unavailable",
        "detail": "sign-in is unavailable: the attempt counter cannot be reached",
    }
    assert _sessions(engine) == 0
    assert client.get("/").status_code == 302  # still signed out
    refusals = [r for r in caplog.records if r.name == "spares.login_limit"]
    assert len(refusals) == 2 and all(r.levelno == logging.ERROR for r in refusals)
    # Pages that need no sign-in attempt are not affected.
    assert client.get("/login").status_code == 200


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[tuple[str, dict[str, Callable[[], None]]]]:
    """A Redis of the test's own (no persistence), with a way to stop and start it."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    state: dict[str, subprocess.Popen[bytes]] = {}

    def start() -> None:
        state["process"] = subprocess.Popen(
            [binary, "--port", str(port), "--save", "", "--appendonly", "no", "--dir", tmp_path],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            probe = subprocess.run(
                ["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True, check=False
            )
            if probe.stdout.strip() == "PONG":
                return
            time.sleep(0.05)
        raise RuntimeError("the private redis-server did not start")

    def stop() -> None:
        process = state.pop("process", None)
        if process is not None:
            process.terminate()
            process.wait(timeout=10)

    start()
    yield f"redis://127.0.0.1:{port}/0", {"start": start, "stop": stop}
    stop()


def test_the_limit_holds_and_a_store_outage_refuses_instead_of_forgetting(
    engine, make_user, private_redis
):
    url, control = private_redis
    person = make_user("engineer")
    app = make_test_app(engine, ratelimit_storage_uri=url, login_rate_limit="3 per minute")
    client = app.test_client()

    wrong = [_sign_in(client, person.username, "wrong-password").status_code for _ in range(4)]
    assert wrong == [401, 401, 401, 429]
    assert _sign_in(client, person.username).status_code == 429  # even the right password

    control["stop"]()
    assert _sign_in(client, person.username).status_code == 503  # no fresh count in memory
    assert _sessions(engine) == 0

    control["start"]()  # back, empty (no persistence): the count starts again
    assert _sign_in(client, person.username).status_code == 302
    assert _sessions(engine) == 1


def _serve(tmp_path: Path, workers: int, **env: str) -> subprocess.CompletedProcess[str]:
    """`spares serve --workers N` expected to refuse (it would otherwise keep serving:
    the timeout fails the test)."""
    environment = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "SPARES_INSTANCE": str(tmp_path),
        "SECRET_KEY": "serve-test",
        "XDG_RUNTIME_DIR": str(tmp_path),
        **env,
    }
    if "RATELIMIT_STORAGE_URI" not in env:
        environment.pop("RATELIMIT_STORAGE_URI", None)
    command = [*spares_command(), "serve", "--port", str(free_port()), "--workers", str(workers)]
    return subprocess.run(
        command,
        env=environment,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_serve_refuses_several_workers_counting_in_their_own_memory(tmp_path):
    result = _serve(tmp_path, 2, RATELIMIT_STORAGE_URI="memory://")
    assert result.returncode == 1
    assert "error: not serving: 2 workers would each count sign-in attempts" in result.stderr
    assert "Booting worker" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "env",
    [{"RATELIMIT_STORAGE_URI": DOWN}, {"REDIS_URL": DOWN}],
    ids=["configured", "redis-default"],
)
def test_serve_refuses_several_workers_while_the_shared_store_does_not_answer(
    app, monkeypatch, caplog, env
):
    """Without RATELIMIT_STORAGE_URI, several workers count in Redis at REDIS_URL,
    checked the same way. (In-process: the refusal comes before gunicorn starts.)"""
    monkeypatch.delenv("RATELIMIT_STORAGE_URI", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with caplog.at_level(logging.ERROR, logger="spares.login_limit"):
        result = app.test_cli_runner().invoke(
            args=["serve", "--port", str(free_port()), "--workers", "4"]
        )
    assert result.exit_code == 1
    assert f"error: not serving: the sign-in limit's store {DOWN} does not answer" in (
        result.output
    )
    assert [r.levelno for r in caplog.records if r.name == "spares.login_limit"] == [logging.ERROR]


def _token_attempt(client, username: str, address: str) -> int:
    return client.post(
        "/api/v1/auth/token",
        json={"username": username, "password": "not-the-password"},
        headers={"X-Forwarded-For": address},
    ).status_code


def test_behind_one_proxy_each_client_address_has_its_own_count(engine, make_user):
    person = make_user("planner")
    app = make_test_app(engine, login_rate_limit="2 per minute", forwarded_hops=1)
    client = app.test_client()
    assert [_token_attempt(client, person.username, "10.0.0.1") for _ in range(3)] == [
        401,
        401,
        429,
    ]
    assert _token_attempt(client, person.username, "10.0.0.2") == 401


def test_without_a_proxy_a_forwarded_address_is_not_believed(engine, make_user):
    """A client cannot escape the limit by naming another address each time."""
    person = make_user("planner")
    app = make_test_app(engine, login_rate_limit="2 per minute")
    client = app.test_client()
    statuses = [_token_attempt(client, person.username, f"10.0.0.{n}") for n in range(1, 4)]
    assert statuses == [401, 401, 429]
