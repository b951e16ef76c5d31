"""Every order kind through the connector: wires, pre-checks, statuses, and the local exchange."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connectors.base import (
    ExchangeOrderStatus,
    OrderRuleViolation,
    Outcome,
    PlaceOrderRequest,
    TradingRule,
    TriggerSpec,
)
from connectors.hyperliquid import HyperliquidConnector, cloid_from_client_order_id
from connectors.hyperliquid.order_wires import check_grouping, request_wire
from connectors.hyperliquid.parsing import (
    KNOWN_CANCELED_STATUSES,
    KNOWN_REJECTED_STATUSES,
    map_status,
)

TEST_KEY = "0x0123456789012345678901234567890123456789012345678901234567890123"
RULE = TradingRule("ETH", 1, 4, 5, 2, Decimal(10), max_leverage=25)
D = Decimal


@pytest.fixture
async def conn(sim: Any, tmp_path: Path) -> AsyncIterator[HyperliquidConnector]:
    connector = HyperliquidConnector(
        sim.base_url, private_key=TEST_KEY, nonce_file=tmp_path / "nonce", request_timeout_s=2.0
    )
    async with connector:
        yield connector


def req(name: str, side: str, amount: str, price: str, trigger: TriggerSpec | None = None,
        reduce_only: bool = False, tif: str = "Gtc") -> PlaceOrderRequest:
    return PlaceOrderRequest(cloid_from_client_order_id(name), "ETH", side,  # type: ignore[arg-type]
                             D(amount), D(price), tif, reduce_only, trigger)  # type: ignore[arg-type]


def test_trigger_wire_in_sdk_key_order() -> None:
    wire = request_wire(RULE, req("a", "sell", "0.5", "2700", TriggerSpec(D("2800.0"), True, "sl"),
                                  reduce_only=True))
    assert list(wire) == ["a", "b", "p", "s", "r", "t", "c"]
    assert wire["t"] == {"trigger": {"isMarket": True, "triggerPx": "2800", "tpsl": "sl"}}


def test_trigger_price_off_tick_is_refused_before_signing() -> None:
    with pytest.raises(OrderRuleViolation, match=r"trigger price 2800\.123"):
        request_wire(RULE, req("a", "sell", "0.5", "2700", TriggerSpec(D("2800.123"), True, "sl")))


def test_grouping_prechecks_say_what_to_fix() -> None:
    entry = req("e", "buy", "0.5", "3000")
    tp = req("t", "sell", "0.5", "3300", TriggerSpec(D("3300"), False, "tp"), reduce_only=True)
    sl = req("s", "sell", "0.5", "2700", TriggerSpec(D("2800"), True, "sl"), reduce_only=True)
    check_grouping([entry, tp, sl], "normalTpsl")
    check_grouping([tp, sl], "positionTpsl")
    loose = req("s", "sell", "0.5", "2700", TriggerSpec(D("2800"), True, "sl"))
    with pytest.raises(OrderRuleViolation, match="sl leg must be reduce-only"):
        check_grouping([entry, tp, loose], "normalTpsl")
    small = req("s", "sell", "0.4", "2700", TriggerSpec(D("2800"), True, "sl"), reduce_only=True)
    with pytest.raises(OrderRuleViolation, match="same size"):
        check_grouping([entry, small], "normalTpsl")
    with pytest.raises(OrderRuleViolation, match="at most one tp and one sl"):
        check_grouping([sl, sl], "positionTpsl")


def test_worst_price_is_never_worse_than_the_slippage_asked() -> None:
    assert RULE.worst_price("buy", D("3001.7"), D("0.05")) == D("3151.7")  # 3151.785 down
    assert RULE.worst_price("sell", D("3001.7"), D("0.05")) == D("2851.7")  # 2851.615 up
    with pytest.raises(ValueError, match="slippage"):
        RULE.worst_price("buy", D("3000"), D("1.5"))


def test_every_documented_status_maps_and_future_ones_by_suffix() -> None:
    assert {map_status(s) for s in KNOWN_CANCELED_STATUSES} == {ExchangeOrderStatus.CANCELED}
    assert {map_status(s) for s in KNOWN_REJECTED_STATUSES} == {ExchangeOrderStatus.REJECTED}
    assert map_status("triggered") is ExchangeOrderStatus.TRIGGERED
    assert map_status("someFutureCanceled") is ExchangeOrderStatus.CANCELED
    assert map_status("someFutureRejected") is ExchangeOrderStatus.REJECTED


async def _long(conn: HyperliquidConnector, amount: str) -> None:
    for _ in range(100):  # the market maker quotes from its first tick on (bounded wait)
        if (await conn.rest.info({"type": "l2Book", "coin": "ETH"}))["levels"][1]:
            break
        await asyncio.sleep(0.05)
    ref = await conn.reference_price("ETH", "buy")
    price = conn.trading_rule("ETH").worst_price("buy", ref, D("0.05"))
    [done] = await conn.place_orders(
        [req(f"long-{time.time_ns()}", "buy", amount, str(price), tif="Ioc")], None)
    assert done.outcome is Outcome.CONFIRMED and done.filled_amount == D(amount)


async def test_bracket_batched_cancels_and_trigger_stream(sim: Any,
                                                          conn: HyperliquidConnector) -> None:
    mark = await conn.mark_price("ETH")
    rule = conn.trading_rule("ETH")
    below = rule.quantize_price(mark * D("0.9"))
    entry = req("b-entry", "buy", "0.01", str(below))
    tp = req("b-tp", "sell", "0.01", str(rule.quantize_price(mark * D("1.2"))),
             TriggerSpec(rule.quantize_price(mark * D("1.2")), False, "tp"), reduce_only=True)
    sl_px = rule.quantize_price(mark * D("0.8"))
    sl = req("b-sl", "sell", "0.01", str(sl_px), TriggerSpec(sl_px, True, "sl"), reduce_only=True)
    results = await conn.place_orders([entry, tp, sl], None, "normalTpsl")
    assert [r.outcome for r in results] == [Outcome.CONFIRMED] * 3
    assert results[0].resting and [r.reason for r in results[1:]] == ["waitingForFill"] * 2
    for leg in (tp, sl):
        status = await conn.order_status(leg.cloid)
        assert status.status is ExchangeOrderStatus.OPEN and status.raw["order"]["isTrigger"]
    actions: list[str] = []
    sim.on_action = lambda raw: actions.append(json.loads(raw)["action"]["type"])
    cancels = await conn.cancel_many_by_cloid(
        [("ETH", tp.cloid), ("ETH", sl.cloid), ("ETH", entry.cloid)], None)
    assert [c.outcome for c in cancels] == [Outcome.CONFIRMED] * 3
    assert actions == ["cancelByCloid"]  # one action for the batch
    again = await conn.cancel_many_by_cloid([("ETH", tp.cloid)], None)
    assert again[0].outcome is Outcome.REJECTED and "never placed" in (again[0].reason or "")

    # A stop on a long fires on the mark; the stream reports it triggered, then filled.
    await _long(conn, "0.01")
    updates = conn.order_updates()
    stop_px = rule.quantize_price(mark * D("0.98"))
    stop = req("stop", "sell", "0.01", str(rule.quantize_price(stop_px * D("0.9"))),
               TriggerSpec(stop_px, True, "sl"), reduce_only=True)
    [placed] = await conn.place_orders([stop], None)
    assert placed.outcome is Outcome.CONFIRMED and placed.exchange_order_id is not None
    sim.set_mark("ETH", rule.quantize_price(stop_px * D("0.99")))
    seen: list[ExchangeOrderStatus] = []
    async with asyncio.timeout(5):
        async for update in updates:
            if update.cloid == stop.cloid:
                seen.append(update.status)
                if update.status is ExchangeOrderStatus.FILLED:
                    break
    assert seen[-2:] == [ExchangeOrderStatus.TRIGGERED, ExchangeOrderStatus.FILLED]


async def test_leverage_and_isolated_margin_through_the_connector(
    conn: HyperliquidConnector,
) -> None:
    assert (await conn.update_leverage("ETH", 7, is_cross=False)).outcome is Outcome.CONFIRMED
    assert await conn.leverage("ETH") == (7, False)
    refused = await conn.update_isolated_margin("ETH", D("5"))
    assert refused.outcome is Outcome.REJECTED
    assert refused.reason == "Position does not use isolated margin."
    await _long(conn, "0.01")
    assert (await conn.update_isolated_margin("ETH", D("5"))).outcome is Outcome.CONFIRMED
    switched = await conn.update_leverage("ETH", 7, is_cross=True)
    assert switched.outcome is Outcome.REJECTED
    assert switched.reason == "Cannot switch leverage type with open position."
    with pytest.raises(OrderRuleViolation, match="6 decimals"):
        await conn.update_isolated_margin("ETH", D("0.0000001"))
