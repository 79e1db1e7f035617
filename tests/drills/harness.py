"""Real processes for drills and benchmarks: the `spares` CLI, `spares serve`, and
concurrent HTTP clients running in separate processes.

Everything here is bounded: every subprocess and socket has a timeout, client
processes that do not report in time are terminated, and a server is stopped
with its whole process group. Only the standard library speaks HTTP, so the
drills need nothing beyond the project's own dependencies.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import multiprocessing
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_PASSWORD = "spares-demo"
CLI_TIMEOUT_S = 300.0
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
SERVER_START_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 60.0
LOG_TAIL_LINES = 40


def spares_command() -> list[str]:
    """The `spares` console script next to the running interpreter."""
    script = Path(sys.executable).parent / "spares"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from app import main; main()"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as error:
        return f"(log unreadable: {error})"


class DrillError(RuntimeError):
    """A real process did not do what a drill needs (the message carries its output)."""


@dataclass(frozen=True)
class Deployment:
    """One database and the environment `spares` runs with against it."""

    database_url: str
    folder: Path

    @classmethod
    def create(cls, database_url: str, folder: Path) -> Deployment:
        (folder / "instance").mkdir(parents=True, exist_ok=True)
        (folder / "run").mkdir(mode=0o700, exist_ok=True)
        return cls(database_url, folder)

    @property
    def dialect(self) -> str:
        """``postgresql`` or ``sqlite``."""
        return make_url(self.database_url).get_backend_name()

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "SPARES_INSTANCE": str(self.folder / "instance"),
            "SECRET_KEY": "drill-secret-key-not-for-production",
            # Every client process logs in; the drills are not about the login limit.
            # Several workers must share one count (core.login_limit): Redis, under a
            # prefix of this deployment's own.
            "LOGIN_RATE_LIMIT": "100000 per minute",
            "RATELIMIT_STORAGE_URI": os.environ.get("TEST_REDIS_URL", DEFAULT_REDIS_URL),
            "RATELIMIT_KEY_PREFIX": f"drill-{os.getpid()}-{self.folder.name}",
            "PYTHONUNBUFFERED": "1",
            # gunicorn keeps a control socket in $XDG_RUNTIME_DIR: one folder per
            # deployment keeps concurrent servers apart.
            "XDG_RUNTIME_DIR": str(self.folder / "run"),
        }

    def cli(self, *args: str, timeout: float = CLI_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
        """Run `spares ARGS` against this database; never raises on a non-zero exit."""
        try:
            return subprocess.run(
                [*spares_command(), *args],
                env=self.env,
                cwd=REPO_ROOT,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise DrillError(
                f"`spares {' '.join(args)}` ran longer than {timeout:.0f} s"
            ) from error

    def must(self, *args: str, timeout: float = CLI_TIMEOUT_S) -> str:
        """Run `spares ARGS`; its output, or ``DrillError`` when it fails."""
        result = self.cli(*args, timeout=timeout)
        if result.returncode != 0:
            raise DrillError(
                f"`spares {' '.join(args)}` exited {result.returncode}:\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result.stdout

    def prepare(self) -> None:
        """Migrate and load the demo data (users planner, staff-bj... with `spares-demo`)."""
        self.must("db", "upgrade")
        self.must("demo")

    def launch(
        self, workers: int, env: dict[str, str] | None = None, port: int | None = None
    ) -> Server:
        """Start `spares serve --workers N` on a free port without waiting for it: the
        caller waits (``Server.wait_until_ready``) and stops it (``Server.stop``), so
        several servers can boot at once. ``env`` adds to the deployment's environment;
        ``port`` (default: a free one) lets a killed server come back where it was."""
        port = port or free_port()
        log_path = self.folder / f"serve-{port}.log"
        # A server started again on its port appends to its log: it is ready when the
        # workers of this start have booted.
        offset = log_path.stat().st_size if log_path.exists() else 0
        command = [*spares_command(), "serve", "--host", "127.0.0.1", "--port", str(port)]
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [*command, "--workers", str(workers), "--timeout", "120"],
                env={**self.env, **(env or {})},
                cwd=REPO_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: the workers stop with it
            )
        return Server(f"http://127.0.0.1:{port}", log_path, workers, process, offset)

    @contextmanager
    def serve(self, workers: int, env: dict[str, str] | None = None) -> Iterator[Server]:
        """`spares serve --workers N` on a free port, stopped (whole process group) on
        exit; ``env`` adds to or overrides the deployment's environment."""
        server = self.launch(workers, env)
        try:
            server.wait_until_ready()
            yield server
        finally:
            server.stop()


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)
    except ProcessLookupError:
        pass


