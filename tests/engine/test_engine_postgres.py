"""The engine on PostgreSQL: journal-first order life, and recovery after a restart."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from engine_helpers import counterparty_ioc, mid, wait_for

from connectors.hyperliquid import HyperliquidConnector
from connectors.hyperliquid.simulator import SimulatedExchange
from eventstore import EventStore
from oms.domain.enums import OrderState, OrderType
from oms.engine import EngineConfig, OrderManager

D = Decimal
FAST = EngineConfig(expires_after_s=1.0, deadline_grace_s=0.3, poll_interval_s=0.5)


async def test_engine_on_postgres_journals_trades_and_recovers(
    sim: SimulatedExchange, make_connector: Callable[[], HyperliquidConnector], postgres_url: str
) -> None:
    async with await OrderManager.open(postgres_url, make_connector(), config=FAST) as oms:
        px = (await mid(oms.connector, "ETH")).quantize(D("0.1"))
        resting = oms.buy("ETH", D("0.1"), OrderType.LIMIT, price=px)
        await wait_for(lambda: oms.get_order(resting).state is OrderState.OPEN)  # type: ignore[union-attr]
        await oms.flush()
    await counterparty_ioc(sim, "ETH", "sell", D("0.1"), px)  # fills while the engine is down
    async with await OrderManager.open(postgres_url, make_connector(), config=FAST) as again:
        order = again.get_order(resting)
        assert order is not None and order.state is OrderState.FILLED
        position = again.positions.get("ETH")
        assert position is not None and position.net_size == D("0.1")
    async with await EventStore.open(postgres_url) as store:
        report = await store.verify()
        assert report.ok and report.checked >= 4
