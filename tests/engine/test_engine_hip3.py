"""HIP-3 markets through the engine, against the local exchange's builder dex ``xyz``.

The engine trades ``xyz:XYZ100`` with the same calls as ``ETH``; the connector sends asset id
110000 (100000 + 1 * 10000 + 0); reconciliation, the start-up sweep and the account truth cover
the builder dex as well as the first one (the connector asks ``openOrders`` and
``clearinghouseState`` once per dex). Stopping the engine without cancelling, changing the
exchange while it is down and starting again must leave the journal equal to the exchange.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from decimal import Decimal

import pytest
from engine_helpers import counterparty_ioc, wait_for

from connectors.base import Outcome, PlaceOrderRequest, UnknownPair
from connectors.hyperliquid import HyperliquidConnector
from connectors.hyperliquid.dexes import UnknownPerpDex
from connectors.hyperliquid.simulator import SimulatedExchange
from oms.domain.enums import OrderState, OrderType
from oms.engine import EngineConfig, OrderManager

D = Decimal
FAST = EngineConfig(expires_after_s=1.0, deadline_grace_s=0.3, poll_interval_s=0.5,
                    snapshot_every=0)
PAIR = "xyz:XYZ100"
Factory = Callable[[], HyperliquidConnector]


async def xyz_mid(connector: HyperliquidConnector) -> Decimal:
    """The exchange's mid of ``xyz:XYZ100`` (allMids of the builder dex)."""
    mids = await connector.rest.info({"type": "allMids", "dex": "xyz"})
    return D(mids[PAIR])


def state_of(oms: OrderManager, cid: str) -> OrderState | None:
    order = oms.get_order(cid)
    return order.state if order is not None else None


