"""Settings read from the environment, with safe defaults for the local demo.

Nothing secret lives in code: when ``SECRET_KEY`` is not set, a random key is
generated once and kept in the instance folder so sessions survive restarts.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def instance_path() -> Path:
    """Folder for local data (SQLite database, generated secret key)."""
    path = Path(os.environ.get("SPARES_INSTANCE", PROJECT_ROOT / "instance"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_database_url() -> str:
    return f"sqlite:///{instance_path() / 'spares.db'}"


def _secret_key() -> str:
    configured = os.environ.get("SECRET_KEY")
    if configured:
        return configured
    key_file = instance_path() / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    secure_cookies: bool = False
    token_ttl_hours: int = 12
    # A browser session unused this long is over (core.sessions).
    session_idle_hours: int = 12
    min_password_length: int = 10
    ratelimit_storage_uri: str = "memory://"
    ratelimit_key_prefix: str = ""
    # Reverse proxies in front that set X-Forwarded-For (core.login_limit); 0: none.
    forwarded_hops: int = 0
    login_rate_limit: str = "10 per minute"
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    mail_from: str = "spares@localhost"
    # /metrics answers these addresses or networks (comma-separated), or a request
    # with this bearer token; with neither it is off (core.observability).
    metrics_allowed_ips: str = ""
    metrics_token: str | None = None
    log_level: str = "INFO"
    log_format: str = "json"
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(**overrides: object) -> Settings:
    """Build settings from environment variables; keyword overrides win (tests)."""
    values: dict[str, object] = {
        "database_url": os.environ.get("DATABASE_URL") or default_database_url(),
        "secret_key": overrides.pop("secret_key", None) or _secret_key(),
        "secure_cookies": _flag("SESSION_COOKIE_SECURE"),
        "token_ttl_hours": int(os.environ.get("TOKEN_TTL_HOURS", "12")),
        "session_idle_hours": int(os.environ.get("SESSION_IDLE_HOURS", "12")),
        "min_password_length": int(os.environ.get("MIN_PASSWORD_LENGTH", "10")),
        "ratelimit_storage_uri": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "ratelimit_key_prefix": os.environ.get("RATELIMIT_KEY_PREFIX", ""),
        "forwarded_hops": int(os.environ.get("FORWARDED_HOPS", "0")),
        "login_rate_limit": os.environ.get("LOGIN_RATE_LIMIT", "10 per minute"),
        "smtp_host": os.environ.get("SMTP_HOST", "localhost"),
        "smtp_port": int(os.environ.get("SMTP_PORT", "25")),
        "smtp_user": os.environ.get("SMTP_USER") or None,
        "smtp_password": os.environ.get("SMTP_PASSWORD") or None,
        "smtp_starttls": _flag("SMTP_STARTTLS"),
        "mail_from": os.environ.get("MAIL_FROM", "spares@localhost"),
        "metrics_allowed_ips": os.environ.get("METRICS_ALLOWED_IPS", ""),
        "metrics_token": os.environ.get("METRICS_TOKEN") or None,
        "log_level": os.environ.get("LOG_LEVEL", "INFO"),
        "log_format": os.environ.get("LOG_FORMAT", "json").strip().lower(),
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]
