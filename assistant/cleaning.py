"""Turn a page as received into clean text plus its structure (headings, paragraphs, bullets).

Cleaning is code, not hand edits, so every page added later gets the same treatment. The corpus
is English: a line with letters but no Latin letter is a masthead in another script, not content.
Every rule here removes page furniture or repairs encoding; none rewrites a real sentence.
"""

from __future__ import annotations

import re
import unicodedata

from .models import Block

# Any run of characters outside ASCII/Latin-1 that GBK can encode: where UTF-8 was decoded as GBK.
_MOJIBAKE_RUN = re.compile(r"[\u2E80-\u9FFF\uAC00-\uD7AF\uF900-\uFAFF\uFF00-\uFFEF]+")
_CJK = re.compile(r"[\u2E80-\u9FFF\uAC00-\uD7AF\uF900-\uFAFF]")

# Control characters and bidi overrides: invisible, and able to reorder or forge what is shown.
_INVISIBLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")

# Whole lines of page furniture (matched case-insensitively, after bullets and numbers are stripped).
_CHROME = [
    r"this is a decorative .{0,30}line to separate and organise content on the page\.?",
    r"beta\s*try an improved version of this page",
    r"try it out",
    r"more about how to get into this career",
    r"we['’]ve included current opportunities to help you with your next steps",
    r"we['’]re building a new service\W+your feedback will help us to improve it\.?",
    r"make a comment or report a problem with this page",
    r"help us improve",
    r"related careers",
    r"you may be interested in:?",
    r"other roles that may interest you",
    r"keep reading",
    r"find out more",
    r"written by\b.*",
    r"updated on",
    r"editorial team",
    r"\[[^\]]*image\][^.]*\.?",  # image captions such as "[Featured Image] A person ..."
    r".{1,80}\.\s(video|collection|article|audio|quiz|podcast)",  # a related-content card: "Becky: her job. video"
    r"[^a-z0-9]*",  # nothing but punctuation: the remains of an empty link
]
_CHROME_RE = re.compile("^(?:" + "|".join(_CHROME) + ")$", re.IGNORECASE)

_BULLET = re.compile(r"^(?:[•·▪●◦‣*\-–]\s+|\d{1,2}[.)]\s+)")
_NUMBERED = re.compile(r"^\d{1,2}[.)]\s+")
# "Salary, a pound sign Salary: £..." -> "Salary: £...": the alt text of an icon read out before the label.
_ICON_ALT = re.compile(r"^(\w+), an? [^,:]{1,40}? (\1:)")
# "visit: , , and ." or "NHS Health Careers, ." : commas left where link texts were removed.
_EMPTY_LINKS = re.compile(r"(?:\s*,)+\s*(?:and\s*)?(?=\.)|(?<=:)(?:\s*,)*\s*(?:and\s*)?(?=\.$)")
# Words a sentence that introduced a (now missing) list ends on: "may also be known as".
_LEAD_IN_END = {
    "as", "be", "need", "such", "include", "includes", "including", "helping", "like", "for",
    "with", "to", "of", "the", "and", "or", "a", "an", "by", "from", "are", "is",
}
# A heading ending on one of these ("Xs may also be known as") introduced a list;
# a heading ending on "need" or "for" may be a real one ("Skills you need").
_LIST_INTRODUCERS = {"as", "be", "such", "including", "like", "helping"}
_TERMINAL = ".!?:\"”’)]"
# A numbered footnote marker such as "[1]": page furniture that would clash with the answer's own.
_FOOTNOTE = re.compile(r"\s?\[\d{1,2}\](?=[\s.,;:]|$)")


def repair_mojibake(text: str) -> str:
    """Undo UTF-8 text that was decoded as GBK: `拢20,329` -> `£20,329`, `鈥檚` -> `’s`."""

    def fix(match: re.Match[str]) -> str:
        run = match.group(0)
        try:
            raw = run.encode("gbk")
        except UnicodeEncodeError:
            return run
        try:
            fixed = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            head = raw[: err.start]
            tail = raw[err.start :]
            # A lost third byte after E2 80 (General Punctuation): in English prose that is ’ far more
            # often than anything else, so that is the repair; any other damage is left as found.
            if err.reason != "unexpected end of data" or not tail.startswith(b"\xe2\x80"):
                return run
            try:
                fixed = head.decode("utf-8") + "’"
            except UnicodeDecodeError:
                return run
        return run if _CJK.search(fixed) else fixed

    return _MOJIBAKE_RUN.sub(fix, text)


