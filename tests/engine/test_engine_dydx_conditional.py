"""Stop and take-profit orders through the unchanged engine on dYdX v4 (conditional orders).

The engine's ``trigger_order`` becomes a dYdX conditional order (flags 32); the local exchange
fires it on its oracle price. Proved here over real gRPC/HTTP/WebSocket and SQLite: the journal
says WAITING_FOR_TRIGGER on acceptance and TRIGGERED when the Indexer shows it live after the
trigger; a stop that fires and fills while the engine is down is reconciled at the restart to the
exchange's fills and position.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from engine_helpers import wait_for

from connectors.dydx import DydxConnector
from connectors.dydx.simulator import DydxSimConfig, DydxSimulator
from eventstore import EventStore
from oms.domain.enums import OrderState, OrderType, TradeSide, TriggerState
from oms.engine import EngineConfig, OrderManager

FAST = EngineConfig(expires_after_s=1.0, deadline_grace_s=0.3, poll_interval_s=0.5)
D = Decimal
WORDS = "legal winner thank year wave sausage worth useful legal winner thank yellow"


@pytest.fixture
async def dydx() -> AsyncIterator[DydxSimulator]:
    """A local dYdX exchange with a market maker re-quoting every 0.1 s block."""
    async with DydxSimulator(DydxSimConfig(seed=9, block_interval_s=0.1)) as sim:
        yield sim


def _connector(sim: DydxSimulator, tmp_path: Path) -> DydxConnector:
    return DydxConnector(sim.node_url, sim.rest_url, sim.ws_url, mnemonic=WORDS,
                         chain_id=sim.config.chain_id, client_id_file=tmp_path / "ids.jsonl",
                         block_time_s=0.1, request_timeout_s=2.0)


def _oracle(sim: DydxSimulator, ticker: str) -> Decimal:
    with sim.chain.lock:
        return sim.chain.oracle_prices[ticker]


async def _types(url: str, cid: object) -> list[str]:
    store = await EventStore.open(url)
    try:
        return [e.type async for e in store.read_stream(f"order-{cid}")]
    finally:
        await store.close()


async def test_stop_limit_triggers_live_then_cancels(
    dydx: DydxSimulator, tmp_path: Path, sqlite_url: str
) -> None:
    conn = _connector(dydx, tmp_path)
    async with await OrderManager.open(sqlite_url, conn, config=FAST) as oms:
        rule = conn.trading_rule("ETH-USD")
        mark = _oracle(dydx, "ETH-USD")
        # A sell stop-limit whose limit sits far above the market: once fired, it rests.
        stop = await oms.trigger_order(
            TradeSide.SELL, "ETH-USD", D("0.05"), OrderType.STOP_LIMIT,
            trigger_price=rule.quantize_price(mark * D("0.8")),
            price=rule.quantize_price(mark * D("1.5")), reduce_only=False)
        order = oms.get_order
        await wait_for(lambda: order(stop).trigger_state  # type: ignore[union-attr]
                       is TriggerState.WAITING_FOR_TRIGGER)
        assert order(stop).state is OrderState.OPEN  # type: ignore[union-attr]
        dydx.set_oracle("ETH-USD", mark * D("0.75"))
        await wait_for(lambda: order(stop).trigger_state  # type: ignore[union-attr]
                       is TriggerState.TRIGGERED)
        oms.cancel(stop)
        await wait_for(lambda: order(stop).state is OrderState.CANCELED)  # type: ignore[union-attr]
        record = conn.ids.by_cloid(stop.cloid)
        assert record is not None and record.flags == 32
        await wait_for(lambda: dydx.truth_orders(conn.address)[record.client_id]["status"]
                       == "CANCELED")
    types = await _types(sqlite_url, stop)
    assert types[:3] == ["OrderCreated", "OrderSubmitted", "OrderAccepted"]
    assert types.count("TriggerStateChanged") == 2 and types[-1] == "OrderCanceled"


async def test_stop_market_fired_while_down_is_reconciled_at_restart(
    dydx: DydxSimulator, tmp_path: Path, sqlite_url: str
) -> None:
    conn = _connector(dydx, tmp_path)
    async with await OrderManager.open(sqlite_url, conn, config=FAST) as oms:
        mark = _oracle(dydx, "ETH-USD")
        entry = oms.buy("ETH-USD", D("0.1"), OrderType.LIMIT, price=mark * D("1.05"))
        await wait_for(lambda: oms.get_order(entry).state is OrderState.FILLED)  # type: ignore[union-attr]
        rule = conn.trading_rule("ETH-USD")
        # Reduce-only (the default) is legal here: a market trigger fires as an IOC.
        stop = await oms.trigger_order(TradeSide.SELL, "ETH-USD", D("0.1"), OrderType.STOP_MARKET,
                                       trigger_price=rule.quantize_price(mark * D("0.85")))
        await wait_for(lambda: oms.get_order(stop).trigger_state  # type: ignore[union-attr]
                       is TriggerState.WAITING_FOR_TRIGGER)
    record = conn.ids.by_cloid(stop.cloid)
    assert record is not None
    # The engine is down; the oracle falls through the stop, which fires and sells into the
    # market maker's re-quoted bids.
    dydx.set_oracle("ETH-USD", mark * D("0.8"))
    await wait_for(lambda: dydx.truth_orders(conn.address)[record.client_id]["status"]
                   == "FILLED")
    assert dydx.truth_positions(conn.address).get("ETH-USD") is None
    async with await OrderManager.open(sqlite_url, _connector(dydx, tmp_path), config=FAST) as oms:
        order = oms.get_order(stop) or await oms.load_order(str(stop))
        assert order is not None and order.state is OrderState.FILLED
        assert order.executed_base == D("0.1")
        truth = {f["id"] for f in dydx.truth_fills(conn.address)
                 if f["client_id"] == record.client_id}
        assert set(order.trade_ids) == truth and truth
        await oms.flush()
        position = oms.positions.get("ETH-USD")
        assert position is None or position.net_size == 0
