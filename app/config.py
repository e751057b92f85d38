"""Settings from the environment (DS_*). Every setting has a default that works."""
from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConfigError(ValueError):
    pass


def default_data_dir() -> str:
    # A root-owned home (mode 700) is not traversable by `postgres`, so root
    # keeps its data under /var/lib.
    if os.geteuid() == 0:
        return "/var/lib/datastorage"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return str(Path(base) / "datastorage")


class Settings(BaseSettings):
    """One field per DS_* variable (pydantic-settings reads them); the
    README's configuration table lists them. An empty variable counts as
    unset."""

    database_url: str | None = None
    migrate_database_url: str | None = None
    data_dir: str = Field(default_factory=default_data_dir)
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    workers: int = Field(1, ge=1, le=64)
    db_role: str = "datastorage_app"
    pool_min: int = Field(2, ge=1)
    pool_max: int = Field(16, ge=1)
    db_timeout: float = Field(10.0, gt=0)
    pool_wait: float = Field(5.0, gt=0)
    expensive_concurrency: int = Field(2, ge=1)
    # Single-event appends in flight at once per worker (app/writes.py,
    # GroupCommit); events arriving meanwhile share the next call.
    write_calls: int = Field(4, ge=1)
    # Seconds a search's audit event may wait for others to share its append
    # call (app/workflows.py, AuditWriter); the search itself never waits.
    audit_linger: float = Field(0.02, ge=0, le=1)
    max_body_bytes: int = Field(16 * 1024 * 1024, ge=1024)
    max_event_data_bytes: int = Field(1024 * 1024, ge=1024)
    max_batch_events: int = Field(5000, ge=1)
    max_verify_events: int = Field(100_000, ge=1)
    trusted_proxies: str = "127.0.0.1/32,::1/128"
    ready_timeout: float = Field(1.0, gt=0)
    shutdown_delay: float = Field(0.0, ge=0)
    spool_dir: str | None = None
    spool_max_bytes: int = Field(1024 * 1024 * 1024, ge=4096)
    spool_max_attempts: int = Field(20, ge=1)
    signing_key: str | None = None
    signing_cert: str | None = None
    log_level: str = "INFO"
    log_format: str = Field("text", pattern="^(text|json)$")
    # Transparency log (docs/transparency-log.md).
    log_origin: str | None = None
    log_signing_key: str | None = None
    checkpoint_dir: str | None = None
    checkpoint_interval: float = Field(5.0, gt=0)
    log_integrate_interval: float = Field(0.2, gt=0)
    log_batch: int = Field(50000, ge=1)
    pg_port: int = Field(5432, ge=1, le=65535)
    retention_interval: float = Field(86400.0, ge=0)
    retention_role: str = "datastorage_maintenance"
    retention_database_url: str | None = None
    retention_batch: int = Field(10000, ge=1, le=1_000_000)
    # Rest after each retention step, as a multiple of the step's time.
    retention_pause: float = Field(1.0, ge=0, le=100)

    model_config = SettingsConfigDict(env_prefix="DS_", env_ignore_empty=True, frozen=True,
                                      extra="ignore")

    @field_validator("trusted_proxies")
    @classmethod
    def _networks_parse(cls, v: str) -> str:
        for part in filter(None, (p.strip() for p in v.split(","))):
            ipaddress.ip_network(part, strict=False)
        return v

    @property
    def trusted_networks(self) -> list:
        return [ipaddress.ip_network(p.strip(), strict=False)
                for p in self.trusted_proxies.split(",") if p.strip()]

    @property
    def spool_path(self) -> Path:
        return Path(self.spool_dir or Path(self.data_dir) / "spool")

    @property
    def log_origin_name(self) -> str:
        return self.log_origin or f"{socket.gethostname()}/datastorage"

    @property
    def log_key_path(self) -> Path:
        return Path(self.log_signing_key or Path(self.data_dir) / "log-signing.key")

    @property
    def checkpoint_path(self) -> Path:
        return Path(self.checkpoint_dir or Path(self.data_dir) / "checkpoints")

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        """The environment's settings; keyword overrides (None: not given) win."""
        try:
            return cls(**{k: v for k, v in overrides.items() if v is not None})
        except ValidationError as exc:
            msgs = "; ".join(f"DS_{str(e['loc'][0]).upper()}: {e['msg']}" for e in exc.errors())
            raise ConfigError(f"invalid configuration: {msgs}") from None
