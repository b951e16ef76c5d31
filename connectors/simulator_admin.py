"""The request handling every local exchange's ``POST /admin`` endpoint shares.

Each simulator (``connectors/hyperliquid/simulator/admin.py``, ``connectors/dydx/simulator/
admin.py``) knows its own keys and turns a request's JSON object into a *plan*: a list of
``(key, action)`` pairs, every value validated before any action runs, so a bad request changes
nothing. This module does the rest, the same way for both: loopback only (403 otherwise), the
body must be JSON (400), the simulator's plan or its :class:`AdminError` (400 naming the bad key),
then every action in order and the answer ``{"ok": true, "applied": [...keys], ...}``.

Example::

    def plan(body: Any) -> AdminPlan:
        known = require_keys(body, ("lag",))
        return [("lag", lambda: sim.set_lag(known["lag"]))]

    app.router.add_post("/admin", admin_endpoint(plan, sim_summary))
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson
from aiohttp import web

AdminAction = Callable[[], object]
AdminPlan = list[tuple[str, AdminAction]]


class AdminError(ValueError):
    """A bad admin request; the message names the key and what is expected."""


def require_keys(body: Any, keys: Sequence[str]) -> dict[str, Any]:
    """``body`` as a non-empty JSON object of only ``keys``; else :class:`AdminError`."""
    if not isinstance(body, dict) or not body:
        raise AdminError(f"send a JSON object with any of: {', '.join(keys)}")
    unknown = sorted(set(body) - set(keys))
    if unknown:
        raise AdminError(f"unknown key(s) {unknown}; known: {', '.join(keys)}")
    return body


def is_loopback(remote: str | None) -> bool:
    """Whether a request's peer address is on the loopback interface (``None``: no)."""
    try:
        return remote is not None and ipaddress.ip_address(remote).is_loopback
    except ValueError:
        return False


def admin_endpoint(
    plan: Callable[[Any], AdminPlan],
    finish: Callable[[list[str]], Awaitable[dict[str, Any]]],
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The ``POST /admin`` handler over a simulator's ``plan`` (body → validated actions).

    After the actions ran, ``finish(applied_keys)`` does what must be awaited (closing
    WebSockets) and returns the simulator's own fields of the answer (its prices).
    """

    async def handle(request: web.Request) -> web.Response:
        if not is_loopback(request.remote):
            return web.json_response({"error": "the admin endpoint answers loopback only"},
                                     status=403)
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return web.json_response({"error": "the body is not JSON"}, status=400)
        try:
            actions = plan(body)
        except AdminError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        for _, action in actions:
            action()
        applied = [key for key, _ in actions]
        extra = await finish(applied)
        return web.json_response({"ok": True, "applied": applied, **extra})

    return handle
