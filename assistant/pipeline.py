"""The assistant as one object: load the model and index once, then answer questions.

A question flows one way: validate -> plan (query.py) -> retrieve (retrieval.py) -> compose (answer.py).
"""

from __future__ import annotations

from dataclasses import replace

from .answer import compose
from .embedding import Embedder, embedder_name, make_embedder
from .errors import QuestionError
from .evidence import FACETS_WITH_VALUES
from .indexstore import Index, load_index
from pydantic import BaseModel, ConfigDict

from .models import Answer, Facet, Hit, Turn
from .query import QueryPlan, plan, validate
from .retrieval import Retriever
from .settings import Settings


class Response(BaseModel):
    """An answer with how it was reached: what evaluation and debugging look at."""

    model_config = ConfigDict(frozen=True)

    answer: Answer
    plan: QueryPlan | None = None
    hits: list[Hit] = []


class Assistant:
    def __init__(self, settings: Settings, embedder: Embedder | None = None, index: Index | None = None) -> None:
        self.settings = settings
        # The index first: a missing or stale one is reported at once, not after seconds of model loading.
        name = embedder.name if embedder else embedder_name(settings.embedder)
        self.index = index or load_index(settings, name)
        self.embedder = embedder or make_embedder(settings.embedder, query_encoder=settings.query_encoder)
        self.index.attach_sentence_encoder(self.embedder)  # when the build left sentence vectors out
        self.retriever = Retriever(self.index, self.embedder, settings)
        self.reader = self.retriever.reader()

    def known_subject(self, subject: object) -> bool:
        """Is this an occupation id of the loaded index? (A client's conversation state is checked.)"""
        return isinstance(subject, str) and subject in self.index.registry

    def reload(self) -> "Assistant":
        """A new Assistant on the index now in settings.index_dir, sharing this one's embedder, so the
        model is not loaded again. Raises like the constructor (missing, stale or damaged index) and
        leaves this one untouched: a server keeps answering with it."""
        return Assistant(self.settings, embedder=self.embedder)

    def ask(self, question: str, history: list[Turn] | None = None) -> Answer:
        """Answer one question; `history` is the conversation so far (oldest first)."""
        return self.respond(question, history).answer

    def respond(self, question: str, history: list[Turn] | None = None) -> Response:
        try:
            text = validate(question, self.settings.max_question_chars)
        except QuestionError as err:
            shown = question if isinstance(question, str) and len(question) <= 200 else str(question)[:200]
            return Response(answer=Answer(question=shown, answer=str(err), abstained=True, error=str(err),
                                          reason=str(err), outcome="error"))
        query = plan(text, history or [], self.reader)
        if query.subject_kind in ("other", "clarify", "none"):  # nothing to search: the answer asks or declines
            return Response(answer=compose(query, None, self.index, self.settings), plan=query)
        # Figures are compared across every page that gives one, so those questions look wider.
        wide = any(f in FACETS_WITH_VALUES for f in query.facets)
        found = self.retriever.search(query, self.settings.candidates if wide else self.settings.evidence_chunks)
        return Response(answer=compose(query, found, self.index, self.settings), plan=query, hits=found.hits)

    def read_turn(self, question: str, history: list[Turn] | None = None) -> Turn | None:
        """What a conversation would remember of `question`, from reading it alone: no retrieval, no
        answer (about a millisecond). For a history a client sends as text, so a follow-up knows what
        came before without the earlier questions being answered again. None for a question the
        core would refuse (empty, too long, junk): a conversation does not remember those either."""
        try:
            text = validate(question, self.settings.max_question_chars)
        except QuestionError:
            return None
        # Names only, no dense match (no model call): reading a history must stay cheap.
        query = plan(text, history or [], replace(self.reader, encode=None))
        if query.subject_kind in ("other", "clarify", "none") or query.unknown_terms:  # compose() would not answer
            return Turn(question=text, abstained=True, facet=query.facets[0] if query.facets else None,
                        pending=text if query.subject_kind in ("other", "clarify") else None)
        subject = query.subject if self.known_subject(query.subject) else None
        return Turn(question=text, facet=query.facets[0] if query.facets else Facet.other, subject=subject)


class Conversation:
    """Questions asked in order, each answered in the light of the ones before."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant
        self.turns: list[Turn] = []

    def ask(self, question: str) -> Answer:
        return self.respond(question).answer

    def respond(self, question: str) -> Response:
        response = self.assistant.respond(question, self.turns)
        answer = response.answer
        if not answer.error:
            self.turns.append(Turn(question=answer.question, facet=answer.facet, subject=answer.subject,
                                   abstained=answer.abstained, pending=answer.pending))
        return response
