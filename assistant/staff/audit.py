"""Who did what, when: every staff action that changes something is recorded here.

Each part of the console calls `await audit(engine, user.name, "upload", "nhs-nurse.md")` after the
action succeeded (sign-in and sign-out are recorded by auth.py). Rows are never updated; `purge`
leaves them alone (they are about staff, not about the people who asked questions).
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from pydantic import BaseModel
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ..web.schema import staff_audit

log = logging.getLogger(__name__)

MAX_DETAIL = 500  # characters: a file name, a group's question; never a whole page


class AuditEntry(BaseModel):
    at: datetime
    user: str
    action: str
    detail: str


async def audit(engine: AsyncEngine, user: str, action: str, detail: str) -> None:
    detail = detail if len(detail) <= MAX_DETAIL else detail[:MAX_DETAIL - 1] + "…"
    async with engine.begin() as conn:
        await conn.execute(insert(staff_audit).values(
            at=datetime.now(timezone.utc).isoformat(timespec="microseconds"), user=user, action=action[:100],
            detail=detail))


async def audit_after(engine: AsyncEngine, user: str, action: str, detail: str) -> bool:
    """`audit` for an action that has already happened: a database that cannot take the row costs a
    logged error (and False, for the page to warn), never the action's response."""
    try:
        await audit(engine, user, action, detail)
        return True
    except Exception:
        log.exception("Could not write the audit log for %s by %s", action, user)
        return False


async def recent(engine: AsyncEngine, limit: int = 50) -> list[AuditEntry]:
    """Newest first."""
    query = (select(staff_audit.c.at, staff_audit.c.user, staff_audit.c.action, staff_audit.c.detail)
             .order_by(staff_audit.c.at.desc(), staff_audit.c.id.desc()).limit(max(limit, 0)))
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return [AuditEntry.model_validate(dict(r)) for r in rows]
