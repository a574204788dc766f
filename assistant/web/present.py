"""Turn an Answer into what the chat shows: message text, one side panel per citation, follow-ups.

Pure functions and pydantic models, so the presentation is tested without Chainlit or a browser.
"""

from __future__ import annotations

from pydantic import BaseModel

from ..models import Answer, Citation
from ..render import date_label
from .safety import escape_markdown, neutralise_answer, safe_url

APOLOGY = ("Sorry, something went wrong while I was answering. Please try again, or ask in other words. "
           "The problem has been logged.")
MAX_SUGGESTIONS = 3
MAX_CHOICES = 6  # "which occupation do you mean?": one button per occupation offered


class SourcePanel(BaseModel):
    """A Chainlit side element. Its name must be the exact marker text in the message ("[1]"):
    Chainlit's frontend turns every occurrence of an element's name in that message into a link
    that opens the element (chainlit frontend src/lib/message.ts, prepareContent)."""

    name: str
    content: str  # markdown, every source-derived character escaped


class ChatReply(BaseModel):
    content: str  # markdown for the message, safe to render
    sources: list[SourcePanel]
    suggestions: list[str]
    abstained: bool
    refused: bool  # the question itself was refused (empty, too long, junk)
    # The occupation the answer is about (display name), kept in the message's metadata so staff can
    # filter feedback by occupation (a follow-up question need not name it).
    occupation: str | None = None


def element_name(n: int) -> str:
    # "[1]" rather than "1": Chainlit matches names anywhere in the text, and a bare digit would
    # turn every "1" in "10 September 2018" into a link.
    return f"[{n}]"


def source_line(n: int, c: Citation) -> str:
    return (f"{element_name(n)} {escape_markdown(c.publisher)}: {escape_markdown(c.title)} "
            f"({escape_markdown(date_label(c))})")


def _sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:]


def _shorten(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def source_panel(n: int, c: Citation, question: str | None = None) -> SourcePanel:
    """The side panel for citation n. Chainlit 2.11+ opens the panel by itself with every side element
    of the conversation stacked (chainlit#2979), so each one says which answer it belongs to."""
    url = safe_url(c.url)
    link = (f"[Open the page on {escape_markdown(c.publisher)}](<{url}>)" if url
            else "_No web address is known for this page._")
    quoted = [f"> {escape_markdown(line.strip())}" for line in c.snippet.splitlines() if line.strip()]
    label = f"Source {escape_markdown(element_name(n))}"
    if question:
        label += f" for “{escape_markdown(_shorten(question))}”"
    lines = [
        "---",  # separates the panels when Chainlit stacks them
        f"_{label}_",
        "",
        # One paragraph, one line each: Chainlit renders paragraphs with white-space: pre-wrap.
        f"**{escape_markdown(c.publisher)}**",
        escape_markdown(c.title),
        f"_{escape_markdown(_sentence_case(date_label(c)))}_",
        link,
        "",
        "Quoted from the page:",
        "",
        "\n>\n".join(quoted),
    ]
    if c.licence:  # ESCO and O*NET ask for this attribution wherever their text is reused
        lines += ["", f"_{escape_markdown(c.licence)}_"]
    return SourcePanel(name=element_name(n), content="\n".join(lines))


def _suggestions(answer: Answer) -> list[str]:
    """The buttons under the answer: the occupations to choose from when it asks which one is meant
    (each sends its name, and the waiting question is answered for it), else follow-up questions."""
    if answer.clarify:
        return list(dict.fromkeys(o.question for o in answer.clarify))[:MAX_CHOICES]
    seen: list[str] = []
    for s in answer.suggestions:
        if s.strip() and s not in seen:
            seen.append(s.strip())
    return seen[:MAX_SUGGESTIONS]


def reply_for(answer: Answer) -> ChatReply:
    if answer.error:
        return ChatReply(content=escape_markdown(answer.error), sources=[], suggestions=[], abstained=True,
                         refused=True)
    content = neutralise_answer(answer.answer)
    sources = [source_panel(n, c, answer.question) for n, c in enumerate(answer.citations, start=1)]
    if sources:
        # Every marker is also listed under the answer, so the publishers show without a click.
        listing = "\n".join(f"- {source_line(n, c)}" for n, c in enumerate(answer.citations, start=1))
        content += "\n\n**Sources** (select a number to read the quoted passage):\n\n" + listing
    return ChatReply(content=content, sources=sources, suggestions=_suggestions(answer),
                     abstained=answer.abstained, refused=False, occupation=answer.occupation)


def apology() -> ChatReply:
    return ChatReply(content=APOLOGY, sources=[], suggestions=[], abstained=True, refused=True)


def slow_down_text(seconds: int) -> str:
    wait = "a second" if seconds <= 1 else f"{seconds} seconds"
    return (f"You're asking questions faster than I can take them. Please wait {wait}, "
            "then ask again.")


def slow_down(seconds: int) -> ChatReply:
    """The chat's answer to a client over its rate limit (the API's is HTTP 429 with the same text)."""
    return ChatReply(content=slow_down_text(seconds), sources=[], suggestions=[], abstained=True, refused=True)
