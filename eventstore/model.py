"""Values crossing the event store's API: new events, recorded events, results, reports."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple
from uuid import UUID, uuid4

import orjson

from eventstore.errors import IntegrityError
from eventstore.ids import new_event_id


class StreamState(enum.Enum):
    """Expected-version sentinels for :meth:`EventStore.append`."""

    ANY = "any"
    NO_STREAM = "no_stream"
    STREAM_EXISTS = "stream_exists"

    def __repr__(self) -> str:
        return self.name


ANY = StreamState.ANY
NO_STREAM = StreamState.NO_STREAM
STREAM_EXISTS = StreamState.STREAM_EXISTS

ExpectedVersion = int | StreamState


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append.

    ``version`` is the schema version of the payload (for upcasting), not the stream version.
    ``event_id`` defaults to a new time-ordered UUID (version 7, see :mod:`eventstore.ids`);
    pass your own (any UUID) to make a retried append idempotent.

    >>> NewEvent(type="OrderCreated", data={"cloid": "0x01"}).version
    1
    """

    type: str
    data: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)
    event_id: UUID = field(default_factory=new_event_id)  # time-ordered: see ids.py
    version: int = 1


_UNSET: Any = object()
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class RecordedEvent:
    """An event as stored: immutable, with its stream version, global position and chain hash.

    Events read from the database wrap the row as fetched; ``data``, ``metadata``,
    ``event_id`` and ``recorded_at`` are decoded on first access, which keeps replays of
    millions of events cheap. The keyword constructor is for tests and tools:

    >>> ev = RecordedEvent(stream_id="s", version=0, position=1, type="T", data={"a": 1})
    >>> ev.data, ev.metadata, ev.event_version
    ({'a': 1}, {}, 1)
    """

    __slots__ = ("_data", "_meta", "_row")

    _row: tuple[int, str, int, str, int, Any, bytes, bytes, int, str]

    def __init__(
        self,
        *,
        stream_id: str,
        version: int,
        position: int,
        type: str,
        data: dict[str, Any],
        metadata: dict[str, Any] | None = None,
        event_version: int = 1,
        event_id: UUID | None = None,
        recorded_at: datetime | None = None,
        hash: str = "",
    ) -> None:
        meta = {} if metadata is None else metadata
        at = datetime.now(UTC) if recorded_at is None else recorded_at
        us = (at - _EPOCH) // timedelta(microseconds=1)
        self._row = (
            position, stream_id, version, type, event_version, event_id or uuid4(),
            orjson.dumps(data, option=orjson.OPT_SORT_KEYS),
            orjson.dumps(meta, option=orjson.OPT_SORT_KEYS), us, hash,
        )
        self._data = data
        self._meta = meta

    @property
    def position(self) -> int:
        """Global position in the log, 1-based, gap-free."""
        return self._row[0]

    @property
    def stream_id(self) -> str:
        """The stream (aggregate) this event belongs to."""
        return self._row[1]

    @property
    def version(self) -> int:
        """Version within the stream, 0-based, gap-free."""
        return self._row[2]

    @property
    def type(self) -> str:
        """The event's type name."""
        return self._row[3]

    @property
    def event_version(self) -> int:
        """Schema version of the payload (for upcasting)."""
        return self._row[4]

    @property
    def hash(self) -> str:
        """Hex chain hash over the previous hash and this event's canonical bytes."""
        return self._row[9]

    @property
    def event_id(self) -> UUID:
        """The event's unique id."""
        eid = self._row[5]
        return eid if isinstance(eid, UUID) else UUID(eid)

    @property
    def data(self) -> dict[str, Any]:
        """The payload, decoded from its canonical JSON bytes."""
        d = self._data
        if d is _UNSET:
            d = self._data = orjson.loads(self._row[6])
        return d

    @property
    def metadata(self) -> dict[str, Any]:
        """The metadata, decoded from its canonical JSON bytes."""
        m = self._meta
        if m is _UNSET:
            m = self._meta = orjson.loads(self._row[7])
        return m

    @property
    def recorded_at(self) -> datetime:
        """When the event was committed (UTC, microsecond precision)."""
        return _EPOCH + timedelta(microseconds=self._row[8])

    @property
    def recorded_at_us(self) -> int:
        """When the event was committed, in integer microseconds since the Unix epoch."""
        return self._row[8]

    @property
    def raw_data(self) -> bytes:
        """The canonical JSON bytes of ``data`` exactly as hashed and stored."""
        return bytes(self._row[6])

    @property
    def raw_metadata(self) -> bytes:
        """The canonical JSON bytes of ``metadata`` exactly as hashed and stored."""
        return bytes(self._row[7])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RecordedEvent):
            return NotImplemented
        return (self.position, self.hash, self.event_id) == (
            other.position,
            other.hash,
            other.event_id,
        )

    def __hash__(self) -> int:
        return hash((self.position, self.hash))

    def __repr__(self) -> str:
        return (
            f"RecordedEvent(position={self.position}, stream_id={self.stream_id!r}, "
            f"version={self.version}, type={self.type!r}, event_id={self.event_id})"
        )


class RowEvent(RecordedEvent):
    """A :class:`RecordedEvent` built straight from a row in ``schema.COLUMNS`` order.

    Three slot stores and no copying: this is what makes ``read_all`` fast.
    """

    __slots__ = ()

    def __init__(self, row: Any) -> None:
        self._row = row
        self._data = _UNSET
        self._meta = _UNSET


class AppendResult(NamedTuple):
    """What an append wrote (or, for an idempotent retry, what the original append wrote)."""

    stream_id: str
    first_position: int
    last_position: int
    next_version: int
    events: tuple[RecordedEvent, ...]


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The outcome of a hash-chain check.

    >>> VerifyReport(ok=True, checked=0, first_bad_position=None, reason=None).ok
    True
    """

    ok: bool
    checked: int
    first_bad_position: int | None
    reason: str | None
    head_position: int = 0
    head_hash: str | None = None

    def raise_if_bad(self) -> None:
        """Raise :class:`IntegrityError` when the chain did not verify."""
        if not self.ok:
            raise IntegrityError(self.first_bad_position, self.reason or "unknown")
