"""Order placement over a WebSocket ``post`` against REST, in the same run, on the local exchange.

One connector per transport (``actions_over_ws=True`` and the default REST), the same kind of
signed single-order actions, sent one at a time and interleaved (REST, WS, REST, …) so machine
noise hits both alike. Two times per order: *to the exchange* (from ``place_orders()`` to the
moment the exchange starts handling the action) and *round trip* (until the classified reply is
back). Prints JSON with p50/p99 of each and the WS/REST ratios.

    python benchmarks/ws_post_bench.py [--short]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from decimal import Decimal
from typing import Any

from eth_account import Account

from connectors.base import Outcome, PlaceOrderRequest
from connectors.hyperliquid import HyperliquidConnector
from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig
from connectors.hyperliquid.simulator.replies import Reply


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def run(orders: int) -> dict[str, Any]:
    """``orders`` placements per transport; returns the measurements in milliseconds."""
    config = SimulatorConfig(market_maker=False, limits="off")
    async with SimulatedExchange(config) as sim:
        arrivals: list[float] = []
        sim.on_action = lambda raw: arrivals.append(time.perf_counter())  # REST door
        handle_post = sim.hub.post

        async def timed_post(kind: str, raw: bytes) -> Reply:
            arrivals.append(time.perf_counter())  # the WebSocket door
            return await handle_post(kind, raw)

        sim.hub.post = timed_post
        connectors = {}
        for name, over_ws in (("rest", False), ("ws", True)):
            wallet = Account.create()
            sim.fund(wallet.address)
            conn = HyperliquidConnector(sim.base_url, private_key="0x" + bytes(wallet.key).hex(),
                                        actions_over_ws=over_ws, rules_refresh_s=0,
                                        rate_budget="off")  # transport speed, not the limits
            await conn.start()
            connectors[name] = conn
        times: dict[str, dict[str, list[float]]] = {n: {"to_exchange": [], "round_trip": []}
                                                    for n in connectors}
        try:
            for i in range(2 * orders + 20):  # the first 10 of each warm up
                name = "rest" if i % 2 == 0 else "ws"
                request = PlaceOrderRequest(f"0x{i + 1:032x}", "ETH", "buy", Decimal("0.01"),
                                            Decimal(1000 + i % 500))
                arrivals.clear()
                start = time.perf_counter()
                [result] = await connectors[name].place_orders(
                    [request], time.time_ns() // 1_000_000 + 10_000)
                end = time.perf_counter()
                if result.outcome is not Outcome.CONFIRMED or len(arrivals) != 1:
                    raise RuntimeError(f"{name} placement failed: {result}")
                if i >= 20:
                    times[name]["to_exchange"].append(arrivals[0] - start)
                    times[name]["round_trip"].append(end - start)
        finally:
            for conn in connectors.values():
                await conn.close()
    out: dict[str, Any] = {"orders_per_transport": orders}
    for name, series in times.items():
        out[name] = {f"{kind}_p{q}_ms": round(_pct(values, q / 100), 3)
                     for kind, values in series.items() for q in (50, 99)}
        out[name]["round_trip_mean_ms"] = round(statistics.mean(series["round_trip"]) * 1000, 3)
    out["ratios_ws_vs_rest"] = {
        key: round(out["ws"][key] / out["rest"][key], 3) for key in out["rest"]}
    return out


def main() -> None:
    """Parse the options, run, print the JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--short", action="store_true", help="100 orders each (CI smoke run)")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(100 if args.short else 1000)), indent=2))


if __name__ == "__main__":
    main()
