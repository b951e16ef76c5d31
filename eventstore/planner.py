"""Pure planning of one group-commit batch: which appends succeed, and the rows they write.

The writer reads the head, the already stored rows for the batch's event ids and the current
versions of the batch's streams inside its locked transaction, then calls :func:`plan_batch`.
Checking versions and idempotency here, in memory and in arrival order, is what lets one bad
append fail alone while the rest of the batch commits in a single transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventstore.codec import EncodedEvent, chain_hash
from eventstore.errors import Fenced, IdempotencyConflict, WrongExpectedVersion
from eventstore.history_errors import EventArchived
from eventstore.model import AppendResult, ExpectedVersion, RowEvent, StreamState

Fence = tuple[str, int]
"""(stream id, version): appends commit only while that stream is at that version."""

Row = tuple[int, str, int, str, int, Any, bytes, bytes, int, str]
"""(position, stream_id, version, type, event_version, event_id, data, metadata, us, hash)."""

ArchivedKey = tuple[str, int, int]
"""(stream_id, version, position) of an event id whose row was moved to an archive."""


@dataclass(slots=True)
class AppendRequest:
    """One caller's append, validated and encoded, waiting for the writer."""

    stream_id: str
    expected: ExpectedVersion
    events: tuple[EncodedEvent, ...]
    outcome: AppendResult | BaseException | None = None


def _norm_id(value: Any) -> str:
    return str(value if isinstance(value, UUID) else UUID(str(value)))


def _result(stream_id: str, rows: list[Row]) -> AppendResult:
    # Positional: this runs once per append inside the writer's critical section.
    last = rows[-1]
    return AppendResult(stream_id, rows[0][0], last[0], last[2] + 1, tuple(map(RowEvent, rows)))


def _idempotent(req: AppendRequest, stored: list[Row | None]) -> AppendResult | None:
    """The original result if ``req`` repeats a stored batch; None if none of it is stored."""
    if all(row is None for row in stored):
        return None
    for new, row in zip(req.events, stored, strict=True):
        if row is None:
            return _conflict(req, "only part of this batch is stored")
        if row[1] != req.stream_id:
            raise IdempotencyConflict(new.event_id, f"in stream {row[1]!r}")
        if (row[3], row[4], bytes(row[6]), bytes(row[7])) != (
            new.type,
            new.event_version,
            new.data,
            new.metadata,
        ):
            raise IdempotencyConflict(new.event_id, "with different type or content")
    rows = [r for r in stored if r is not None]
    versions = [r[2] for r in rows]
    if versions != list(range(versions[0], versions[0] + len(versions))):
        return _conflict(req, "as part of a different batch")
    return _result(req.stream_id, rows)


def _conflict(req: AppendRequest, reason: str) -> AppendResult:
    raise IdempotencyConflict(req.events[0].event_id, reason)


def _refuse_archived(req: AppendRequest, archived: dict[str, ArchivedKey]) -> None:
    for e in req.events:
        key = archived.get(e.event_id)
        if key is not None:
            raise EventArchived(e.event_id, *key)


def _check_expected(stream_id: str, expected: ExpectedVersion, current: int | None) -> None:
    if expected is StreamState.ANY:
        return
    if expected is StreamState.NO_STREAM:
        ok = current is None
    elif expected is StreamState.STREAM_EXISTS:
        ok = current is not None
    else:
        ok = current == expected
    if not ok:
        raise WrongExpectedVersion(stream_id, expected, current)


def plan_batch(
    head: tuple[int, str],
    requests: list[AppendRequest],
    stored_by_id: dict[str, Row],
    stream_versions: dict[str, int],
    now_us: int,
    fence: Fence | None = None,
    archived: dict[str, ArchivedKey] | None = None,
) -> list[Row]:
    """Decide every request of a batch; return the rows to insert, in position order.

    Sets ``request.outcome`` to an :class:`AppendResult` or to the exception that request
    must raise. ``stored_by_id`` maps hyphenated event id text to its stored row;
    ``stream_versions`` maps stream id to its last stored version. Both are updated in place
    with what this batch plans, so later requests in the batch see earlier ones. With a
    ``fence`` whose stream is no longer at its version (``stream_versions`` must hold it),
    every request fails with :class:`Fenced` and nothing is planned. ``archived`` maps event
    id text to the key of an archived event: a request repeating one fails with
    :class:`EventArchived` (its original rows cannot be compared or returned).
    """
    if fence is not None and stream_versions.get(fence[0]) != fence[1]:
        for req in requests:
            req.outcome = Fenced(fence[0], fence[1], stream_versions.get(fence[0]))
        return []
    position, prev = head
    out: list[Row] = []
    hash_ = chain_hash
    for req in requests:
        stream_id = req.stream_id
        try:
            if archived:
                _refuse_archived(req, archived)
            stored = [stored_by_id.get(e.event_id) for e in req.events]
            if any(row is not None for row in stored):  # a retry, or a conflict
                again = _idempotent(req, stored)
                if again is not None:
                    req.outcome = again
                    continue
            current = stream_versions.get(stream_id)
            if req.expected is not StreamState.ANY:
                _check_expected(stream_id, req.expected, current)
        except (WrongExpectedVersion, IdempotencyConflict) as exc:
            req.outcome = exc
            continue
        version = -1 if current is None else current
        rows: list[Row] = []
        for e in req.events:
            position += 1
            version += 1
            eid = e.event_id
            prev = hash_(
                prev, position, stream_id, version, e.type, e.event_version,
                eid, now_us, e.data, e.metadata,
            )
            row: Row = (
                position, stream_id, version, e.type, e.event_version, eid,
                e.data, e.metadata, now_us, prev,
            )
            rows.append(row)
            stored_by_id[eid] = row
        stream_versions[stream_id] = version
        out += rows
        req.outcome = _result(stream_id, rows)
    return out


def normalise_stored(rows: list[Any]) -> dict[str, Row]:
    """Index stored rows (as a driver returns them) by hyphenated event id text."""
    return {_norm_id(r[5]): tuple(r) for r in rows}
