"""The occupation registry: which occupations the corpus describes, under which names, on which pages.

Learned at build time from the pages (front matter first, then the title and the page's own "also
known as" lines) and written to the index as occupations.jsonl; nothing about any occupation is in
code. Rules the rest of the pipeline relies on:
- Every page is about exactly one occupation (its `pages`); a page may mention others in passing
  (their `mentioned_in`), and those are answered only from sentences that name them.
- Pages whose occupations have the same id, or the same display name, describe one occupation.
- Name matching is a dictionary lookup per word span (NameMatcher): no regex per name, so it costs
  the same for five names or the 100,000 of ESCO and O*NET.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import cached_property

from ..models import Document, Occupation, OccupationName
from ..facets import TOPIC_WORDS
from ..rows import Subset
from ..text import STOPWORDS
from .matcher import NameHit, NameMatcher  # noqa: F401 - NameHit: imported from here
from .names import display_name, introduces_names, name_key, names_in_text, plural_of


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "occupation"


class _Draft:
    def __init__(self, id: str, name: str, source: str) -> None:
        self.id, self.name = id, name
        self.names: list[OccupationName] = []
        self.keys: set[str] = set()
        self.pages: list[str] = []
        self.mentioned_in: list[str] = []
        self.add(name, source)

    def add(self, name: str, source: str) -> None:
        name = " ".join(name.split())
        key = name_key(name)
        if key and key not in self.keys:
            self.keys.add(key)
            self.names.append(OccupationName(name=name, source=source))


def _derived_names(doc: Document) -> list[str]:
    """"Also known as" names in the page's own sentences, and the bullets under a line that
    introduces them ("Xs may also be known as:")."""
    found: list[str] = []
    blocks = doc.blocks
    for i, block in enumerate(blocks):
        text = doc.text[block.start:block.end]
        found += names_in_text(text)
        if introduces_names(text):
            for nxt in blocks[i + 1:i + 9]:
                if nxt.kind != "bullet":
                    break
                item = doc.text[nxt.start:nxt.end].strip("•*- \t")
                if 1 <= len(item.split()) <= 6:
                    found.append(item)
    return found


def build_registry(documents: Iterable[Document]) -> list[Occupation]:
    drafts: dict[str, _Draft] = {}
    by_key: dict[str, str] = {}  # display-name key -> occupation id

    def draft_for(id_: str | None, name: str, source: str) -> _Draft:
        key = name_key(name)
        known = id_ if id_ in drafts else by_key.get(key)
        if known:
            drafts[known].add(name, source)
            return drafts[known]
        new_id = id_ or slug(name)
        while new_id in drafts:  # a different occupation already took this slug
            new_id += "-2"
        drafts[new_id] = _Draft(new_id, name, source)
        by_key.setdefault(key, new_id)
        return drafts[new_id]

    def place(doc: Document, draft: _Draft) -> None:
        meta = doc.meta
        draft.pages.append(meta.doc_id)
        for alias in meta.aliases:
            draft.add(alias.name, alias.source)
        if not meta.aliases:
            for alias in _derived_names(doc):
                draft.add(alias, "also known as line")
        for mention in meta.mentions:
            other = draft_for(mention.occupation_id, mention.occupation, "mention")
            for alias in mention.aliases:
                other.add(alias, "mention")
            if other is not draft and meta.doc_id not in other.mentioned_in:
                other.mentioned_in.append(meta.doc_id)

    docs = list(documents)
    silent: list[Document] = []
    for doc in docs:
        if doc.meta.occupation:
            place(doc, draft_for(doc.meta.occupation_id, doc.meta.occupation, "occupation"))
        else:
            silent.append(doc)
    # A page that does not say which occupation it describes: its title names one already known ("Bike
    # allowance for Xs"), or is one ("X", "Become an X"); a title that
    # names a topic instead ("Working hours") leaves the page to the occupation its text names most.
    known = _matcher(drafts) if silent else None
    later: list[Document] = []
    for doc in silent:
        title = _title(doc)
        named = [h for h in known.find(title) if len(h.exact) == 1]
        if named:
            place(doc, list(drafts.values())[named[0].exact[0]])
        elif (name := _occupation_in_title(title)):
            place(doc, draft_for(doc.meta.occupation_id, name, "title"))
        else:
            later.append(doc)
    known = _matcher(drafts) if later else None
    for doc in later:
        counts = Counter(i for h in known.find(doc.text) if len(h.exact) == 1 for i in h.exact)
        if counts:
            place(doc, list(drafts.values())[counts.most_common(1)[0][0]])
        elif len(drafts) == 1:
            place(doc, next(iter(drafts.values())))
        else:  # nothing to go on: the title it is, so the page is still found by it
            place(doc, draft_for(doc.meta.occupation_id, display_name(_title(doc)), "title"))
    _settle_mentions(drafts)
    return [Occupation(id=d.id, name=d.name, plural=plural_of(d.name), names=d.names, pages=d.pages,
                       mentioned_in=[p for p in d.mentioned_in if p not in d.pages])
            for d in drafts.values()]


def _title(doc: Document) -> str:
    first_heading = next((doc.text[b.start:b.end] for b in doc.blocks if b.kind == "heading"), None)
    return doc.meta.title or first_heading or doc.meta.doc_id


def _occupation_in_title(title: str) -> str | None:
    """The title's name less trailing everyday words ("X pay" -> "X"); None
    when nothing but everyday words is left ("Working hours", "Entry requirements")."""
    words = display_name(title).split()
    while words and (words[-1].lower() in TOPIC_WORDS or words[-1].lower() in STOPWORDS):
        words.pop()
    return " ".join(words) if words else None


def _matcher(drafts: dict[str, _Draft]) -> NameMatcher:
    return NameMatcher([Occupation(id=d.id, name=d.name, plural=d.name, names=d.names, pages=d.pages or ["?"])
                        for d in drafts.values()])


def _settle_mentions(drafts: dict[str, _Draft]) -> None:
    """A page's passing mention of an occupation other pages describe is that occupation ("Y"
    mentioned on one page, declared on another page as a name of Xs).
    A name shared by a mention and a described occupation belongs to the described one."""
    covered = {key: d.id for d in drafts.values() if d.pages for key in d.keys}
    for draft in [d for d in drafts.values() if not d.pages]:
        home = covered.get(name_key(draft.name))
        if home:
            target = drafts[home]
            target.mentioned_in += [p for p in draft.mentioned_in if p not in target.mentioned_in]
            for n in draft.names:
                if name_key(n.name) not in covered:
                    target.add(n.name, n.source)
            del drafts[draft.id]
            continue
        draft.names = [n for n in draft.names if name_key(n.name) not in covered]
        draft.keys = {name_key(n.name) for n in draft.names}


def registry_tables(occupations: Sequence[Occupation]) -> dict:
    """What a loaded registry needs without parsing every occupation: ids, which are covered, name
    counts, the page -> occupation map, the order examples() lists them in, and the name matcher's
    dictionaries (the index stores these beside occupations.jsonl: occupations/stored.py)."""
    matcher = NameMatcher(occupations)
    covered = [o for o in occupations if o.covered]
    position = {o.id: i for i, o in enumerate(occupations)}
    return {"ids": [o.id for o in occupations], "covered": [o.covered for o in occupations],
            "name_counts": [len(o.names) for o in occupations],
            "pages": {page: o.id for o in occupations for page in o.pages},
            "mentioned_in": sorted({p for o in occupations for p in o.mentioned_in}),
            "examples": [position[o.id] for o in sorted(covered, key=lambda o: (-len(o.pages), o.name.lower()))],
            **matcher.tables()}


class Registry:
    """The loaded registry: occupations by id and by page, and their name matcher.

    `occupations` may be a list or the index's rows read on demand (rows.RowFile) with their
    precomputed `tables` (registry_tables): then only the occupations a question touches are parsed."""

    def __init__(self, occupations: Sequence[Occupation], tables: dict | None = None) -> None:
        tables = tables if tables is not None else registry_tables(occupations)
        self.occupations = occupations
        self.position = {id_: i for i, id_ in enumerate(tables["ids"])}
        self.page_occupation: dict[str, str] = tables["pages"]
        self.matcher = NameMatcher.from_tables(tables)
        self._covered: list[bool] = tables["covered"]
        self._examples: list[int] = tables["examples"]
        self._name_counts: list[int] = tables["name_counts"]

    @cached_property
    def name_rows(self) -> list[tuple[int, int]]:
        """Row r of occupation_vectors.npy is name name_rows[r][1] of occupation name_rows[r][0]."""
        return [(i, n) for i, count in enumerate(self._name_counts) for n in range(count)]

    @property
    def covered(self) -> Sequence[Occupation]:
        return Subset(self.occupations, [i for i, c in enumerate(self._covered) if c])

    def __getitem__(self, occupation_id: str) -> Occupation:
        return self.occupations[self.position[occupation_id]]

    def __contains__(self, occupation_id: object) -> bool:
        return occupation_id in self.position

    def about(self, doc_id: str) -> str | None:
        """The occupation a page describes."""
        return self.page_occupation.get(doc_id)

    def names_in(self, text: str) -> set[str]:
        """Ids of the occupations a sentence names."""
        return {self.occupations[i].id for i in self.matcher.occupations_named(text)}

    def examples(self, n: int) -> list[Occupation]:
        """A few covered occupations to name in a welcome or a refusal: the best described first."""
        return [self.occupations[i] for i in self._examples[:n]]