async def test_buy_and_sell_a_hip3_market_through_the_engine(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    async with await OrderManager.open(sqlite_url, make_connector(), config=FAST) as oms:
        account = oms.connector.account
        assert oms.connector.trading_rule(PAIR).asset_id == 110000
        assert oms.connector.trading_rule("xyz:GOLD").asset_id == 110001
        px = ((await xyz_mid(oms.connector)) * D("0.95")).quantize(D("1"))
        resting = oms.buy(PAIR, D("0.01"), OrderType.LIMIT, price=px)
        await wait_for(lambda: state_of(oms, resting) is OrderState.OPEN)
        truth = sim.truth.orders(account)[resting.cloid]
        assert truth["status"] == "open" and truth["coin"] == PAIR
        # The exchange lists it only with dex=xyz; the connector's open orders cover both dexes.
        first = await oms.connector.rest.info({"type": "openOrders", "user": account})
        assert first == []
        assert [o.pair for o in await oms.connector.open_orders()] == [PAIR]

        mid = await xyz_mid(oms.connector)
        bought = oms.buy(PAIR, D("0.02"), OrderType.MARKET, price=(mid * D("1.05")).quantize(D(1)))
        await wait_for(lambda: state_of(oms, bought) is OrderState.FILLED)
        await wait_for(lambda: oms.positions.get(PAIR) is not None
                       and oms.positions.get(PAIR).net_size == D("0.02"))  # type: ignore[union-attr]
        sold = oms.sell(PAIR, D("0.005"), OrderType.MARKET, price=(mid * D("0.95")).quantize(D(1)))
        await wait_for(lambda: state_of(oms, sold) is OrderState.FILLED)
        assert sim.truth.positions(account)[PAIR]["szi"] == D("0.015")
        # Isolated-only: the position is isolated at the market's default leverage; cross is
        # refused by the exchange (journaled with its reason), isolated is accepted.
        assert sim.truth.leverage(account)[PAIR] == (20, False)
        cross = await oms.set_leverage(PAIR, 5)
        assert cross.outcome is Outcome.REJECTED and "Cross margin is not allowed" in (
            cross.reason or "")
        isolated = await oms.set_leverage(PAIR, 10, "isolated")
        assert isolated.outcome is Outcome.CONFIRMED, isolated
        assert sim.truth.leverage(account)[PAIR] == (10, False)
        assert oms.leverage[PAIR] == (10, False)
        [position] = [p for p in await oms.connector.positions() if p.pair == PAIR]
        assert position.size == D("0.015")
        oms.cancel(resting)
        await wait_for(lambda: state_of(oms, resting) is OrderState.CANCELED)
        report = await oms.reconcile_account()
        assert report.completed and report.error is None, report.as_dict()
        assert report.corrections == [] and report.anomalies == 0, report.as_dict()
        assert oms.account.position(PAIR) == D("0.015")


async def test_stop_without_cancel_then_restart_reconciles_the_hip3_dex(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str, private_key: str,
    tmp_path: os.PathLike[str],
) -> None:
    async with await OrderManager.open(sqlite_url, make_connector(), config=FAST) as oms:
        account = oms.connector.account
        book = await oms.connector.rest.info({"type": "l2Book", "coin": PAIR})
        best_bid, best_ask = (D(side[0]["px"]) for side in book["levels"])
        px = best_bid + 1  # the best bid: the counterparty's sell meets it first
        assert px < best_ask
        will_fill = oms.buy(PAIR, D("0.03"), OrderType.LIMIT, price=px)
        will_cancel = oms.buy(PAIR, D("0.01"), OrderType.LIMIT, price=px - 10)
        stays = oms.buy("ETH", D("0.05"), OrderType.LIMIT, price=D("2500"))
        for cid in (will_fill, will_cancel, stays):
            await wait_for(lambda cid=cid: state_of(oms, cid) is OrderState.OPEN)
        await oms.flush()
    # The engine is down (closed without cancelling). On the exchange meanwhile: a counterparty
    # fills 0.02 of the first order, the account cancels the second itself, and another process
    # of the same account places an order on the builder dex that the journal never saw.
    await counterparty_ioc(sim, PAIR, "sell", D("0.02"), px)
    async with HyperliquidConnector(sim.base_url, private_key=private_key,
                                    nonce_file=tmp_path / "nonce") as other:  # type: ignore[operator]
        oid = sim.truth.orders(account)[will_cancel.cloid]["oid"]
        cancel = await other.cancel(PAIR, str(oid), time.time_ns() // 1_000_000 + 5000)
        assert cancel.outcome is Outcome.CONFIRMED
        stranger = "0x" + os.urandom(16).hex()
        [placed] = await other.place_orders(
            [PlaceOrderRequest(stranger, "xyz:GOLD", "buy", D("0.5"), D("2000"), "Gtc")],
            time.time_ns() // 1_000_000 + 5000)
        assert placed.outcome is Outcome.CONFIRMED

    async with await OrderManager.open(sqlite_url, make_connector(), config=FAST) as again:
        report = again.recovery_report
        assert report is not None
        filled = again.get_order(will_fill)
        assert filled is not None and filled.state is OrderState.PARTIALLY_FILLED
        assert filled.executed_base == D("0.02")
        assert state_of(again, will_cancel) is OrderState.CANCELED
        assert state_of(again, stays) is OrderState.OPEN
        # The sweep saw the builder dex: the stranger on xyz:GOLD was found and adopted.
        assert report.counts.unknown_found == 1 and report.counts.adopted == 1
        truth = sim.truth.orders(account)
        expected = {will_fill: (OrderState.PARTIALLY_FILLED, "open"),
                    will_cancel: (OrderState.CANCELED, "canceled"),
                    stays: (OrderState.OPEN, "open")}
        for cid, (state, status) in expected.items():
            order = again.get_order(cid)
            assert order is not None and order.state is state
            assert truth[cid.cloid]["status"] == status
            assert order.exchange_order_id == str(truth[cid.cloid]["oid"])
            assert order.executed_base == truth[cid.cloid]["filled_sz"]
        assert truth[stranger]["status"] == "open"
        assert again.positions.get(PAIR).net_size == D("0.02")  # type: ignore[union-attr]
        assert again.account.position(PAIR) == sim.truth.positions(account)[PAIR]["szi"]
        account_report = await again.reconcile_account()
        assert account_report.completed and account_report.corrections == [], \
            account_report.as_dict()


async def test_a_dex_that_does_not_exist_is_named_with_the_listed_ones(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str, private_key: str
) -> None:
    async with await OrderManager.open(sqlite_url, make_connector(), config=FAST) as oms:
        with pytest.raises(UnknownPerpDex, match=r"'abc' does not exist.*'xyz'"):
            oms.buy("abc:FOO", D("1"), OrderType.LIMIT, price=D("10"))
        with pytest.raises(UnknownPair):  # a listed dex, a coin it does not have
            oms.buy("xyz:NOPE", D("1"), OrderType.LIMIT, price=D("10"))
    bad = HyperliquidConnector(sim.base_url, private_key=private_key, perp_dexs=["abc"])
    with pytest.raises(UnknownPerpDex, match=r"'abc' does not exist: .*'xyz'"):
        await bad.start()
    await bad.close()
