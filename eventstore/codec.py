"""Canonical bytes and the hash chain.

The canonical form of a payload is orjson with sorted keys; those exact bytes are stored, so a
reader never re-canonicalises and the hash is always computed over what is on disk. Datetimes
and dataclasses are refused (rather than silently turned into strings) so that what you read
back is what you appended; ``Decimal`` is refused too: convert money to ``str`` first. Float
NaN and ±Infinity are refused with ``ValueError`` (JSON has no such numbers and orjson would
store them as ``null``: a silent change of the data).

Each event's hash is ``sha256(previous_hash_hex || len || header || len || data || len || meta)``
where ``header`` is the canonical JSON array ``[position, stream_id, version, type,
event_version, event_id, recorded_at_us]``. Length prefixes make the framing unambiguous.
"""

from __future__ import annotations

import hashlib
import math
import struct
from collections.abc import Mapping
from typing import Any, NamedTuple
from uuid import UUID

import orjson

GENESIS_HASH = "0" * 64
_LEN = struct.Struct(">I").pack  # the 4-byte big-endian length prefix
_sha256 = hashlib.sha256
_dumps = orjson.dumps
MAX_STREAM_ID = 256
MAX_TYPE = 256

_OPTS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


class EncodedEvent(NamedTuple):
    """A new event validated and turned into the exact bytes that will be stored."""

    event_id: str  # canonical hyphenated UUID text
    type: str
    event_version: int
    data: bytes
    metadata: bytes


def canonical_json(value: Mapping[str, Any], what: str) -> bytes:
    """The canonical bytes of a JSON object, or ``TypeError`` naming ``what`` is wrong.

    >>> canonical_json({"b": 1, "a": [True, None]}, "data")
    b'{"a":[true,null],"b":1}'
    """
    if type(value) is not dict:  # exact dicts skip the (slow) ABC check
        if not isinstance(value, Mapping):
            raise TypeError(
                f"{what} must be a JSON object (a dict), got {type(value).__name__}"
            )
        value = dict(value)
    try:
        encoded = orjson.dumps(value, option=_OPTS)
    except TypeError as exc:  # orjson.JSONEncodeError is a TypeError
        raise TypeError(
            f"{what} is not JSON-able ({exc}); convert Decimal, datetime and custom objects "
            "to strings or numbers before appending"
        ) from None
    # orjson writes NaN and ±Infinity as null: look for them only when a null was written.
    if b"null" in encoded:
        where = _non_finite(value)
        if where is not None:
            shown = "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in where)
            raise ValueError(
                f"{what} holds a non-finite float at {shown.lstrip('.')} (NaN or Infinity "
                "has no JSON form); store it as a string or refuse it before appending"
            )
    return encoded


def _non_finite(value: Any) -> list[Any] | None:
    """The key path to the first NaN/±Infinity float in a JSON-able value, or None.

    Runs on every payload whose bytes hold a ``null``, so scalars are skipped by exact type
    and the path is built only on the way back from a find.
    """
    if type(value) is dict:
        items: Any = value.items()
    elif type(value) is list or type(value) is tuple:
        items = enumerate(value)
    elif isinstance(value, float):
        return None if math.isfinite(value) else []
    elif isinstance(value, Mapping):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        kind = type(item)
        if kind is str or kind is int or kind is bool or item is None:
            continue
        if kind is float:
            if math.isfinite(item):
                continue
            return [key]
        found = _non_finite(item)
        if found is not None:
            return [key, *found]
    return None


def encode_event(type_: str, data: Any, metadata: Any, event_id: Any, version: Any) -> EncodedEvent:
    """Validate one new event and encode it; raises ``TypeError``/``ValueError`` on bad input."""
    if not isinstance(type_, str) or not type_:
        raise ValueError("event type must be a non-empty string")
    if len(type_) > MAX_TYPE:
        raise ValueError(f"event type is longer than {MAX_TYPE} characters")
    if not isinstance(event_id, UUID):
        raise TypeError(f"event_id must be a uuid.UUID, got {type(event_id).__name__}")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"event schema version must be an int >= 1, got {version!r}")
    return EncodedEvent(
        str(event_id),
        type_,
        version,
        canonical_json(data, f"data of {type_} event"),
        canonical_json(metadata, f"metadata of {type_} event"),
    )


def check_stream_id(stream_id: Any) -> str:
    """Return ``stream_id`` if it is a non-empty string of at most 256 characters."""
    if not isinstance(stream_id, str):
        raise TypeError(f"stream_id must be a string, got {type(stream_id).__name__}")
    if not stream_id:
        raise ValueError("stream_id must not be empty")
    if len(stream_id) > MAX_STREAM_ID:
        raise ValueError(f"stream_id is {len(stream_id)} characters; the limit is {MAX_STREAM_ID}")
    return stream_id


def chain_hash(
    prev_hash: str,
    position: int,
    stream_id: str,
    version: int,
    type_: str,
    event_version: int,
    event_id: str,
    recorded_at_us: int,
    data: bytes,
    metadata: bytes,
) -> str:
    """The hex hash of one event, chained onto ``prev_hash`` (the previous event's hex hash)."""
    header = _dumps(
        [position, stream_id, version, type_, event_version, event_id, recorded_at_us]
    )
    return _sha256(
        b"".join((
            prev_hash.encode("ascii"),
            _LEN(len(header)), header,
            _LEN(len(data)), data,
            _LEN(len(metadata)), metadata,
        ))
    ).hexdigest()
