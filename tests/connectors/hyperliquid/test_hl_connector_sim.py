"""The connector against the local exchange simulator over real loopback HTTP and WebSocket."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest

from connectors.base import (
    ExchangeConnector,
    ExchangeOrderStatus,
    ExchangeUnavailable,
    OrderRuleViolation,
    Outcome,
    PlaceOrderRequest,
)
from connectors.hyperliquid import HyperliquidConnector, cloid_from_client_order_id
from connectors.hyperliquid.streams import Subscription

TEST_KEY = "0x0123456789012345678901234567890123456789012345678901234567890123"
T = TypeVar("T")


@pytest.fixture
async def conn(sim: Any, tmp_path: Path) -> AsyncIterator[HyperliquidConnector]:
    connector = HyperliquidConnector(
        sim.base_url, private_key=TEST_KEY, nonce_file=tmp_path / "nonce", request_timeout_s=1.0
    )
    async with connector:
        yield connector


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


async def _next(sub: Subscription[T], pred: Callable[[T], bool], timeout_s: float = 5.0) -> T:
    async with asyncio.timeout(timeout_s):
        async for item in sub:
            if pred(item):
                return item
    raise AssertionError("stream ended")


async def _mid(conn: HyperliquidConnector, pair: str) -> Decimal:
    mids = await conn.rest.info({"type": "allMids"})
    return Decimal(mids[pair])


async def _passive_buy(
    conn: HyperliquidConnector, name: str, pair: str = "ETH"
) -> PlaceOrderRequest:
    rule = conn.trading_rule(pair)
    price = rule.quantize_price(await _mid(conn, pair) * Decimal("0.9"))
    amount = rule.quantize_amount(Decimal(20) / price) + Decimal(1).scaleb(-rule.amount_decimals)
    return PlaceOrderRequest(cloid_from_client_order_id(name), pair, "buy", amount, price)


async def test_is_an_exchange_connector(conn: HyperliquidConnector) -> None:
    assert isinstance(conn, ExchangeConnector)
    assert TEST_KEY[2:] not in repr(conn)
    assert conn.trading_rule("BTC").amount_decimals == 5
    assert conn.trading_rule("PURR/USDC").asset_id == 10000


async def test_place_status_stream_cancel(conn: HyperliquidConnector) -> None:
    updates = conn.order_updates()
    request = await _passive_buy(conn, "place-1")
    [result] = await conn.place_orders([request], _now_ms() + 10_000)
    assert result.outcome is Outcome.CONFIRMED and result.resting, result
    status = await conn.order_status(request.cloid)
    assert status.status is ExchangeOrderStatus.OPEN
    assert status.exchange_order_id == result.exchange_order_id
    assert request.cloid in {o.cloid for o in await conn.open_orders()}
    pushed = await _next(updates, lambda r: r.cloid == request.cloid)
    assert pushed.status is ExchangeOrderStatus.OPEN
    cancel = await conn.cancel_by_cloid("ETH", request.cloid, _now_ms() + 10_000)
    assert cancel.outcome is Outcome.CONFIRMED
    assert (await conn.order_status(request.cloid)).status is ExchangeOrderStatus.CANCELED
    again = await conn.cancel_by_cloid("ETH", request.cloid, None)
    assert again.outcome is Outcome.REJECTED and again.reason


async def test_cancel_by_exchange_id_and_modify(conn: HyperliquidConnector) -> None:
    request = await _passive_buy(conn, "modify-1")
    [placed] = await conn.place_orders([request], None)
    assert placed.exchange_order_id is not None
    lower = conn.trading_rule("ETH").quantize_price(request.price * Decimal("0.99"))
    moved = PlaceOrderRequest(request.cloid, "ETH", "buy", request.amount, lower, tif="Alo")
    modified = await conn.modify(placed.exchange_order_id, moved, _now_ms() + 10_000)
    assert modified.outcome is Outcome.CONFIRMED, modified
    assert (await conn.order_status(request.cloid)).price == lower
    assert modified.exchange_order_id is not None
    done = await conn.cancel("ETH", modified.exchange_order_id, None)
    assert done.outcome is Outcome.CONFIRMED


async def test_unknown_cloid_is_not_found(conn: HyperliquidConnector) -> None:
    report = await conn.order_status(cloid_from_client_order_id("never-sent"))
    assert report.status is ExchangeOrderStatus.NOT_FOUND


async def test_rule_violations_raise_before_sending(conn: HyperliquidConnector) -> None:
    before = conn.rest.stats.requests
    bad = PlaceOrderRequest(
        cloid_from_client_order_id("x"), "ETH", "buy", Decimal("0.00001"), Decimal("3000")
    )
    with pytest.raises(OrderRuleViolation):
        await conn.place_orders([bad], None)
    assert conn.rest.stats.requests == before


async def test_rejections_and_expired_actions(sim: Any, conn: HyperliquidConnector) -> None:
    sim.faults.reject_next_orders(1, reason="Insufficient margin to place order.")
    [rejected] = await conn.place_orders([await _passive_buy(conn, "rej-1")], None)
    assert rejected.outcome is Outcome.REJECTED and "margin" in (rejected.reason or "")
    request = await _passive_buy(conn, "expired-1")
    [expired] = await conn.place_orders([request], _now_ms() - 1_000)
    assert expired.outcome is Outcome.REJECTED and expired.reason == "Action already expired"
    assert (await conn.order_status(request.cloid)).status is ExchangeOrderStatus.NOT_FOUND


async def test_dropped_reply_is_unknown_then_found(sim: Any, conn: HyperliquidConnector) -> None:
    request = await _passive_buy(conn, "drop-1")
    sim.faults.drop_replies(1)
    [result] = await conn.place_orders([request], _now_ms() + 10_000)
    assert result.outcome is Outcome.UNKNOWN
    assert (await conn.order_status(request.cloid)).status is ExchangeOrderStatus.OPEN


async def test_timeout_is_unknown(sim: Any, conn: HyperliquidConnector) -> None:
    request = await _passive_buy(conn, "slow-1")
    sim.faults.delay_responses(2.0, count=1)
    [result] = await conn.place_orders([request], _now_ms() + 10_000)
    assert result.outcome is Outcome.UNKNOWN and result.reason == "timeout"


async def test_429_is_retried_and_5xx_is_unknown(sim: Any, conn: HyperliquidConnector) -> None:
    first, second = await _passive_buy(conn, "429-1"), await _passive_buy(conn, "429-2")
    request = await _passive_buy(conn, "503-1")
    sim.faults.http_error(429, 1, path="/exchange")
    [ok] = await conn.place_orders([first], None)
    assert ok.outcome is Outcome.CONFIRMED and conn.rest.stats.retries_429 >= 1
    sim.faults.http_error(429, 10, path="/exchange")
    [limited] = await conn.place_orders([second], None)
    assert limited.outcome is Outcome.REJECTED
    sim.faults.reset()
    sim.faults.http_error(503, 1, path="/exchange")
    [unknown] = await conn.place_orders([request], None)
    assert unknown.outcome is Outcome.UNKNOWN and "503" in (unknown.reason or "")
    assert (await conn.order_status(request.cloid)).status is ExchangeOrderStatus.NOT_FOUND
    sim.faults.http_error(503, 1)
    with pytest.raises(ExchangeUnavailable):
        await conn.order_status(request.cloid)


async def test_reconnect_resubscribes_and_calls_back(sim: Any, conn: HyperliquidConnector) -> None:
    called = asyncio.Event()

    async def gap_fill() -> None:
        called.set()

    conn.add_reconnect_callback(gap_fill)
    updates = conn.order_updates()
    sim.faults.close_websockets()
    async with asyncio.timeout(10):
        await called.wait()
        await conn.ws.connected.wait()
    assert conn.ws.stats.reconnects >= 1
    request = await _passive_buy(conn, "after-reconnect")
    await conn.place_orders([request], None)
    pushed = await _next(updates, lambda r: r.cloid == request.cloid)  # resubscribed
    assert pushed.status is ExchangeOrderStatus.OPEN


async def test_fills_positions_and_book(sim: Any, conn: HyperliquidConnector) -> None:
    book = conn.subscribe_book("ETH")
    books = conn.book_updates()
    fills = conn.fills()
    snapshot = await _next(books, lambda b: b.pair == "ETH" and bool(b.asks))
    assert book.best_ask() is not None and book.mid() is not None
    rule = conn.trading_rule("ETH")
    price = rule.quantize_price(snapshot.asks[0].price * Decimal("1.01"))
    amount = rule.quantize_amount(min(snapshot.asks[0].amount, Decimal(1)))
    cloid = cloid_from_client_order_id("taker-1")
    request = PlaceOrderRequest(cloid, "ETH", "buy", max(amount, Decimal("0.01")), price, "Ioc")
    start = _now_ms()
    [result] = await conn.place_orders([request], None)
    assert result.outcome is Outcome.CONFIRMED and result.filled_amount > 0, result
    fill = await _next(fills, lambda f: f.cloid == cloid)
    assert fill.trade_id and not fill.is_maker
    history = await conn.fills_since(start - 1_000)
    assert fill.trade_id in {f.trade_id for f in history}
    positions = {p.pair: p for p in await conn.positions()}
    assert positions["ETH"].size == sum(f.amount for f in history if f.cloid == cloid)
