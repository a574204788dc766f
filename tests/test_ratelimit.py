"""Per-client rate limits, fast: a token bucket on a fake clock, 429 + Retry-After on /api/ask, a polite
message in the chat, configured from the environment."""

from __future__ import annotations

import asyncio

import pytest

from assistant.web.ratelimit import RateLimiter, client_key, retry_after
from assistant.web.settings import WebSettings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_the_steady_rate():
    clock = Clock()
    limiter = RateLimiter(per_minute=30, burst=3, clock=clock)  # one question every 2 s
    assert [limiter.acquire("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.acquire("a") == pytest.approx(2.0)
    clock.now += 1.0
    assert limiter.acquire("a") == pytest.approx(1.0)  # a refused question costs nothing
    clock.now += 1.0
    assert limiter.acquire("a") == 0.0 and limiter.acquire("a") == pytest.approx(2.0)
    clock.now += 60
    assert [limiter.acquire("a") for _ in range(4)][:3] == [0.0, 0.0, 0.0]  # refilled, but only to the burst


def test_clients_have_their_own_buckets():
    limiter = RateLimiter(per_minute=6, burst=1, clock=Clock())
    assert limiter.acquire("10.0.0.1") == 0.0 and limiter.acquire("10.0.0.1") > 0
    assert limiter.acquire("10.0.0.2") == 0.0


def test_idle_and_excess_clients_are_forgotten():
    clock = Clock()
    limiter = RateLimiter(per_minute=60, burst=5, clock=clock, max_clients=100)
    for i in range(250):
        limiter.acquire(f"c{i}")
    assert len(limiter) == 100  # never more than max_clients remembered
    clock.now += 5  # long enough to refill a bucket: such a client is as good as new
    limiter.acquire("late")
    assert len(limiter) == 1


def test_retry_after_is_whole_seconds_and_never_zero():
    assert retry_after(0.01) == 1 and retry_after(1.0) == 1 and retry_after(1.2) == 2


def test_client_key_ignores_forwarded_for_unless_trusted():
    headers = {"x-forwarded-for": "6.6.6.6, 203.0.113.9"}
    assert client_key("127.0.0.1", headers, trust_forwarded_for=False) == "127.0.0.1"
    assert client_key("127.0.0.1", headers, trust_forwarded_for=True) == "203.0.113.9"  # what our proxy saw
    assert client_key("127.0.0.1", {}, trust_forwarded_for=True) == "127.0.0.1"
    assert client_key(None, {}, trust_forwarded_for=False) == "unknown"


def test_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("CAREERS_RATE_PER_MINUTE", "600")
    monkeypatch.setenv("CAREERS_RATE_BURST", "50")
    monkeypatch.setenv("CAREERS_TRUST_X_FORWARDED_FOR", "yes")
    web = WebSettings()
    assert (web.rate_per_minute, web.rate_burst, web.trust_forwarded_for) == (600, 50, True)
    limiter = RateLimiter.from_settings(web)
    assert limiter is not None and limiter.burst == 50
    monkeypatch.setenv("CAREERS_RATE_PER_MINUTE", "0")
    assert RateLimiter.from_settings(WebSettings()) is None  # 0 turns it off
    monkeypatch.delenv("CAREERS_RATE_PER_MINUTE")
    monkeypatch.delenv("CAREERS_RATE_BURST")
    assert WebSettings().rate_per_minute > 0  # on by default


class FakeService:
    """Answers instantly; stands in for AnswerService so only the limit is under test."""

    def __init__(self) -> None:
        from assistant.models import Answer

        self.answer = Answer(question="q", answer="They start on band 3.", abstained=False)
        self.asked = 0

    def conversation(self):
        return None

    async def converse(self, *args, **kwargs):
        self.asked += 1
        return self.answer


def test_api_answers_429_with_retry_after_per_client():
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from assistant.web.api import build_router

    clock, service = Clock(), FakeService()
    limiter = RateLimiter(per_minute=60, burst=2, clock=clock)
    app = FastAPI()
    app.include_router(build_router(lambda: service, lambda: limiter, trust_forwarded_for=True))
    client = TestClient(app)

    def post(ip: str):
        return client.post("/api/ask", json={"question": "what band?"}, headers={"X-Forwarded-For": ip})

    assert [post("198.51.100.1").status_code for _ in range(2)] == [200, 200]
    limited = post("198.51.100.1")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
    assert "Please wait a second" in limited.json()["error"]
    assert post("198.51.100.2").status_code == 200  # another client is not held up
    clock.now += 1.0
    assert post("198.51.100.1").status_code == 200
    assert service.asked == 4  # a limited request never reaches the assistant


def test_chat_answers_a_polite_message_when_over_the_limit(monkeypatch):
    from assistant.web import chat
    from assistant.web.present import ChatReply

    clock, service = Clock(), FakeService()

    class State:
        limiter = RateLimiter(per_minute=6, burst=1, clock=clock)
        web = WebSettings(database_url="sqlite+aiosqlite:///:memory:")

    State.service = service  # type: ignore[attr-defined]
    sent: list[ChatReply] = []

    async def capture(reply: ChatReply) -> None:
        sent.append(reply)

    monkeypatch.setattr(chat, "current", lambda: State())
    monkeypatch.setattr(chat, "_conversation", lambda: None)
    monkeypatch.setattr(chat, "_client", lambda: "192.0.2.7")
    monkeypatch.setattr(chat, "_send", capture)
    asyncio.run(chat._answer("what band?"))
    asyncio.run(chat._answer("and the pay?"))
    assert "band 3" in sent[0].content
    assert sent[1].content.startswith("You're asking questions faster than I can take them. Please wait 10 seconds")
    assert sent[1].sources == [] and sent[1].suggestions == [] and service.asked == 1


def test_a_chat_session_is_keyed_by_its_socket_peer():
    from assistant.web.chat import session_client

    environ = {"REMOTE_ADDR": "127.0.0.1", "asgi.scope": {"client": ("203.0.113.5", 51234)},
               "HTTP_X_FORWARDED_FOR": "6.6.6.6, 198.51.100.4"}
    assert session_client(environ, trust_forwarded_for=False) == "203.0.113.5"
    assert session_client(environ, trust_forwarded_for=True) == "198.51.100.4"
    assert session_client({}, trust_forwarded_for=False) == "unknown"
