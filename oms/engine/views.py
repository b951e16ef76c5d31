"""Read-side views of a running engine: one consistent snapshot, and every order ever journaled.

>>> EngineSnapshot(position=0, orders={}, positions={}).position
0
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

from eventstore import EventStore
from oms.domain.order import InFlightOrder
from projections import Position, Projector, ReadModelProjection


@dataclass(frozen=True, slots=True)
class EngineSnapshot:
    """Orders and positions as of one journal position (a fill is in both or in neither).

    ``orders`` holds every order the engine's projection holds (active and recently completed);
    see :meth:`oms.engine.OrderManager.all_orders` for every order ever journaled.
    """

    position: int
    orders: Mapping[str, InFlightOrder]
    positions: Mapping[str, Position]


def snapshot_of(projector: Projector) -> EngineSnapshot:
    """Copy the durable projection (tracker and positions are updated together, in one step)."""
    tracker = projector.tracker
    return EngineSnapshot(
        position=projector.last_position,
        orders={r.client_order_id: r.freeze() for r in tracker.records()},
        positions={p.pair: copy.deepcopy(p) for p in projector.positions},
    )


async def every_order(store: EventStore, batch_size: int = 1000) -> AsyncIterator[InFlightOrder]:
    """Every order of the journal, from the SQL read models brought up to the journal's head."""
    read_models = ReadModelProjection(store)
    await read_models.catch_up()
    async for order in read_models.iter_orders(batch_size):
        yield order
