"""The reference deployment (deploy/) holds together: nginx accepts both of its
configurations and sends to exactly the app servers that are defined, systemd
accepts the units, the compose file wires two servers to one PostgreSQL and one
Redis behind one proxy hop, and every setting the example environment names is one
the code reads."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.drills.harness import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
SYSTEMD = DEPLOY / "systemd"
COMPOSE = DEPLOY / "compose" / "compose.yaml"
APP_SERVERS = ("app1", "app2")


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _upstreams(conf: Path) -> list[str]:
    block = re.search(r"upstream spares_app \{(.*?)\}", conf.read_text(), re.S)
    assert block, f"no upstream in {conf}"
    return re.findall(r"^\s*server\s+(\S+)", block.group(1), re.M)


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read(SYSTEMD / name)
    return parser


def test_compose_runs_two_servers_on_one_postgres_and_one_redis_behind_nginx():
    services = _compose()["services"]
    assert {"postgres", "redis", "migrate", "escalate", "nginx", *APP_SERVERS} <= set(services)
    for name in APP_SERVERS:
        server = services[name]
        command = server["command"]
        assert command[:2] == ["spares", "serve"] and int(command[-1]) > 1  # several workers
        env = server["environment"]
        assert "@postgres:5432/" in env["DATABASE_URL"]
        assert env["RATELIMIT_STORAGE_URI"].startswith("redis://redis:6379")
        assert env["FORWARDED_HOPS"] == "1"  # nginx is the one hop in front
        assert server["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["command"] == ["spares", "db", "upgrade"]
    assert "spares escalate" in " ".join(services["escalate"]["command"])
    # nginx sends to exactly the app servers defined, on the port they serve.
    assert _upstreams(DEPLOY / "compose" / "nginx.conf") == [f"{n}:8000" for n in APP_SERVERS]
    assert "./nginx.conf:/etc/nginx/conf.d/default.conf:ro" in services["nginx"]["volumes"]


def test_systemd_units_serve_two_ports_that_nginx_sends_to():
    server = _unit("spares@.service")
    exec_start = server["Service"]["ExecStart"]
    assert "spares serve" in exec_start and "--port %i" in exec_start
    assert "spares-migrate.service" in server["Unit"]["Requires"]
    wanted = _unit("spares.target")["Unit"]["Wants"].split()
    ports = sorted(re.fullmatch(r"spares@(\d+)\.service", w).group(1) for w in wanted)
    assert _upstreams(DEPLOY / "nginx" / "spares.conf") == [f"127.0.0.1:{port}" for port in ports]
    assert len(ports) == 2
    assert _unit("spares-escalate.timer")["Timer"]["OnCalendar"] == "*-*-* *:*:00"
    assert _unit("spares-escalate.service")["Service"]["ExecStart"].endswith("spares escalate")


def test_every_setting_of_the_example_environment_is_read_by_the_code():
    names = re.findall(r"^([A-Z_]+)=", (DEPLOY / "env.example").read_text(), re.M)
    assert "DATABASE_URL" in names and "RATELIMIT_STORAGE_URI" in names
    source = "\n".join(
        path.read_text()
        for package in ("core", "rma", "inventory", "depots", "planning", "reports", "search")
        for path in (REPO_ROOT / package).rglob("*.py")
    )
    unread = [name for name in names if f'"{name}"' not in source]
    assert unread == []


@pytest.mark.parametrize("site", ["nginx/spares.conf", "compose/nginx.conf"])
def test_nginx_accepts_the_configuration(site, tmp_path):
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    openssl = shutil.which("openssl")
    if nginx is None or openssl is None:
        pytest.skip("nginx (Debian nginx-light) or openssl is not installed")
    text = (DEPLOY / site).read_text()
    # Only what the test machine lacks is replaced: a throwaway certificate for the
    # site's, and the compose service names (resolved by Docker) by this machine.
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=spares",
            "-days",
            "1",
            "-keyout",
            str(tmp_path / "key.pem"),
            "-out",
            str(tmp_path / "cert.pem"),
        ],
        capture_output=True,
        check=True,
        timeout=60,
    )
    text = text.replace("/etc/ssl/certs/ssl-cert-snakeoil.pem", str(tmp_path / "cert.pem"))
    text = text.replace("/etc/ssl/private/ssl-cert-snakeoil.key", str(tmp_path / "key.pem"))
    for name in APP_SERVERS:
        text = text.replace(f"{name}:8000", "127.0.0.1:8000")
    (tmp_path / "site.conf").write_text(text)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        f"events {{}}\nhttp {{\n  include {tmp_path}/site.conf;\n}}\n"
    )
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_systemd_accepts_the_units(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    for unit in SYSTEMD.iterdir():
        shutil.copy(unit, tmp_path / unit.name)
    result = subprocess.run(
        [
            analyze,
            "verify",
            "--man=no",
            "spares@8001.service",
            "spares@8002.service",
            "spares.target",
            "spares-migrate.service",
            "spares-escalate.service",
            "spares-escalate.timer",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    complaints = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        # The test machine has no /srv/spares: everything else must be accepted.
        if line.strip() and "/srv/spares/.venv/bin/spares is not executable" not in line
    ]
    assert complaints == []
