"""Personal details out of logs and stored questions; user text that cannot forge a log line.

People type their email address or phone number into a careers chat ("can someone call me on 07700
900123?"). Staff need the question, not the contact details, so both are replaced by a placeholder
before a question is logged or stored. The patterns lean towards redacting: a log line that lost a
long number is harmless, a log line that kept a phone number is not. They leave the figures the
sources talk about alone: salaries (£24,000), hours (37.5), bands, years and dates (2024-05-01).
"""

from __future__ import annotations

import logging
import re

EMAIL_MARK = "[email]"
PHONE_MARK = "[phone]"

_EMAIL = re.compile(
    r"(?<![\w.+-])[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}(?![\w-])",
    re.UNICODE,
)
# "user at example dot com" is not caught: it is rare, and catching it would eat ordinary words.

# Candidate phone numbers: a run of digits with the separators people type (spaces, dots, dashes,
# brackets), optionally after "+". Each candidate is then judged by _is_phone on its digits.
_PHONE_CANDIDATE = re.compile(
    r"(?<![\w£$€¥.,/])"            # not inside a word, an amount (£24,000), a decimal or a date (1/2/2024)
    r"(?:\+|00)?\(?\d[\d\s().\-]{5,80}\d"
    r"(?![\w£$€%]|[.,/]\d)"        # not followed by a unit, a percentage or more of a number
)
_SEPARATORS = re.compile(r"[\s().\-]")
_NANP = re.compile(r"^\(?\d{3}\)?[\s.\-]?\d{3}[\s.\-]\d{4}$")  # 555-123-4567, (555) 123 4567
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")

# Characters that end or fake a line in a log file or a terminal: CR, LF, the other C0/C1 controls
# (ESC starts terminal escape sequences), and Unicode's line and paragraph separators. Also the
# bidirectional controls (U+202E shows the rest of a line reversed, so "ERROR" can be made to read
# as anything) and lone surrogates, which no log file's UTF-8 can hold (the handler would fail).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
                      r"\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _is_phone(candidate: str) -> bool:
    text = candidate.strip()
    digits = re.sub(r"\D", "", text)
    if _ISO_DATE.match(text):
        return False
    if text.startswith("+") or text.startswith("00"):
        return 7 <= len(digits) <= 15  # international: +44 7700 900123, +1 (555) 123-4567, 0033 1 23 45 67 89
    if text.lstrip("(").startswith("0"):
        return 10 <= len(digits) <= 11  # UK national: 07700 900123, (020) 7946 0958, 0161 496 0000
    return bool(_NANP.match(text))


def _phones_in(text: str) -> str:
    """Redact the phone numbers in one candidate run of digits and separators."""
    # The run may have swallowed a trailing separator or bracket; judge it without them.
    core = text.rstrip(" .-(")
    if _is_phone(core):
        return PHONE_MARK + text[len(core):]
    # Two numbers in a row ("07700 900123 07700 900124") or a number after other figures: take the
    # longest phone number made of whole space-separated parts, from left to right.
    parts = [m.span() for m in re.finditer(r"\S+", text)]
    out, done, i = [], 0, 0
    while i < len(parts):
        for j in range(len(parts), i, -1):
            start, end = parts[i][0], parts[j - 1][1]
            piece = text[start:end].rstrip(" .-(")
            if _is_phone(piece):
                out += [text[done:start], PHONE_MARK]
                done, i = start + len(piece), j
                break
        else:
            i += 1
    return "".join(out) + text[done:]


def _phone(match: re.Match[str]) -> str:
    return _phones_in(match.group(0))


def redact(text: str) -> str:
    """`text` with email addresses and phone numbers replaced by [email] and [phone]."""
    text = _EMAIL.sub(EMAIL_MARK, text)
    return _PHONE_CANDIDATE.sub(_phone, text)


def _escape(match: re.Match[str]) -> str:
    c = match.group(0)
    if c in _NAMED:
        return _NAMED[c]
    return f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"


def one_line(text: str) -> str:
    """`text` on one line: CR, LF and every other control character shown as an escape (\\n, \\x1b);
    bidirectional controls and lone surrogates too (\\u202e, \\ud800)."""
    return _CONTROL.sub(_escape, text)


def for_log(text: object, limit: int = 200) -> str:
    """User text fit for a log line: redacted, on one line, at most `limit` characters (then "…")."""
    text = text if isinstance(text, str) else repr(text)
    # Only what can show is redacted (a phone number is far shorter than the 100-character margin),
    # so a 20,000-character question costs no more than a short one.
    text = one_line(redact(text[:limit + 100]))
    return text if len(text) <= limit else text[:limit - 1] + "…"


class SafeLogFormatter(logging.Formatter):
    """A formatter under which no log record can hold contact details or pass for another record.

    The message (with its arguments, wherever they came from: our code, Chainlit, SQLAlchemy errors
    that quote the parameters of a failed INSERT) is redacted and put on one line. A traceback spans
    lines by design: each of its lines is redacted too and starts with "  | ", so text inside an
    exception message can never start a line that looks like a record of its own."""

    CONTINUATION = "  | "

    def format(self, record: logging.LogRecord) -> str:
        saved = record.msg, record.args, record.exc_text
        try:
            record.msg, record.args = one_line(redact(record.getMessage())), None
            text = super().format(record)
        finally:
            record.msg, record.args, record.exc_text = saved
        head, sep, tail = text.partition("\n")
        if not sep:
            return head
        return head + "".join("\n" + self.CONTINUATION + one_line(redact(line)) for line in tail.split("\n"))
