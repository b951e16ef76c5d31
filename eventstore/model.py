"""Values crossing the event store's API: new events, recorded events, results, reports."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import orjson

from eventstore.errors import IntegrityError


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

    >>> NewEvent(type="OrderCreated", data={"cloid": "0x01"}).version
    1
    """

    type: str
    data: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)
    event_id: UUID = field(default_factory=uuid4)
    version: int = 1


_UNSET: Any = object()
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class RecordedEvent:
    """An event as stored: immutable, with its stream version, global position and chain hash.

    Built straight from database rows; ``data``, ``metadata``, ``event_id`` and ``recorded_at``
    are decoded on first access, which keeps replays of millions of events cheap.
    """

    __slots__ = (
        "_data",
        "_data_raw",
        "_event_id",
        "_meta",
        "_meta_raw",
        "_recorded_us",
        "event_version",
        "hash",
        "position",
        "stream_id",
        "type",
        "version",
    )

    stream_id: str
    version: int
    position: int
    type: str
    event_version: int
    hash: str

    def __init__(
        self,
        position: int,
        stream_id: str,
        version: int,
        type: str,
        event_version: int,
        event_id: UUID | str,
        data: bytes,
        metadata: bytes,
        recorded_at_us: int,
        hash: str,
    ) -> None:
        self.position = position
        self.stream_id = stream_id
        self.version = version
        self.type = type
        self.event_version = event_version
        self._event_id = event_id
        self._data_raw = data
        self._meta_raw = metadata
        self._recorded_us = recorded_at_us
        self.hash = hash
        self._data = _UNSET
        self._meta = _UNSET

    @property
    def event_id(self) -> UUID:
        """The event's unique id."""
        eid = self._event_id
        if not isinstance(eid, UUID):
            eid = self._event_id = UUID(eid)
        return eid

    @property
    def data(self) -> dict[str, Any]:
        """The payload, decoded from its canonical JSON bytes."""
        d = self._data
        if d is _UNSET:
            d = self._data = orjson.loads(self._data_raw)
        return d  # type: ignore[no-any-return]

    @property
    def metadata(self) -> dict[str, Any]:
        """The metadata, decoded from its canonical JSON bytes."""
        m = self._meta
        if m is _UNSET:
            m = self._meta = orjson.loads(self._meta_raw)
        return m  # type: ignore[no-any-return]

    @property
    def recorded_at(self) -> datetime:
        """When the event was committed (UTC, microsecond precision)."""
        return datetime.fromtimestamp(self._recorded_us / 1_000_000, UTC)

    @property
    def recorded_at_us(self) -> int:
        """When the event was committed, in integer microseconds since the Unix epoch."""
        return self._recorded_us

    @property
    def raw_data(self) -> bytes:
        """The canonical JSON bytes of ``data`` exactly as hashed and stored."""
        return self._data_raw

    @property
    def raw_metadata(self) -> bytes:
        """The canonical JSON bytes of ``metadata`` exactly as hashed and stored."""
        return self._meta_raw

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


@dataclass(frozen=True, slots=True)
class AppendResult:
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
