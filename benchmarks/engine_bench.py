"""Engine benchmark: buy() latency, buy→exchange latency, throughput, recovery time, memory soak.

Everything runs for real: the local exchange on loopback (in this process, so both clocks are the
same ``perf_counter``), the Hyperliquid connector, the engine with a SQLite journal (WAL, FULL). The
peer measured in the same run is the bare connector (no journal, no engine): the ratios say what
tracking-before-submit costs. Prints one JSON object.

    python benchmarks/engine_bench.py          # full: 10k orders, 100k-order recovery, 10 min soak
    python benchmarks/engine_bench.py --short    # CI smoke run (about a minute)

The connectors run with ``rate_budget="off"`` against a local exchange without rate limits:
this measures the engine itself (the exchange would throttle a soak of this size; see
``rate_limit_bench.py`` for the limits).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import psutil
from eth_account import Account

from connectors.base import PlaceOrderRequest
from connectors.hyperliquid import HyperliquidConnector
from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig
from eventstore import EventStore, NewEvent
from oms.domain.codec import encode
from oms.domain.enums import OrderType, PositionAction, TimeInForce, TradeSide
from oms.domain.events import OrderAccepted, OrderCreated, OrderEvent, OrderFilled, OrderSubmitted
from oms.domain.ids import ClientOrderId, order_stream
from oms.engine import EngineConfig, OrderManager

D = Decimal
CONFIG = EngineConfig(expires_after_s=10.0, poll_interval_s=30.0)


def pct(values: list[float], q: float) -> float:
    """The q-quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def new_key() -> str:
    """A fresh private key (never printed)."""
    return "0x" + bytes(Account.create().key).hex()


async def far_bid(connector: HyperliquidConnector) -> Decimal:
    """A bid price far below the ETH mid: orders rest and never fill."""
    mids = await connector.rest.info({"type": "allMids"})
    return (D(mids["ETH"]) * D("0.7")).quantize(D("0.1"))


async def wait_until(predicate: Any, limit_s: float) -> bool:
    """Poll ``predicate`` (bounded); True if it became true."""
    end = time.perf_counter() + limit_s
    while time.perf_counter() < end:
        if predicate():
            return True
        await asyncio.sleep(0.005)
    return False


