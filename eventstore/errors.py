"""The event store's exceptions: each one says what happened and what to do about it."""

from __future__ import annotations

from uuid import UUID


class EventStoreError(Exception):
    """Base class of every error the event store raises on purpose."""


class WrongExpectedVersion(EventStoreError):
    """The stream is not at the version the caller expected; nothing was written.

    ``actual`` is the stream's current last version (0-based), or ``None`` when the stream
    does not exist. Re-read the stream, decide again, and append with the new version.
    """

    def __init__(self, stream_id: str, expected: object, actual: int | None) -> None:
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual
        shown = "no stream" if actual is None else f"version {actual}"
        super().__init__(
            f"stream {stream_id!r}: expected {expected!r} but the stream is at {shown}; "
            "nothing was written: re-read the stream, decide again and retry"
        )


class Fenced(EventStoreError):
    """This store's fencing token is stale: another writer claimed the fence stream.

    Nothing of the batch was written. ``stream_id`` is the fence stream, ``token`` the version
    this store was fenced at, ``actual`` the version found.
    """

    def __init__(self, stream_id: str, token: int, actual: int | None) -> None:
        self.stream_id = stream_id
        self.token = token
        self.actual = actual
        super().__init__(
            f"fenced: stream {stream_id!r} moved from version {token} to {actual}; another"
            " writer claimed it, so this one may no longer append (nothing was written)"
        )


class IdempotencyConflict(EventStoreError):
    """An event id is already stored with different content (or in another stream/batch).

    Event ids identify one event forever: generate a new id for a different event.
    """

    def __init__(self, event_id: UUID | str, reason: str) -> None:
        self.event_id = event_id
        self.reason = reason
        super().__init__(
            f"event id {event_id} is already stored but {reason}; nothing was written: "
            "use a fresh event id for a different event"
        )


class IntegrityError(EventStoreError):
    """The hash chain does not verify: the log was edited outside the event store.

    Stop writing, restore the database from a backup or investigate the reported position.
    """

    def __init__(self, first_bad_position: int | None, reason: str) -> None:
        self.first_bad_position = first_bad_position
        self.reason = reason
        super().__init__(
            f"event log integrity check failed at position {first_bad_position}: {reason}; "
            "stop writing and restore from a backup or investigate that position"
        )


class SchemaOutOfDate(EventStoreError):
    """The database schema is behind this version of the software."""

    def __init__(self, url: str, current: str | None, head: str) -> None:
        self.url = url
        self.current = current
        self.head = head
        super().__init__(
            f"database {url} is at schema revision {current!r} but this software needs {head!r}: "
            f"back it up, then run `oms db upgrade --url {url}` "
            "(or eventstore.upgrade_database(url))"
        )


class ForeignDatabase(EventStoreError):
    """The database holds another application's tables, or a schema this software does not know."""

    def __init__(self, url: str, detail: str) -> None:
        self.url = url
        super().__init__(
            f"database {url} does not look like an OMS event store ({detail}); "
            "point the URL at a new file/database or at an existing OMS store"
        )


class NotADatabase(EventStoreError):
    """The file at the SQLite URL exists but is not an SQLite database."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(
            f"{path} is not an SQLite database; check the path (a new store needs a path "
            "that does not exist yet or an empty file)"
        )


class JournalNotReadable(EventStoreError):
    """A SQLite journal cannot be opened for reading without writing to it or losing events."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"cannot read the journal {path}: {reason}")


class ReadOnlyStore(EventStoreError):
    """The store was opened read-only; appends need ``EventStore.open(url)`` (a writer)."""


class AnchorMismatch(EventStoreError):
    """The journal's head is behind, or differs from, the anchor kept outside it.

    Committed events were lost (a deleted ``-wal`` file, a restored old backup) or the log was
    rewritten. Do not trade on it: restore the journal, or investigate with ``oms audit verify``.
    """

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(
            f"{detail}; do not trade on this journal: restore it from a backup (with its -wal "
            "file) or investigate with `oms audit verify`"
        )


class StoreClosed(EventStoreError):
    """The store was closed; open a new one with ``EventStore.open(url)``."""
