"""A durable, gap-free, idempotent, tamper-evident event store on SQLite and PostgreSQL.

>>> from eventstore import EventStore, NewEvent, NO_STREAM
>>> async def main() -> None:
...     async with await EventStore.open("sqlite+aiosqlite:///oms.db") as store:
...         await store.append("order-1", [NewEvent("OrderCreated", {"qty": "1"})], NO_STREAM)
...         async for ev in store.read_all():
...             print(ev.position, ev.stream_id, ev.type, ev.data)
"""

from eventstore.errors import (
    EventStoreError,
    Fenced,
    ForeignDatabase,
    IdempotencyConflict,
    IntegrityError,
    NotADatabase,
    SchemaOutOfDate,
    StoreClosed,
    WrongExpectedVersion,
)
from eventstore.migration import database_revision, revision_history, upgrade_database
from eventstore.model import (
    ANY,
    NO_STREAM,
    STREAM_EXISTS,
    AppendResult,
    ExpectedVersion,
    NewEvent,
    RecordedEvent,
    StreamState,
    VerifyReport,
)
from eventstore.raw_read import RawRow, read_all_raw
from eventstore.store import EventStore

__all__ = [
    "ANY",
    "NO_STREAM",
    "STREAM_EXISTS",
    "AppendResult",
    "EventStore",
    "EventStoreError",
    "ExpectedVersion",
    "Fenced",
    "ForeignDatabase",
    "IdempotencyConflict",
    "IntegrityError",
    "NewEvent",
    "NotADatabase",
    "RawRow",
    "RecordedEvent",
    "SchemaOutOfDate",
    "StoreClosed",
    "StreamState",
    "VerifyReport",
    "WrongExpectedVersion",
    "database_revision",
    "read_all_raw",
    "revision_history",
    "upgrade_database",
]
