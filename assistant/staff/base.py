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
