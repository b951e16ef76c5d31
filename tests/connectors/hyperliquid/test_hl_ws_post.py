"""Actions over the WebSocket (``post``): same outcomes as REST, REST when the socket is down,
and a post whose reply never comes is unknown (resolved by status, never resent)."""

from __future__ import annotations

import time
from decimal import Decimal

from eth_account import Account

from connectors.base import Outcome, PlaceOrderRequest
from connectors.hyperliquid import HyperliquidConnector
from connectors.hyperliquid.simulator import SimulatedExchange


def _request(n: int, reduce_only: bool = False) -> PlaceOrderRequest:
    return PlaceOrderRequest(f"0x{n:032x}", "ETH", "buy", Decimal("0.01"), Decimal("1000"),
                             reduce_only=reduce_only)


def _deadline() -> int:
    return time.time_ns() // 1_000_000 + 10_000


async def test_orders_go_over_the_socket_then_rest_when_it_is_down(
        sim: SimulatedExchange) -> None:
    wallet = Account.create()
    sim.fund(wallet.address)
    rest_actions: list[bytes] = []
    sim.on_action = rest_actions.append
    async with HyperliquidConnector(sim.base_url, private_key="0x" + bytes(wallet.key).hex(),
                                    actions_over_ws=True, rules_refresh_s=0) as conn:
        assert conn.poster is not None
        [placed] = await conn.place_orders([_request(1)], _deadline())
        assert placed.outcome is Outcome.CONFIRMED and conn.poster.sent == 1
        [refused] = await conn.place_orders([_request(2, reduce_only=True)], _deadline())
        assert refused.outcome is Outcome.REJECTED and "Reduce only" in (refused.reason or "")
        assert rest_actions == []  # nothing went over REST
        assert sim.truth.orders(wallet.address)[_request(1).cloid]["status"] == "open"
        await conn.ws.close()  # the socket is down (and stays down)
        [fallback] = await conn.place_orders([_request(3)], _deadline())
        assert fallback.outcome is Outcome.CONFIRMED
        assert len(rest_actions) == 1 and conn.poster.fallbacks == 1


async def test_a_post_without_a_reply_is_unknown(sim: SimulatedExchange) -> None:
    wallet = Account.create()
    sim.fund(wallet.address)
    async with HyperliquidConnector(sim.base_url, private_key="0x" + bytes(wallet.key).hex(),
                                    actions_over_ws=True, rules_refresh_s=0) as conn:
        assert conn.poster is not None
        conn.poster.timeout_s = 0.0  # no reply can arrive in time
        [result] = await conn.place_orders([_request(4)], _deadline())
        assert result.outcome is Outcome.UNKNOWN and "no reply" in (result.reason or "")
        status = await conn.order_status(_request(4).cloid)  # resolved by cloid, not resent
        assert status.exchange_order_id is not None
        assert len(sim.truth.orders(wallet.address)) == 1
