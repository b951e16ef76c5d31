"""The torture's journal checks across archive files + the live log (issue 20).

When the parent archives sealed history between rounds (``OMS_TORTURE_ARCHIVE_DIR``), the
live database no longer starts at position 1: every check that folds "the whole journal" reads
it with ``eventstore.read_history`` instead (each archive file checked against the manifest's
digest and its chain while it is read), and the parent runs ``verify_history`` over everything.

A fold with a small tracker reads an evicted order back from the events of its stream seen so
far, as ``projections.replay`` reads it back from the live stream: the result must not depend
on the capacity, archive or not.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

from eventstore import EventStore, RecordedEvent, read_history
from oms.domain.codec import decode
from oms.domain.order import OrderRecord, step
from projections import Projector

ARCHIVE_ENV = "OMS_TORTURE_ARCHIVE_DIR"
_ORDER = "order-"


def archive_dir() -> Path | None:
    """The folder the parent archives into, or None when this run does not archive."""
    value = os.environ.get(ARCHIVE_ENV)
    return Path(value) if value else None


def history(store: EventStore, folder: Path | None,
            to_position: int | None = None) -> AsyncIterator[RecordedEvent]:
    """Every event from position 1 (archives first), up to ``to_position``."""
    return read_history(store, folder, 1, to_position)


async def fold_history(store: EventStore, folder: Path | None, capacity: int,
                       to_position: int | None = None) -> Projector:
    """The journal folded from position 1 with a tracker of ``capacity`` completed orders."""
    projector = Projector(completed_capacity=capacity)
    tracker = projector.tracker
    streams: dict[str, list[RecordedEvent]] = {}
    async for recorded in history(store, folder, to_position):
        stream = recorded.stream_id
        if stream.startswith(_ORDER):
            cid = stream[len(_ORDER):]
            seen = streams.setdefault(stream, [])
            if seen and cid not in tracker:  # evicted: read it back, as replay does
                record: OrderRecord | None = None
                for old in seen:
                    record = step(record, decode(old.type, old.data, old.event_version))
                if record is not None:
                    tracker.restore(record)
            seen.append(recorded)
        projector.apply(recorded)
    return projector
