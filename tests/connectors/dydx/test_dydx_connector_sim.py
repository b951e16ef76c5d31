"""The dYdX connector end to end on the local dYdX exchange (real gRPC, HTTP and WebSocket)."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from pathlib import Path

import pytest
from dydx_helpers import ADDRESS, connector_for

from connectors.base import ExchangeOrderStatus, OrderRuleViolation, Outcome, PlaceOrderRequest
from connectors.dydx import DydxConnector, NotYetCertain
from connectors.dydx.simulator import DydxSimulator


def _cloid(n: int) -> str:
    return "0x" + f"{n:032x}"


def _deadline(s: float = 1.0) -> int:
    return time.time_ns() // 1_000_000 + int(s * 1000)


async def _until(probe, expected, timeout_s: float = 5.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    value = None
    while time.monotonic() < deadline:
        value = await probe()
        if value == expected:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {expected!r}, last saw {value!r}")


async def test_rules_come_from_perpetual_markets(dydx_conn: DydxConnector) -> None:
    rule = dydx_conn.trading_rule("ETH-USD")
    assert rule.quantize_amount(Decimal("0.0129")) == Decimal("0.012")
    assert rule.quantize_price(Decimal("3000.04")) == Decimal("3000")
    with pytest.raises(OrderRuleViolation, match=r"step 0\.001"):
        await dydx_conn.place_orders(
            [PlaceOrderRequest(_cloid(1), "ETH-USD", "buy", Decimal("0.0105"), Decimal("3000"))],
            _deadline())
    with pytest.raises(OrderRuleViolation, match=r"tick 0\.1"):
        await dydx_conn.place_orders(
            [PlaceOrderRequest(_cloid(1), "ETH-USD", "buy", Decimal("0.01"), Decimal("3000.05"))],
            _deadline())
    assert len(dydx_conn.ids) == 0, "nothing is journaled (or sent) for a refused order"


async def test_long_term_order_rests_streams_and_cancels(dydx_conn: DydxConnector) -> None:
    updates = dydx_conn.order_updates()
    req = PlaceOrderRequest(_cloid(2), "ETH-USD", "buy", Decimal("0.05"), Decimal("2500"))
    [result] = await dydx_conn.place_orders([req], _deadline())
    assert result.outcome is Outcome.CONFIRMED and result.resting
    assert dydx_conn.ids.by_cloid(req.cloid).client_id == 1  # type: ignore[union-attr]

    async def status() -> ExchangeOrderStatus:
        try:
            return (await dydx_conn.order_status(req.cloid)).status
        except NotYetCertain:
            return ExchangeOrderStatus.NOT_FOUND

    await _until(status, ExchangeOrderStatus.OPEN)
    report = await asyncio.wait_for(updates.__anext__(), 5)
    assert report.cloid == req.cloid and report.pair == "ETH-USD"
    assert report.amount == Decimal("0.05") and report.price == Decimal("2500")
    [open_order] = await dydx_conn.open_orders()
    assert open_order.cloid == req.cloid
    cancel = await dydx_conn.cancel_by_cloid("ETH-USD", req.cloid, _deadline())
    assert cancel.outcome is Outcome.CONFIRMED, cancel.reason
    await _until(status, ExchangeOrderStatus.CANCELED)
    assert await dydx_conn.open_orders() == []


async def test_ioc_fills_against_resting_order_and_reports_fills(
    dydx_sim: DydxSimulator, dydx_conn: DydxConnector, tmp_path: Path
) -> None:
    fills = dydx_conn.fills()
    rest = PlaceOrderRequest(_cloid(3), "ETH-USD", "sell", Decimal("0.1"), Decimal("3000"))
    assert (await dydx_conn.place_orders([rest], _deadline()))[0].outcome is Outcome.CONFIRMED
    await _until(lambda: _open_count(dydx_conn), 1)
    # A second account takes it with a short-term IOC buy: both sides fill at 3000.
    taker_words = ("abandon " * 11 + "about").strip()
    from connectors.dydx.signing import DydxKey

    dydx_sim.fund(DydxKey.from_mnemonic(taker_words).address)
    taker = connector_for(dydx_sim, None, mnemonic=taker_words)
    await taker.start()
    try:
        ioc = PlaceOrderRequest(_cloid(4), "ETH-USD", "buy", Decimal("0.04"), Decimal("3001"),
                                tif="Ioc")
        [result] = await taker.place_orders([ioc], _deadline())
        assert result.outcome is Outcome.CONFIRMED and not result.resting
        fill = await asyncio.wait_for(fills.__anext__(), 5)
        assert (fill.cloid, fill.side, fill.price, fill.amount, fill.is_maker) == (
            rest.cloid, "sell", Decimal("3000"), Decimal("0.04"), True)
        assert fill.fee == Decimal("0.012")  # 100 ppm of 120 USDC
        report = await dydx_conn.order_status(rest.cloid)
        assert report.status is ExchangeOrderStatus.OPEN and report.remaining == Decimal("0.06")
        [again] = await dydx_conn.fills_since(fill.timestamp_ms)
        assert again.trade_id == fill.trade_id
        assert [(p.pair, p.size) for p in await dydx_conn.positions()] == [
            ("ETH-USD", Decimal("-0.04"))]
        assert (await taker.order_status(ioc.cloid)).status is ExchangeOrderStatus.FILLED
    finally:
        await taker.close()


async def _open_count(conn: DydxConnector) -> int:
    return len(await conn.open_orders())


async def test_never_sent_expired_and_removed_orders(
    dydx_sim: DydxSimulator, dydx_conn: DydxConnector
) -> None:
    never = await dydx_conn.order_status(_cloid(99))
    assert never.status is ExchangeOrderStatus.NOT_FOUND and never.raw_status == "never sent"
    # A short-term IOC far from the book: accepted, canceled unfilled at the next block, and
    # forgotten by the Indexer; once its goodTilBlock is indexed, "gone" is certain.
    ioc = PlaceOrderRequest(_cloid(6), "ETH-USD", "sell", Decimal("0.01"), Decimal("3500"),
                            tif="Ioc")
    [result] = await dydx_conn.place_orders([ioc], _deadline(0.3))
    assert result.outcome is Outcome.CONFIRMED
    report = await _until_status(dydx_conn, ioc.cloid, ExchangeOrderStatus.CANCELED)
    assert report.raw_status.startswith(("gone after block", "CANCELED"))
    # A post-only (Alo) long-term order that would cross is removed when its block runs it.
    bid = PlaceOrderRequest(_cloid(5), "ETH-USD", "buy", Decimal("0.01"), Decimal("2900"))
    await dydx_conn.place_orders([bid], _deadline())
    await _until(lambda: _open_count(dydx_conn), 1)
    alo = PlaceOrderRequest(_cloid(9), "ETH-USD", "sell", Decimal("0.01"), Decimal("2800"),
                            tif="Alo")
    [result] = await dydx_conn.place_orders([alo], _deadline())
    assert result.outcome is Outcome.CONFIRMED
    await _until_status(dydx_conn, alo.cloid, ExchangeOrderStatus.CANCELED)
    record = dydx_conn.ids.by_cloid(alo.cloid)
    assert record is not None
    truth = dydx_sim.truth_orders(ADDRESS)[record.client_id]
    assert truth["reason"] == "ORDER_REMOVAL_REASON_POST_ONLY_WOULD_CROSS_MAKER_ORDER"


async def test_client_ids_survive_a_restart(dydx_sim: DydxSimulator, tmp_path: Path) -> None:
    ids = tmp_path / "ids.jsonl"
    first = connector_for(dydx_sim, ids)
    await first.start()
    req = PlaceOrderRequest(_cloid(7), "BTC-USD", "buy", Decimal("0.001"), Decimal("50000"))
    await first.place_orders([req], _deadline())
    await first.close()
    second = connector_for(dydx_sim, ids)
    await second.start()
    try:
        assert second.ids.by_cloid(req.cloid).client_id == 1  # type: ignore[union-attr]
        report = await _until_status(second, req.cloid, ExchangeOrderStatus.OPEN)
        assert report.cloid == req.cloid
        nxt = PlaceOrderRequest(_cloid(8), "BTC-USD", "buy", Decimal("0.001"), Decimal("50000"))
        await second.place_orders([nxt], _deadline())
        assert second.ids.by_cloid(nxt.cloid).client_id == 2  # type: ignore[union-attr]
    finally:
        await second.close()
    assert ADDRESS in ids.read_text().splitlines()[0]


async def _until_status(conn: DydxConnector, cloid: str, status: ExchangeOrderStatus):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 5
    while True:
        try:
            report = await conn.order_status(cloid)
            if report.status is status:
                return report
        except NotYetCertain:
            pass
        assert time.monotonic() < deadline, "status not reached"
        await asyncio.sleep(0.05)


async def test_order_book_stream_follows_the_indexer(dydx_conn: DydxConnector) -> None:
    books = dydx_conn.book_updates()
    dydx_conn.subscribe_book("ETH-USD")
    first = await asyncio.wait_for(books.__anext__(), 5)
    assert first.pair == "ETH-USD" and first.bids == () and first.asks == ()
    for cloid, side, price in ((_cloid(40), "buy", "2990"), (_cloid(41), "sell", "3010")):
        req = PlaceOrderRequest(cloid, "ETH-USD", side, Decimal("0.02"), Decimal(price))  # type: ignore[arg-type]
        await dydx_conn.place_orders([req], _deadline())
    deadline = time.monotonic() + 5
    book = first
    while not (book.bids and book.asks):
        assert time.monotonic() < deadline, "the book never showed both orders"
        book = await asyncio.wait_for(books.__anext__(), 5)
    assert (book.bids[0].price, book.bids[0].amount) == (Decimal("2990"), Decimal("0.02"))
    assert (book.asks[0].price, book.asks[0].amount) == (Decimal("3010"), Decimal("0.02"))
    await dydx_conn.cancel_by_cloid("ETH-USD", _cloid(40), _deadline())
    while book.bids:
        assert time.monotonic() < deadline, "the canceled bid never left the book"
        book = await asyncio.wait_for(books.__anext__(), 5)
