"""Start-up: ``load_state`` rebuilds the tracker and positions from a snapshot plus the log's tail.

>>> async def start(store) -> None:  # doctest: +SKIP
...     state = await load_state(store)
...     print(state.events_replayed, state.seconds, state.tracker.active_count)
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from eventstore import EventStore
from projections.positions import PositionBook
from projections.projector import Projector
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
    """Fold the log after ``projector.last_position`` (up to ``to_position``); returns the count."""
    start = projector.last_position + 1
    count = 0
    apply = projector.apply
    async for recorded in store.read_all(start, to_position):
        apply(recorded)
        count += 1
    return count


async def load_state(
    store: EventStore,
    use_checkpoint: bool = True,
    completed_capacity: int = DEFAULT_COMPLETED_CAPACITY,
) -> LoadedState:
    """The live state as of the log's head: from the latest snapshot if usable, else from zero."""
    began = time.perf_counter()
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
