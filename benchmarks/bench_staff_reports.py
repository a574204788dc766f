"""Staff report pages at taxonomy size: the coverage map over ESCO + O*NET, and grouping unanswered questions.

    CAREERS_SHARED=/work/shared python benchmarks/bench_staff_reports.py

1. Imports ESCO and O*NET into benchmarks/work/staff/corpus and builds it with the hash embedder (the
   coverage map reads pages, sentences and the registry, never vectors; kept for the next run).
2. GET /staff/coverage through the real route (TestClient, a stand-in session): the first page of 50
   occupations cold and warm, a name filter, a quotes page; beside them, the whole map worked out at once
   (what the page would cost without paging).
3. Grouping: 3,000 questions (10 wordings x 300 occupation names) encoded by the numpy MiniLM in the
   page's batches (all of them: the page itself reads group_encode_budget new ones per view), then
   grouped at the page's threshold; the second view (vectors cached) groups only.

Writes benchmarks/results/staff_reports.{json,md}.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DATA = Path(os.environ.get("CAREERS_SHARED", REPO.parent / "shared")) / "data"
WORK = REPO / "benchmarks" / "work" / "staff"
OUT = REPO / "benchmarks" / "results"
WORDINGS = ["How much does a {} earn?", "what is the salary of a {}", "{} pay", "How many hours does a {} work?",
            "Do {}s work weekends?", "How do I become a {}?", "What qualifications does a {} need?",
            "Is there a pension for a {}?", "what band does a {} start on", "Can a {} work from home?"]


def build() -> "object":
    from assistant.embedding import HashEmbedder
    from assistant.importers import IMPORTERS
    from assistant.index import build_index
    from assistant.pipeline import Assistant
    from assistant.settings import Settings

    settings = Settings(corpus_dir=WORK / "corpus", index_dir=WORK / "index", embedder="hash")
    if not (WORK / "index" / "manifest.json").exists():
        t = time.perf_counter()
        IMPORTERS["esco"](DATA / "esco-1.0", settings.corpus_dir, ["description", "tasks", "titles"])
        IMPORTERS["onet"](DATA / "onet-27.0", settings.corpus_dir, ["description", "tasks", "titles"])
        build_index(settings, HashEmbedder())
        print(f"imported and built in {time.perf_counter() - t:.0f} s", flush=True)
    return Assistant(settings, embedder=HashEmbedder())


class Session:
    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            from assistant.staff.base import StaffUser

            scope.setdefault("state", {}).update(staff_user=StaffUser(name="bench"), csrf_token="x")
        await self.app(scope, receive, send)


def timed(client, path: str) -> float:
    t = time.perf_counter()
    r = client.get(path)
    assert r.status_code == 200, (path, r.status_code)
    return (time.perf_counter() - t) * 1000


def coverage(assistant) -> dict:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from assistant.staff.reports import build_reports_router
    from assistant.staff.reports.coveragemap import CoverageMap
    from assistant.web import state as web_state
    from assistant.web.service import AnswerService
    from assistant.web.settings import WebSettings
    from assistant.web.welcome import welcome_for

    web_state.install(web_state.AppState(settings=assistant.settings, web=WebSettings(),
                                         service=AnswerService(assistant), welcome=welcome_for(assistant.index)))
    app = FastAPI()
    app.add_middleware(Session)
    app.include_router(build_reports_router())
    registry = assistant.index.registry
    occupation = registry.covered[len(registry.covered) // 2]
    with TestClient(app) as client:
        figures = {"occupations": len(registry.covered), "pages": len(assistant.index.documents),
                   "sentences": len(assistant.index.sentences),
                   "first_page_cold_ms": timed(client, "/staff/coverage"),
                   "first_page_warm_ms": timed(client, "/staff/coverage"),
                   "page_40_cold_ms": timed(client, "/staff/coverage?page=40"),
                   "filter_nurse_cold_ms": timed(client, "/staff/coverage?q=nurse"),
                   "quotes_ms": timed(client, f"/staff/coverage/quotes?occupation={occupation.id}&topic=duties")}
    whole = CoverageMap(assistant.index)
    t = time.perf_counter()
    for occ in whole.occupations():
        whole.row(occ)
    figures["whole_map_cold_s"] = time.perf_counter() - t
    return figures


def grouping(assistant) -> dict:
    from assistant.embedding import make_embedder
    from assistant.staff.reports.common import ReportSettings
    from assistant.staff.reports.grouping import VectorCache, group_rows, normalise
    from assistant.staff.reports.queries import UnansweredRow

    rng = random.Random(20261206)
    names = rng.sample([o.name for o in assistant.index.registry.covered], 300)
    questions = [w.format(n) for n in names for w in WORDINGS]
    rows = [UnansweredRow(id=i, question=q, asked_at=f"2026-11-{1 + i % 28:02d}T10:00:00+00:00")
            for i, q in enumerate(questions)]

    class Service:  # what the page calls: service.assistant.embedder.name and service.encode(texts)
        def __init__(self, embedder) -> None:
            self.assistant = type("A", (), {"embedder": embedder})()

        async def encode(self, texts):
            return self.assistant.embedder.encode(texts)

    service, cache, settings = Service(make_embedder("minilm", query_encoder="numpy")), VectorCache(), ReportSettings()
    keys = [normalise(r.question) for r in rows]
    t = time.perf_counter()
    vectors = asyncio.run(cache.vectors(service, keys))
    encode = time.perf_counter() - t
    t = time.perf_counter()
    groups = group_rows(rows, vectors, settings.group_similarity)
    first = time.perf_counter() - t
    t = time.perf_counter()
    group_rows(rows, asyncio.run(cache.vectors(service, keys)), settings.group_similarity)
    again = time.perf_counter() - t
    return {"questions": len(rows), "encode_s": encode, "questions_per_s": len(rows) / encode,
            "group_s": first, "second_view_s": again, "groups": len(groups),
            "largest_group": max(g.count for g in groups)}


def main() -> None:
    assistant = build()
    figures = {"coverage": coverage(assistant), "grouping": grouping(assistant)}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "staff_reports.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    c, g = figures["coverage"], figures["grouping"]
    md = ["# Staff reports at taxonomy size", "",
          "`CAREERS_SHARED=/work/shared python benchmarks/bench_staff_reports.py` "
          f"(ESCO + O*NET: {c['occupations']:,} occupations, {c['pages']:,} pages, {c['sentences']:,} sentences; "
          "2 shared cores)", "", "| coverage map | time |", "|---|---|",
          f"| first page (50 occupations), cold | {c['first_page_cold_ms']:.0f} ms |",
          f"| first page, warm | {c['first_page_warm_ms']:.0f} ms |",
          f"| page 40, cold | {c['page_40_cold_ms']:.0f} ms |",
          f"| filter `nurse`, cold | {c['filter_nurse_cold_ms']:.0f} ms |",
          f"| one cell's quotes | {c['quotes_ms']:.0f} ms |",
          f"| the whole map at once (no paging), cold | {c['whole_map_cold_s']:.1f} s |", "",
          "| grouping unanswered questions | |", "|---|---|",
          f"| questions | {g['questions']:,} |",
          f"| encode (numpy MiniLM, batches of 64) | {g['encode_s']:.1f} s ({g['questions_per_s']:.0f} questions/s) |",
          f"| group, first view | {g['group_s']:.2f} s |",
          f"| second view (vectors cached): encode nothing, group | {g['second_view_s']:.2f} s |",
          f"| groups / largest | {g['groups']:,} / {g['largest_group']} |", ""]
    (OUT / "staff_reports.md").write_text("\n".join(md), encoding="utf-8")
    print("\n".join(md))


if __name__ == "__main__":
    main()
