"""Small helpers shared by the engine tests (bounded waits, a counterparty on the exchange)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from decimal import Decimal

from eth_account import Account

from connectors.base import Outcome, PlaceOrderRequest
from connectors.hyperliquid import HyperliquidConnector
from connectors.hyperliquid.simulator import SimulatedExchange


async def wait_for(predicate: Callable[[], bool], limit_s: float = 10.0) -> None:
    """Poll ``predicate`` until true; fail the test after ``limit_s``."""
    loop = asyncio.get_running_loop()
    end = loop.time() + limit_s
    while not predicate():
        if loop.time() > end:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def mid(connector: HyperliquidConnector, pair: str) -> Decimal:
    """The exchange's current mid price of ``pair``."""
    mids = await connector.rest.info({"type": "allMids"})
    return Decimal(mids[pair])


async def counterparty_ioc(sim: SimulatedExchange, pair: str, side: str, amount: Decimal,
                           price: Decimal) -> None:
    """Another (funded) account sends an IOC that trades against what rests at ``price``."""
    account = Account.create()
    sim.fund(account.address)
    key = "0x" + bytes(account.key).hex()
    async with HyperliquidConnector(sim.base_url, private_key=key) as other:
        cloid = "0x" + os.urandom(16).hex()
        deadline = time.time_ns() // 1_000_000 + 5000
        [result] = await other.place_orders(
            [PlaceOrderRequest(cloid, pair, side, amount, price.quantize(Decimal("0.1")), "Ioc")],  # type: ignore[arg-type]
            deadline,
        )
        assert result.outcome is Outcome.CONFIRMED, result
