"""Several `spares serve` processes on one deployment, for the drills: launched
together, killed (a worker, or a whole server by its process group) and started
again on their port; and the drill's own sign-ins, each from a client address of
its own (X-Forwarded-For, trusted with ``FORWARDED_HOPS=1``) so they never share a
count with a login-limit check.
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
from dataclasses import dataclass, field

from tests.drills.harness import DEMO_PASSWORD, Deployment, DrillError, Server, call

_addresses = itertools.count(1)


def client_address() -> str:
    """A client address of its own (sent as X-Forwarded-For), so the drill's own
    sign-ins never share a count with the login-limit check."""
    n = next(_addresses)
    return f"10.{os.getpid() % 250}.{n // 250}.{n % 250 + 1}"


def token(server: Server, username: str) -> str:
    answer = call(
        server.url,
        "POST",
        "/api/v1/auth/token",
        {"username": username, "password": DEMO_PASSWORD},
        headers={"X-Forwarded-For": client_address()},
    )
    if answer.status != 201:
        raise DrillError(f"no token for {username}: {answer}\n{server.log()}")
    return str(answer.body["token"])


@dataclass
class Cluster:
    deployment: Deployment
    servers: list[Server]
    workers: int
    env: dict[str, str]
    kills: list[str] = field(default_factory=list)

    @property
    def urls(self) -> list[str]:
        return [server.url for server in self.servers]

    def kill_and_restart(self, index: int) -> None:
        """SIGKILL server ``index`` (master and workers at once) and start it again on
        its port."""
        old = self.servers[index]
        old.kill()
        port = int(old.url.rsplit(":", 1)[1])
        self.kills.append(f"server {index} (process group)")
        new = self.deployment.launch(self.workers, self.env, port=port)
        self.servers[index] = new
        new.wait_until_ready()

    def kill_a_worker(self, index: int) -> None:
        """SIGKILL one worker of server ``index``; gunicorn's master starts another."""
        master = self.servers[index].process
        assert master is not None
        children = subprocess.run(
            ["pgrep", "-P", str(master.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        if children:
            os.kill(int(random.choice(children)), signal.SIGKILL)
            self.kills.append(f"server {index} (one worker)")
