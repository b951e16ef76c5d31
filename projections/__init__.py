"""Projections: the live tracker, positions, SQL read models, snapshots and as-of queries.

Every view here is a fold of the event log with the domain's own transition code, so replaying
the log rebuilds exactly what the engine held live.

>>> async def start(store) -> None:  # doctest: +SKIP
...     state = await load_state(store)             # snapshot + tail, or from zero
...     state.projector.apply(recorded_event)       # then the same fold, live
...     await save_snapshot(store, state.projector) # now and then: faster next start
"""

from projections.as_of import load_order, order_as_of, orders_as_of, projector_as_of
from projections.loading import LoadedState, load_state, replay
from projections.positions import Position, PositionBook
from projections.projector import Projector
from projections.read_models import READ_MODELS, ReadModelProjection
from projections.snapshot import load_snapshot, save_snapshot
from projections.tracker import OrderTracker, TrackerNote

__all__ = [
    "READ_MODELS",
    "LoadedState",
    "OrderTracker",
    "Position",
    "PositionBook",
    "Projector",
    "ReadModelProjection",
    "TrackerNote",
    "load_order",
    "load_snapshot",
    "load_state",
    "order_as_of",
    "orders_as_of",
    "projector_as_of",
    "replay",
    "save_snapshot",
]
