"""Wrong passwords slow down whoever keeps typing them: per account and per client address.

Each key (an account name, a client address) may get `free` wrong passwords; after that each further
wrong one locks the key for twice as long as the one before (1 s, 2 s, 4 s, ... up to `cap`), and
while a key is locked its sign-in is refused without even checking the password. A key's count is
forgotten `forget` seconds after its last wrong password, and a right password clears the account's
and the client's counts. auth.py counts each try as wrong before checking it (and clears it if it was
right), so requests sent in parallel cannot all slip past the lock. With the defaults (5 free per account, doubling to a 15 min cap, forgotten
after a day) a guesser trying the moment it may gets 15 guesses in the first quarter hour, 18 in an
hour and 110 in a day against one account, whatever addresses it uses; one address spread over 50
accounts gets 33 in an hour (measured: benchmarks/bench_staff_signin.py, results/staff_signin.md).
The per-account lock is what stops a distributed guesser; the price is that a guesser can keep one
account's owner waiting up to `cap` between tries, which is the usual trade. The client limit is
looser, since one office's staff can share an address.

In memory, per server process: a restart forgets the counts (the cap and Argon2's cost still bound
the rate), and at most `max_keys` keys are kept, the stalest dropped first, so flooding it with
made-up names cannot exhaust memory.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

from pydantic import BaseModel


class ThrottleRule(BaseModel):
    free: int  # wrong passwords allowed before the first lock
    base: float = 1.0  # seconds of the first lock
    cap: float = 900.0  # no lock is longer than this
    forget: float = 86_400.0  # seconds after the last wrong password that its count is forgotten


ACCOUNT_RULE = ThrottleRule(free=5)
CLIENT_RULE = ThrottleRule(free=20)


class _Entry:
    __slots__ = ("failures", "locked_until", "last")

    def __init__(self) -> None:
        self.failures, self.locked_until, self.last = 0, 0.0, 0.0


class Throttle:
    def __init__(self, account: ThrottleRule = ACCOUNT_RULE, client: ThrottleRule = CLIENT_RULE,
                 clock: Callable[[], float] = time.monotonic, max_keys: int = 10_000) -> None:
        self.rules = {"account": account, "client": client}
        self.clock = clock
        self.max_keys = max_keys
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()

    def _keys(self, account: str, client: str) -> list[tuple[str, str]]:
        return [("account", account.casefold()), ("client", client)]

    def wait(self, account: str, client: str) -> int:
        """Whole seconds until this account may be tried from this client (0: now)."""
        now = self.clock()
        longest = 0.0
        for key in self._keys(account, client):
            entry = self._entries.get(key)
            if entry is not None:
                longest = max(longest, entry.locked_until - now)
        return math.ceil(longest) if longest > 0 else 0

    def failed(self, account: str, client: str) -> None:
        now = self.clock()
        for key in self._keys(account, client):
            rule = self.rules[key[0]]
            entry = self._entries.pop(key, None) or _Entry()
            if now - entry.last > rule.forget:
                entry.failures = 0
            entry.failures += 1
            entry.last = now
            over = entry.failures - rule.free
            if over > 0:
                entry.locked_until = now + min(rule.base * 2 ** min(over - 1, 60), rule.cap)
            self._entries[key] = entry  # most recently failed last: the stalest go first
        while len(self._entries) > self.max_keys:
            self._entries.popitem(last=False)

    def succeeded(self, account: str, client: str) -> None:
        for key in self._keys(account, client):
            self._entries.pop(key, None)
