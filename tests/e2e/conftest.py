"""Browser journeys: a real server, a real database, real Chromium.

One live server per test session: a fresh SQLite database in a temporary
folder, migrated with ``spares db upgrade`` and filled with ``spares demo``,
then served by ``spares serve`` (gunicorn, one worker) on a free local port.
Each test gets a fresh browser context (its own cookies), so tests never share
a session; they do share the database, so a test that changes data must not
depend on another test's changes.

Chromium comes from Debian (``/usr/bin/chromium``) because Playwright cannot
download its own browser here; when it is missing, ``tools/ensure-chromium.sh``
installs it. When a test that uses ``page`` fails, a full-page screenshot is
saved to ``test-artifacts/e2e/<test-name>.png`` (and one per other tab the test
takes as a fixture, ``<test-name>-<fixture>.png``) and the report names it,
together with the end of the server's log.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ENSURE_CHROMIUM = REPO_ROOT / "tools" / "ensure-chromium.sh"
ARTIFACTS = REPO_ROOT / "test-artifacts" / "e2e"
DEMO_PASSWORD = "spares-demo"

# The machine has no outside network: keep Chromium from trying to reach it.
CHROMIUM_ARGS = [
    "--no-sandbox",  # tests run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_TIMEOUT_S = 20.0
CLI_TIMEOUT_S = 180.0
# Playwright waits up to 30 s by default; a journey step that takes longer than
# this against a local server is broken, and failing fast keeps the suite quick.
ACTION_TIMEOUT_MS = 10_000
# A rebalancing plan runs in the background and its page opens when it is done: on a
# busy machine the run takes longer than one action.
PLAN_RUN_TIMEOUT_MS = 120_000
LOG_TAIL_LINES = 30

E2E_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder is a browser journey, marked `e2e`."""
    for item in items:
        if E2E_DIR in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.e2e)


# --- the server -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveServer:
    """A running `spares serve`: its base URL and the file its output goes to."""

    url: str
    log_path: Path
    database_url: str

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError as error:
            return f"(server log unreadable: {error})"
        return "\n".join(text.splitlines()[-lines:])


def _spares_command() -> list[str]:
    """The `spares` console script of the running interpreter's environment."""
    script = Path(sys.executable).parent / "spares"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from app import main; main()"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_cli(args: list[str], env: dict[str, str]) -> None:
    command = [*_spares_command(), *args]
    try:
        result = subprocess.run(
            command,
            env=env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"`spares {' '.join(args)}` did not finish in {CLI_TIMEOUT_S:.0f} s")
    if result.returncode != 0:
        pytest.fail(
            f"`spares {' '.join(args)}` exited {result.returncode}:\n"
            f"{result.stdout}\n{result.stderr}"
        )


def _wait_until_answering(process: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = log_path.read_text(errors="replace")
            pytest.fail(f"`spares serve` exited with {process.returncode} on start:\n{log}")
        try:
            with urllib.request.urlopen(f"{url}/login", timeout=2) as response:
                if response.status == 200:
                    return
                last_error = f"status {response.status}"
        except urllib.error.HTTPError as error:
            last_error = f"status {error.code}"
        except (urllib.error.URLError, OSError) as error:
            last_error = str(error)
        time.sleep(0.1)
    log = log_path.read_text(errors="replace")
    pytest.fail(
        f"`spares serve` did not answer {url}/login within {SERVER_START_TIMEOUT_S:.0f} s "
        f"({last_error}); its log:\n{log}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop gunicorn and its worker: the whole process group started for it."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`spares serve` on a fresh demo database, for the whole session."""
    folder = tmp_path_factory.mktemp("e2e")
    instance = folder / "instance"
    instance.mkdir()
    runtime = folder / "run"
    runtime.mkdir(mode=0o700)
    database_url = f"sqlite:///{folder / 'e2e.db'}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SPARES_INSTANCE": str(instance),
        "SECRET_KEY": "e2e-secret-key-not-for-production",
        "LOGIN_RATE_LIMIT": "1000 per minute",
        # One worker: per-process counters are exact, and no Redis is needed.
        "RATELIMIT_STORAGE_URI": "memory://",
        "SESSION_COOKIE_SECURE": "0",  # the live server speaks plain HTTP
        "PYTHONUNBUFFERED": "1",
        # gunicorn puts its control socket in $XDG_RUNTIME_DIR (else ~/.gunicorn): a
        # folder of our own keeps concurrent servers from taking each other's socket.
        "XDG_RUNTIME_DIR": str(runtime),
    }
    _run_cli(["db", "upgrade"], env)
    _run_cli(["demo"], env)

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = folder / "server.log"
    command = [*_spares_command(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*command, "--workers", "1"],
            env=env,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, so the worker goes too
        )
    try:
        _wait_until_answering(process, url, log_path)
        yield LiveServer(url=url, log_path=log_path, database_url=database_url)
    finally:
        _stop(process)


# --- the browser ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """Debian's Chromium, installed on first use when missing."""
    if not CHROMIUM.exists():
        result = subprocess.run(
            ["sh", str(ENSURE_CHROMIUM)], capture_output=True, text=True, check=False
        )
        if result.returncode != 0 or not CHROMIUM.exists():
            pytest.fail(
                f"browser tests need {CHROMIUM}; {ENSURE_CHROMIUM.name} could not install it:\n"
                f"{result.stdout}{result.stderr}"
            )
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright, chromium_path: Path) -> Iterator[Browser]:
    browser = playwright_driver.chromium.launch(
        executable_path=str(chromium_path), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture
def context(browser: Browser, live_server: LiveServer) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cookies) pointed at the live server."""
    context = browser.new_context(
        base_url=live_server.url,
        locale="en-US",
        timezone_id="Asia/Shanghai",
        viewport={"width": 1280, "height": 900},
    )
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    """A tab in a fresh context; relative URLs (``page.goto("/depots")``) hit the live server."""
    return context.new_page()


def fill_login_form(page: Page, username: str, password: str = DEMO_PASSWORD) -> None:
    """Open /login and submit the sign-in form; does not check the outcome."""
    page.goto("/login")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    page.get_by_role("button", name="Sign in").click()


def login(page: Page, username: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the real login form; fails the test unless the header names the user."""
    fill_login_form(page, username, password)
    expect(page.get_by_test_id("current-user")).to_have_text(username)


# --- screenshots of failures ----------------------------------------------------------------


def _artifact_name(nodename: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodename).strip("_") or "test"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """When a browser test fails, keep a full-page screenshot and the server log's tail."""
    report: pytest.TestReport = yield
    if report.when != "call" or not report.failed:
        return report
    funcargs = getattr(item, "funcargs", {})
    # Every tab the test holds: ``page``, and any other (a second user's browser).
    for name, page in funcargs.items():
        if not isinstance(page, Page):
            continue
        suffix = "" if name == "page" else f"-{name}"
        path = ARTIFACTS / f"{_artifact_name(item.name)}{suffix}.png"
        try:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(path), full_page=True, timeout=ACTION_TIMEOUT_MS)
            note = f"{path} (page was at {page.url})"
        except Exception as error:  # the page may have crashed; the failure matters more
            note = f"no screenshot: {error}"
        report.sections.append(("e2e screenshot" + (f" ({name})" if suffix else ""), note))
    server = funcargs.get("live_server")
    if isinstance(server, LiveServer):
        report.sections.append(("e2e server log (tail)", server.log_tail()))
    return report
