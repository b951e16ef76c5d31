"""Spot pairs through the same engine API as perps, against the local exchange with a second spot
pair named the way the exchange names all but the first (``"@1"`` = HYPE/USDC): trading rules
from ``spotMeta`` (8 - szDecimals price decimals, base-token lot), our BASE/QUOTE name for orders,
fills and open orders whichever name the caller used, no reduce-only or leverage (clear error),
and a spot order resting across an engine restart, filled while the engine is down: after
recovery the journal equals the exchange (order, fills, token balances). Real HTTP/WebSocket,
real SQLite journal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from engine_helpers import wait_for
from eth_account import Account

from connectors.base import OrderRuleViolation
from connectors.hyperliquid import HyperliquidConnector
from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig
from connectors.hyperliquid.simulator.config import DEFAULT_MARKETS, MarketSpec
from oms.domain.enums import OrderState, OrderType
from oms.engine import OrderManager

D = Decimal
HYPE = MarketSpec("@1", 10001, 2, D("25"), max_leverage=1, is_spot=True, base="HYPE")
TAKER = "0x00000000000000000000000000000000000000b7"


@pytest.fixture
async def sim() -> AsyncIterator[SimulatedExchange]:
    config = SimulatorConfig(seed=9, market_maker=False, markets=(*DEFAULT_MARKETS, HYPE))
    async with SimulatedExchange(config) as exchange:
        await exchange.step_market()
        yield exchange


def _connector(sim: SimulatedExchange, key: str, tmp_path: Path) -> HyperliquidConnector:
    return HyperliquidConnector(sim.base_url, private_key=key, nonce_file=tmp_path / "nonce")


async def test_spot_rules_names_and_refusals(sim: SimulatedExchange, tmp_path: Path,
                                             sqlite_url: str) -> None:
    key = "0x" + bytes(Account.create().key).hex()
    connector = _connector(sim, key, tmp_path)
    async with await OrderManager.open(sqlite_url, connector) as oms:
        rule = connector.trading_rule("@1")
        assert rule is connector.trading_rule("HYPE/USDC")
        assert (rule.pair, rule.asset_id, rule.is_spot) == ("HYPE/USDC", 10001, True)
        assert rule.amount_decimals == 2 and rule.price_max_decimals == 8 - 2
        assert connector.trading_rule("PURR/USDC").price_max_decimals == 8 - 0
        with pytest.raises(OrderRuleViolation, match="spot pair: reduce-only is for perp"):
            oms.sell("@1", D("1"), OrderType.LIMIT, price=D("30"), reduce_only=True)
        bought = oms.buy("PURR/USDC", D("100"), OrderType.LIMIT, price=D("0.3"))  # crosses
        resting = oms.buy("@1", D("2"), OrderType.LIMIT, price=D("20.12"))  # the wire name
        await wait_for(lambda: oms.get_order(bought).state is OrderState.FILLED  # type: ignore[union-attr]
                       and oms.get_order(resting).state is OrderState.OPEN)  # type: ignore[union-attr]
        assert oms.get_order(resting).pair == "HYPE/USDC"  # type: ignore[union-attr]
        [report] = [o for o in await connector.open_orders()]
        assert report.pair == "HYPE/USDC" and report.raw["coin"] == "@1"
        assert oms.positions.get("PURR/USDC").net_size == D("100")
        await wait_for(lambda: oms.account.spot.get("PURR") == D("100"))


async def test_resting_spot_order_filled_across_a_restart(sim: SimulatedExchange, tmp_path: Path,
                                                          sqlite_url: str) -> None:
    key = "0x" + bytes(Account.create().key).hex()
    oms = await OrderManager.open(sqlite_url, _connector(sim, key, tmp_path))
    book = await oms.connector.rest.info({"type": "l2Book", "coin": "@1"})  # type: ignore[attr-defined]
    bid, ask = D(book["levels"][0][0]["px"]), D(book["levels"][1][0]["px"])
    assert ask - bid > D("0.001")
    price = ask - D("0.001")  # above the best bid, below the ask: it rests, first in line
    cid = oms.buy("HYPE/USDC", D("2"), OrderType.LIMIT, price=price)
    await wait_for(lambda: oms.get_order(cid).state is OrderState.OPEN)  # type: ignore[union-attr]
    account = oms.connector.account
    await oms.close()  # the engine is down (its order rests on the exchange)
    assert price > bid

    sim.fund(TAKER)
    sim.engine.account(TAKER).spot["HYPE"] = D("10")
    status = sim.trade_as(TAKER, "@1", False, D("2"))  # sells into our bid while we are down
    assert "filled" in status, status
    truth = sim.truth.orders(account)[oms.get_order(cid).client_order_id.cloid]  # type: ignore[union-attr]
    assert truth["status"] == "filled" and truth["coin"] == "@1"

    async with await OrderManager.open(sqlite_url, _connector(sim, key, tmp_path)) as again:
        order = again.get_order(cid)
        assert order is not None and order.state is OrderState.FILLED, order
        assert order.pair == "HYPE/USDC" and order.executed_base == D("2")
        fills = [f for f in sim.truth.fills(account) if f["cloid"] == truth["cloid"]]
        assert sum(f["sz"] for f in fills) == order.executed_base
        assert again.positions.get("HYPE/USDC").net_size == D("2")
        balances = sim.truth.balances(account)
        await wait_for(lambda: again.account.spot.get("HYPE") == balances["spot:HYPE"])
        assert again.account.spot.get("USDC") == balances["spot:USDC"]
        assert again.recovery_report is not None