@dataclass(frozen=True)
class Answer:
    """One HTTP answer; status 0 means no answer at all (connection error, timeout)."""

    status: int
    body: Any
    seconds: float = 0.0

    @property
    def json(self) -> Any:
        return self.body


def call(
    base_url: str,
    method: str,
    path: str,
    body: Any = None,
    token: str | None = None,
    timeout: float = REQUEST_TIMEOUT_S,
    headers: dict[str, str] | None = None,
) -> Answer:
    """One request on a fresh connection; the JSON body decoded when there is one."""
    url = urlsplit(base_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)
    headers = {"Accept": "application/json", **(headers or {})}
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    started = time.perf_counter()
    try:
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        raw = response.read()
        status = response.status
    except (OSError, http.client.HTTPException) as error:
        return Answer(0, f"{type(error).__name__}: {error}", time.perf_counter() - started)
    finally:
        connection.close()
    elapsed = time.perf_counter() - started
    try:
        decoded: Any = json.loads(raw) if raw else None
    except ValueError:
        decoded = raw.decode(errors="replace")[:2000]
    return Answer(status, decoded, elapsed)


@dataclass
class Server:
    url: str
    log_path: Path
    workers: int
    process: subprocess.Popen[bytes] | None = None  # the gunicorn master (its group leader)
    log_offset: int = 0  # where this start's lines begin in the log

    def wait_until_ready(self, process: subprocess.Popen[bytes] | None = None) -> None:
        """Until every worker has booted and the app answers."""
        process = process or self.process
        assert process is not None
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        last = "no answer yet"
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise DrillError(
                    f"`spares serve` exited {process.returncode}:\n{tail(self.log_path)}"
                )
            with self.log_path.open("rb") as log:
                log.seek(self.log_offset)
                booted = log.read().decode(errors="replace").count("Booting worker")
            answer = call(self.url, "GET", "/login", timeout=5)
            if answer.status == 200 and booted >= self.workers:
                return
            last = f"status {answer.status}, {booted} of {self.workers} workers booted"
            time.sleep(0.2)
        raise DrillError(
            f"`spares serve` not ready in {SERVER_START_TIMEOUT_S:.0f} s ({last}):\n"
            f"{tail(self.log_path)}"
        )

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> Answer:
        return call(self.url, method, path, body, token)

    def token(self, username: str, password: str = DEMO_PASSWORD) -> str:
        answer = self.call(
            "POST", "/api/v1/auth/token", {"username": username, "password": password}
        )
        if answer.status != 201:
            raise DrillError(f"no token for {username}: {answer}")
        return str(answer.body["token"])

    def must(
        self, method: str, path: str, body: Any = None, token: str | None = None, status: int = 200
    ) -> Any:
        """The JSON answer of a request that must answer ``status``."""
        answer = self.call(method, path, body, token)
        if answer.status != status:
            raise DrillError(
                f"{method} {path} answered {answer.status}, not {status}: {answer.body}\n"
                f"{tail(self.log_path)}"
            )
        return answer.body

    def log(self) -> str:
        return tail(self.log_path)

    def stop(self) -> None:
        """SIGTERM to the whole process group (SIGKILL if it lingers)."""
        if self.process is not None:
            _stop(self.process)

    def kill(self) -> None:
        """SIGKILL to the whole process group at once: master and workers die mid-request."""
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=15)


# --- work in several processes at once -----------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one process returned, or the traceback it died with."""

    value: Any = None
    error: str | None = None


def _together_child(
    fn: Callable[..., Any], args: tuple[Any, ...], index: int, start: Any, results: Any
) -> None:
    try:
        start.wait()
        results.put((index, Outcome(fn(*args))))
    except BaseException:  # report it; never leave the parent waiting
        results.put((index, Outcome(error=traceback.format_exc())))


