"""What every /staff page relies on, whoever wrote it: the signed-in user, CSRF, and the page shell.

The rule: the session middleware (auth) runs before any /staff route and sets
`request.state.staff_user` (a StaffUser, or None when not signed in) and `request.state.csrf_token`
(the token this session's forms must send back as the `csrf` field). Routes never read cookies
themselves; they depend on `page_user` (pages: not signed in → 303 to the sign-in page) or
`action_user` (state-changing requests: not signed in → 401, wrong or missing CSRF → 403).
"""

from __future__ import annotations

import html
from urllib.parse import quote

from fastapi import HTTPException, Request
from pydantic import BaseModel

SIGN_IN_PATH = "/staff/login"


class StaffUser(BaseModel):
    name: str


class SignInRequired(Exception):
    """Raised by `page_user`; the staff app turns it into a 303 to the sign-in page (see auth)."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def esc(value: object) -> str:
    """Everything shown on a staff page that came from a page, a question or a user goes through this."""
    return html.escape(str(value), quote=True)


def sign_in_url(next_path: str) -> str:
    return f"{SIGN_IN_PATH}?next={quote(next_path, safe='/')}"


def page_user(request: Request) -> StaffUser:
    user = getattr(request.state, "staff_user", None)
    if user is None:
        raise SignInRequired(request.url.path)
    return user


async def action_user(request: Request) -> StaffUser:
    """For POST routes: a signed-in user whose form (or X-CSRF-Token header) carries this session's token."""
    user = getattr(request.state, "staff_user", None)
    if user is None:
        raise HTTPException(status_code=401, detail="Sign in first.")
    expected = getattr(request.state, "csrf_token", None)
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        sent = (await request.form()).get("csrf")
    if not expected or not isinstance(sent, str) or not _same(sent, expected):
        raise HTTPException(status_code=403, detail="The form has expired: reload the page and try again.")
    return user


def _same(a: str, b: str) -> bool:
    import hmac

    return hmac.compare_digest(a.encode(), b.encode())


def csrf_field(request: Request) -> str:
    """The hidden input every staff form includes."""
    return f'<input type="hidden" name="csrf" value="{esc(getattr(request.state, "csrf_token", ""))}">'


# The menu of every staff page: (path, label). A page not listed here is still served; listing it
# is what puts it in the menu.
NAV: list[tuple[str, str]] = [
    ("/staff", "Overview"), ("/staff/unanswered", "Unanswered"), ("/staff/feedback", "Feedback"),
    ("/staff/coverage", "Coverage"), ("/staff/faq", "FAQ check"), ("/staff/sources", "Sources"),
]

# One <style> element (the CSP allows style elements, not style attributes); no external resources.
_STYLE = """
body{font-family:system-ui,sans-serif;margin:0;color:#1b1b1b;background:#fafafa}
header{background:#1d3557;color:#fff;padding:.6rem 1rem;display:flex;gap:1rem;align-items:center;flex-wrap:wrap}
header a{color:#fff;text-decoration:none}header a.active{text-decoration:underline;font-weight:bold}
header form{margin-left:auto}main{padding:1rem 1.5rem;max-width:80rem}
table{border-collapse:collapse;width:100%;background:#fff}th,td{border:1px solid #ccc;padding:.3rem .5rem;
text-align:left;vertical-align:top}th{background:#eef}.warn{background:#fff3cd}.empty{background:#f8d7da}
.ok{color:#155724}.bad{color:#721c24}.muted{color:#666}.flash{padding:.5rem;background:#e7f1ff;border:1px solid #9ec5fe}
.error{padding:.5rem;background:#f8d7da;border:1px solid #f1aeb5}
"""


def render_page(request, title: str, body: str, *, status_code: int = 200):
    """The shell of every staff page: title, menu, who is signed in with a sign-out button, `body`.

    `body` is HTML the caller built with esc() around everything that did not come from our code."""
    from fastapi.responses import HTMLResponse

    user = getattr(request.state, "staff_user", None)
    path = request.url.path.rstrip("/") or "/staff"
    links = "".join(f'<a href="{p}"{" class=active" if p == path else ""}>{esc(label)}</a>' for p, label in NAV)
    who = (f'<form method="post" action="/staff/logout">{csrf_field(request)}<span>{esc(user.name)}</span> '
           f'<button type="submit">Sign out</button></form>') if user else ""
    page = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{esc(title)} · Careers staff'
            f'</title><meta name="viewport" content="width=device-width,initial-scale=1"><style>{_STYLE}</style>'
            f'</head><body><header><strong>Careers staff</strong>{links if user else ""}{who}</header>'
            f'<main><h1>{esc(title)}</h1>{body}</main></body></html>')
    return HTMLResponse(page, status_code=status_code, headers={"Cache-Control": "no-store"})
