"""The unchanged engine over dYdX v4: the local dYdX exchange, real gRPC/HTTP/WebSocket, SQLite.

The same ``OrderManager`` drives the dYdX connector: rests and cancels a long-term order, fills a
crossing one, restarts on the same journal and client-id file and reconciles to the same state.
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
from oms.domain.enums import OrderState, OrderType
from oms.engine import EngineConfig, OrderManager

FAST = EngineConfig(expires_after_s=1.0, deadline_grace_s=0.3, poll_interval_s=0.5)
D = Decimal
WORDS = ("legal winner thank year wave sausage worth useful legal winner thank yellow")


@pytest.fixture
async def dydx() -> AsyncIterator[DydxSimulator]:
    """A local dYdX exchange with a market maker re-quoting every 0.1 s block."""
    async with DydxSimulator(DydxSimConfig(seed=5, block_interval_s=0.1)) as sim:
        yield sim


def _connector(sim: DydxSimulator, tmp_path: Path) -> DydxConnector:
    return DydxConnector(sim.node_url, sim.rest_url, sim.ws_url, mnemonic=WORDS,
                         chain_id=sim.config.chain_id, client_id_file=tmp_path / "ids.jsonl",
                         block_time_s=0.1, request_timeout_s=2.0)


def _oracle(sim: DydxSimulator, ticker: str) -> Decimal:
    assert sim.maker is not None
    return sim.maker.oracle[ticker]


async def test_engine_rests_cancels_and_fills_on_dydx(
    dydx: DydxSimulator, tmp_path: Path, sqlite_url: str
) -> None:
    conn = _connector(dydx, tmp_path)
    async with await OrderManager.open(sqlite_url, conn, config=FAST) as oms:
        address = conn.address
        rest = oms.buy("ETH-USD", D("0.05"), OrderType.LIMIT,
                       price=_oracle(dydx, "ETH-USD") * D("0.8"))
        await wait_for(lambda: oms.get_order(rest).state is OrderState.OPEN)  # type: ignore[union-attr]
        oms.cancel(rest)
        await wait_for(lambda: oms.get_order(rest).state is OrderState.CANCELED)  # type: ignore[union-attr]
        record = conn.ids.by_cloid(rest.cloid)
        assert record is not None
        await wait_for(lambda: dydx.truth_orders(address)[record.client_id]["status"]
                       == "CANCELED")

        cross = oms.buy("ETH-USD", D("0.1"), OrderType.LIMIT,
                        price=_oracle(dydx, "ETH-USD") * D("1.05"))
        await wait_for(lambda: oms.get_order(cross).state is OrderState.FILLED)  # type: ignore[union-attr]
        order = oms.get_order(cross)
        assert order is not None and order.executed_base == D("0.1")
        record = conn.ids.by_cloid(cross.cloid)
        assert record is not None
        truth = {f["id"] for f in dydx.truth_fills(address) if f["client_id"] == record.client_id}
        assert set(order.trade_ids) == truth and truth
        await oms.flush()
        position = oms.positions.get("ETH-USD")
        assert position is not None and position.net_size == D("0.1")
    store = await EventStore.open(sqlite_url)
    try:
        types = [e.type async for e in store.read_stream(f"order-{rest}")]
    finally:
        await store.close()
    assert types[:3] == ["OrderCreated", "OrderSubmitted", "OrderAccepted"]
    assert types[-1] == "OrderCanceled"


async def test_engine_restart_on_dydx_recovers_the_same_state(
    dydx: DydxSimulator, tmp_path: Path, sqlite_url: str
) -> None:
    conn = _connector(dydx, tmp_path)
    async with await OrderManager.open(sqlite_url, conn, config=FAST) as oms:
        resting = oms.sell("BTC-USD", D("0.002"), OrderType.LIMIT,
                           price=_oracle(dydx, "BTC-USD") * D("1.3"))
        await wait_for(lambda: oms.get_order(resting).state is OrderState.OPEN)  # type: ignore[union-attr]
    # While the engine is down, the order is canceled on the exchange by someone else's hand:
    # here, a second connector on the same account and client-id file.
    other = _connector(dydx, tmp_path)
    await other.start()
    try:
        result = await other.cancel_by_cloid("BTC-USD", resting.cloid, None)
        assert result.outcome.value == "confirmed", result
    finally:
        await other.close()
    record = other.ids.by_cloid(resting.cloid)
    assert record is not None
    await wait_for(lambda: dydx.truth_orders(other.address)[record.client_id]["status"]
                   == "CANCELED")
    async with await OrderManager.open(sqlite_url, _connector(dydx, tmp_path), config=FAST) as oms:
        order = oms.get_order(resting) or await oms.load_order(str(resting))
        assert order is not None and order.state is OrderState.CANCELED
        assert oms.recovery_report is not None
