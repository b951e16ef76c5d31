"""Start-up: ``load_state`` rebuilds the tracker and positions from a snapshot plus the log's tail.

>>> async def start(store) -> None:  # doctest: +SKIP
...     state = await load_state(store)
...     print(state.events_replayed, state.seconds, state.tracker.active_count)
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from eventstore import EventStore, read_all_raw
from oms.domain.codec import decode
from oms.domain.order import OrderRecord, step
from projections.gc_pause import cyclic_gc_paused
from projections.positions import PositionBook
from projections.projector import Projector
from projections.row_fold import RowFolder
from projections.snapshot import load_snapshot
from projections.tracker import DEFAULT_COMPLETED_CAPACITY, OrderTracker


@dataclass(frozen=True, slots=True)
class LoadedState:
    """What start-up rebuilt: keep feeding ``projector`` with new events to stay live."""

    tracker: OrderTracker
    positions: PositionBook
    last_position: int
    events_replayed: int
    seconds: float
    projector: Projector
    from_snapshot: bool


async def replay(store: EventStore, projector: Projector, to_position: int | None = None) -> int:
    """Fold the log after ``projector.last_position`` (up to ``to_position``); returns the count.

    Reads raw rows in big batches and folds them with :class:`RowFolder`, which leaves the
    projector exactly as ``projector.apply`` of every ``RecordedEvent`` would, only faster.
    A late event of an order the tracker has evicted (its capacity is a cache size, not a
    rule) reads the order back from its stream first, so the result is the same for every
    capacity.
    """
    start = projector.last_position + 1
    count = 0
    folder = RowFolder(projector)
    tracker = projector.tracker
    with cyclic_gc_paused():
        async for rows in read_all_raw(store, start, to_position):
            index: int | None = 0
            while index is not None:
                index = folder.fold(rows, index, stop_on_evicted=True)
                if index is None:
                    break
                position, stream = rows[index][0], rows[index][1]
                record = await read_back(store, stream, before=position)
                if record is not None:
                    tracker.restore(record)  # the row is folded onto it by the next call
                else:
                    folder.fold(rows[index : index + 1])  # a true orphan: noted as before
                    index += 1
            count += len(rows)
    return count


async def read_back(store: EventStore, stream: str, before: int) -> OrderRecord | None:
    """An order folded from its stream's events before global position ``before``."""
    record: OrderRecord | None = None
    async for recorded in store.read_stream(stream):
        if recorded.position >= before:
            break
        record = step(record, decode(recorded.type, recorded.data, recorded.event_version))
    return record


async def load_state(
    store: EventStore,
    use_checkpoint: bool = True,
    completed_capacity: int = DEFAULT_COMPLETED_CAPACITY,
) -> LoadedState:
    """The live state as of the log's head: from the latest snapshot if usable, else from zero."""
    began = time.perf_counter()
    with cyclic_gc_paused():  # restoring a snapshot makes tens of thousands of records too
        projector = await load_snapshot(store) if use_checkpoint else None
    from_snapshot = projector is not None
    if projector is None:
        projector = Projector(OrderTracker(completed_capacity))
    count = await replay(store, projector)
    return LoadedState(
        tracker=projector.tracker,
        positions=projector.positions,
        last_position=projector.last_position,
        events_replayed=count,
        seconds=time.perf_counter() - began,
        projector=projector,
        from_snapshot=from_snapshot,
    )