async def bench_latency_and_throughput(
    sim: SimulatedExchange, work: Path, in_flight: int, measured: int, throughput_n: int
) -> dict[str, Any]:
    """buy() return time with ``in_flight`` resting orders; buy→arrival; N orders acked."""
    arrivals: dict[str, int] = {}

    def on_action(raw: bytes) -> None:
        now = time.perf_counter_ns()
        action = orjson.loads(raw).get("action", {})
        for order in action.get("orders", ()):
            if "c" in order:
                arrivals.setdefault(order["c"], now)

    sim.on_action = on_action
    connector = HyperliquidConnector(sim.base_url, private_key=new_key(),
                                     nonce_file=work / "nonce-a",
                                     rate_budget="off")
    url = f"sqlite+aiosqlite:///{work / 'latency.db'}"
    out: dict[str, Any] = {}
    async with await OrderManager.open(url, connector, config=CONFIG) as oms:
        px = await far_bid(connector)
        for _ in range(in_flight):
            oms.buy("ETH", D("0.01") * 10, OrderType.LIMIT, price=px)
        await oms.flush()
        ok = await wait_until(lambda: len(oms.active_orders) >= in_flight, 60)
        out["in_flight_orders"] = len(oms.active_orders) if ok else -1
        # buy() return time, two regimes. Burst: back-to-back calls (hot CPU caches), in-flight
        # orders growing past the 1,000 already resting. Paced: one call every 2 ms while the
        # loop serves the exchange in between (cold caches) — with a calibration peer: a fixed
        # ~1 us workload timed under the same pacing, to show what pacing alone costs here.
        burst_us: list[float] = []
        for _ in range(measured):
            t0 = time.perf_counter_ns()
            oms.buy("ETH", D("0.1"), OrderType.LIMIT, price=px)
            burst_us.append((time.perf_counter_ns() - t0) / 1000)
        await oms.flush()
        out["buy_call_burst_us"] = {"p50": round(pct(burst_us, 0.5), 2),
                                    "p99": round(pct(burst_us, 0.99), 2), "n": len(burst_us)}
        calib_us: list[float] = []
        for _ in range(measured // 2):
            t0 = time.perf_counter_ns()
            ClientOrderId.new()
            D("0.1").quantize(D("0.0001"))
            calib_us.append((time.perf_counter_ns() - t0) / 1000)
            await asyncio.sleep(0.002)
        out["calibration_1us_workload_paced_us"] = {"p50": round(pct(calib_us, 0.5), 2),
                                                    "p99": round(pct(calib_us, 0.99), 2)}
        call_us: list[float] = []
        latency_us: list[float] = []
        started: dict[str, int] = {}
        gc.collect()
        for _ in range(measured):
            t0 = time.perf_counter_ns()
            cid = oms.buy("ETH", D("0.1"), OrderType.LIMIT, price=px)
            t1 = time.perf_counter_ns()
            call_us.append((t1 - t0) / 1000)
            started[cid.cloid] = t0
            await asyncio.sleep(0.002)
        await oms.flush()
        await wait_until(lambda: all(c in arrivals for c in started), 30)
        latency_us = [(arrivals[c] - t0) / 1000 for c, t0 in started.items() if c in arrivals]
        out["buy_call_paced_us"] = {"p50": round(pct(call_us, 0.5), 2),
                              "p99": round(pct(call_us, 0.99), 2),
                              "mean": round(statistics.fmean(call_us), 2), "n": len(call_us)}
        out["buy_to_exchange_ms"] = {"p50": round(pct(latency_us, 0.5) / 1000, 3),
                                     "p99": round(pct(latency_us, 0.99) / 1000, 3),
                                     "n": len(latency_us)}
        # Throughput: N orders placed at once, until every acknowledgement is durable. Counted by
        # a listener (polling N snapshots would itself load the loop and skew the figure).
        acks: set[str] = set()

        def on_event(event: OrderEvent, order: Any) -> None:
            if type(event) is OrderAccepted:
                acks.add(event.client_order_id)

        oms.add_listener(on_event=on_event)
        t0 = time.perf_counter()
        cids = [oms.buy("ETH", D("0.1"), OrderType.LIMIT, price=px) for _ in range(throughput_n)]
        wanted = set(cids)
        acked = await wait_until(lambda: wanted <= acks, 300)
        elapsed = time.perf_counter() - t0
        out["engine_orders_acked_per_s"] = round(throughput_n / elapsed, 1) if acked else None
        out["engine_throughput_n"] = throughput_n
        await oms.cancel_all()
        await oms.flush()
    # Peer: the bare connector, same orders, same batches (40), no journal, no engine.
    sim.on_action = None
    async with HyperliquidConnector(sim.base_url, private_key=new_key(),
                                    nonce_file=work / "nonce-b",
                                    rate_budget="off") as bare:
        px = await far_bid(bare)
        deadline = time.time_ns() // 1_000_000 + 60_000
        requests = [PlaceOrderRequest("0x" + os.urandom(16).hex(), "ETH", "buy", D("0.1"), px)
                    for _ in range(throughput_n)]
        sem = asyncio.Semaphore(CONFIG.max_in_flight)

        async def send(batch: list[PlaceOrderRequest]) -> None:
            async with sem:
                await bare.place_orders(batch, deadline)

        t0 = time.perf_counter()
        await asyncio.gather(*(send(requests[i:i + CONFIG.max_batch])
                               for i in range(0, throughput_n, CONFIG.max_batch)))
        bare_elapsed = time.perf_counter() - t0
        out["bare_connector_orders_acked_per_s"] = round(throughput_n / bare_elapsed, 1)
        single: list[float] = []
        for _ in range(min(measured, 200)):
            req = PlaceOrderRequest("0x" + os.urandom(16).hex(), "ETH", "buy", D("0.1"), px)
            t0 = time.perf_counter()
            await bare.place_orders([req], deadline)
            single.append((time.perf_counter() - t0) * 1000)
        out["bare_connector_round_trip_ms_p50"] = round(pct(single, 0.5), 3)
    if out.get("engine_orders_acked_per_s"):
        out["ratio_engine_vs_bare_throughput"] = round(
            out["engine_orders_acked_per_s"] / out["bare_connector_orders_acked_per_s"], 3)
    return out


def order_events(cid: ClientOrderId, now_ns: int, oid: str, filled: bool) -> list[OrderEvent]:
    """A plausible life: created, submitted, accepted, then (some) filled."""
    created = OrderCreated(
        client_order_id=cid, pair="ETH", side=TradeSide.BUY, order_type=OrderType.LIMIT,
        amount=D("0.1"), price=D("2000"), time_in_force=TimeInForce.GTC, reduce_only=False,
        position_action=PositionAction.OPEN, leverage=None, created_at_ns=now_ns,
        venue="hyperliquid", account="0x" + "0" * 40,
    )
    events: list[OrderEvent] = [
        created,
        OrderSubmitted(client_order_id=cid, attempt=1, expires_after_ms=now_ns // 10**6 + 5000,
                       sent_at_ns=now_ns),
        OrderAccepted(client_order_id=cid, exchange_order_id=oid, at_ns=now_ns),
    ]
    if filled:
        events.append(OrderFilled(
            client_order_id=cid, trade_id=f"t{oid}", price=D("2000"), amount=D("0.1"),
            fee=D("0.09"), fee_asset="USDC", is_maker=True, exchange_time_ms=now_ns // 10**6,
            exchange_order_id=oid))
    return events


async def bench_recovery(sim: SimulatedExchange, work: Path, orders: int,
                         open_on_exchange: int) -> dict[str, Any]:
    """Start-up time with ``orders`` in the journal, ``open_on_exchange`` of them really open."""
    url = f"sqlite+aiosqlite:///{work / 'recovery.db'}"
    key = new_key()
    connector = HyperliquidConnector(sim.base_url, private_key=key, nonce_file=work / "nonce-r",
                                     rate_budget="off")
    # The open ones are placed on the exchange for real (their cloids = our client ids).
    async with connector:
        px = await far_bid(connector)
        deadline = time.time_ns() // 1_000_000 + 60_000
        open_cids = [ClientOrderId.new() for _ in range(open_on_exchange)]
        oids: dict[str, str] = {}
        for i in range(0, open_on_exchange, 40):
            batch = open_cids[i:i + 40]
            results = await connector.place_orders(
                [PlaceOrderRequest(c.cloid, "ETH", "buy", D("0.1"), px) for c in batch], deadline)
            for c, r in zip(batch, results, strict=True):
                oids[c] = r.exchange_order_id or ""
    t0 = time.perf_counter()
    async with await EventStore.open(url) as store:
        now = time.time_ns()
        pending: list[Any] = []
        for i in range(orders - open_on_exchange):
            cid = ClientOrderId.new()
            evs = order_events(cid, now, str(10**9 + i), filled=True)
            pending.append(store.append(order_stream(cid), [
                NewEvent(type=t, data=d, version=v) for t, d, v in map(encode, evs)]))
            if len(pending) >= 2000:
                await asyncio.gather(*pending)
                pending.clear()
        for cid in open_cids:
            evs = order_events(cid, now, oids[cid], filled=False)
            pending.append(store.append(order_stream(cid), [
                NewEvent(type=t, data=d, version=v) for t, d, v in map(encode, evs)]))
        await asyncio.gather(*pending)
        events_written, _ = await store.head()
    build_s = time.perf_counter() - t0
    connector = HyperliquidConnector(sim.base_url, private_key=key, nonce_file=work / "nonce-r",
                                     rate_budget="off")
    t0 = time.perf_counter()
    oms = await OrderManager.open(url, connector, config=CONFIG)
    open_s = time.perf_counter() - t0
    report = oms.recovery_report.as_dict() if oms.recovery_report else {}
    active = len(oms.active_orders)
    await oms.close()
    return {"journal_orders": orders, "journal_events": events_written,
            "journal_build_s": round(build_s, 2), "open_on_exchange": open_on_exchange,
            "active_after_recovery": active, "startup_s": round(open_s, 3),
            "recovery_report": report}


async def start_simulator_process(seed: int) -> tuple[asyncio.subprocess.Process, str]:
    """The local exchange in its own process (so its memory is not counted as ours)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "connectors.hyperliquid.simulator", "--port", "0",
        "--seed", str(seed), "--no-market-maker", "--limits", "off",  # the engine, not limits
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    while True:
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        if not line:
            raise RuntimeError("simulator process exited before listening")
        if line.startswith("SIMULATOR LISTENING"):
            return proc, line.split()[-1]


async def bench_soak(work: Path, seconds: float) -> dict[str, Any]:
    """Place and cancel continuously; RSS of this (engine) process at start and end."""
    sim_proc, base_url = await start_simulator_process(seed=9)
    try:
        return await _soak(base_url, work, seconds)
    finally:
        sim_proc.terminate()
        await sim_proc.wait()


async def _soak(base_url: str, work: Path, seconds: float) -> dict[str, Any]:
    connector = HyperliquidConnector(base_url, private_key=new_key(),
                                     nonce_file=work / "nonce-s",
                                     rate_budget="off")
    url = f"sqlite+aiosqlite:///{work / 'soak.db'}"
    proc = psutil.Process()
    placed = refused = 0
    reasons: Counter[str] = Counter()
    async with await OrderManager.open(url, connector, config=CONFIG) as oms:
        px = await far_bid(connector)
        warm_end = time.perf_counter() + min(10.0, seconds / 5)
        end = time.perf_counter() + seconds
        rss_start = 0
        samples: list[float] = []
        next_sample = time.perf_counter() + seconds / 10
        while time.perf_counter() < end:
            cids = [oms.buy("ETH", D("0.1"), OrderType.LIMIT, price=px) for _ in range(20)]
            placed += len(cids)
            await wait_until(lambda batch=cids: all(  # type: ignore[misc]
                (o := oms.get_order(c)) is None or o.exchange_order_id or o.is_terminal
                for c in batch), 10)
            for c in cids:
                order = oms.get_order(c)
                if order is not None and not order.is_terminal:
                    oms.cancel(c)
                else:  # refused (the reason is journaled): nothing to cancel
                    refused += 1
                    reasons[(order.reason or "?")[:80] if order else "left memory"] += 1
            await oms.flush()
            if not rss_start and time.perf_counter() > warm_end:
                gc.collect()
                rss_start = proc.memory_info().rss
            if time.perf_counter() >= next_sample:
                samples.append(round(proc.memory_info().rss / 2**20, 1))
                next_sample += seconds / 10
        gc.collect()
        rss_end = proc.memory_info().rss
        in_memory = len(oms.orders)
    return {"seconds": seconds, "orders_placed_and_canceled": placed - refused,
            "orders_refused": refused, "refusal_reasons": dict(reasons.most_common(3)),
            "rss_start_mb": round(rss_start / 2**20, 1), "rss_end_mb": round(rss_end / 2**20, 1),
            "rss_growth_pct": (round((rss_end - rss_start) / rss_start * 100, 2)
                               if rss_start else None),
            "orders_held_in_memory_at_end": in_memory, "rss_mb_every_tenth": samples,
            "note": "SQLite's page cache (64 MiB per connection) fills as the journal grows"}


PARTS = ("latency", "recovery", "soak")


async def main(short: bool, parts: tuple[str, ...] = PARTS) -> dict[str, Any]:
    """Run the chosen parts (all by default); sizes depend on ``short``."""
    with tempfile.TemporaryDirectory(prefix="oms-engine-bench-") as tmp:
        work = Path(tmp)
        config = SimulatorConfig(seed=5, market_maker=False)
        async with SimulatedExchange(config) as sim:
            await sim.step_market()
            result: dict[str, Any] = {"benchmark": "engine", "short": short,
                                      "machine": f"{os.cpu_count()} cores"}
            if "latency" in parts:
                result["latency"] = await bench_latency_and_throughput(
                    sim, work, in_flight=1000 if not short else 200,
                    measured=2000 if not short else 300,
                    throughput_n=10_000 if not short else 1000)
            if "recovery" in parts:
                result["recovery"] = await bench_recovery(
                    sim, work, orders=100_000 if not short else 5000,
                    open_on_exchange=1000 if not short else 100)
            if "soak" in parts:
                result["soak"] = await bench_soak(work, seconds=600 if not short else 15)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--short", action="store_true", help="small sizes for CI")
    parser.add_argument("--parts", default=",".join(PARTS),
                        help="comma-separated subset of: " + ", ".join(PARTS))
    args = parser.parse_args()
    chosen = tuple(part.strip() for part in args.parts.split(",") if part.strip())
    unknown = sorted(set(chosen) - set(PARTS))
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    print(json.dumps(asyncio.run(main(args.short, chosen))))
