"""The objects the server loads once, shared by Chainlit's callbacks and the API routes.

Chainlit calls module-level callbacks with no way to pass our objects in, so `serve` installs them
here before the first request, and the callbacks read them back with `current()`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from ..settings import Settings
from .ratelimit import RateLimiter
from .durable import Durable
from .reload import IndexWatcher
from .service import AnswerService
from .settings import WebSettings
from .welcome import Welcome


class AppState(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    settings: Settings
    web: WebSettings
    service: AnswerService
    welcome: Welcome  # replaced (with the whole state) when a rebuilt index is swapped in
    limiter: RateLimiter | None = None  # None: no rate limit
    watcher: IndexWatcher | None = None  # None: no live reload
    durable: Durable | None = None  # every database write of the chat and the store goes through it


_current: AppState | None = None


def install(state: AppState) -> None:
    global _current
    _current = state


def current() -> AppState:
    if _current is None:
        raise RuntimeError("The web app was started without `careers-assistant serve` (no state installed).")
    return _current
