"""Settings the web layer adds to the core's: where feedback and unanswered questions are stored."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/assistant.db"


class WebSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    # Any SQLAlchemy async URL: SQLite by default, e.g. postgresql+asyncpg://user:pass@host/db in production.
    database_url: str = Field(
        default_factory=lambda: os.environ.get("CAREERS_DATABASE_URL") or DEFAULT_DATABASE_URL)
    # Conversation turns the API replays from a history of plain questions; more is only cost.
    max_history: int = 20

    def sqlite_path(self) -> Path | None:
        """The database file when the URL is SQLite (None for in-memory and other databases)."""
        prefix, _, rest = self.database_url.partition(":///")
        if not prefix.startswith("sqlite") or not rest or rest.startswith(":memory:"):
            return None
        return Path(rest.split("?", 1)[0])
