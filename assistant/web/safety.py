"""Make source and user text show as text in Chainlit's markdown renderer.

Chainlit renders messages and side panels with react-markdown + GFM. With raw HTML off a `<script>`
cannot run, but markdown itself still acts: `[x](javascript:...)` becomes a link, `![x](https://...)`
fetches an image from anywhere, `~a~` strikes text through and a bare URL becomes a link. So every
span that came from a corpus page or from a user is escaped character by character, and only the
answer templates' own markup (line prefixes, **bold**, *italic*, [n] citation markers) stays live.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

# CommonMark lets any ASCII punctuation be backslash-escaped, and an escaped character is always
# literal. These are the ones with a meaning in CommonMark or GFM (links, images, emphasis, code,
# HTML, entities, headings, lists, tables, strikethrough, autolinks via ":" "@" ".", math via "$").
_ACTIVE = frozenset("\\`*_{}[]()<>#+-.!|~$&:@=^")
_TEMPLATE_MARKUP = re.compile(r"(\*\*|\*|_|\[\d+\])")  # what the answer templates themselves write
_QUOTED = re.compile(r"(“.*”|‘[^’]*’)")  # “verbatim source text” (greedy: one quote a line); ‘user words’
_LINE_PREFIX = re.compile(r"^((?:>|\s*-)\s+)?(.*)$")
_WHITESPACE = re.compile(r"\s+")


def escape_markdown(text: str) -> str:
    """Text that renders exactly as given: every markdown-active character escaped, lines joined."""
    # One line, spaces kept: a newline could start a heading, list or quote of its own.
    flat = _WHITESPACE.sub(" ", text)
    return "".join("\\" + c if c in _ACTIVE else c for c in flat)


def _template_text(text: str) -> str:
    # Template words may carry **bold**, *italic*, _italic_ and [n]; anything else in them (a publisher
    # name, a figure, a date) is escaped.
    return "".join(part if _TEMPLATE_MARKUP.fullmatch(part) else escape_markdown(part)
                   for part in _TEMPLATE_MARKUP.split(text))


def _line(line: str) -> str:
    match = _LINE_PREFIX.match(line)
    assert match is not None  # the pattern matches every line
    prefix, body = match.group(1) or "", match.group(2)
    out = []
    for part in _QUOTED.split(body):
        if part[:1] in "“‘" and part[-1:] in "”’" and len(part) >= 2:
            out.append(part[0] + escape_markdown(part[1:-1]) + part[-1])
        elif part:
            out.append(_template_text(part))
    return prefix + "".join(out)


def neutralise_answer(markdown: str) -> str:
    """The core's answer markdown with every quoted or echoed span made literal.

    Relies on the core's convention that curly double quotes mark verbatim source text (and curly
    single quotes the user's own words); the [n] markers stay raw so the UI can link them.
    """
    return "\n".join(_line(line) for line in markdown.split("\n"))


def safe_url(url: str | None) -> str | None:
    """An http(s) URL fit for a markdown link destination, or None for anything else."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    if any(not c.isprintable() or c.isspace() for c in url):
        return None
    # Percent-encode whatever could end the destination or start markup: <, >, brackets, quotes, spaces.
    return quote(url, safe=":/?#@!$&'*+,;=%-._~")
