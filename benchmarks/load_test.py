"""Load test for `careers-assistant serve`: concurrent chat sessions and /api/ask clients, on this machine.

    python benchmarks/load_test.py --start                      # starts its own server on 127.0.0.1 (real index)
    python benchmarks/load_test.py --url http://127.0.0.1:8000 --pid 12345   # a server you started

Chat sessions speak Chainlit 2.12's socket.io protocol exactly as the browser does (chainlit/socket.py,
frontend useChatSession): POST /set-session-cookie (the server answers with the HttpOnly secret the
session is bound to, sent back in the Cookie header), connect to /ws/socket.io with the `auth` payload
{clientType, sessionId, threadId, userEnv, chatProfile}, emit "connection_successful", then one
"client_message" per question; the answer arrives as a "new_message" of type "assistant_message" and
the turn ends with "task_end". A session ends as "New chat" does: "clear_session", then disconnect
(--abandon only disconnects, as a closed tab does). Either way Chainlit keeps the session for its
session_timeout (its disconnect handler runs before the clear_session handler), so with --start the
server gets a short one (--session-timeout, default 30 s) and memory is read again once they expired.

For each concurrency level (default 1,2,4,8,16,20,32) it runs that many sessions at once, each asking
--questions questions back to back, and reports throughput, p50/p95/p99 latency (question sent ->
answer received), errors, and the server's resident memory (VmRSS from /proc/<pid>/status) before, after
each level and at the end. The knee is the first level whose p95 is at least twice the p95 at
concurrency 1. Bounded: --level-seconds per level and --max-seconds overall; loopback only.

Results: benchmarks/results/load.json and load.md (or --out DIR).
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
DEFAULT_LEVELS = (1, 2, 4, 8, 16, 20, 32)
# A conversation as people have it: starters, follow-ups that rely on the turn before, one out of scope.
CHAT_FLOW = [
    "What band do OT support workers start on?",
    "and how many hours do they work?",
    "How much do OT support workers earn?",
    "Do I need a degree to become an OT support worker?",
    "How much does a paramedic earn?",
    "Can I become an OT support worker through an apprenticeship?",
    "What skills do OT support workers need?",
    "How can an OT support worker progress?",
]
API_QUESTIONS = [q for q in CHAT_FLOW if not q.startswith("and ")]
ANSWER_TIMEOUT = 30.0


# --- pure parts (tests/test_load_script.py) ---------------------------------------------------------

def percentile(values: list[float], p: float) -> float | None:
    """The p-th percentile (0-100) by linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def knee(levels: list[dict], metric: str = "p95_ms", factor: float = 2.0) -> int | None:
    """The first concurrency whose `metric` is at least `factor` times the lowest concurrency's."""
    measured = sorted((lv for lv in levels if lv.get(metric) is not None), key=lambda lv: lv["concurrency"])
    if len(measured) < 2:
        return None
    base = measured[0][metric]
    for lv in measured[1:]:
        if lv[metric] >= factor * base:
            return lv["concurrency"]
    return None


def require_loopback(url: str) -> str:
    """The URL's host if every address it resolves to is on this machine; ValueError otherwise."""
    parts = urlsplit(url)
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        raise ValueError(f"not an http(s) URL: {url!r}")
    try:
        infos = socket.getaddrinfo(host, parts.port or 80, type=socket.SOCK_STREAM)
    except socket.gaierror as err:
        raise ValueError(f"cannot resolve {host!r}: {err}") from err
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        mapped = getattr(address, "ipv4_mapped", None)
        if not (address.is_loopback or (mapped is not None and mapped.is_loopback)):
            raise ValueError(f"refusing {host!r} ({address}): the load test only runs against this machine "
                             "(a loopback address such as 127.0.0.1)")
    return host


def parse_levels(text: str) -> list[int]:
    levels = sorted({int(x) for x in text.split(",") if x.strip()})
    if not levels or levels[0] < 1:
        raise ValueError("concurrency levels must be positive integers, e.g. 1,2,4,8")
    return levels


