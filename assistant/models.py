"""Pydantic models for every concept that crosses a module boundary."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Facet(str, Enum):
    """What a question asks about. The answer templates know each of these."""

    band = "band"
    pay = "pay"
    hours = "hours"
    entry = "entry"
    qualifications = "qualifications"
    apprenticeships = "apprenticeships"
    skills = "skills"
    duties = "duties"
    workplaces = "workplaces"
    progression = "progression"
    benefits = "benefits"
    titles = "titles"
    other = "other"


class DocumentMeta(BaseModel):
    model_config = ConfigDict(frozen=True)

    doc_id: str
    title: str
    publisher: str
    url: str | None = None
    last_updated: date | None = None
    retrieved: date | None = None
    # Free text for dates a page implies but does not state as "last updated".
    date_note: str | None = None
    licence: str | None = None
    # Other names a question may use for the publisher ("BBC" for BBC Bitesize).
    publisher_aliases: list[str] = Field(default_factory=list)
    source_file: str
    # "chunks": blocks merged into passages up to the model's window (pages); "records": every paragraph
    # or bullet is a passage of its own (structured records such as an occupation's task list).
    passages: Literal["chunks", "records"] = "chunks"


class Block(BaseModel):
    """A heading, paragraph or bullet of a cleaned document: text[start:end]."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["heading", "paragraph", "bullet"]
    start: int
    end: int
    section: str | None = None


class Document(BaseModel):
    meta: DocumentMeta
    text: str  # the cleaned text: every snippet and chunk is a span of it
    blocks: list[Block]


class Chunk(BaseModel):
    """Row i of the FAISS index is line i of chunks.jsonl, and this chunk's `row` is i."""

    model_config = ConfigDict(frozen=True)

    row: int
    doc_id: str
    section: str | None
    start: int
    end: int
    text: str
    embed_text: str  # what was embedded: title and section heading, then the text


class Sentence(BaseModel):
    """A quotable unit of a document: a sentence of a paragraph, a whole bullet, or a heading.
    Row i of sentence_vectors.npy is line i of sentences.jsonl."""

    model_config = ConfigDict(frozen=True)

    doc_id: str
    start: int
    end: int
    kind: Literal["heading", "paragraph", "bullet"]
    section: str | None


class SkippedFile(BaseModel):
    path: str
    reason: str


class FileDigest(BaseModel):
    sha256: str
    size: int


class Manifest(BaseModel):
    format_version: int
    model_name: str
    dimension: int
    corpus_hash: str
    chunk_count: int
    document_count: int
    sentence_count: int = 0
    chunking: dict[str, int | str]
    faiss_index: str
    faiss_params: dict[str, int] = Field(default_factory=dict)
    # False when sentence vectors were left out of the build (large corpora): encoded when needed instead.
    sentence_vectors: bool = True
    build_time: datetime
    build_seconds: float
    skipped: list[SkippedFile] = Field(default_factory=list)
    # sha256 and size of every other file in the index folder, checked at every load (integrity.py).
    files: dict[str, FileDigest] = Field(default_factory=dict)


class Hit(BaseModel):
    """One retrieved chunk with the scores that ranked it."""

    chunk: Chunk
    score: float
    dense: float | None = None  # cosine similarity, None if not in the dense candidates
    lexical: float | None = None  # BM25 score, None if not in the lexical candidates


class Citation(BaseModel):
    doc_id: str
    title: str
    publisher: str
    url: str | None
    last_updated: date | None
    snippet: str  # exact text of the cleaned source shown to the user
    score: float
    start: int
    end: int
    date_note: str | None = None


class Turn(BaseModel):
    """What a conversation remembers of one answered question."""

    question: str
    facet: Facet | None = None
    subject: str | None = None
    abstained: bool = False


# The fields of an answer that `ask --json` and `POST /api/ask` both return: a contract other tools use.
ANSWER_JSON_FIELDS = frozenset({"question", "answer", "abstained", "citations", "facet", "confidence", "conflict",
                                "reason", "error", "suggestions"})


class Answer(BaseModel):
    question: str
    answer: str  # markdown
    abstained: bool
    citations: list[Citation] = Field(default_factory=list)
    facet: Facet | None = None
    subject: str | None = None  # the role the answer is about
    confidence: float = 0.0
    reason: str | None = None  # why it abstained or refused
    conflict: bool = False
    suggestions: list[str] = Field(default_factory=list)
    error: str | None = None  # set when the question itself was refused (empty, too long, junk)

    def public(self) -> dict:
        """The JSON contract: what `ask --json` prints and `/api/ask` returns."""
        return self.model_dump(mode="json", include=set(ANSWER_JSON_FIELDS))
