"""Settings the web layer adds to the core's: storage, rate limits, live index reload, logging.

Each has an environment variable, so a deployment (or the load test) sets them without code. Values
are validated as strictly as the core's (see assistant/settings.py `env`): a negative or NaN rate, a
burst below one question, or a database URL SQLAlchemy cannot use stops the command at start.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..settings import env

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/assistant.db"
_FLAG = "true or false (also 1/0, yes/no, on/off)"


def check_database_url(url: str) -> str:
    """The URL must parse, name an installed async driver, and for SQLite name a file or :memory:."""
    from sqlalchemy.engine import make_url  # deferred: only the web commands build WebSettings
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        parsed = make_url(url)
        dialect = parsed.get_dialect()
    except (ArgumentError, NoSuchModuleError, ValueError) as err:
        raise ValueError(f"not a database URL SQLAlchemy knows: {str(err)[:120]}") from None
    if not getattr(dialect, "is_async", False):
        raise ValueError(f"the driver {parsed.drivername!r} is not an async one, "
                         "e.g. sqlite+aiosqlite or postgresql+asyncpg")
    try:
        dialect.import_dbapi()
    except ImportError as err:
        raise ValueError(f"its driver is not installed ({err.name or err})") from None
    return url


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask, e.g. a container's cpuset), not the machine's."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux: the machine's count is the best there is
        return max(1, os.cpu_count() or 1)


def _env_origins(name: str) -> tuple[str, ...]:
    from .origins import parse_allowed_origins

    return parse_allowed_origins(os.environ.get(name, ""))


class WebSettings(BaseModel):
    model_config = ConfigDict(frozen=True, validate_default=True, allow_inf_nan=False)

    # Any SQLAlchemy async URL: SQLite by default, e.g. postgresql+asyncpg://user:pass@host/db in production.
    database_url: str = env("CAREERS_DATABASE_URL", DEFAULT_DATABASE_URL,
                            "an SQLAlchemy async URL such as sqlite+aiosqlite:///data/assistant.db")
    # Where writes the database refused wait to be replayed (JSON lines, see durable.py); by default
    # a spool/ folder beside the SQLite file, or data/spool for other databases.
    spool_dir: Path | None = env("CAREERS_SPOOL_DIR", None, "a folder path")
    # How often a background task retries spooled writes and checks the SQLite file is still there.
    spool_retry_seconds: float = Field(5.0, gt=0)
    # History turns an API question carries into its conversation (never answered again); more is only cost.
    max_history: int = Field(10, ge=0)

    # Questions per client (IP address) across the chat and /api/ask: a token bucket that refills at
    # rate_per_minute and holds at most rate_burst. 0 turns the limit off (the load test raises it).
    rate_per_minute: float = env("CAREERS_RATE_PER_MINUTE", 30.0,
                                 "a number of questions a minute, 0 or more (0 turns the limit off)", ge=0)
    rate_burst: float = env("CAREERS_RATE_BURST", 15.0, "a number of questions of 1 or more", ge=1)
    # Off by default: the client is the address that connected. Behind a reverse proxy that appends
    # the visitor's address to X-Forwarded-For, turn it on to limit visitors rather than the proxy.
    trust_forwarded_for: bool = env("CAREERS_TRUST_X_FORWARDED_FOR", False, _FLAG)
    # Web pages besides the one served (same host and port) whose scripts may open a chat socket or
    # post to the server: behind a proxy that rewrites Host, the public origin (see origins.py).
    allowed_origins: tuple[str, ...] = Field(default_factory=lambda: _env_origins("CAREERS_ALLOWED_ORIGINS"))

    # How often the server looks for a rebuilt index (one stat() call); 0 turns live reload off.
    reload_seconds: float = env("CAREERS_RELOAD_SECONDS", 1.0,
                                "a number of seconds, 0 or more (0 turns live reload off)", ge=0)

    # Processes answering questions: an answer is ~40 ms of mostly-Python CPU, so threads would queue on
    # the GIL; each worker process loads the model and index once and answers on its own core (pool.py).
    # 1 answers in the server process itself, one question at a time, as before workers existed.
    answer_workers: int = env("CAREERS_ANSWER_WORKERS", None,
                              "a whole number of processes from 1 to 64 (1 answers in the server process)",
                              ge=1, le=64)

    # One log line per answer (channel, outcome, time taken) with the question, redacted, or without it.
    log_questions: bool = env("CAREERS_LOG_QUESTIONS", True, _FLAG)

    # `careers-assistant purge` deletes records older than this unless told otherwise.
    retention_days: int = env("CAREERS_RETENTION_DAYS", 90, "a whole number of days, 1 or more", ge=1)

    # How long a staff sign-in lasts (assistant/staff/auth.py); after it, the next page asks again.
    staff_session_hours: float = env("CAREERS_STAFF_SESSION_HOURS", 8.0,
                                     "a number of hours above 0 (e.g. 8 for a working day)", gt=0, le=24 * 30)

    @field_validator("answer_workers", mode="before")
    @classmethod
    def _default_workers(cls, value: object) -> object:
        return usable_cpus() if value is None else value

    @field_validator("database_url")
    @classmethod
    def _usable_url(cls, url: str) -> str:
        return check_database_url(url)

    def sqlite_path(self) -> Path | None:
        """The database file when the URL is SQLite (None for in-memory and other databases)."""
        prefix, _, rest = self.database_url.partition(":///")
        if not prefix.startswith("sqlite") or not rest or rest.startswith(":memory:"):
            return None
        return Path(rest.split("?", 1)[0])

    def spool_folder(self) -> Path:
        if self.spool_dir is not None:
            return self.spool_dir
        path = self.sqlite_path()
        return (path.parent if path is not None else Path("data")) / "spool"
