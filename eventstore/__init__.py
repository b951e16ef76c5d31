"""A durable, gap-free, idempotent, tamper-evident event store on SQLite and PostgreSQL.

>>> from eventstore import EventStore, NewEvent, NO_STREAM
>>> async def main() -> None:
...     async with await EventStore.open("sqlite+aiosqlite:///oms.db") as store:
...         await store.append("order-1", [NewEvent("OrderCreated", {"qty": "1"})], NO_STREAM)
...         async for ev in store.read_all():
...             print(ev.position, ev.stream_id, ev.type, ev.data)
"""

from eventstore.anchor import (
    Anchor,
    AnchorKeeper,
    AnchorUnreadable,
    compare_anchor,
    default_anchor_path,
    read_anchor,
    write_anchor,
)
from eventstore.archive_manifest import ArchiveEntry, read_manifest
from eventstore.archiving import archive_before, restore_archive
from eventstore.errors import (
    AnchorMismatch,
    EventStoreError,
    Fenced,
    ForeignDatabase,
    IdempotencyConflict,
    IntegrityError,
    JournalNotReadable,
    NotADatabase,
    ReadOnlyStore,
    SchemaOutOfDate,
    StoreClosed,
    WrongExpectedVersion,
)
from eventstore.history import (
    HistoryReport,
    read_history,
    read_stream_history,
    verify_history,
)
from eventstore.history_errors import (
    ArchiveCorrupt,
    ArchivedRange,
    ArchiveError,
    ArchiveMissing,
    ArchiveOutOfOrder,
    EventArchived,
    SealedTailMissing,
    SealError,
    SealForged,
    SealMismatch,
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
from eventstore.partitions import set_partition_size
from eventstore.raw_read import RawRow, read_all_raw
from eventstore.seal_store import latest_seal, list_seals, write_seal
from eventstore.seals import Seal, SealKey, SealSigner, SealVerifier, check_seal, make_seal
from eventstore.store import EventStore

__all__ = [
    "ANY",
    "NO_STREAM",
    "STREAM_EXISTS",
    "Anchor",
    "AnchorKeeper",
    "AnchorMismatch",
    "AnchorUnreadable",
    "AppendResult",
    "ArchiveCorrupt",
    "ArchiveEntry",
    "ArchiveError",
    "ArchiveMissing",
    "ArchiveOutOfOrder",
    "ArchivedRange",
    "EventArchived",
    "EventStore",
    "EventStoreError",
    "ExpectedVersion",
    "Fenced",
    "ForeignDatabase",
    "HistoryReport",
    "IdempotencyConflict",
    "IntegrityError",
    "JournalNotReadable",
    "NewEvent",
    "NotADatabase",
    "RawRow",
    "ReadOnlyStore",
    "RecordedEvent",
    "SchemaOutOfDate",
    "Seal",
    "SealError",
    "SealForged",
    "SealKey",
    "SealMismatch",
    "SealSigner",
    "SealVerifier",
    "SealedTailMissing",
    "StoreClosed",
    "StreamState",
    "VerifyReport",
    "WrongExpectedVersion",
    "archive_before",
    "check_seal",
    "compare_anchor",
    "database_revision",
    "default_anchor_path",
    "latest_seal",
    "list_seals",
    "make_seal",
    "read_all_raw",
    "read_anchor",
    "read_history",
    "read_manifest",
    "read_stream_history",
    "restore_archive",
    "revision_history",
    "set_partition_size",
    "upgrade_database",
    "verify_history",
    "write_anchor",
    "write_seal",
]