def read_memory_kib(pid: int | None) -> dict[str, int | None]:
    """VmRSS (now) and VmHWM (peak) of a process, in KiB, from /proc/<pid>/status."""
    out: dict[str, int | None] = {"rss_kib": None, "peak_kib": None}
    if pid is None:
        return out
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return out
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out["rss_kib" if key == "VmRSS" else "peak_kib"] = int(value.split()[0])
    return out


def read_cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time a process has used, from /proc/<pid>/stat."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime (fields 14, 15)


@dataclass
class Level:
    mode: str
    concurrency: int
    questions_per_session: int
    answered: int = 0
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    wall_s: float = 0.0
    throughput_qps: float = 0.0
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    capped: bool = False  # the time cap stopped sessions before they asked everything
    connect_p50_ms: float | None = None  # chat: cookie + socket.io connect, before the first question
    connect_max_ms: float | None = None
    rss_after_kib: int | None = None
    server_cpu_ms_per_answer: float | None = None  # the server's own CPU time, whatever else the machine runs
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    connects_ms: list[float] = field(default_factory=list, repr=False)

    def error(self, kind: str) -> None:
        self.errors += 1
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1

    def finish(self, wall: float) -> None:
        self.wall_s = round(wall, 3)
        self.answered = len(self.latencies_ms)
        self.throughput_qps = round(self.answered / wall, 2) if wall > 0 else 0.0
        for name, p in (("p50_ms", 50), ("p95_ms", 95), ("p99_ms", 99), ("max_ms", 100)):
            value = percentile(self.latencies_ms, p)
            setattr(self, name, round(value, 1) if value is not None else None)
        for name, p in (("connect_p50_ms", 50), ("connect_max_ms", 100)):
            value = percentile(self.connects_ms, p)
            setattr(self, name, round(value, 1) if value is not None else None)

    def row(self) -> dict:
        row = asdict(self)
        row.pop("latencies_ms")
        row.pop("connects_ms")
        return row


def classify(text: str | None) -> str | None:
    """None for a proper answer, else the kind of error it is."""
    from assistant.web.present import APOLOGY, slow_down_text

    if not text or not text.strip():
        return "empty answer"
    if text.startswith(APOLOGY[:40]):
        return "apology (server error)"
    if text.startswith(slow_down_text(1)[:40]):
        return "rate limited"
    return None


# --- clients ------------------------------------------------------------------------------------------

async def issue_cookie(base: str, session_id: str, token: str | None = None) -> tuple[int, str | None]:
    """POST /set-session-cookie as the browser does before each socket connection: (status, the
    browser secret the server bound the session to, or None). `token` is a secret already held."""
    import aiohttp

    from assistant.web.sessions import CLIENT_COOKIE

    headers = {"Cookie": f"{CLIENT_COOKIE}={token}"} if token else {}  # aiohttp's jar drops cookies of IP hosts
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/set-session-cookie", json={"session_id": session_id}, headers=headers) as r:
            issued = r.cookies.get(CLIENT_COOKIE)
            return r.status, issued.value if issued is not None else None


async def connect_socket(base: str, session_id: str, token: str | None, events: asyncio.Queue | None = None,
                         headers: dict | None = None, auth: dict | None = None):
    """A socket.io client connected as Chainlit's page connects (socket.ConnectionError if refused),
    carrying the browser secret in its Cookie header; every event it receives goes to `events`."""
    import socketio

    from assistant.web.sessions import CLIENT_COOKIE

    sio = socketio.AsyncClient(reconnection=False)
    if events is not None:
        @sio.on("*")
        async def _any(event, data=None):
            await events.put((event, data if isinstance(data, dict) else {}))

    headers = dict(headers or {})
    if token:
        headers["Cookie"] = f"{CLIENT_COOKIE}={token}"
    try:
        await sio.connect(base, socketio_path="/ws/socket.io", transports=["websocket"], wait_timeout=10,
                          headers=headers, auth=auth if auth is not None else {
                              "clientType": "webapp", "sessionId": session_id, "threadId": "", "userEnv": "{}",
                              "chatProfile": ""})
    except Exception:
        await sio.disconnect()
        raise
    return sio


