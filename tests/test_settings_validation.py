"""Bad settings stop every command at start with one line naming the variable, its value and what is
allowed, exit 2, no traceback. Real subprocess runs of `python -m assistant`, as a user types them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from assistant.settings import Settings, describe_invalid
from assistant.web.settings import WebSettings

REPO = Path(__file__).resolve().parents[1]

BAD_ENV = [
    ("serve", "CAREERS_RATE_PER_MINUTE", "-5"),
    ("serve", "CAREERS_RATE_PER_MINUTE", "nan"),
    ("serve", "CAREERS_RATE_PER_MINUTE", "abc"),
    ("serve", "CAREERS_RATE_BURST", "0.5"),
    ("serve", "CAREERS_RATE_BURST", "abc"),
    ("serve", "CAREERS_RELOAD_SECONDS", "-1"),
    ("serve", "CAREERS_QUERY_ENCODER", "gpu"),
    ("serve", "CAREERS_EMBEDDER", "bogus"),
    ("serve", "CAREERS_DATABASE_URL", "not a url"),
    ("serve", "CAREERS_DATABASE_URL", "sqlite:///sync-driver.db"),
    ("serve", "CAREERS_TRUST_X_FORWARDED_FOR", "maybe"),
    ("unanswered", "CAREERS_DATABASE_URL", "nosuchdb+async://x/y"),
    ("purge", "CAREERS_RETENTION_DAYS", "0"),
    ("ask", "CAREERS_EMBEDDER", "bogus"),
    ("build", "CAREERS_EMBEDDER", "bogus"),
    ("eval", "CAREERS_QUERY_ENCODER", "gpu"),
    ("faq-check", "CAREERS_EMBEDDER", "bogus"),
]

ARGS = {"serve": ["--port", "1"], "unanswered": [], "purge": ["--dry-run"], "ask": ["What band?"], "build": [],
        "eval": [], "faq-check": ["faq.csv"]}


def run(args: list[str], extra_env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREERS_")}
    env.update(extra_env, PYTHONPATH=os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-m", "assistant", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60)


def assert_one_line(result: subprocess.CompletedProcess, *must_contain: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("careers-assistant: ")
    for text in must_contain:
        assert text in lines[0], lines[0]


@pytest.mark.parametrize("command,name,value", BAD_ENV)
def test_a_bad_environment_value_is_one_line_and_exit_2(command: str, name: str, value: str, tmp_path: Path):
    # Run in an empty folder: nothing is built, served or written before the settings are checked.
    result = run([command, *ARGS[command]], {name: value}, tmp_path)
    assert_one_line(result, name, repr(value), "use ")
    assert list(tmp_path.iterdir()) == []  # no database, index or spool was made


def test_a_missing_or_bad_eval_file_is_one_line(tmp_path: Path):
    assert_one_line(run(["eval", "--cases", "nope.yaml"], {}, tmp_path), "nope.yaml")
    (tmp_path / "broken.yaml").write_text("cases: [\n")
    assert_one_line(run(["eval", "--cases", "broken.yaml"], {}, tmp_path), "broken.yaml", "YAML")
    (tmp_path / "wrong.yaml").write_text("- question: no id\n")
    assert_one_line(run(["eval", "--cases", "wrong.yaml"], {}, tmp_path), "wrong.yaml", "id")


def test_a_bad_flag_is_named_as_the_flag(tmp_path: Path):
    assert_one_line(run(["eval", "--dense-weight", "nan"], {}, tmp_path), "--dense-weight", "0 to 1")


def test_good_values_and_blanks_pass(monkeypatch):
    monkeypatch.setenv("CAREERS_RATE_PER_MINUTE", "0")  # documented: turns the limit off
    monkeypatch.setenv("CAREERS_RATE_BURST", "1")
    monkeypatch.setenv("CAREERS_RELOAD_SECONDS", " ")  # blank: the default
    monkeypatch.setenv("CAREERS_TRUST_X_FORWARDED_FOR", "off")
    web = WebSettings()
    assert (web.rate_per_minute, web.rate_burst, web.reload_seconds, web.trust_forwarded_for) == (0, 1, 1.0, False)
    monkeypatch.setenv("CAREERS_QUERY_ENCODER", "torch")
    assert Settings().query_encoder == "torch"


def test_every_problem_gets_its_own_line(monkeypatch):
    monkeypatch.setenv("CAREERS_RATE_BURST", "abc")
    monkeypatch.setenv("CAREERS_RELOAD_SECONDS", "-1")
    with pytest.raises(ValidationError) as err:
        WebSettings()
    lines = describe_invalid(err.value, WebSettings)
    assert len(lines) == 2 and lines[0].startswith("CAREERS_RATE_BURST='abc'")
    assert lines[1].startswith("CAREERS_RELOAD_SECONDS='-1'")
