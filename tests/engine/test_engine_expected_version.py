"""Order streams are appended with their expected version: a concurrent writer is detected.

Another writer appends to an order's stream behind the engine's back; the engine's next append
to that stream fails its version check instead of interleaving, so the engine stops trading and
says why, and the request that append was for never leaves. On SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from engine_helpers import mid, wait_for

from connectors.hyperliquid import HyperliquidConnector
from connectors.hyperliquid.simulator import SimulatedExchange
from eventstore import EventStore, NewEvent
from oms.domain.codec import encode
from oms.domain.enums import OrderState, OrderType
from oms.domain.events import OrderCanceled
from oms.domain.ids import order_stream
from oms.engine import EngineClosed, EngineConfig, OrderManager

D = Decimal
FAST = EngineConfig(expires_after_s=1.0, deadline_grace_s=0.3, poll_interval_s=0.5)
Factory = Callable[[], HyperliquidConnector]


async def _concurrent_writer_is_detected(
    url: str, sim: SimulatedExchange, make_connector: Factory
) -> None:
    async with await OrderManager.open(url, make_connector(), config=FAST) as oms:
        px = (await mid(oms.connector, "ETH")) * D("0.9")
        cid = oms.buy("ETH", D("0.05"), OrderType.LIMIT, price=px)
        await wait_for(lambda: oms.get_order(cid).state is OrderState.OPEN)  # type: ignore[union-attr]
        await oms.flush()
        stream = order_stream(cid)
        engine_events = [e.type async for e in oms.store.read_stream(stream)]
        type_, data, version = encode(OrderCanceled(cid, "written by someone else", 1))
        async with await EventStore.open(url) as other:  # a second writer, no fence
            await other.append(stream, [NewEvent(type_, data, version=version)])
        oms.cancel(cid)  # decided against a stale version of the stream
        await wait_for(lambda: not oms.is_trading)
        with pytest.raises(EngineClosed, match="expected"):
            oms.buy("ETH", D("0.05"), OrderType.LIMIT, price=px)
        types = [e.type async for e in oms.store.read_stream(stream)]
        assert types == [*engine_events, "OrderCanceled"]  # nothing interleaved after it
    assert sim.truth.orders(oms.connector.account)[cid.cloid]["status"] == "open"  # never sent


async def test_concurrent_writer_is_detected_sqlite(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    await _concurrent_writer_is_detected(sqlite_url, sim, make_connector)


@pytest.mark.postgres
async def test_concurrent_writer_is_detected_postgres(
    sim: SimulatedExchange, make_connector: Factory, postgres_url: str
) -> None:
    await _concurrent_writer_is_detected(postgres_url, sim, make_connector)
