"""How fast a password guesser can go against the staff sign-in, and what a sign-in costs.

    python benchmarks/bench_staff_signin.py

1. Argon2id with the parameters accounts.py uses: hash and verify time (median of 5).
2. Over HTTP (the real middleware, routes, database and hasher on a tmp SQLite file, through
   Starlette's TestClient): wrong passwords posted back to back until the first 429, each timed.
3. The throttle's own code driven by a simulated clock for a day, a guesser trying again the moment it
   may (each try costing the measured verify time): guesses against one account (from any number of
   addresses: the account's lock binds them all), and from one address spread over many accounts.
Writes benchmarks/results/staff_signin.{json,md}.
"""

from __future__ import annotations

import asyncio
import json
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from argon2 import PasswordHasher  # noqa: E402

from assistant.staff.throttle import Throttle  # noqa: E402

PASSWORD = "correct horse battery staple"


def argon2_times() -> dict:
    hasher = PasswordHasher()
    hashes, verifies = [], []
    for _ in range(5):
        t = time.perf_counter()
        stored = hasher.hash(PASSWORD)
        hashes.append(time.perf_counter() - t)
        t = time.perf_counter()
        hasher.verify(stored, PASSWORD)
        verifies.append(time.perf_counter() - t)
    return {"parameters": stored.split("$")[3], "hash_s": statistics.median(hashes),
            "verify_s": statistics.median(verifies)}


def over_http() -> dict:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from assistant.staff.accounts import Accounts
    from assistant.staff.middleware import install_staff
    from assistant.web.schema import ensure_schema
    from assistant.web.settings import WebSettings
    from assistant.web.store import make_engine

    with tempfile.TemporaryDirectory() as tmp:
        web = WebSettings(database_url=f"sqlite+aiosqlite:///{tmp}/assistant.db")

        async def add() -> None:
            engine = make_engine(web)
            await ensure_schema(engine)
            await Accounts(engine).add("jo", PASSWORD)
            await engine.dispose()

        asyncio.run(add())
        app = FastAPI()
        install_staff(app, web)
        tries = []
        with TestClient(app, follow_redirects=False) as client:
            csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/staff/login").text).group(1)
            for _ in range(20):
                t = time.perf_counter()
                r = client.post("/staff/login", data={"name": "jo", "password": "wrong guess here", "csrf": csrf})
                tries.append({"status": r.status_code, "seconds": round(time.perf_counter() - t, 4),
                              "retry_after": r.headers.get("retry-after")})
                if r.status_code == 429:
                    break
            t = time.perf_counter()
            right = client.post("/staff/login", data={"name": "jo", "password": PASSWORD, "csrf": csrf})
            right_s = time.perf_counter() - t
    return {"tries": tries, "right_password_while_locked": {"status": right.status_code, "seconds": round(right_s, 4)}}


def simulated(verify_s: float, hours: float, accounts: int) -> int:
    """Guesses made in `hours` by one guesser from one address cycling over `accounts` accounts."""
    now = [0.0]
    throttle = Throttle(clock=lambda: now[0])
    made, end = 0, hours * 3600
    names = [f"user{i}" for i in range(accounts)]
    while now[0] < end:
        waits = [(throttle.wait(n, "203.0.113.9"), n) for n in names]
        wait, name = min(waits)
        if wait:
            now[0] += wait
            continue
        throttle.failed(name, "203.0.113.9")  # as auth.py does: counted before the password is checked
        now[0] += verify_s
        made += 1
    return made


def main() -> None:
    argon = argon2_times()
    http = over_http()
    per_account = {f"{h:g} h": simulated(argon["verify_s"], h, 1) for h in (0.25, 1, 24)}
    one_address = {f"{h:g} h": simulated(argon["verify_s"], h, 50) for h in (1, 24)}
    result = {"machine": f"{platform.machine()}, {platform.python_version()}", "argon2": argon, "http": http,
              "guesses_against_one_account": per_account, "guesses_from_one_address_over_50_accounts": one_address}
    out = REPO / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "staff_signin.json").write_text(json.dumps(result, indent=2) + "\n")
    statuses = ", ".join(f"{t['status']} ({t['seconds'] * 1000:.0f} ms)" for t in http["tries"])
    md = [
        "# Staff sign-in: cost of a sign-in, speed of a guesser",
        "",
        "`python benchmarks/bench_staff_signin.py`",
        "",
        f"- Argon2id `{argon['parameters']}`: hash {argon['hash_s'] * 1000:.0f} ms, verify "
        f"{argon['verify_s'] * 1000:.0f} ms (median of 5).",
        f"- Wrong passwords posted back to back over HTTP: {statuses}; Retry-After of the 429: "
        f"{http['tries'][-1]['retry_after']} s.",
        f"- The right password while locked: {http['right_password_while_locked']['status']} in "
        f"{http['right_password_while_locked']['seconds'] * 1000:.0f} ms (not checked at all).",
        "- A guesser trying the moment it may (simulated clock, the real Throttle, each try costing the "
        "verify time above), against one account from any number of addresses: "
        + ", ".join(f"{n} guesses in {k}" for k, n in per_account.items()) + ".",
        "- From one address spread over 50 accounts: "
        + ", ".join(f"{n} guesses in {k}" for k, n in one_address.items()) + ".",
        "",
        f"Machine: {result['machine']}.",
    ]
    (out / "staff_signin.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
