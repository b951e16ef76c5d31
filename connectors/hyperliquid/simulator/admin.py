"""A loopback admin endpoint of the local exchange: change faults and mark prices at run time.

Off unless ``SimulatorConfig.admin_api`` is set (``oms sim --admin``); answers only clients on
the loopback interface. ``POST /admin`` with a JSON object of any of these keys, applied in
this order::

    {"faults": "delay=0.2,drop_ws=0.05"}       # a new baseline, as --faults takes it ("" clears)
    {"reset_faults": true}                     # clear what earlier calls set
    {"drop_replies": 2}                        # apply the next 2 actions, hang up instead of reply
    {"http_error": {"status": 503, "count": 2, "path": "/info"}}
    {"delay": {"seconds": 1.5, "count": 1}}    # hold the next reply
    {"pause_pushes": 2.0}                      # hold WebSocket pushes for 2 s
    {"close_websockets": true}
    {"mark": {"ETH": "3125.5"}}                # move the reference (mark/mid) price of a coin

The answer is ``{"ok": true, "applied": [...keys], "marks": {...}}``, or HTTP 400 with
``{"error": "..."}`` naming the bad key (nothing applied), 403 from a non-loopback address.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from aiohttp import web

from connectors.hyperliquid.simulator.faults import FaultSpecError, parse_faults
from connectors.simulator_admin import AdminError, AdminPlan, admin_endpoint, require_keys

if TYPE_CHECKING:
    from connectors.hyperliquid.simulator.server import SimulatedExchange

KEYS = ("faults", "reset_faults", "drop_replies", "http_error", "delay", "pause_pushes",
        "close_websockets", "mark")


def _number(value: Any, name: str, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise AdminError(f"{name} must be a number, got {value!r}")
    if not minimum <= value < 1e9:
        raise AdminError(f"{name} must be between {minimum} and 1e9, got {value!r}")
    return float(value)


def _plan(sim: SimulatedExchange, body: Any) -> AdminPlan:
    """Validate everything first, so a bad request changes nothing."""
    body = require_keys(body, KEYS)
    faults = sim.faults
    plan: AdminPlan = []
    if "faults" in body:
        text = body["faults"]
        if not isinstance(text, str):
            raise AdminError('faults must be a string like "delay=0.2,drop_ws=0.05"')
        try:
            spec = parse_faults(text)
        except FaultSpecError as exc:
            raise AdminError(f"faults: {exc}") from None

        def set_spec() -> None:
            faults.spec = spec
            faults.reset()

        plan.append(("faults", set_spec))
    if body.get("reset_faults"):
        plan.append(("reset_faults", faults.reset))
    if "drop_replies" in body:
        count = int(_number(body["drop_replies"], "drop_replies"))
        plan.append(("drop_replies", lambda: faults.drop_replies(count)))
    if "http_error" in body:
        spec_ = body["http_error"]
        if not isinstance(spec_, dict):
            raise AdminError('http_error must be {"status": 503, "count": 1, "path": "/info"}')
        status = int(_number(spec_.get("status"), "http_error.status", 400))
        if not (status == 429 or 500 <= status <= 599):
            raise AdminError("http_error.status must be 429 or 5xx")
        count = int(_number(spec_.get("count", 1), "http_error.count"))
        path = spec_.get("path")
        if path not in (None, "/info", "/exchange"):
            raise AdminError('http_error.path must be "/info", "/exchange" or absent')
        plan.append(("http_error", lambda: faults.http_error(status, count, path)))
    if "delay" in body:
        spec_ = body["delay"]
        if not isinstance(spec_, dict):
            raise AdminError('delay must be {"seconds": 1.5, "count": 1}')
        seconds = _number(spec_.get("seconds"), "delay.seconds")
        raw_count = spec_.get("count")
        count_ = None if raw_count is None else int(_number(raw_count, "delay.count"))
        plan.append(("delay", lambda: faults.delay_responses(seconds, count_)))
    if "pause_pushes" in body:
        seconds_ = _number(body["pause_pushes"], "pause_pushes")
        plan.append(("pause_pushes", lambda: faults.pause_pushes(seconds_)))
    if body.get("close_websockets"):
        plan.append(("close_websockets", faults.close_websockets))
    if "mark" in body:
        plan.append(("mark", _mark_plan(sim, body["mark"])))
    return plan


def _mark_plan(sim: SimulatedExchange, marks: Any) -> Callable[[], object]:
    if not isinstance(marks, dict) or not marks:
        raise AdminError('mark must be {"COIN": "price"}')
    mids = sim.engine.mids
    parsed: dict[str, Decimal] = {}
    for coin, text in marks.items():
        if coin not in mids:
            raise AdminError(f"mark: unknown coin {coin!r}; known: {', '.join(sorted(mids))}")
        try:
            price = Decimal(str(text))
        except InvalidOperation:
            raise AdminError(f"mark: {text!r} is not a number") from None
        if not price.is_finite() or price <= 0:
            raise AdminError(f"mark: the price of {coin} must be a positive number")
        parsed[coin] = price

    def apply() -> None:
        for coin, price in parsed.items():
            sim.set_mark(coin, price)  # fires the triggers it crosses, re-checks margin
        sim.engine.changes += 1

    return apply


def admin_handler(sim: SimulatedExchange) -> Callable[[web.Request], Any]:
    """The ``POST /admin`` handler of ``sim``."""

    async def marks(applied: list[str]) -> dict[str, Any]:
        return {"marks": {coin: str(px) for coin, px in sim.engine.mids.items()}}

    return admin_endpoint(lambda body: _plan(sim, body), marks)
