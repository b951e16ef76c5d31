"""A loopback admin endpoint of the local dYdX exchange: oracle prices and faults at run time.

Off unless ``DydxSimConfig.admin_api`` is set (``oms sim --exchange dydx --admin``); answers only
clients on the loopback interface, as the Hyperliquid one does. ``POST /admin`` with a JSON object
of any of these keys (all validated first: a bad request changes nothing)::

    {"oracle": {"ETH-USD": "2900.5"}}    # move oracle prices: fires conditional orders, moves
                                         # funding, equity and liquidations
    {"lag": 0.5}                         # Indexer lag behind the chain, seconds
    {"drop_best_effort": 0.1}            # probability a best-effort order update is lost
    {"market_paused": true}              # the market maker holds still (blocks still come)
    {"funding_paused": true}             # no funding payments until set back to false
    {"fund": {"address": "dydx1…", "usdc": "1000"}}   # deposit into subaccount 0
    {"close_websockets": true}           # drop every Indexer WebSocket

Answer: ``{"ok": true, "applied": [...keys], "oracle": {...}}``; HTTP 400 ``{"error": "..."}``
naming the bad key; 403 from a non-loopback address.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from aiohttp import web

from connectors.simulator_admin import AdminError, AdminPlan, admin_endpoint, require_keys

if TYPE_CHECKING:
    from connectors.dydx.simulator.server import DydxSimulator

KEYS = ("oracle", "lag", "drop_best_effort", "market_paused", "funding_paused", "fund",
        "close_websockets")


def _price(raw: Any, name: str) -> Decimal:
    try:
        value = Decimal(str(raw)) if isinstance(raw, (str, int)) else None
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value <= 0:
        raise AdminError(f"{name} must be a positive number as a string, got {raw!r}")
    return value


def _fraction(raw: Any, name: str, upper: float) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not 0 <= raw <= upper:
        raise AdminError(f"{name} must be a number from 0 to {upper}, got {raw!r}")
    return float(raw)


def _flag(raw: Any, name: str) -> bool:
    if not isinstance(raw, bool):
        raise AdminError(f"{name} must be true or false, got {raw!r}")
    return raw


def _plan(sim: DydxSimulator, body: Any) -> AdminPlan:
    body = require_keys(body, KEYS)
    plan: AdminPlan = []
    if "oracle" in body:
        raw = body["oracle"]
        if not isinstance(raw, dict) or not raw:
            raise AdminError('oracle must be an object like {"ETH-USD": "2900"}')
        known = set(sim.chain.oracle_prices)
        prices = {}
        for ticker, price in raw.items():
            if ticker not in known:
                raise AdminError(f"oracle: unknown market {ticker!r}; known: {sorted(known)}")
            prices[ticker] = _price(price, f"oracle[{ticker}]")
        def move() -> None:
            for ticker, price in prices.items():
                sim.set_oracle(ticker, price)

        plan.append(("oracle", move))
    if "lag" in body:
        lag = _fraction(body["lag"], "lag", 60.0)
        plan.append(("lag", lambda: setattr(sim, "indexer_lag_s", lag)))
    if "drop_best_effort" in body:
        drop = _fraction(body["drop_best_effort"], "drop_best_effort", 1.0)
        plan.append(("drop_best_effort", lambda: setattr(sim.db, "drop_best_effort", drop)))
    if "market_paused" in body:
        paused = _flag(body["market_paused"], "market_paused")
        plan.append(("market_paused", lambda: setattr(sim, "market_paused", paused)))
    if "funding_paused" in body:
        still = _flag(body["funding_paused"], "funding_paused")
        plan.append(("funding_paused",
                     lambda: setattr(sim.chain.settlement, "funding_paused", still)))
    if "fund" in body:
        raw = body["fund"]
        address = raw.get("address") if isinstance(raw, dict) else None
        if not isinstance(address, str) or not address.startswith("dydx1"):
            raise AdminError('fund must be {"address": "dydx1…", "usdc": "1000"}')
        usdc = _price(raw.get("usdc"), "fund.usdc")
        plan.append(("fund", lambda: sim.fund(address, usdc)))
    if body.get("close_websockets") is True:
        plan.append(("close_websockets", lambda: None))  # done by the handler (a coroutine)
    return plan


def admin_handler(sim: DydxSimulator) -> Callable[[web.Request], Any]:
    """The ``POST /admin`` handler of ``sim``."""

    async def finish(applied: list[str]) -> dict[str, Any]:
        if "close_websockets" in applied:
            await sim.close_websockets()
        with sim.chain.lock:
            return {"oracle": {t: str(p) for t, p in sim.chain.oracle_prices.items()}}

    return admin_endpoint(lambda body: _plan(sim, body), finish)
