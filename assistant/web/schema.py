"""The database tables: the five Chainlit's SQLAlchemy data layer writes, plus our `unanswered`,
`questions` and `spool_replayed`, and the staff console's `staff_*` tables.

Chainlit ships no schema for its SQLAlchemyDataLayer: it builds INSERTs from whatever keys a step,
element or feedback dict has (chainlit/data/sql_alchemy.py, step.py, message.py, element.py, types.py),
and a missing column makes the INSERT fail with only a warning in the log. So the columns below are
every key Chainlit 2.12 writes, and `ensure_schema` also adds columns missing from an older database.
Types are generic so the same tables work on SQLite and PostgreSQL; ids are text (Chainlit sends
UUID strings), JSON is JSONB and tags are TEXT[] on PostgreSQL, where Chainlit binds Python lists.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Index, Integer, MetaData, Table, Text, inspect
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

metadata = MetaData()

_json = JSON().with_variant(JSONB(), "postgresql")
_tags = JSON().with_variant(ARRAY(Text()), "postgresql")


def _id() -> Column:
    return Column("id", Text, primary_key=True)


# No foreign keys: Chainlit persists steps from fire-and-forget tasks (Message.send uses
# asyncio.create_task), so rows do not arrive in a guaranteed order, and a failed write must not
# make a later feedback row fail too.
users = Table(
    "users", metadata, _id(),
    Column("identifier", Text, nullable=False, unique=True),
    Column("metadata", _json, nullable=False),
    Column("createdAt", Text),
)

threads = Table(
    "threads", metadata, _id(),
    Column("createdAt", Text),
    Column("name", Text),
    Column("userId", Text),
    Column("userIdentifier", Text),
    Column("tags", _tags),
    Column("metadata", _json),
)

steps = Table(
    "steps", metadata, _id(),
    Column("name", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("threadId", Text, nullable=False),
    Column("parentId", Text),
    Column("command", Text),
    Column("modes", _json),
    Column("streaming", Boolean, nullable=False),
    Column("waitForAnswer", Boolean),
    Column("isError", Boolean),
    Column("metadata", _json),
    Column("tags", _tags),
    Column("input", Text),
    Column("output", Text),
    Column("createdAt", Text),
    Column("start", Text),
    Column("end", Text),
    Column("generation", _json),
    Column("showInput", Text),
    Column("defaultOpen", Boolean),
    Column("autoCollapse", Boolean),
    Column("language", Text),
    Column("icon", Text),
    Column("indent", Integer),
)

elements = Table(
    "elements", metadata, _id(),
    Column("threadId", Text),
    Column("type", Text),
    Column("chainlitKey", Text),
    Column("path", Text),
    Column("url", Text),
    Column("objectKey", Text),
    Column("name", Text, nullable=False),
    Column("display", Text),
    Column("size", Text),
    Column("language", Text),
    Column("page", Integer),
    Column("props", _json),
    Column("autoPlay", Boolean),
    Column("playerConfig", _json),
    Column("forId", Text),
    Column("mime", Text),
)

feedbacks = Table(
    "feedbacks", metadata, _id(),
    Column("forId", Text, nullable=False),
    Column("threadId", Text),
    Column("value", Integer, nullable=False),
    Column("comment", Text),
)

# Questions the assistant could not answer from its sources: what staff need to extend the corpus.
# Deliberately no user, session or thread id: the question and when it was asked, nothing personal.
unanswered = Table(
    "unanswered", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("question", Text, nullable=False),
    Column("asked_at", Text, nullable=False),  # ISO 8601 UTC: sorts as text on every database
    Column("reason", Text),  # the assistant's own words, e.g. "I have no pages about Xs."
    Column("channel", Text, nullable=False),  # "chat" or "api"
    # What the assistant read the question as, so staff see which occupation and topic lack pages:
    # the occupation's display name (None when it named none, or one no page covers) and the facet.
    Column("occupation", Text),
    Column("facet", Text),
    # When a member of staff marked it handled on /staff/unanswered (None: still to look at).
    Column("handled_at", Text),
)

# Every question's outcome, for the staff overview (answered / declined / refused per day, the top
# questions). Like `unanswered`: no user, session or thread id, and the question redacted.
questions = Table(
    "questions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("asked_at", Text, nullable=False),  # ISO 8601 UTC
    Column("channel", Text, nullable=False),  # "chat" or "api"
    # Answer.outcome: answer, abstain (the pages don't say), uncovered (no pages about the occupation),
    # clarify (asked which occupation), error (the question itself was refused).
    Column("outcome", Text, nullable=False),
    Column("occupation", Text),
    Column("facet", Text),
    Column("reason", Text),
    Column("question", Text, nullable=False),
)
Index("questions_asked_at", questions.c.asked_at)  # every staff report reads a span of days

# Keys of the spooled writes already replayed (durable.py): a replay inserts its key in the same
# transaction as the write, so a write is stored exactly once even if the spool is replayed again.
spool_replayed = Table(
    "spool_replayed", metadata,
    Column("key", Text, primary_key=True),
    Column("replayed_at", Text, nullable=False),
)


# Careers staff (assistant/staff/): accounts made by `careers-assistant staff add`, their signed-in
# sessions, what they did, and the key that signs their cookies. No foreign keys here either: a
# removed account's sessions are deleted with it (accounts.remove_account), its audit rows are kept.
staff_users = Table(
    "staff_users", metadata,
    Column("name", Text, primary_key=True),  # unique by being the key
    Column("password_hash", Text, nullable=False),  # Argon2id, parameters inside the string
    Column("created_at", Text, nullable=False),
)

# One row per signed-in browser: the SHA-256 of the session id in its cookie (the database never
# holds a usable cookie), so signing out or removing the account ends the session at once.
staff_sessions = Table(
    "staff_sessions", metadata,
    Column("id_hash", Text, primary_key=True),
    Column("user", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("expires_at", Text, nullable=False),  # ISO 8601 UTC
)

staff_audit = Table(
    "staff_audit", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Text, nullable=False),  # ISO 8601 UTC
    Column("user", Text, nullable=False),
    Column("action", Text, nullable=False),  # e.g. "upload", "delete", "rebuild", "mark handled"
    Column("detail", Text, nullable=False),
)

# Secrets the server generates once and keeps with the data it protects, so sessions survive a
# restart and no secret is in the code, the environment or the repository.
staff_secrets = Table(
    "staff_secrets", metadata,
    Column("name", Text, primary_key=True),
    Column("value", Text, nullable=False),
    Column("created_at", Text, nullable=False),
)


def _create_and_migrate(conn: Connection) -> list[str]:
    metadata.create_all(conn, checkfirst=True)
    added: list[str] = []
    inspector = inspect(conn)
    preparer = conn.dialect.identifier_preparer
    for table in metadata.sorted_tables:
        have = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in have:
                continue
            # A database made by an older Chainlit (or by hand from its docs) lacks newer columns.
            kind = column.type.compile(dialect=conn.dialect)
            conn.exec_driver_sql(f"ALTER TABLE {preparer.quote(table.name)} "
                                 f"ADD COLUMN {preparer.quote(column.name)} {kind}")
            added.append(f"{table.name}.{column.name}")
    return added


async def ensure_schema(engine: AsyncEngine) -> list[str]:
    """Create missing tables and columns; returns the columns it had to add to existing tables."""
    async with engine.begin() as conn:
        return await conn.run_sync(_create_and_migrate)
