"""Per-client rate limits for questions: a token bucket per client address.

Every client starts with `burst` questions in hand and earns `per_minute` more a minute, up to
`burst`. A question spends one; with none left the API answers 429 with Retry-After and the chat
answers with a polite message saying how long to wait. The clock is injected so tests need no sleep.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping

from .settings import WebSettings


class RateLimiter:
    def __init__(self, per_minute: float, burst: float, clock: Callable[[], float] = time.monotonic,
                 max_clients: int = 100_000) -> None:
        self.rate = per_minute / 60.0  # tokens a second
        self.burst = float(burst)
        self.clock = clock
        self.max_clients = max_clients
        # client -> (tokens, when last updated), least recently seen first.
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()  # cheap, and callers need not know which thread they are on

    @classmethod
    def from_settings(cls, web: WebSettings) -> "RateLimiter | None":
        return cls(web.rate_per_minute, web.rate_burst) if web.rate_per_minute > 0 else None

    def acquire(self, client: str, cost: float = 1.0) -> float:
        """Spend `cost` questions' worth for `client` (one question is 1; an API call with history costs
        a little more): 0.0 if allowed, else the seconds until that much is available."""
        cost = min(max(cost, 0.0), self.burst)  # never more than a full bucket: it must come within reach
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.pop(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= cost:
                self._buckets[client] = (tokens - cost, now)
                wait = 0.0
            else:
                self._buckets[client] = (tokens, now)
                wait = (cost - tokens) / self.rate
            self._prune(now)
        return wait

    def _prune(self, now: float) -> None:
        # A client whose bucket has refilled is the same as a client never seen: forget it. Beyond
        # max_clients (many addresses at once), the least recently seen are forgotten first.
        full_after = self.burst / self.rate
        while self._buckets:
            client, (tokens, last) = next(iter(self._buckets.items()))
            if len(self._buckets) > self.max_clients or now - last >= full_after:
                del self._buckets[client]
            else:
                break

    def __len__(self) -> int:
        return len(self._buckets)


def retry_after(wait: float) -> int:
    """Whole seconds for a Retry-After header: never 0 while limited."""
    return max(1, math.ceil(wait))


def client_key(peer: str | None, headers: Mapping[str, str], trust_forwarded_for: bool) -> str:
    """Who is asking: the connecting address, or behind a trusted proxy the address it saw.

    Only the last X-Forwarded-For entry is used, the one our proxy appended: entries before it are
    whatever the client chose to send."""
    if trust_forwarded_for:
        forwarded = headers.get("x-forwarded-for", "")
        last = forwarded.split(",")[-1].strip()
        if last:
            return last
    return peer or "unknown"
