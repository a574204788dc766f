"""benchmarks/load_test.py: its pure parts exactly (fast), and one small run against a real server (slow)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import load_test_module

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def load_test():
    return load_test_module()


def test_percentiles_interpolate_between_closest_ranks(load_test):
    p = load_test.percentile
    assert p([], 50) is None
    assert p([7.0], 99) == 7.0
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert p(values, 50) == pytest.approx(50.5)
    assert p(values, 95) == pytest.approx(95.05)
    assert p(values, 99) == pytest.approx(99.01)
    assert p(values, 100) == 100.0 and p(values, 0) == 1.0
    assert p([30.0, 10.0, 20.0], 50) == 20.0  # unsorted input


def test_percentiles_match_numpy(load_test):
    import numpy as np

    rng = np.random.default_rng(7)
    values = list(rng.lognormal(3, 1, 537))
    for q in (50, 95, 99):
        assert load_test.percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_the_knee_is_where_p95_first_doubles(load_test):
    def levels(*p95s):
        return [{"concurrency": c, "p95_ms": v} for c, v in zip((1, 2, 4, 8, 16), p95s)]

    assert load_test.knee(levels(40, 60, 79.9, 80, 500)) == 8  # 80 = 2 x 40: doubled
    assert load_test.knee(levels(40, 45, 50)) is None  # never doubled in the sweep
    assert load_test.knee(list(reversed(levels(40, 90)))) == 2  # order of the rows does not matter
    assert load_test.knee(levels(40)) is None
    assert load_test.knee([{"concurrency": 1, "p95_ms": None}, {"concurrency": 2, "p95_ms": 10}]) is None


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "http://localhost:8000/", "http://[::1]:8000",
                                 "http://127.9.9.9"])
def test_loopback_urls_are_allowed(load_test, url):
    load_test.require_loopback(url)


@pytest.mark.parametrize("url", ["http://10.0.0.5:8000", "http://192.168.1.2", "http://8.8.8.8",
                                 "http://[2001:db8::1]:8000", "ftp://127.0.0.1", "127.0.0.1:8000", "http://"])
def test_anything_else_is_refused(load_test, url):
    with pytest.raises(ValueError):
        load_test.require_loopback(url)


def test_the_script_refuses_a_remote_server_before_sending_anything(load_test, capsys):
    assert load_test.main(["--url", "http://192.0.2.10:8000", "--out", "/nonexistent"]) == 2
    assert "loopback" in capsys.readouterr().err


def test_levels_and_memory_readings(load_test):
    assert load_test.parse_levels("32,1,4,4") == [1, 4, 32]
    with pytest.raises(ValueError):
        load_test.parse_levels("0,2")
    mine = load_test.read_memory_kib(os.getpid())
    assert mine["rss_kib"] > 1000 and mine["peak_kib"] >= mine["rss_kib"]
    cpu = load_test.read_cpu_seconds(os.getpid())
    sum(i * i for i in range(300_000))
    assert 0 < cpu < load_test.read_cpu_seconds(os.getpid()) and load_test.read_cpu_seconds(None) is None
    assert load_test.read_memory_kib(None) == {"rss_kib": None, "peak_kib": None}


def test_answers_are_classified(load_test):
    from assistant.web.present import APOLOGY, slow_down_text

    assert load_test.classify("OT support workers usually start on **band 3** [1].") is None
    assert load_test.classify("") == "empty answer" and load_test.classify(None) == "empty answer"
    assert load_test.classify(APOLOGY) == "apology (server error)"
    assert load_test.classify(slow_down_text(12)) == "rate limited"


def test_level_statistics_and_report(load_test):
    level = load_test.Level(mode="api", concurrency=2, questions_per_session=3)
    level.latencies_ms = [10.0, 20.0, 30.0, 40.0]
    level.error("HTTP 500")
    level.finish(2.0)
    row = level.row()
    assert row["answered"] == 4 and row["errors"] == 1 and row["error_kinds"] == {"HTTP 500": 1}
    assert row["throughput_qps"] == 2.0 and row["p50_ms"] == 25.0 and row["max_ms"] == 40.0
    assert "latencies_ms" not in row
    report = {"started": "now", "config": {"machine": "2 CPUs", "server": "x", "questions": 3, "think": 0,
                                           "abandon": False, "level_seconds": 60},
              "levels": [row], "knee": {"api": None}, "errors": 1,
              "memory": {"rss_before_kib": 102400, "rss_after_kib": 104448, "peak_kib": 110000},
              "server_problems": []}
    md = load_test.markdown(report)
    assert "| api | 2 | 4 | 1 | 2.0 | 25.0 |" in md and "load average n/a" in md
    assert "100 MiB before" in md and "102 MiB after the last level" in md and "expired" not in md
    report["memory"].update(rss_after_expiry_kib=101376, session_timeout_s=30)
    assert "99 MiB once the closed sessions had expired (session_timeout 30 s)" in load_test.markdown(report)
    assert "api not reached" in md and "{'HTTP 500': 1}" in md


@pytest.mark.slow
def test_a_small_run_against_a_real_server(load_test, tmp_path):
    """Two chat sessions and two API clients, two questions each, on a hash-embedder index: the
    socket.io protocol, the answers, the memory readings and the report files, end to end."""
    from assistant.embedding import make_embedder
    from assistant.index import build_index
    from assistant.settings import Settings

    settings = Settings(corpus_dir=REPO / "corpus", index_dir=tmp_path / "index", embedder="hash")
    build_index(settings, make_embedder("hash"))
    out = tmp_path / "results"
    code = load_test.main(["--start", "--index", str(settings.index_dir), "--embedder", "hash",
                           "--concurrency", "1,2", "--questions", "2", "--settle", "0.5", "--max-seconds", "60",
                           "--session-timeout", "1",
                           "--out", str(out)])
    report = json.loads((out / "load.json").read_text())
    assert code == 0 and report["errors"] == 0
    assert [(r["mode"], r["concurrency"], r["answered"]) for r in report["levels"]] == [
        ("chat", 1, 2), ("chat", 2, 4), ("api", 1, 2), ("api", 2, 4)]
    memory = report["memory"]
    assert memory["rss_before_kib"] > 50_000 and memory["rss_after_kib"] > 50_000
    assert memory["rss_after_expiry_kib"] > 50_000 and memory["session_timeout_s"] == 1
    assert all(r["p95_ms"] > 0 for r in report["levels"])
    assert "| chat | 2 | 4 | 0 |" in (out / "load.md").read_text()
    assert report["server_problems"] == []  # no write failed, and the start-up notice is not counted
