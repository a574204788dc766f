"""The real thing: all-MiniLM-L6-v2, FAISS and BM25, built and asked through the command line.

Slow (the model import alone takes seconds), so few, and marked.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from assistant import answer as answer_module
from assistant.evaluate import failures, load_cases, load_thresholds, run_case, summarise
from assistant.grounding import problems
from assistant.pipeline import Assistant
from assistant.settings import Settings

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]


def cli(*args: str, index: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "assistant", *args, "--index", str(index)], cwd=REPO,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="session")
def real_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    index = tmp_path_factory.mktemp("real") / "index"
    done = cli("build", "--quiet", index=index)
    assert done.returncode == 0, done.stderr
    assert "Indexed 5 documents as" in done.stdout
    return index


@pytest.fixture(scope="session")
def real_assistant(real_index: Path) -> Assistant:
    return Assistant(Settings(corpus_dir=REPO / "corpus", index_dir=real_index, embedder="minilm"))


def ask_json(index: Path, *questions: str, conversation: bool = False) -> list[dict]:
    done = cli("ask", "--json", *(["--conversation"] if conversation else []), *questions, index=index)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(records) == len(questions)
    return records


def test_the_json_contract_for_the_questions_users_ask(real_index: Path) -> None:
    band, alias, pay, paramedic, france, empty, junk = ask_json(
        real_index, "What band do OT support workers start on?", "how much do rehab assistants get paid",
        "How much are OT support workers paid?", "How much does a paramedic earn?",
        "what's the capital of France?", "   ", "\x01\x02\x03")
    for record in (band, alias, pay, paramedic, france, empty, junk):
        assert {"question", "answer", "abstained", "citations"} <= set(record)
        for c in record["citations"]:
            assert set(c) >= {"doc_id", "title", "publisher", "url", "last_updated", "snippet", "score"}
    assert not band["abstained"] and "**band 3**" in band["answer"]
    assert {c["publisher"] for c in band["citations"]} == {"NHS Health Careers", "BBC Bitesize"}
    assert not alias["abstained"] and "£15,250" in alias["answer"] and "£20,329" in alias["answer"]
    assert pay["conflict"] and all(p in pay["answer"] for p in ["National Careers Service", "BBC Bitesize",
                                                                  "Coursera", "last updated 10 September 2018"])
    ncs = next(c for c in pay["citations"] if c["publisher"] == "National Careers Service")
    assert ncs["last_updated"] == "2018-09-10" and ncs["url"].startswith("https://nationalcareers.service.gov.uk/")
    for record in (paramedic, france):
        assert record["abstained"] and record["citations"] == []
    assert empty["abstained"] and empty["error"].startswith("The question is empty")
    assert junk["abstained"] and junk["error"].startswith("That doesn't look like a question")


def test_a_follow_up_is_answered_about_the_same_role(real_index: Path) -> None:
    _, hours = ask_json(real_index, "What band do OT support workers start on?",
                        "and how many hours do they work?", conversation=True)
    assert not hours["abstained"] and "37.5" in hours["answer"] and "40-42" in hours["answer"]


def test_plain_text_output_names_its_sources(real_index: Path) -> None:
    done = cli("ask", "Do I need a degree?", index=real_index)
    assert done.returncode == 0 and "Sources:\n[1] " in done.stdout and "Traceback" not in done.stderr


def test_every_chunk_fits_the_models_window(real_assistant: Assistant) -> None:
    counts = [real_assistant.embedder.count_tokens(c.embed_text) for c in real_assistant.index.chunks]
    assert max(counts) <= 256


def test_eval_gate_passes_on_the_checked_in_set(real_assistant: Assistant) -> None:
    cases = load_cases(REPO / "evals" / "cases.yaml")
    results = [run_case(real_assistant, c) for c in cases]
    summary = summarise(results)
    assert summary["grounding_rate"] == 1.0
    assert failures(summary, load_thresholds(REPO / "evals" / "thresholds.yaml")) == []


def test_a_change_that_breaks_grounding_fails_the_gate(real_assistant: Assistant,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # Simulate a template that embellishes a quote: the gate must catch it.
    monkeypatch.setattr(answer_module, "_quote", lambda unit, n: f"> “{unit.text} Always.” [{n}]")
    cases = [c for c in load_cases(REPO / "evals" / "cases.yaml") if c.id in {"skills-01", "entry-01"}]
    results = [run_case(real_assistant, c) for c in cases]
    assert all(r.grounding_problems for r in results)
    gate = failures(summarise(results), load_thresholds(REPO / "evals" / "thresholds.yaml"))
    assert "grounding_rate = 0.000 is below 1.0" in gate
    answer = real_assistant.ask("What skills do I need?")
    assert problems(answer, real_assistant.index.documents)[0].startswith("quote not in any cited snippet")