async def chat_session(base: str, n: int, offset: int, deadline: float, level: Level, abandon: bool,
                       think: float) -> None:
    session_id = str(uuid.uuid4())
    events: asyncio.Queue[tuple[str, dict]] = asyncio.Queue()
    sio = None
    connecting = time.monotonic()
    try:
        status, token = await issue_cookie(base, session_id)  # the browser's secret, bound to this session
        if status != 200:
            raise RuntimeError(f"set-session-cookie answered {status}")
        sio = await connect_socket(base, session_id, token, events)
        await sio.emit("connection_successful")
        level.connects_ms.append((time.monotonic() - connecting) * 1000)
    except Exception as err:
        level.error(f"connect: {err.__class__.__name__}")
        return
    try:
        for i in range(n):
            if time.monotonic() >= deadline:
                level.capped = True
                break
            while not events.empty():  # e.g. the task_end that connection_successful sends
                events.get_nowait()
            question = CHAT_FLOW[(offset + i) % len(CHAT_FLOW)]
            message = {"threadId": "", "id": str(uuid.uuid4()), "name": "User", "type": "user_message",
                       "output": question, "createdAt": datetime.now(timezone.utc).isoformat(), "metadata": {}}
            started = time.monotonic()
            await sio.emit("client_message", {"message": message, "fileReferences": []})
            answer, ended = None, False
            try:
                async with asyncio.timeout(ANSWER_TIMEOUT):
                    while not ended:
                        kind, data = await events.get()
                        if kind == "new_message" and data.get("type") == "assistant_message" and answer is None:
                            answer = data.get("output") or ""
                            latency = (time.monotonic() - started) * 1000
                        elif kind == "task_end" and answer is not None:
                            ended = True  # the browser re-enables its input here
            except TimeoutError:
                level.error("timeout")
                break
            problem = classify(answer)
            if problem:
                level.error(problem)
            else:
                level.latencies_ms.append(latency)
            if think:
                await asyncio.sleep(think)
    finally:
        try:
            if not abandon:
                await sio.emit("clear_session")  # what "New chat" does before it disconnects
            await sio.disconnect()
        except Exception:
            pass


