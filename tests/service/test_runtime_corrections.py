"""Runtime reconciliation corrections are counted by kind, scraped over HTTP, and alerted.

A resting order fills while the exchange holds its WebSocket pushes: the engine hears of it only
from the gap fill its poller runs over REST when the streams fall silent. That fill is a runtime
correction (``OrderFilled``); the stream's late copy of the same fill changes and counts nothing.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest
from eth_account import Account

from connectors.hyperliquid import HyperliquidConnector
from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig
from oms.domain.enums import OrderState
from oms.engine import EngineConfig, OrderManager
from oms.service.alerts import Alerter
from oms.service.http import MetricsServer
from oms.service.metrics import ServiceMetrics
from oms.service.watch import HealthWatch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
from engine_helpers import counterparty_ioc

PUSHES_HELD_S = 4.0
KIND = 'oms_reconciliation_runtime_corrections_total{kind="OrderFilled"}'


async def _until(predicate: object, limit_s: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + limit_s
    while not predicate():  # type: ignore[operator]
        if loop.time() > end:
            raise AssertionError(f"timed out after {limit_s} s waiting for {what}")
        await asyncio.sleep(0.05)


async def _scrape(url: str) -> dict[str, float]:
    async with aiohttp.ClientSession() as session, session.get(f"{url}/metrics") as reply:
        text = await reply.text()
    return {line.rpartition(" ")[0]: float(line.rpartition(" ")[2])
            for line in text.splitlines() if line and not line.startswith("#")}


@pytest.fixture
async def sim() -> AsyncIterator[SimulatedExchange]:
    async with SimulatedExchange(SimulatorConfig(seed=4, market_maker=False)) as exchange:
        await exchange.step_market()
        yield exchange


async def test_a_fill_found_by_the_gap_fill_is_a_counted_and_alerted_correction(
        sim: SimulatedExchange, tmp_path: Path) -> None:
    key = "0x" + bytes(Account.create().key).hex()
    connector = HyperliquidConnector(sim.base_url, private_key=key, nonce_file=tmp_path / "n",
                                     request_timeout_s=2.0)
    config = EngineConfig(expires_after_s=2.0, deadline_grace_s=0.3, poll_interval_s=0.5)
    async with await OrderManager.open(f"sqlite+aiosqlite:///{tmp_path / 'j.db'}", connector,
                                       config=config) as oms:
        metrics = ServiceMetrics()
        alerter = Alerter()
        health = HealthWatch(oms, alerter, silence_s=60, interval_s=60,
                             stopping=asyncio.Event(), corrections=metrics.runtime_corrections)
        metrics.attach(oms, dict)
        server = MetricsServer(metrics.registry, lambda: None, "127.0.0.1", 0)
        await server.start()
        try:
            before = await _scrape(server.url)
            assert before.get(KIND, 0.0) == 0.0
            assert oms.runtime_corrections == {}
            price = oms.connector.trading_rule("ETH").quantize_price(
                Decimal(str((await oms.connector.rest.info({"type": "allMids"}))["ETH"]))
                * Decimal("0.99"))
            cid = oms.buy("ETH", Decimal("0.01"), price=price)
            await _until(lambda: (o := oms.get_order(cid)) is not None
                         and o.state is OrderState.OPEN, 10, "the order to rest")
            await health.check()
            assert alerter.counts["reconciliation"] == 0

            sim.faults.pause_pushes(PUSHES_HELD_S)  # the stream will not say it filled
            assert sim.pull_quotes("ETH") >= 0
            await counterparty_ioc(sim, "ETH", "sell", Decimal("0.01"), price)
            await _until(lambda: (o := oms.get_order(cid)) is not None
                         and o.state is OrderState.FILLED, PUSHES_HELD_S - 0.5,
                         "the poller's gap fill to find the fill while pushes are held")
            await asyncio.sleep(PUSHES_HELD_S)  # the stream's late copy arrives: no new event
            await oms.flush()

            corrections = dict(oms.runtime_corrections)
            assert corrections.get("OrderFilled") == 1, corrections
            scraped = await _scrape(server.url)
            assert scraped[KIND] == 1.0
            for kind, count in corrections.items():
                assert scraped[f'oms_reconciliation_runtime_corrections_total{{kind="{kind}"}}'] \
                    == count
            fills = [e async for e in oms.store.read_stream(f"order-{cid}")
                     if e.type == "OrderFilled"]
            assert len(fills) == 1  # applied once: the late stream copy changed nothing

            await health.check()
            assert alerter.counts["reconciliation"] == 1
            await health.check()  # nothing new since: no second alert
            assert alerter.counts["reconciliation"] == 1
        finally:
            await server.close()
