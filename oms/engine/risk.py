"""Pre-trade risk checks: pure decisions on an order before it is journaled and sent.

A refused order is not an exception: the engine journals it as rejected (``source="risk"``) with the
reason returned here, so the refusal is part of the audit trail.

Example::

    limits = RiskLimits(max_order_notional=Decimal("50000"), max_open_orders=100)
    gate = RiskGate(limits)
    reason = gate.check(pair="ETH", side="buy", amount=Decimal("1"), price=Decimal("3000"),
                        open_orders=3, position=Decimal("0"), now_ns=time.time_ns())
    assert reason is None
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """Limits applied to every new order. ``None`` disables a limit.

    ``max_position`` bounds the absolute net position per pair after the order would fully fill
    (a per-pair mapping overrides ``max_position_default``). ``max_orders_per_second`` is a sliding
    one-second window over accepted submissions. ``kill_switch`` refuses every new order.
    """

    max_order_notional: Decimal | None = None
    max_open_orders: int | None = None
    max_position_default: Decimal | None = None
    max_position: Mapping[str, Decimal] = field(default_factory=dict)
    max_orders_per_second: int | None = None
    kill_switch: bool = False


class RiskGate:
    """Evaluates :class:`RiskLimits`; keeps only the rate window as state."""

    __slots__ = ("_recent", "limits")

    def __init__(self, limits: RiskLimits) -> None:
        self.limits = limits
        self._recent: deque[int] = deque()

    def check(
        self,
        *,
        pair: str,
        side: str,
        amount: Decimal,
        price: Decimal,
        open_orders: int,
        position: Decimal,
        now_ns: int,
        reduce_only: bool = False,
    ) -> str | None:
        """Return ``None`` if the order may go, else the reason it is refused.

        A passing check counts towards the orders-per-second window.
        """
        limits = self.limits
        if limits.kill_switch:
            return "kill switch is on: no new orders (turn it off with set_kill_switch(False))"
        notional = amount * price
        if limits.max_order_notional is not None and notional > limits.max_order_notional:
            return (
                f"order notional {notional} exceeds max_order_notional {limits.max_order_notional}"
            )
        if limits.max_open_orders is not None and open_orders >= limits.max_open_orders:
            return f"{open_orders} open orders: max_open_orders {limits.max_open_orders} reached"
        cap = limits.max_position.get(pair, limits.max_position_default)
        if cap is not None and not reduce_only:
            after = position + amount if side == "buy" else position - amount
            if abs(after) > cap and abs(after) > abs(position):
                return f"{pair} position would reach {after}, beyond max_position {cap}"
        if limits.max_orders_per_second is not None:
            window_start = now_ns - 1_000_000_000
            recent = self._recent
            while recent and recent[0] <= window_start:
                recent.popleft()
            if len(recent) >= limits.max_orders_per_second:
                return f"rate limit: more than {limits.max_orders_per_second} orders in one second"
            recent.append(now_ns)
        return None
