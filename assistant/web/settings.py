"""Settings the web layer adds to the core's: storage, rate limits, live index reload, logging.

Each has an environment variable, so a deployment (or the load test) sets them without code.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/assistant.db"


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    return float(value) if value else default


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    return default if not value else value not in ("0", "false", "no", "off")


class WebSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    # Any SQLAlchemy async URL: SQLite by default, e.g. postgresql+asyncpg://user:pass@host/db in production.
    database_url: str = Field(
        default_factory=lambda: os.environ.get("CAREERS_DATABASE_URL") or DEFAULT_DATABASE_URL)
    # History turns an API question carries into its conversation (never answered again); more is only cost.
    max_history: int = 10

    # Questions per client (IP address) across the chat and /api/ask: a token bucket that refills at
    # rate_per_minute and holds at most rate_burst. 0 turns the limit off (the load test raises it).
    rate_per_minute: float = Field(default_factory=lambda: _env_float("CAREERS_RATE_PER_MINUTE", 30.0), ge=0)
    rate_burst: float = Field(default_factory=lambda: _env_float("CAREERS_RATE_BURST", 15.0), ge=1)
    # Off by default: the client is the address that connected. Behind a reverse proxy that appends
    # the visitor's address to X-Forwarded-For, turn it on to limit visitors rather than the proxy.
    trust_forwarded_for: bool = Field(default_factory=lambda: _env_flag("CAREERS_TRUST_X_FORWARDED_FOR", False))

    # How often the server looks for a rebuilt index (one stat() call); 0 turns live reload off.
    reload_seconds: float = Field(default_factory=lambda: _env_float("CAREERS_RELOAD_SECONDS", 1.0), ge=0)

    # One log line per answer (channel, outcome, time taken) with the question, redacted, or without it.
    log_questions: bool = Field(default_factory=lambda: _env_flag("CAREERS_LOG_QUESTIONS", True))

    # `careers-assistant purge` deletes records older than this unless told otherwise.
    retention_days: int = Field(default_factory=lambda: int(_env_float("CAREERS_RETENTION_DAYS", 90)), ge=1)

    def sqlite_path(self) -> Path | None:
        """The database file when the URL is SQLite (None for in-memory and other databases)."""
        prefix, _, rest = self.database_url.partition(":///")
        if not prefix.startswith("sqlite") or not rest or rest.startswith(":memory:"):
            return None
        return Path(rest.split("?", 1)[0])
