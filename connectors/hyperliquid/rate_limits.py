"""Hyperliquid's rate limits as the exchange counts them, shared by the connector and the local
exchange (reference §10 and §13.7, from the exchange's rate-limit docs).

* **IP weight**: 1,200 per minute. ``/exchange`` costs ``1 + floor(items / 40)`` (one signed action
  of 39 orders costs 1, of 40 costs 2); ``/info`` costs 2, 20 or 60 by type, plus 1 per 20 items
  returned for the list-type requests. A refusal is HTTP 429 with the body ``null``.
* **Address budget** (per account; actions only): ``10,000 + 1 per USDC traded`` requests,
  where an action of n orders or cancels counts n; cancels may go on up to
  ``min(cap + 100,000, 2 × cap)``.
  A refusal (HTTP 200 ``err`` "Too many cumulative requests sent …") costs nothing.

:class:`RateBudget` is the client side: a token bucket for the IP weight (it starts full, like the
exchange's window) and a mirror of the address counter, so a sender can wait or hold orders back
*before* the exchange would refuse them. Time is passed in (``now`` in seconds, monotonic), so the
arithmetic is testable without sleeping.

Example::

    budget = RateBudget()
    budget.ip_wait(exchange_weight(39), now=0.0)   # 0.0: send now (the weight is taken)
    budget.address_room(is_cancel=False)           # 10000 before any volume
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

log = logging.getLogger(__name__)

IP_WEIGHT_PER_MINUTE = 1200
ADDRESS_BUFFER = 10_000
CANCEL_EXTRA = 100_000
ITEMS_PER_EXCHANGE_WEIGHT = 40
MAX_ITEMS_PER_ACTION = 200  # "Signed action over weight limit of 200." (reference §13.7)

INFO_WEIGHT_2 = frozenset({"l2Book", "allMids", "clearinghouseState", "orderStatus",
                           "spotClearinghouseState", "exchangeStatus"})
INFO_WEIGHT_60 = frozenset({"userRole"})
INFO_PER_20_ITEMS = frozenset({
    "recentTrades", "historicalOrders", "userFills", "userFillsByTime", "fundingHistory",
    "userFunding", "nonUserFundingUpdates", "twapHistory", "userTwapSliceFills",
    "userTwapSliceFillsByTime", "delegatorHistory", "delegatorRewards", "validatorStats"})


def exchange_weight(items: int) -> int:
    """IP weight of one ``/exchange`` action carrying ``items`` orders or cancels."""
    return 1 + max(0, items) // ITEMS_PER_EXCHANGE_WEIGHT


def info_weight(info_type: str, items_returned: int = 0) -> int:
    """IP weight of one ``/info`` request (the per-item surcharge needs the reply's length)."""
    if info_type in INFO_WEIGHT_2:
        base = 2
    elif info_type in INFO_WEIGHT_60:
        base = 60
    else:
        base = 20
    if info_type in INFO_PER_20_ITEMS:
        base += items_returned // 20
    if info_type == "candleSnapshot":
        base += items_returned // 60
    return base


def action_items(action: Any) -> int:
    """How many orders/cancels/modifies an action carries (1 for anything else)."""
    if not isinstance(action, dict):
        return 1
    for key in ("orders", "cancels", "modifies"):
        value = action.get(key)
        if isinstance(value, list):
            return len(value)
    return 1


def is_cancel_action(action: Any) -> bool:
    """Whether the address budget counts ``action`` against the (higher) cancel cap."""
    return isinstance(action, dict) and action.get("type") in ("cancel", "cancelByCloid")


def address_cap(cum_volume_usdc: Decimal, buffer: int = ADDRESS_BUFFER) -> int:
    """Requests an address may have sent for its traded volume."""
    return buffer + int(cum_volume_usdc)


def cancel_cap(cap: int) -> int:
    """The cap that cancels may go on to once orders are limited."""
    return min(cap + CANCEL_EXTRA, cap * 2)


def address_limit_message(used: int, cap: int, cum_volume_usdc: Decimal) -> str:
    """The exchange's refusal text for the address budget (reference §13.7, verbatim shape)."""
    return (f"Too many cumulative requests sent ({used} > {cap}) for cumulative volume traded "
            f"${cum_volume_usdc.quantize(Decimal('0.01'))}. Place taker orders to free up 1 "
            "request per USDC traded.")


class BudgetConfigError(ValueError):
    """A negative or non-finite budget setting; the message names it."""


@dataclass(slots=True)
class RateBudget:
    """Client-side mirror of the IP weight and the address budget (see the module docstring).

    ``ip_weight_per_minute`` and ``address_buffer`` default to the exchange's; lower them to
    leave room for other processes sharing the IP or the address.
    """

    ip_weight_per_minute: int = IP_WEIGHT_PER_MINUTE
    address_buffer: int = ADDRESS_BUFFER
    #: Part of the IP bucket never spent: the exchange's window starts when our first request
    #: *arrives*, so latency differences between requests must not push us over.
    ip_headroom: float = 0.05
    #: Requests the address has used and its traded volume, as last told by ``userRateLimit``
    #: and counted since.
    address_used: int = 0
    cum_volume: Decimal = Decimal(0)
    _tokens: float = field(default=-1.0, repr=False)
    _stamp: float | None = field(default=None, repr=False)
    weight_spent: int = 0
    waited_s: float = 0.0

    def __post_init__(self) -> None:
        if self.ip_weight_per_minute <= 0:
            raise BudgetConfigError(
                f"ip_weight_per_minute must be positive, not {self.ip_weight_per_minute}")
        if not 0 <= self.ip_headroom < 1:
            raise BudgetConfigError(f"ip_headroom must be in [0, 1), not {self.ip_headroom}")
        if self.address_buffer < 0:
            raise BudgetConfigError(
                f"address_buffer must be >= 0, not {self.address_buffer}: it is the exchange's "
                "10,000 initial requests (lower it to share the address with another process)")
        self._tokens = float(self.ip_weight_per_minute)

    def _refill(self, now: float) -> None:
        if self._stamp is not None and now > self._stamp:
            rate = self.ip_weight_per_minute / 60.0
            self._tokens = min(float(self.ip_weight_per_minute),
                               self._tokens + (now - self._stamp) * rate)
        self._stamp = now if self._stamp is None else max(self._stamp, now)

    def ip_wait(self, weight: int, now: float) -> float:
        """Take ``weight`` now; returns how long to wait before sending (0.0: at once).

        The weight is reserved even when a wait is returned (the bucket goes negative), so
        concurrent senders queue behind each other instead of all waking at once.
        """
        self._refill(now)
        self._tokens -= weight
        self.weight_spent += weight
        floor = self.ip_headroom * self.ip_weight_per_minute
        if self._tokens >= floor:
            return 0.0
        wait = (floor - self._tokens) / (self.ip_weight_per_minute / 60.0)
        self.waited_s += wait
        return wait

    def ip_available(self, now: float) -> float:
        """Weight that could be spent now without waiting."""
        self._refill(now)
        return max(0.0, self._tokens - self.ip_headroom * self.ip_weight_per_minute)

    @property
    def address_cap(self) -> int:
        """Requests allowed for the traded volume so far."""
        return address_cap(self.cum_volume, self.address_buffer)

    def address_room(self, is_cancel: bool) -> int:
        """Orders (or cancels) the address may still send."""
        cap = cancel_cap(self.address_cap) if is_cancel else self.address_cap
        return max(0, cap - self.address_used)

    def spend_address(self, items: int) -> None:
        """Count an action of ``items`` orders/cancels the exchange accepted for processing."""
        self.address_used += items

    def traded(self, notional_usdc: Decimal) -> None:
        """Raise the cap by a fill's notional (1 request per USDC traded)."""
        self.cum_volume += notional_usdc

    def sync(self, used: int, cum_volume: Decimal) -> None:
        """Adopt the exchange's own counters."""
        self.address_used = used
        self.cum_volume = cum_volume

    def sync_from(self, user_rate_limit: Any) -> bool:
        """Adopt a ``userRateLimit`` reply; False (and nothing changed) when it has no counters."""
        try:
            used = int(user_rate_limit["nRequestsUsed"])
            volume = Decimal(str(user_rate_limit["cumVlm"]))
        except (KeyError, TypeError, ValueError, ArithmeticError):
            log.warning("userRateLimit reply without counters: counting from zero")
            return False
        if used < 0 or not volume.is_finite():
            return False
        self.sync(used, volume)
        if isinstance(user_rate_limit, dict):
            self._adopt_cap(user_rate_limit.get("nRequestsCap"), volume)
        return True

    def _adopt_cap(self, cap: Any, volume: Decimal) -> None:
        """Lower the buffer to the exchange's when its ``nRequestsCap`` says the account has less
        (cap = buffer + floor(volume), reference §13.7): never raised, so a buffer lowered on
        purpose (to share the address) stays; a missing or odd cap changes nothing."""
        if isinstance(cap, bool) or not isinstance(cap, int):
            return
        buffer = cap - int(volume)
        if 0 <= buffer < self.address_buffer:
            log.info("userRateLimit: the exchange's address buffer is %d (not %d): adopting it",
                     buffer, self.address_buffer)
            self.address_buffer = buffer

    def count_reply(self, items: int, kind: str, response: Any) -> None:
        """Count an ``/exchange`` reply: an accepted action spends ``items``; the exchange's own
        address-limit refusal means our mirror was behind, so the budget is taken as spent."""
        if kind == "ok":
            self.spend_address(items)
        elif kind == "err" and str(response).startswith("Too many cumulative requests"):
            self.address_used = max(self.address_used, self.address_cap)
