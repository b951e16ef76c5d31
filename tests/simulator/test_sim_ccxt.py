"""CCXT's ``hyperliquid`` class, unchanged at its default settings (mainnet signing), against the
local exchange (started with ``is_mainnet=True``; only the URLs point at 127.0.0.1): markets,
book, balance, limit / market orders, edit, cancel by id and by client order id, open orders,
trades, positions and a rejected order.

CCXT's start-up ``approveBuilderFee`` and ``setReferrer`` are accepted like any user's. Not
covered yet: trigger orders (the local exchange refuses them until it simulates triggers).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from eth_account import Account

from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig

ccxt = pytest.importorskip("ccxt.async_support")
ETH = "ETH/USDC:USDC"


@pytest.fixture
async def client() -> AsyncIterator[tuple[SimulatedExchange, Any, str]]:
    config = SimulatorConfig(seed=1, market_maker=True, tick_interval_s=0.05, is_mainnet=True)
    async with SimulatedExchange(config) as sim:
        await sim.step_market()
        wallet = Account.create()
        sim.fund(wallet.address)
        exchange = ccxt.hyperliquid({"walletAddress": wallet.address,
                                     "privateKey": "0x" + bytes(wallet.key).hex()})
        exchange.urls["api"] = {"public": sim.base_url, "private": sim.base_url}
        try:
            yield sim, exchange, wallet.address.lower()
        finally:
            await exchange.close()


async def test_ccxt_trades_against_the_local_exchange(
        client: tuple[SimulatedExchange, Any, str]) -> None:
    sim, exchange, user = client
    markets = await exchange.load_markets()
    assert {"BTC/USDC:USDC", ETH, "PURR/USDC"} <= set(markets)
    book = await exchange.fetch_order_book(ETH)
    assert book["bids"] and book["asks"] and book["bids"][0][0] < book["asks"][0][0]
    balance = await exchange.fetch_balance()
    assert balance["USDC"]["total"] == 1_000_000.0

    order = await exchange.create_order(ETH, "limit", "buy", 0.01, 2500)
    [open_order] = await exchange.fetch_open_orders(ETH)
    assert open_order["id"] == order["id"] and open_order["price"] == 2500
    edited = await exchange.edit_order(order["id"], ETH, "limit", "buy", 0.01, 2400)
    assert edited["id"] != order["id"]  # a modify gives the order a new oid, as live
    assert (await exchange.cancel_order(edited["id"], ETH))["info"] == "success"
    assert await exchange.fetch_open_orders(ETH) == []

    cloid = "0x" + "12" * 16
    await exchange.create_order(ETH, "limit", "buy", 0.01, 2500, {"clientOrderId": cloid})
    assert sim.truth.orders(user)[cloid]["status"] == "open"
    await exchange.cancel_order(None, ETH, {"clientOrderId": cloid})
    assert sim.truth.orders(user)[cloid]["status"] == "canceled"

    market = await exchange.create_order(ETH, "market", "buy", 0.01, 3100)
    assert "filled" in market["info"]
    trades = await exchange.fetch_my_trades(ETH)
    assert len(trades) == 1 and trades[0]["amount"] == 0.01
    positions = await exchange.fetch_positions([ETH])
    assert [(p["symbol"], p["contracts"]) for p in positions] == [(ETH, 0.01)]

    with pytest.raises(ccxt.InvalidOrder, match="minimum value"):
        await exchange.create_order(ETH, "limit", "buy", 0.0001, 2500)
