"""The assistant as one object: load the model and index once, then answer questions.

A question flows one way: validate -> plan (query.py) -> retrieve (retrieval.py) -> compose (answer.py).
"""

from __future__ import annotations

from .answer import compose
from .embedding import Embedder, make_embedder
from .errors import QuestionError
from .index import Index, load_index
from .models import Answer, Turn
from .query import plan, validate
from .retrieval import Retriever
from .settings import Settings


class Assistant:
    def __init__(self, settings: Settings, embedder: Embedder | None = None, index: Index | None = None) -> None:
        self.settings = settings
        self.embedder = embedder or make_embedder(settings.embedder)
        self.index = index or load_index(settings, self.embedder.name)
        self.retriever = Retriever(self.index, self.embedder, settings)

    def ask(self, question: str, history: list[Turn] | None = None) -> Answer:
        """Answer one question; `history` is the conversation so far (oldest first)."""
        try:
            text = validate(question, self.settings.max_question_chars)
        except QuestionError as err:
            shown = question if isinstance(question, str) and len(question) <= 200 else str(question)[:200]
            return Answer(question=shown, answer=str(err), abstained=True, error=str(err), reason=str(err))
        query = plan(text, history or [], self.retriever.speller)
        hits = self.retriever.search(query, self.settings.evidence_chunks)
        return compose(query, hits, self.index, self.settings)


class Conversation:
    """Questions asked in order, each answered in the light of the ones before."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant
        self.turns: list[Turn] = []

    def ask(self, question: str) -> Answer:
        answer = self.assistant.ask(question, self.turns)
        if not answer.error:
            self.turns.append(Turn(question=answer.question, facet=answer.facet, subject=answer.subject,
                                   abstained=answer.abstained))
        return answer