async def api_client(base: str, n: int, offset: int, deadline: float, level: Level, think: float) -> None:
    import aiohttp

    timeout = aiohttp.ClientTimeout(total=ANSWER_TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        for i in range(n):
            if time.monotonic() >= deadline:
                level.capped = True
                break
            question = API_QUESTIONS[(offset + i) % len(API_QUESTIONS)]
            started = time.monotonic()
            try:
                async with http.post(f"{base}/api/ask", json={"question": question}) as r:
                    body = await r.json(content_type=None)
                    status = r.status
            except TimeoutError:
                level.error("timeout")
                continue
            except Exception as err:
                level.error(f"request: {err.__class__.__name__}")
                continue
            latency = (time.monotonic() - started) * 1000
            if status != 200:
                level.error(f"HTTP {status}")
            elif not isinstance(body, dict) or body.get("error") or (problem := classify(body.get("answer"))):
                level.error("bad answer" if not isinstance(body, dict) or body.get("error") else problem)
            else:
                level.latencies_ms.append(latency)
            if think:
                await asyncio.sleep(think)


async def run_level(base: str, mode: str, concurrency: int, questions: int, level_seconds: float,
                    hard_deadline: float, abandon: bool, think: float) -> Level:
    level = Level(mode=mode, concurrency=concurrency, questions_per_session=questions)
    deadline = min(time.monotonic() + level_seconds, hard_deadline)
    started = time.monotonic()
    if mode == "chat":
        tasks = [chat_session(base, questions, i, deadline, level, abandon, think) for i in range(concurrency)]
    else:
        tasks = [api_client(base, questions, i, deadline, level, think) for i in range(concurrency)]
    await asyncio.gather(*tasks)
    level.finish(time.monotonic() - started)
    return level


# --- a server of its own ------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str, timeout: float = 5) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.load(r)


class OwnServer:
    """`python -m assistant serve` on 127.0.0.1 with a scratch working folder and database, rate limits
    off (the load comes from one address), stopped by its PID."""

    def __init__(self, index: Path, corpus: Path, embedder: str = "minilm", extra_env: dict | None = None,
                 session_timeout: int | None = None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="careers-load-"))
        (self.root / ".chainlit").mkdir()
        config = (REPO / ".chainlit" / "config.toml").read_text()
        if session_timeout is not None:  # how long Chainlit keeps a session after its socket closes
            config = re.sub(r"(?m)^session_timeout = \d+", f"session_timeout = {session_timeout}", config)
        (self.root / ".chainlit" / "config.toml").write_text(config)
        self.session_timeout = session_timeout
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = self.root / "server.log"
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "LITERAL_API_KEY")}
        env.update(CAREERS_INDEX_DIR=str(index), CAREERS_CORPUS_DIR=str(corpus), CAREERS_EMBEDDER=embedder,
                   CAREERS_DATABASE_URL=f"sqlite+aiosqlite:///{self.root}/assistant.db",
                   CAREERS_RATE_PER_MINUTE="0", PYTHONPATH=os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]))
        env.update(extra_env or {})
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--host", "127.0.0.1",
                                      "--port", str(self.port)], cwd=self.root, env=env, stdout=self._log,
                                     stderr=subprocess.STDOUT)
        self.pid = self.proc.pid

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
            try:
                if get_json(f"{self.base}/health", timeout=2).get("status") == "ok":
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"no /health after {timeout:.0f} s:\n{self.log()[-3000:]}")
            time.sleep(0.5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def problems(self) -> list[str]:
        """Warning and error lines the server logged (e.g. database writes that failed under load),
        less the one Chainlit logs at every start (elements are not stored, on purpose)."""
        return [line for line in self.log().splitlines() if (" WARNING " in line or " ERROR " in line)
                and "storage client is not initialized" not in line]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


# --- the run ----------------------------------------------------------------------------------------

def warm_up(base: str) -> None:
    """One question through the API and one chat session, so one-time start-up work (the first
    socket.io connection, the database engine, lazy imports) is not counted as load or as memory."""
    req = urllib.request.Request(f"{base}/api/ask", data=json.dumps({"question": CHAT_FLOW[0]}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        r.read()
    level = Level(mode="chat", concurrency=1, questions_per_session=2)
    asyncio.run(chat_session(base, 2, 0, time.monotonic() + 60, level, abandon=False, think=0))
    if level.errors:
        raise RuntimeError(f"the warm-up chat session failed: {level.error_kinds}")


async def sweep(base: str, modes: list[str], levels: list[int], questions: int, level_seconds: float,
                max_seconds: float, pid: int | None, settle: float, abandon: bool, think: float,
                echo=print) -> dict:
    hard_deadline = time.monotonic() + max_seconds
    memory_before = read_memory_kib(pid)
    results: list[Level] = []
    for mode in modes:
        for concurrency in levels:
            if time.monotonic() >= hard_deadline:
                echo(f"{mode}: stopping before concurrency {concurrency}: --max-seconds reached")
                break
            cpu_before = read_cpu_seconds(pid)
            level = await run_level(base, mode, concurrency, questions, level_seconds, hard_deadline, abandon, think)
            cpu_after = read_cpu_seconds(pid)
            if cpu_before is not None and cpu_after is not None and level.answered:
                level.server_cpu_ms_per_answer = round((cpu_after - cpu_before) * 1000 / level.answered, 1)
            await asyncio.sleep(settle)  # let the server finish closing sessions before memory is read
            level.rss_after_kib = read_memory_kib(pid)["rss_kib"]
            results.append(level)
            echo(f"{mode:4} c={concurrency:>2}: {level.answered:>4} answered, {level.errors} errors, "
                 f"{level.throughput_qps:6.1f} q/s, p50 {level.p50_ms} ms, p95 {level.p95_ms} ms, "
                 f"p99 {level.p99_ms} ms" + (", RSS %.0f MiB" % (level.rss_after_kib / 1024)
                                            if level.rss_after_kib else "") + (" (time cap)" if level.capped else ""))
    memory_after = read_memory_kib(pid)
    rows = [lv.row() for lv in results]
    return {
        "levels": rows,
        "knee": {mode: knee([r for r in rows if r["mode"] == mode]) for mode in modes},
        "errors": sum(r["errors"] for r in rows),
        "memory": {"rss_before_kib": memory_before["rss_kib"], "rss_after_kib": memory_after["rss_kib"],
                   "peak_kib": memory_after["peak_kib"]},
    }


def _pair(a, b) -> str:
    return "-" if a is None else f"{a} / {b}"


def markdown(report: dict) -> str:
    cfg, mem = report["config"], report["memory"]

    def mib(kib):
        return f"{kib / 1024:.0f} MiB" if kib else "n/a"

    lines = [
        "# Load test", "",
        f"{report['started']} on {cfg['machine']} (load average {cfg.get('loadavg_at_start', 'n/a')} at the "
        f"start: the cores are shared); server {cfg['server']}; {cfg['questions']} questions per "
        f"session back to back (think time {cfg['think']} s); sessions {'abandoned' if cfg['abandon'] else 'cleared'} "
        f"at the end; {cfg['level_seconds']:g} s cap per level. Latency is question sent -> answer received.", "",
        "| mode | concurrency | answered | errors | throughput (q/s) | p50 ms | p95 ms | p99 ms | max ms "
        "| connect p50 / max ms | server CPU ms / answer | RSS after |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["levels"]:
        lines.append(f"| {r['mode']} | {r['concurrency']} | {r['answered']} | {r['errors']} | {r['throughput_qps']} "
                     f"| {r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} | {r['max_ms']} "
                     f"| {_pair(r['connect_p50_ms'], r['connect_max_ms'])} | {r['server_cpu_ms_per_answer']} "
                     f"| {mib(r['rss_after_kib'])} |")
    lines += ["", "Knee (first concurrency whose p95 is at least twice the p95 at concurrency 1): " + ", ".join(
        f"{mode} {k if k is not None else 'not reached'}" for mode, k in report["knee"].items()) + ".", "",
        f"Errors: {report['errors']}" + (": " + "; ".join(
            f"{r['mode']} c={r['concurrency']}: {r['error_kinds']}" for r in report["levels"] if r["errors"])
            if report["errors"] else "") + ".", "",
        f"Server memory (VmRSS): {mib(mem['rss_before_kib'])} before (after a warm-up question and chat "
        f"session), {mib(mem['rss_after_kib'])} after the last level (peak {mib(mem['peak_kib'])})"
        + (f", {mib(mem['rss_after_expiry_kib'])} once the closed sessions had expired (session_timeout "
           f"{mem['session_timeout_s']} s)" if mem.get("rss_after_expiry_kib") else "") + ".", ""]
    if report.get("server_problems") is not None:
        problems = report["server_problems"]
        lines += [f"Server log: {len(problems)} warning or error lines" + (
            ":" if problems else " (a failed database write would show here)."), ""]
        lines += [f"    {p[:200]}" for p in problems[:10]] + ([""] if problems else [])
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = p.add_mutually_exclusive_group()
    where.add_argument("--url", help="a running server (loopback only), e.g. http://127.0.0.1:8000")
    where.add_argument("--start", action="store_true", help="start a server of its own on 127.0.0.1")
    p.add_argument("--pid", type=int, help="the server's PID, to read its memory (--start knows it)")
    p.add_argument("--index", default=str(REPO / "index"), help="with --start: the index folder (default index/)")
    p.add_argument("--corpus", default=str(REPO / "corpus"), help="with --start: the corpus folder")
    p.add_argument("--embedder", default="minilm", choices=["minilm", "hash"], help="with --start")
    p.add_argument("--session-timeout", type=int, default=30,
                   help="with --start: seconds Chainlit keeps a closed session (default 30, so the run can "
                        "read memory once they have expired; the served config says 900)")
    p.add_argument("--mode", choices=["chat", "api", "both"], default="both")
    p.add_argument("--concurrency", default=",".join(map(str, DEFAULT_LEVELS)), help="levels, e.g. 1,2,4,8")
    p.add_argument("--questions", type=int, default=8, help="questions per session (default 8)")
    p.add_argument("--think", type=float, default=0.0, help="seconds between a session's questions (default 0)")
    p.add_argument("--abandon", action="store_true", help="end chat sessions as a closed tab does (no clear_session)")
    p.add_argument("--level-seconds", type=float, default=60.0, help="time cap per level (default 60)")
    p.add_argument("--max-seconds", type=float, default=600.0, help="time cap for the whole run (default 600)")
    p.add_argument("--settle", type=float, default=3.0, help="seconds to wait after a level before reading memory")
    p.add_argument("--out", default=str(REPO / "benchmarks" / "results"), help="where load.json and load.md go")
    args = p.parse_args(argv)

    levels = parse_levels(args.concurrency)
    modes = ["chat", "api"] if args.mode == "both" else [args.mode]
    server: OwnServer | None = None
    if args.start:
        server = OwnServer(Path(args.index), Path(args.corpus), args.embedder, session_timeout=args.session_timeout)
        print(f"Starting a server on {server.base} (pid {server.pid}) ...", file=sys.stderr)
        try:
            server.wait_ready()
        except RuntimeError as err:
            server.stop()
            print(err, file=sys.stderr)
            return 1
        base, pid = server.base, server.pid
    else:
        base, pid = (args.url or "http://127.0.0.1:8000").rstrip("/"), args.pid
    try:
        require_loopback(base)
    except ValueError as err:
        print(f"load_test: {err}", file=sys.stderr)
        return 2
    try:
        warm_up(base)
        started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        loadavg = " ".join(Path("/proc/loadavg").read_text().split()[:3])
        result = asyncio.run(sweep(base, modes, levels, args.questions, args.level_seconds, args.max_seconds, pid,
                                   args.settle, args.abandon, args.think))
        health = get_json(f"{base}/health")
        if server and server.session_timeout is not None and pid is not None:
            # Chainlit keeps every session for session_timeout after its socket closes: memory is
            # "back" only once they have expired.
            time.sleep(server.session_timeout + 5)
            result["memory"]["rss_after_expiry_kib"] = read_memory_kib(pid)["rss_kib"]
            result["memory"]["session_timeout_s"] = server.session_timeout
    finally:
        problems = server.problems() if server else None
        if server:
            server.stop()
            server.cleanup()
    report = {
        "started": started,
        "config": {"base": base, "modes": modes, "levels": levels, "questions": args.questions, "think": args.think,
                   "abandon": args.abandon, "level_seconds": args.level_seconds, "max_seconds": args.max_seconds,
                   "machine": f"{os.cpu_count()} CPUs", "loadavg_at_start": loadavg, "server": f"{health['documents']} documents, "
                   f"{health['chunks']} chunks"},
        **result,
        "server_problems": problems,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "load.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (out / "load.md").write_text(markdown(report), encoding="utf-8")
    print(f"\nKnee: {report['knee']}; errors: {report['errors']}; server log problems: "
          f"{len(problems) if problems is not None else 'not read'}; memory {result['memory']}")
    print(f"Wrote {out / 'load.json'} and {out / 'load.md'}")
    # A write the server failed (a lost conversation row) fails the run even if every client got its answer.
    return 0 if report["errors"] == 0 and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
