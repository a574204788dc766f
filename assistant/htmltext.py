"""HTML pages to plain lines the cleaner understands: headings, paragraphs and `• ` bullets.

Scripts, styles and navigation are dropped; markup never reaches the index, so a hostile page
cannot smuggle script into an answer.
"""

from __future__ import annotations

import html
from html.parser import HTMLParser

_SKIP = {"script", "style", "nav", "header", "footer", "noscript", "template", "svg", "iframe", "form", "button"}
_BLOCK = {"p", "div", "section", "article", "main", "br", "tr", "table", "ul", "ol", "blockquote", "dd", "dt"}
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}


class _Extractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.skip_depth = 0
        self.in_title = False
        self.title: str | None = None
        self.prefix = ""

    def _flush(self) -> None:
        text = " ".join("".join(self.current).split())
        if text:
            self.lines.append(self.prefix + text)
            self.lines.append("")
        self.current = []
        self.prefix = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip_depth += 1
        elif tag == "title":
            self.in_title = True
        elif tag in _HEADINGS or tag in _BLOCK or tag == "li":
            self._flush()
            if tag == "li":
                self.prefix = "• "

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag == "title":
            self.in_title = False
        elif tag in _HEADINGS or tag in _BLOCK or tag == "li":
            self._flush()

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title = (self.title or "") + data
        elif not self.skip_depth:
            self.current.append(data)


def html_to_text(page: str) -> tuple[str, str | None]:
    """Return (text, title): one block per line, blank lines between blocks."""
    parser = _Extractor()
    parser.feed(page)
    parser.close()
    parser._flush()
    title = " ".join(html.unescape(parser.title).split()) if parser.title else None
    return "\n".join(parser.lines), title or None
