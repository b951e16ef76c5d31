"""The demo's example strategy: quote around the mid, sometimes cross the spread, sometimes cancel.

Deterministic for a seed (prices follow the exchange, so the outcome still depends on the market).
Each placement is announced on stdout as ``PLACED <n>`` so the demo can kill the process while
orders are in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from decimal import Decimal
from typing import Any

from connectors.hyperliquid import HyperliquidConnector
from oms.domain.enums import OrderType
from oms.engine import OrderManager

#: Pairs traded and their size step (the exchange's lot size).
PAIRS: dict[str, Decimal] = {"ETH": Decimal("0.01"), "SOL": Decimal("0.1")}
#: The same on dYdX (its tickers).
DYDX_PAIRS: dict[str, Decimal] = {"ETH-USD": Decimal("0.01"), "SOL-USD": Decimal("0.1")}


async def _mids(connector: Any) -> dict[str, Decimal]:
    if isinstance(connector, HyperliquidConnector):
        raw = await connector.rest.info({"type": "allMids"})
        return {k: Decimal(v) for k, v in raw.items() if k in PAIRS}
    await connector.refresh_markets()  # dYdX: the oracle prices of /v4/perpetualMarkets
    return {p: connector.markets.get(p).oracle_price for p in DYDX_PAIRS}


async def run_strategy(
    manager: OrderManager, connector: Any, seed: int, first: int, count: int
) -> int:
    """Place orders number ``first`` .. ``first + count - 1``; returns how many were placed."""
    pairs = PAIRS if isinstance(connector, HyperliquidConnector) else DYDX_PAIRS
    rng = random.Random(seed * 1_000_003 + first)
    placed = 0
    mids = await _mids(connector)
    while placed < count:
        if placed % 10 == 9:
            mids = await _mids(connector)
        active = list(manager.active_orders)
        if active and rng.random() < 0.15:
            order = manager.get_order(rng.choice(active))
            if order is not None and order.exchange_order_id is not None:
                manager.cancel(order.client_order_id)
        pair = rng.choice(sorted(pairs))
        mid = mids.get(pair)
        if mid is None:  # no book yet: the exchange's market has not quoted this pair
            await asyncio.sleep(0.05)
            mids = await _mids(connector)
            continue
        buy = rng.random() < 0.5
        # About 40% of the orders cross the spread (they fill at once); the rest rest near the mid.
        offset = Decimal(str(rng.uniform(-0.002, 0.003)))
        price = mid * (1 - offset) if buy else mid * (1 + offset)
        size = pairs[pair] * rng.randint(5, 40)
        place = manager.buy if buy else manager.sell
        with contextlib.suppress(ValueError):  # below the exchange's minimum notional: skip
            place(pair, size, OrderType.LIMIT, price=price)
            placed += 1
            print(f"PLACED {first + placed}", flush=True)
        await asyncio.sleep(rng.uniform(0.02, 0.08))
    return placed
