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
    # Which occupation the page describes, as its front matter declares it (`occupation:`,
    # `occupation_id:`, `aliases:`); None when the header is silent and the build derives it.
    occupation: str | None = None
    occupation_id: str | None = None
    # Other names, each with where it came from ("aliases" for a page's own list; "ESCO alternative
    # label", "O*NET reported title" and so on for imported pages).
    aliases: list["OccupationName"] = Field(default_factory=list)
    # Occupations the page mentions in passing ("Ys usually start on band 5" on a page about Xs):
    # questions about them are answered only from the sentences of this page that name them.
    mentions: list["Mention"] = Field(default_factory=list)


class OccupationName(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    source: str  # where the name came from: "occupation", "aliases", "title", "also known as line", ...


class Mention(BaseModel):
    model_config = ConfigDict(frozen=True)

    occupation: str
    occupation_id: str | None = None
    aliases: list[str] = Field(default_factory=list)


class Occupation(BaseModel):
    """One occupation of the index's registry (occupations.jsonl): learned from the pages at build time."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str  # singular display name, as questions and answers use it
    plural: str  # its plural
    names: list[OccupationName]  # every name a question may use, the display name first
    pages: list[str] = Field(default_factory=list)  # doc ids of the pages about it
    mentioned_in: list[str] = Field(default_factory=list)  # doc ids of pages that only mention it
    facets: list[str] = Field(default_factory=list)  # facets its pages have evidence for, for starters
    # The name its pages use most: what retrieval searches for, whatever the question called it.
    search_name: str | None = None

    @property
    def covered(self) -> bool:
        """Has pages of its own (an occupation only mentioned in passing has none)."""
        return bool(self.pages)


DocumentMeta.model_rebuild()  # its name and mention fields refer to the two models above


class Block(BaseModel):
    """A heading, paragraph or bullet of a cleaned document: text[start:end]."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["heading", "paragraph", "bullet"]
    start: int
    end: int
    section: str | None = None
    # The cleaning removed something between the block before and this one (page furniture, a lead-in
    # whose list is lost). The cleaned text shows that seam as an ordinary blank line, so this is the only
    # record of it: nothing quoted may run across it as if the page said the two blocks together.
    gap_before: bool = False


class Document(BaseModel):
    meta: DocumentMeta
    text: str  # the cleaned text: every snippet and chunk is a span of it
    blocks: list[Block]

    def crosses_gap(self, start: int, end: int) -> bool:
        """Does text[start:end] run across a place where the cleaning removed something?"""
        return any(b.gap_before and start < b.start < end for b in self.blocks)


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
    # (inode, size, mtime_ns, ctime_ns) when the build hashed it: a load hashes again only a file whose
    # stat differs (integrity.py); None in manifests written before, where every load hashes every file.
    stamp: tuple[int, int, int, int] | None = None


class Manifest(BaseModel):
    format_version: int
    model_name: str
    dimension: int
    corpus_hash: str
    # Stat stamps of the corpus files when the build read them: equal stamps at load mean the corpus is
    # unchanged without hashing it (139 ms for ESCO + O*NET's 3,958 pages); otherwise corpus_hash decides.
    corpus_stamps: dict[str, tuple[int, int, int, int]] = Field(default_factory=dict)
    chunk_count: int
    document_count: int
    sentence_count: int = 0
    occupation_count: int = 0
    occupation_name_count: int = 0  # rows of occupation_vectors.npy
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
    # Texts (passages, sentences, occupation names) this build encoded, and those whose vectors it reused
    # from the previous index (vectorcache.py); 0 in manifests written before incremental builds.
    texts_encoded: int = 0
    texts_reused: int = 0


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
    licence: str | None = None  # the attribution the source's licence asks for (ESCO, O*NET)


class ClarifyOption(BaseModel):
    """One answer to "which occupation do you mean?": what the chat's button shows and sends."""

    occupation_id: str
    name: str
    question: str  # the text a client sends to choose it


class Turn(BaseModel):
    """What a conversation remembers of one answered question."""

    question: str
    facet: Facet | None = None
    subject: str | None = None  # the occupation id the answer was about
    abstained: bool = False
    # The question that was waiting for "which occupation?" when this turn asked it back.
    pending: str | None = None


# The fields of an answer that `ask --json` and `POST /api/ask` both return: a contract other tools use.
ANSWER_JSON_FIELDS = frozenset({"question", "answer", "abstained", "citations", "facet", "confidence", "conflict",
                                "reason", "error", "suggestions", "occupation", "clarify", "outcome"})


class Answer(BaseModel):
    question: str
    answer: str  # markdown
    abstained: bool
    citations: list[Citation] = Field(default_factory=list)
    facet: Facet | None = None
    subject: str | None = None  # the occupation id the answer is about
    occupation: str | None = None  # its display name
    confidence: float = 0.0
    reason: str | None = None  # why it abstained or refused
    conflict: bool = False
    suggestions: list[str] = Field(default_factory=list)
    error: str | None = None  # set when the question itself was refused (empty, too long, junk)
    # Set when the question's occupation is ambiguous: the answer asks which one, these are the choices.
    clarify: list[ClarifyOption] = Field(default_factory=list)
    pending: str | None = None  # the question the choice applies to
    # What kind of reply this is, for clients and for staff reading what was not answered and why:
    # answer (quotes), abstain (the pages don't say), clarify (which occupation?), uncovered (no pages
    # about the occupation asked), error (the question itself was refused).
    outcome: Literal["answer", "abstain", "clarify", "uncovered", "error"] = "answer"

    def public(self) -> dict:
        """The JSON contract: what `ask --json` prints and `/api/ask` returns."""
        return self.model_dump(mode="json", include=set(ANSWER_JSON_FIELDS))
