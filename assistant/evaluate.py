"""Run the eval set against the built index and score it.

Cases live in evals/cases.yaml (written from the source pages, split dev / heldout); thresholds in
evals/thresholds.yaml. A case's expectations apply to its last turn.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, model_validator

from . import metrics
from .errors import AssistantError
from .grounding import problems
from .pipeline import Assistant, Conversation

K = 5  # retrieval metrics look at the top five distinct documents


class EvalCase(BaseModel):
    id: str
    split: Literal["dev", "heldout"]
    facet: str
    question: str | None = None
    turns: list[str] = Field(default_factory=list)
    gold_docs: list[str] = Field(default_factory=list)
    must_contain: list[str] = Field(default_factory=list)
    abstain: bool = False
    notes: str | None = None
    occupation: str | None = None  # the occupation id the answer must be about (leaks are measured against it)
    clarify: bool = False  # the answer must ask which occupation is meant
    clarify_options: list[str] = Field(default_factory=list)  # ids the clarifying question must offer
    refuse_nearest: list[str] = Field(default_factory=list)  # covered ids a refusal may sensibly offer

    @model_validator(mode="after")
    def _one_form(self) -> "EvalCase":
        if bool(self.question) == bool(self.turns):
            raise ValueError(f"case {self.id}: give either question or turns")
        if self.question:
            self.turns = [self.question]
        return self


class CaseResult(BaseModel):
    id: str
    split: str
    facet: str
    question: str
    answer: str
    abstained: bool
    expected_abstain: bool
    confidence: float
    refused_before_threshold: bool  # abstained for a reason other than low confidence
    ranked_docs: list[str]
    cited_docs: list[str]
    gold_docs: list[str]
    missing: list[str]
    grounding_problems: list[str]
    citations: int
    supporting_citations: int
    seconds: float
    outcome: str = "answer"
    expected_clarify: bool = False
    offered: list[str] = []  # occupation ids a clarifying question or refusal offered
    missing_options: list[str] = []
    refuse_nearest: list[str] = []
    leaks: list[str] = []  # cited pages about another occupation than the one asked, not naming it

    @property
    def correct(self) -> bool:
        if self.expected_clarify:
            return self.outcome == "clarify" and not self.missing_options and not self.citations
        if self.expected_abstain:
            return self.abstained
        return not self.abstained and not self.missing and not self.grounding_problems and not self.leaks


class Thresholds(BaseModel):
    minimum: dict[str, float]
    maximum: dict[str, float]


def _read_yaml(path: Path, what: str):
    """The parsed file, or an AssistantError saying what is wrong with it (the CLI prints it)."""
    if not path.is_file():
        raise AssistantError(f"No {what} file at {path}: give an existing YAML file (see evals/).")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise AssistantError(f"{path} is not readable YAML ({err.__class__.__name__}): fix or replace it.") from err


def _invalid(path: Path, err: Exception) -> AssistantError:
    first = err.errors(include_url=False)[0] if isinstance(err, ValidationError) else None
    why = f"{'.'.join(map(str, first['loc'])) or 'entry'}: {first['msg']}" if first else str(err)[:200]
    return AssistantError(f"{path} does not have the expected fields ({why}): compare it with evals/.")


def load_cases(path: Path) -> list[EvalCase]:
    raw = _read_yaml(path, "eval cases")
    try:
        cases = [EvalCase(**item) for item in raw]
    except (TypeError, ValidationError) as err:  # TypeError: not a list of mappings
        raise _invalid(path, err) from err
    ids = [c.id for c in cases]
    if len(ids) != len(set(ids)):
        raise AssistantError(f"{path}: case ids must be unique")
    return cases


def load_thresholds(path: Path) -> Thresholds:
    raw = _read_yaml(path, "thresholds")
    try:
        return Thresholds(**raw)
    except (TypeError, ValidationError) as err:
        raise _invalid(path, err) from err


def run_case(assistant: Assistant, case: EvalCase) -> CaseResult:
    conversation = Conversation(assistant)
    for turn in case.turns[:-1]:
        conversation.ask(turn)
    started = time.perf_counter()
    response = conversation.respond(case.turns[-1])
    seconds = time.perf_counter() - started
    answer = response.answer
    gold = set(case.gold_docs)
    # A citation supports the answer when it is from a gold page or carries a required phrase.
    supporting = sum(
        1 for c in answer.citations
        if c.doc_id in gold or len(metrics.missing_phrases(c.snippet, case.must_contain)) < len(case.must_contain)
    )
    low_confidence = (answer.reason or "").startswith("nothing in them matches")
    offered = [o.occupation_id for o in answer.clarify]
    return CaseResult(
        id=case.id, split=case.split, facet=case.facet, question=" → ".join(case.turns), answer=answer.answer,
        abstained=answer.abstained, expected_abstain=case.abstain, confidence=answer.confidence,
        refused_before_threshold=answer.abstained and not low_confidence,
        ranked_docs=metrics.dedupe([h.chunk.doc_id for h in response.hits]),
        cited_docs=metrics.dedupe([c.doc_id for c in answer.citations]), gold_docs=case.gold_docs,
        missing=[] if case.abstain else metrics.missing_phrases(answer.answer, case.must_contain),
        grounding_problems=problems(answer, assistant.index.documents),
        citations=len(answer.citations), supporting_citations=supporting, seconds=seconds,
        outcome=answer.outcome, expected_clarify=case.clarify, offered=offered,
        missing_options=[o for o in case.clarify_options if o not in offered], refuse_nearest=case.refuse_nearest,
        leaks=leaks(answer, case.occupation or answer.subject, assistant.index.registry),
    )


def leaks(answer, asked: str | None, registry) -> list[str]:
    """Cited pages about another occupation than the one asked about, whose cited text does not name it.
    Each figure may be in its snippet (grounding passes) and still be someone else's figure: this is
    what catches that."""
    if answer.abstained or not asked:
        return []
    if asked not in registry:  # named only in a page's text: each cited sentence must name it
        from .occupations.names import names_phrase

        return [c.doc_id for c in answer.citations if not names_phrase(c.snippet, answer.occupation or "")]
    return [c.doc_id for c in answer.citations
            if registry.about(c.doc_id) != asked and asked not in registry.names_in(c.snippet)]


def summarise(results: list[CaseResult]) -> dict[str, float]:
    # A clarifying question is neither an answer nor a refusal: those cases are scored on their own.
    answerable = [r for r in results if not r.expected_abstain and not r.expected_clarify]
    unanswerable = [r for r in results if r.expected_abstain]
    clarifying = [r for r in results if r.expected_clarify]
    nearest = [r for r in unanswerable if r.refuse_nearest]
    answered = [r for r in answerable if not r.abstained]
    latencies = [r.seconds * 1000 for r in results]
    return {
        "cases": len(results),
        "accuracy": metrics.safe_ratio(sum(r.correct for r in results), len(results)),
        "fact_accuracy": metrics.safe_ratio(sum(not r.abstained and not r.missing for r in answerable),
                                            len(answerable)),
        "grounding_rate": metrics.safe_ratio(sum(not r.grounding_problems for r in results), len(results)),
        "citation_precision": metrics.safe_ratio(sum(r.supporting_citations for r in results),
                                                 sum(r.citations for r in results)),
        "citation_recall": metrics.safe_ratio(
            sum(len(set(r.cited_docs) & set(r.gold_docs)) / len(r.gold_docs) for r in answered if r.gold_docs),
            len([r for r in answered if r.gold_docs])),
        f"recall@{K}": metrics.safe_ratio(sum(metrics.recall_at_k(r.ranked_docs, set(r.gold_docs), K)
                                              for r in answerable), len(answerable)),
        "mrr": metrics.safe_ratio(sum(metrics.reciprocal_rank(r.ranked_docs, set(r.gold_docs))
                                      for r in answerable), len(answerable)),
        f"ndcg@{K}": metrics.safe_ratio(sum(metrics.ndcg_at_k(r.ranked_docs, set(r.gold_docs), K)
                                            for r in answerable), len(answerable)),
        "wrong_answer_rate": metrics.safe_ratio(sum(not r.abstained for r in unanswerable), len(unanswerable)),
        "false_abstain_rate": metrics.safe_ratio(sum(r.abstained for r in answerable), len(answerable)),
        # Answers citing a page of another occupation than the one asked about (gated at 0).
        "leak_rate": metrics.safe_ratio(sum(bool(r.leaks) for r in results if not r.abstained),
                                        sum(not r.abstained for r in results)),
        "clarify_accuracy": metrics.safe_ratio(sum(r.correct for r in clarifying),
                                               len(clarifying)) if clarifying else 1.0,
        # Refusals of an uncovered occupation that offer at least one sensible covered one (reported only).
        "nearest_offered_rate": metrics.safe_ratio(sum(bool(set(r.offered) & set(r.refuse_nearest)) for r in nearest),
                                                   len(nearest)) if nearest else 1.0,
        "latency_p50_ms": metrics.percentile(latencies, 50),
        "latency_p95_ms": metrics.percentile(latencies, 95),
    }


def by_facet(results: list[CaseResult]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for facet in sorted({r.facet for r in results}):
        group = [r for r in results if r.facet == facet]
        out[facet] = {"cases": len(group), "pass_rate": sum(r.correct for r in group) / len(group)}
    return out


def failures(summary: dict[str, float], thresholds: Thresholds) -> list[str]:
    out = [f"{k} = {summary[k]:.3f} is below {v}" for k, v in thresholds.minimum.items() if summary[k] < v]
    out += [f"{k} = {summary[k]:.3f} is above {v}" for k, v in thresholds.maximum.items() if summary[k] > v]
    return out


def sweep(results: list[CaseResult], steps: list[float]) -> list[dict[str, float]]:
    """Coverage vs wrong answers if the abstention threshold were t, from one run made at threshold 0."""
    rows = []
    answerable = [r for r in results if not r.expected_abstain]
    unanswerable = [r for r in results if r.expected_abstain]
    for t in steps:
        def answers(r: CaseResult) -> bool:
            return not r.refused_before_threshold and r.confidence >= t
        rows.append({
            "threshold": t,
            "coverage": metrics.safe_ratio(sum(answers(r) for r in answerable), len(answerable)),
            "correct_answers": metrics.safe_ratio(sum(answers(r) and not r.missing for r in answerable),
                                                  len(answerable)),
            "wrong_answer_rate": metrics.safe_ratio(sum(answers(r) for r in unanswerable), len(unanswerable)),
        })
    return rows
