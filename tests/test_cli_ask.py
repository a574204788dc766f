"""`careers-assistant ask`: declined questions are recorded for staff like the chat's (channel "cli")."""

from __future__ import annotations

import asyncio
from pathlib import Path

from assistant.cli import main
from assistant.web.settings import WebSettings
from assistant.web.store import UnansweredStore, make_engine


def _rows(url: str):
    async def read():
        engine = make_engine(WebSettings(database_url=url))
        try:
            return await UnansweredStore(engine).newest()
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_cli_abstentions_are_recorded_and_answers_are_not(settings, built, tmp_path: Path, monkeypatch,
                                                          capsys) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'staff.db'}"
    monkeypatch.setenv("CAREERS_DATABASE_URL", url)
    monkeypatch.setenv("CAREERS_EMBEDDER", "hash")
    args = ["ask", "--corpus", str(settings.corpus_dir), "--index", str(settings.index_dir)]
    assert main(args + ["what is the capital of France?"]) == 0
    printed = capsys.readouterr().out
    rows = _rows(url)
    assert [(r.question, r.channel) for r in rows] == [("what is the capital of France?", "cli")]
    assert rows[0].reason and rows[0].reason.split(".")[0] in printed  # the reason the user was shown
    assert main(args + ["--no-record", "what is the capital of Spain?"]) == 0
    assert len(_rows(url)) == 1


def test_an_unwritable_database_costs_a_warning_not_the_answer(settings, built, monkeypatch, capsys) -> None:
    monkeypatch.setenv("CAREERS_DATABASE_URL", "nonsense")
    monkeypatch.setenv("CAREERS_EMBEDDER", "hash")
    assert main(["ask", "--corpus", str(settings.corpus_dir), "--index", str(settings.index_dir),
                 "what is the capital of France?"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip()
    assert "not recorded" in captured.err and "CAREERS_DATABASE_URL" in captured.err


def test_cli_abstentions_keep_what_the_assistant_read_the_question_as(settings, built, tmp_path: Path,
                                                                      monkeypatch, capsys) -> None:
    import json

    url = f"sqlite+aiosqlite:///{tmp_path / 'staff.db'}"
    monkeypatch.setenv("CAREERS_DATABASE_URL", url)
    monkeypatch.setenv("CAREERS_EMBEDDER", "hash")
    assert main(["ask", "--json", "--corpus", str(settings.corpus_dir), "--index", str(settings.index_dir),
                 "How much annual leave do support workers get?"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["abstained"] and answer["facet"] == "benefits" and answer["occupation"] == "support worker"
    assert [(r.occupation, r.facet) for r in _rows(url)] == [("support worker", "benefits")]