def normalise(text: str) -> str:
    """Unicode NFC, one newline style, no invisible controls, plain spaces."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = text.replace("\u2028", "\n").replace("\u2029", "\n").replace("\t", " ")
    text = _INVISIBLE.sub("", text)
    return re.sub(r"[ \u00a0\u2000-\u200a\u202f\u205f\u3000]+", " ", text)


def _has_foreign_script_only(line: str) -> bool:
    letters = [c for c in line if c.isalpha()]
    return bool(letters) and not any("LATIN" in unicodedata.name(c, "") for c in letters)


def _is_heading(line: str) -> bool:
    body = _NUMBERED.sub("", line)
    words = body.split()
    if not words or ":" in body or re.search(r"[\d£$€%]", body):
        return False
    if body.endswith("?"):
        return len(words) <= 20
    return len(words) <= 14 and body[-1] not in ".,;!" and body[0].isupper()


def _classify(lines: list[str]) -> list[tuple[str, str, bool]]:
    """Label each kept line heading / paragraph / bullet; drop furniture and orphaned lead-ins.
    The flag on each item says whether something was removed since the item before it."""
    items: list[tuple[str, str, bool]] = []
    seen_short: set[str] = set()
    removed = False  # a line was dropped since the last kept one
    for raw in lines:
        line = raw.strip()
        if not line:
            items.append(("blank", "", False))
            continue
        # A short line said again (a carousel card's title, repeated under its picture) is furniture.
        if len(line.split()) <= 10 and line.lower() in seen_short:
            removed = True
            continue
        if len(line.split()) <= 10:
            seen_short.add(line.lower())
        is_bullet = bool(_BULLET.match(line)) and not _is_numbered_heading(line)
        body = _BULLET.sub("", line) if is_bullet else line
        body = _ICON_ALT.sub(r"\2", body)
        body = _EMPTY_LINKS.sub("", _FOOTNOTE.sub("", body)).strip()
        if _CHROME_RE.match(_NUMBERED.sub("", body)) or _has_foreign_script_only(body):
            removed = True
            continue
        if re.search(r":\s*\.$", body):  # "visit: ." once its empty links are gone: nothing left to say
            removed = True
            continue
        kind = "bullet" if is_bullet else ("heading" if _is_heading(body) else "paragraph")
        items.append((kind, body, removed))
        removed = False
    return _drop_orphans(items)


def _is_numbered_heading(line: str) -> bool:
    return bool(_NUMBERED.match(line)) and _is_heading(line)


def _next_content(items: list[tuple[str, str, bool]], i: int) -> str | None:
    for kind, _, _ in items[i + 1 :]:
        if kind != "blank":
            return kind
    return None


def _drop_orphans(items: list[tuple[str, str, bool]]) -> list[tuple[str, str, bool]]:
    """Remove sentences that introduced a list the page lost, and headings with nothing under them.
    Whatever is removed leaves its mark on the next item kept."""
    kept: list[tuple[str, str, bool]] = []
    removed = False  # something was removed after the last item kept
    for i, (kind, body, gap) in enumerate(items):
        nxt = _next_content(items, i)
        if kind in ("paragraph", "heading") and nxt != "bullet":
            last_word = body.split()[-1].lower() if body.split() else ""
            dangling = body.endswith(":") or (body[-1] not in _TERMINAL and last_word in (
                _LEAD_IN_END if kind == "paragraph" else _LIST_INTRODUCERS))
            if dangling:
                # Drop only the sentence that introduced the lost list; keep what came before it.
                body = re.sub(r"(?:^|(?<=[.!?]) )[^.!?]*$", "", body).strip()
                if not body:
                    removed = True
                    continue
                kept.append((kind, body, gap or removed))
                removed = True  # its last sentence is gone: what follows does not follow it
                continue
        if kind == "blank":
            kept.append((kind, body, False))
            continue
        kept.append((kind, body, gap or removed))
        removed = False
    # A heading followed directly by another heading (or by nothing) heads an emptied section.
    out: list[tuple[str, str, bool]] = []
    removed = False
    for i, (kind, body, gap) in enumerate(kept):
        if kind == "blank":
            continue
        if kind == "heading" and _next_content(kept, i) in (None, "heading"):
            removed = True
            continue
        out.append((kind, body, gap or removed))
        removed = False
    return out


def clean(raw: str) -> tuple[str, list[Block]]:
    """Return the cleaned text and its blocks; every block is a span text[start:end].

    A block is one line of the page. Within a line the cleaning drops only markers and punctuation
    (footnote numbers, commas of lost links, an icon's alt text), never words of a sentence, so what it
    removes always lies between blocks, and each block whose predecessor was cut off from it says so
    (`gap_before`)."""
    text = normalise(repair_mojibake(raw))
    items = _classify(text.split("\n"))
    parts: list[str] = []
    blocks: list[Block] = []
    pos = 0
    section: str | None = None
    prev_kind: str | None = None
    for kind, body, gap in items:
        if parts:
            sep = "\n" if kind == "bullet" and prev_kind == "bullet" else "\n\n"
            parts.append(sep)
            pos += len(sep)
        prefix = "• " if kind == "bullet" else ""
        parts.append(prefix + body)
        start = pos + len(prefix)
        pos = start + len(body)
        if kind == "heading":
            section = _NUMBERED.sub("", body)
        blocks.append(Block(kind=kind, start=start, end=pos, section=section,  # type: ignore[arg-type]
                            gap_before=gap and len(blocks) > 0))
        prev_kind = kind
    return "".join(parts), blocks
