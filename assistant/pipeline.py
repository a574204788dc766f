"""The assistant as one object: load the model and index once, then answer questions.

A question flows one way: validate -> plan (query.py) -> retrieve (retrieval.py) -> compose (answer.py).
"""

from __future__ import annotations

from .answer import compose
from .embedding import Embedder, embedder_name, make_embedder
from .errors import QuestionError
from .evidence import FACETS_WITH_VALUES
from .index import Index, load_index
from pydantic import BaseModel, ConfigDict

from .models import Answer, Facet, Hit, Turn
from .query import QueryPlan, lexicon, plan, validate
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
                                          reason=str(err)))
        query = plan(text, history or [], self.retriever.speller, self.retriever.publishers)
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
        query = plan(text, history or [], self.retriever.speller, self.retriever.publishers)
        if query.subject_kind == "other" or query.unknown_terms:  # compose() would abstain
            return Turn(question=text, abstained=True)
        return Turn(question=text, facet=query.facets[0] if query.facets else Facet.other, subject=query.subject)

    def known_subject(self, subject: str) -> bool:
        """Whether `subject` is a role this assistant itself names in the Turn of an answered question
        (the roles its sources cover). A Turn from a client carries its subject into the next answer's
        text, so the web layer drops a subject this says no to."""
        lex = lexicon()
        return subject in {lex.subject.name, *(r.name for r in lex.related)}


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
                                   abstained=answer.abstained))
        return response
