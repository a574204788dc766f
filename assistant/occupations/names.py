"""Occupation names as text: the key two spellings of one name share, plurals, and names read off a page.

Rules the matcher relies on:
- A name's key is its words, each made singular and stripped of a possessive, joined with nothing
  between them: "pipe-line layers'", "Pipeline layer" and "pipe line layer" share
  the key "pipelinelayer". Questions and names go through the same function, so they meet.
- Singular forms only need to agree with themselves, not to be good English ("analyses" -> "analyse").
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W\d_]+)*")
# Words that never make a name on their own: a page titled "A day in the life of an X" names an
# X, not "a day".
_LEADING = re.compile(
    r"^\s*(?:(?:what|who)\s+(?:is|are|does|do)\s+(?:an?|the)?\s*|how\s+to\s+become\s+(?:an?\s+)?|"
    r"become\s+(?:an?\s+)?|becoming\s+(?:an?\s+)?|working\s+as\s+(?:an?\s+)?|careers?\s+(?:as|in)\s+(?:an?\s+)?|"
    r"(?:an?|the)\s+)", re.IGNORECASE)
_TRAILING = re.compile(r"\s*(?:\([^)]*\)|\bjob\s+(?:profile|description)\b|\bcareer\s+guide\b|[?!.:|–—-])\s*$",
                       re.IGNORECASE)
# "Amy: X (world of work)": a person's name before a colon is no part of the title.
_PERSON = re.compile(r"^[A-Z][a-z]+:\s+")


def tokens(text: str) -> list[tuple[int, int, str]]:
    """Word tokens with their offsets, lower-cased, curly apostrophes made straight."""
    return [(m.start(), m.end(), m.group(0).lower().replace("’", "'")) for m in _TOKEN.finditer(text)]


def singular(word: str) -> str:
    """"workers" -> "worker", "bosses'" -> "boss", "XYs" -> "xy", "parties" -> "party"."""
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    w = w.rstrip("'")
    if len(w) < 3 or not w.endswith("s") or w.endswith(("ss", "us", "is")):
        return w
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith(("ches", "shes", "xes", "sses", "zes")):
        return w[:-2]
    return w[:-1]


def names_phrase(text: str, phrase: str) -> bool:
    """Does the text name the phrase, in any plural, possessive, hyphen or space variant?"""
    want = [singular(t) for _, _, t in tokens(phrase)]
    have = [singular(t) for _, _, t in tokens(text)]
    return bool(want) and any(have[i:i + len(want)] == want for i in range(len(have) - len(want) + 1))


def key_of(words: list[str]) -> str:
    return "".join(singular(w) for w in words)


def name_key(name: str) -> str:
    return key_of([t for _, _, t in tokens(name)])


def plural_of(name: str) -> str:
    """Regular English plurals of the last word: "X" -> "Xs", "...ary" -> "...aries",
    "...man" -> "...men", "X helper" -> "X helpers"."""
    head, _, last = name.rpartition(" ")
    low = last.lower()
    if "," in name or " and " in name:  # a list of occupations ("As, Bs, and other Cs") is plural already
        return name
    if low.endswith("man") and not low.endswith(("human", "german")):
        last = last[:-3] + "men"
    elif re.search(r"[^aeiou]y$", low):
        last = last[:-1] + "ies"
    elif low.endswith(("s", "sh", "ch", "x", "z")):
        last = last + "es"
    elif low:
        last = last + "s"
    return f"{head} {last}" if head else last


def display_name(title: str) -> str:
    """The occupation a page's title names: "Become an X" -> "X"; "What Is an X?" and
    "X (job profile)" likewise."""
    name = _PERSON.sub("", title.strip())
    for _ in range(3):
        name = _TRAILING.sub("", _LEADING.sub("", name)).strip()
    words = name.split()
    # Lower-case ordinary words; keep acronyms ("NHS", "IT") as the page wrote them.
    shown = [w if (sum(c.isupper() for c in w) > 1 or (w[:1].isupper() and i == 0 and len(words) == 1 and w.isupper()))
             else w.lower() for i, w in enumerate(words)]
    return " ".join(shown)


_ALSO = re.compile(r"\b(?:also|sometimes|often)\s+(?:be\s+)?(?:known\s+as|called|referred\s+to\s+(?:as|by\s+(?:different|other)\s+"
                   r"(?:titles|names),?\s*(?:including|such\s+as)?))\s*:?[ \t]*(?P<names>[^.;\n]*)", re.IGNORECASE)
_SPLIT = re.compile(r"\s*(?:,|\bor\b|\band\b|/)\s*", re.IGNORECASE)


def names_in_text(text: str) -> list[str]:
    """Other names a sentence gives in an "also known as" or "sometimes called" phrase."""
    found: list[str] = []
    for m in _ALSO.finditer(text):
        # "sometimes called A or B, works under ...": the list ends with its "or"/"and" item.
        segments = m.group("names").split(")")[0].split(",")
        end = next((i for i, seg in enumerate(segments) if re.search(r"\b(?:or|and)\b|/", seg)), len(segments) - 1)
        for part in _SPLIT.split(",".join(segments[:end + 1]).strip()):
            part = re.sub(r"^(?:an?|the)\s+", "", part.strip(" '\"“”‘’()"), flags=re.IGNORECASE)
            if 1 <= len(part.split()) <= 6 and re.search(r"[^\W\d_]{2,}", part):
                found.append(part)
    return found


def introduces_names(text: str) -> bool:
    """A line such as "Xs may also be known as:" whose names follow as a list."""
    return any(not m.group("names").strip() for m in _ALSO.finditer(text))