def together(
    fn: Callable[..., Any], arguments: Sequence[tuple[Any, ...]], *, timeout: float
) -> list[Outcome]:
    """Call ``fn(*args)`` for each tuple in ``arguments``, each in its own process,
    all released at the same moment once every process has started.

    ``fn`` must be importable (a module-level function) and its arguments and
    result picklable: the processes are spawned, not forked, so they share no
    connection, lock or thread with the caller. A process that has not answered
    within ``timeout`` seconds is terminated and reported as an error.
    """
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    # Interpreter start-up is slow on a busy machine: nobody starts before every
    # process has imported what it needs.
    start = context.Barrier(len(arguments) + 1, timeout=timeout)
    processes = [
        context.Process(target=_together_child, args=(fn, args, index, start, results), daemon=True)
        for index, args in enumerate(arguments)
    ]
    for process in processes:
        process.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        start.wait()  # broken: a process died or is stuck, and its outcome says so
    deadline = time.monotonic() + timeout
    outcomes: dict[int, Outcome] = {}
    while len(outcomes) < len(processes):
        try:
            index, outcome = results.get(timeout=max(deadline - time.monotonic(), 0.1))
        except queue.Empty:
            break
        outcomes[index] = outcome
    for process in processes:
        process.join(timeout=5)
        if process.is_alive():
            process.terminate()
            process.join(timeout=5)
    missing = Outcome(error=f"no answer within {timeout:.0f} s; terminated")
    return [outcomes.get(index, missing) for index in range(len(processes))]


# --- concurrent HTTP clients ------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: Any = None
    token: str | None = None
    headers: dict[str, str] | None = None


@dataclass
class Volley:
    """What a volley of requests got back, in request order, and how long it took."""

    answers: list[Answer]
    seconds: float  # from the common start to the last answer
    failures: list[str] = field(default_factory=list)  # client processes that broke

    def statuses(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for answer in self.answers:
            counts[answer.status] = counts.get(answer.status, 0) + 1
        return dict(sorted(counts.items()))


def send_share(
    base_url: str, work: list[tuple[int, Request]], threads: int
) -> tuple[list[tuple[int, Answer]], float, float]:
    """One client process: ``threads`` threads send ``work``, all starting together.
    Returns the numbered answers and the wall-clock start and end."""
    lock = threading.Lock()
    pending = list(reversed(work))
    answers: list[tuple[int, Answer]] = []
    ready = threading.Barrier(threads + 1, timeout=REQUEST_TIMEOUT_S)

    def run() -> None:
        ready.wait()
        while True:
            with lock:
                if not pending:
                    return
                index, request = pending.pop()
            answer = call(
                base_url,
                request.method,
                request.path,
                request.body,
                request.token,
                headers=request.headers,
            )
            with lock:
                answers.append((index, answer))

    pool = [threading.Thread(target=run, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    began = time.time()
    ready.wait()
    for thread in pool:
        thread.join(timeout=REQUEST_TIMEOUT_S * (1 + len(work)))
    return answers, began, time.time()


def volley(
    base_url: str,
    requests: Sequence[Request],
    *,
    processes: int = 4,
    threads: int | None = None,
    timeout: float = 120.0,
) -> Volley:
    """Send ``requests`` from ``processes`` client processes at once.

    Each process runs ``threads`` threads (default: one per request it holds, so
    every request is in flight together); with fewer threads each thread sends
    its share one after another, which is how a benchmark keeps N clients busy.
    Requests of a process that breaks or overruns ``timeout`` count as unanswered
    (status 0).
    """
    numbered = list(enumerate(requests))
    shares = [share for share in (numbered[i::processes] for i in range(processes)) if share]
    outcomes = together(
        send_share,
        [(base_url, share, threads or len(share)) for share in shares],
        timeout=timeout,
    )
    answers: dict[int, Answer] = {}
    failures = [o.error for o in outcomes if o.error is not None]
    spans = [(o.value[1], o.value[2]) for o in outcomes if o.error is None]
    for outcome in outcomes:
        if outcome.error is None:
            answers.update(outcome.value[0])
    seconds = max(e for _, e in spans) - min(b for b, _ in spans) if spans else 0.0
    ordered = [answers.get(i, Answer(0, "no answer")) for i in range(len(requests))]
    return Volley(ordered, seconds, failures)
