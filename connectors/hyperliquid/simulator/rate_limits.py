"""The exchange's rate limits, enforced by the local exchange when ``SimulatorConfig.limits`` is
``"real"`` (``oms sim --limits real``): IP weight (HTTP 429, body ``null``), the address budget
(the live ``Too many cumulative requests sent …`` refusal, which costs nothing) and the open-order
cap. The arithmetic is the connector's (:mod:`connectors.hyperliquid.rate_limits`), so a client
that keeps its own budget with it meets no 429.

The IP weight is a token bucket per client address that starts full (1,200) and refills at
1,200 per minute; ``/info`` list replies add their per-item surcharge after they are built.

Example::

    limiter = ExchangeLimiter(config)
    limiter.ip_refused("127.0.0.1", weight=2, now_s=loop.time())   # False
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from connectors.hyperliquid.rate_limits import (
    action_items,
    address_cap,
    address_limit_message,
    cancel_cap,
    exchange_weight,
    info_weight,
)

from .accounts import Account
from .config import SimulatorConfig
from .engine import ExchangeEngine

#: HTTP 429 body of the IP limit: the JSON text ``null`` (reference §13.7).
IP_LIMIT_BODY = b"null"
OPEN_ORDER_LIMIT_ERROR = "Too many open orders."
LIMITED_PASS_S = 10.0
MAX_OPEN_ORDERS_CEILING = 5000
VOLUME_PER_EXTRA_OPEN_ORDER = Decimal(5_000_000)


class ExchangeLimiter:
    """IP weight buckets, address-budget checks and counters of what was refused."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.enabled = config.limits == "real"
        self._buckets: dict[str, tuple[float, float]] = {}  # ip -> (tokens, stamp)
        self.refused_ip = 0
        self.refused_address = 0
        self.weight_by_ip: dict[str, int] = {}
        self._limited_pass_s: dict[int, float] = {}  # id(account) -> when one last got through

    def _spend(self, ip: str, weight: int, now_s: float, may_refuse: bool) -> bool:
        rate = self.config.ip_weight_per_minute / 60.0
        capacity = float(self.config.ip_weight_per_minute)
        tokens, stamp = self._buckets.get(ip, (capacity, now_s))
        tokens = min(capacity, tokens + max(0.0, now_s - stamp) * rate)
        if may_refuse and tokens < weight:
            self._buckets[ip] = (tokens, now_s)
            self.refused_ip += 1
            return False
        self._buckets[ip] = (tokens - weight, now_s)
        self.weight_by_ip[ip] = self.weight_by_ip.get(ip, 0) + weight
        return True

    def ip_refused(self, ip: str, kind: str, body: Any, now_s: float) -> bool:
        """Charge one request's weight to ``ip``; True when it must be answered 429."""
        if not self.enabled:
            return False
        if kind == "action":
            action = body.get("action") if isinstance(body, dict) else None
            weight = exchange_weight(action_items(action))
        else:
            weight = info_weight(str(body.get("type")) if isinstance(body, dict) else "")
        return not self._spend(ip, weight, now_s, may_refuse=True)

    def charge_reply_items(self, ip: str, info_type: str, items: int, now_s: float) -> None:
        """Add the per-item surcharge of an ``/info`` reply (it may take the bucket below 0)."""
        if self.enabled:
            extra = info_weight(info_type, items) - info_weight(info_type, 0)
            if extra > 0:
                self._spend(ip, extra, now_s, may_refuse=False)

    def address_error(self, account: Account, action: Any, now_s: float) -> str | None:
        """The live refusal when ``account`` has no budget left for ``action``, else None.

        A limited address still gets one request through every ``LIMITED_PASS_S`` seconds, and a
        refusal does not restart that window (reference §13.7, recorded).
        """
        if not self.enabled or account.house:
            return None
        items = action_items(action)
        cap = address_cap(account.cum_volume, self.config.address_buffer)
        is_cancel = isinstance(action, dict) and action.get("type") in ("cancel",
                                                                          "cancelByCloid")
        limit = cancel_cap(cap) if is_cancel else cap
        if account.n_requests + items > limit:
            last = self._limited_pass_s.get(id(account))
            if last is None or now_s - last >= LIMITED_PASS_S:
                self._limited_pass_s[id(account)] = now_s
                return None
            self.refused_address += 1
            return address_limit_message(account.n_requests + items, limit, account.cum_volume)
        return None

    def open_order_room(self, engine: ExchangeEngine, user: str) -> int | None:
        """New resting orders ``user`` may still have (1,000 + 1 per 5M USDC traded, at most
        5,000 — reference §10); None when limits are off."""
        if not self.enabled:
            return None
        account = engine.view(user)
        if account.house:
            return None
        base = self.config.max_open_orders
        # A configured base above the live ceiling (a benchmark's burst) is honoured as given.
        cap = min(max(MAX_OPEN_ORDERS_CEILING, base),
                  base + int(account.cum_volume / VOLUME_PER_EXTRA_OPEN_ORDER))
        return cap - len(engine.open_orders(user))
