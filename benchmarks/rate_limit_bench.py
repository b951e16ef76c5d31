"""A burst of orders through the engine against the local exchange with the real rate limits on.

The local exchange enforces Hyperliquid's limits (1,200 IP weight per minute, ``/exchange``
weight ``1 + floor(orders / 40)``, 10,000 requests per address before any volume); the engine
sends through its connector's budget. One run prints one JSON object:

- ``http_429`` / ``address_refusals``: what the exchange refused (the goal is zero);
- ``weight_per_order`` against ``min_weight_per_order`` (1/39: every action a full, one-weight
  batch) — ``weight_ratio_vs_min`` 1.0 is perfect batching;
- ``drain_s``: first ``buy()`` to the last acknowledgement, against the theoretical minimum
  under the budget (``min_drain_s_under_budget``: the waiting the IP bucket forces on a perfectly
  batched burst; 0 when one bucket covers it, and the ratio is then ``null``);
- ``peer``: the same burst in the same run sent the naive way — one order per action, no budget
  (``max_batch=1``, ``rate_budget="off"``) — with its 429s, refused orders and drain time, and
  ``ratios`` of ours to it.

The exchange's open-order cap (1,000 + 1 per 5M USDC traded) is raised to the burst size: the
burst is resting orders, and the cap is not what this measures.

    python benchmarks/rate_limit_bench.py [--short] [--orders N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
from eth_account import Account

from connectors.hyperliquid import HyperliquidConnector
from connectors.hyperliquid.rate_limits import (
    IP_WEIGHT_PER_MINUTE,
    RateBudget,
    action_items,
    exchange_weight,
)
from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig
from oms.domain.enums import OrderState, OrderType
from oms.engine import EngineConfig, OrderManager

BATCH = 39  # the most orders one weight buys


def _theory(orders: int, budget: RateBudget) -> dict[str, float]:
    rate = budget.ip_weight_per_minute / 60.0
    usable = budget.ip_weight_per_minute * (1 - budget.ip_headroom)
    batched_weight = math.ceil(orders / BATCH)
    return {"min_weight_per_order": batched_weight / orders,
            "min_drain_s_under_budget": max(0.0, batched_weight - usable) / rate,
            "unbatched_min_drain_s": max(0.0, orders - usable) / rate}


async def run(orders: int, naive: bool = False) -> dict[str, Any]:
    """One burst of ``orders`` resting buys; returns the measurements (``naive``: the peer)."""
    config = SimulatorConfig(market_maker=False, limits="real", max_open_orders=orders,
                             address_buffer=10_000)
    exchange_weights: list[int] = []

    def count(raw: bytes) -> None:
        action = orjson.loads(raw).get("action")
        if isinstance(action, dict) and action.get("type") == "order":
            exchange_weights.append(exchange_weight(action_items(action)))

    with tempfile.TemporaryDirectory() as tmp:
        async with SimulatedExchange(config) as sim:
            sim.on_action = count
            wallet = Account.create()
            sim.fund(wallet.address)
            budget = RateBudget()
            connector = HyperliquidConnector(
                sim.base_url, private_key="0x" + bytes(wallet.key).hex(),
                nonce_file=Path(tmp) / "nonce", rate_budget="off" if naive else budget,
                rules_refresh_s=0)
            engine_config = EngineConfig(expires_after_s=120.0, max_batch=1 if naive else BATCH)
            async with await OrderManager.open(f"sqlite+aiosqlite:///{tmp}/oms.db", connector,
                                               config=engine_config) as oms:
                start = time.perf_counter()
                cids = [oms.buy("ETH", Decimal("0.01"), OrderType.LIMIT,
                                price=Decimal(1000 + (i % 1000))) for i in range(orders)]
                deadline = start + 600
                while time.perf_counter() < deadline:
                    if oms.send_queue.queued_orders == 0 and all(
                            oms.get_order(c).state is not OrderState.PENDING_CREATE  # type: ignore[union-attr]
                            for c in cids):
                        break
                    await asyncio.sleep(0.02)
                drain_s = time.perf_counter() - start
                states = [oms.get_order(c).state for c in cids]  # type: ignore[union-attr]
                opened = states.count(OrderState.OPEN)
                failed = states.count(OrderState.FAILED)
                await oms.cancel_all()
            http_429 = sim.limiter.refused_ip + connector.rest.stats.responses_429
            refusals = sim.limiter.refused_address
    weight = sum(exchange_weights)
    theory = _theory(orders, budget)
    minimum = theory["min_drain_s_under_budget"]
    if naive:
        return {"orders_open": opened, "orders_failed": failed, "http_429": http_429,
                "address_refusals": refusals, "exchange_actions": len(exchange_weights),
                "weight_per_order": weight / orders, "drain_s": drain_s}
    return {
        "orders": orders, "orders_open": opened, "orders_failed": failed, "http_429": http_429,
        "address_refusals": refusals, "exchange_actions": len(exchange_weights),
        "ip_weight_spent_on_orders": weight, "weight_per_order": weight / orders,
        **theory,
        "weight_ratio_vs_min": (weight / orders) / theory["min_weight_per_order"],
        "drain_s": drain_s,
        "drain_ratio_vs_min_under_budget": drain_s / minimum if minimum > 0 else None,
        "budget_waited_s": budget.waited_s,
        "ip_weight_per_minute": IP_WEIGHT_PER_MINUTE,
    }


def main() -> None:
    """Parse the options, run the burst, print the JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--short", action="store_true",
                        help="1,500 orders: enough for the peer to cross 1,200 weight (CI run)")
    parser.add_argument("--orders", type=int, default=None, help="burst size (default 10,000)")
    args = parser.parse_args()
    orders = args.orders or (1_500 if args.short else 10_000)
    if not 0 < orders <= 10_000:
        parser.error("--orders must be between 1 and 10,000 (the address budget of a new account)")
    ours = asyncio.run(run(orders))
    peer = asyncio.run(run(orders, naive=True))
    ours["peer"] = peer
    ours["ratios"] = {
        "weight_per_order_vs_peer": ours["weight_per_order"] / peer["weight_per_order"],
        "drain_s_vs_peer": ours["drain_s"] / peer["drain_s"],
        "orders_open_vs_peer": ours["orders_open"] / max(1, peer["orders_open"]),
    }
    print(json.dumps(ours, indent=2))


if __name__ == "__main__":
    main()
