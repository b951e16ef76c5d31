"""How many journaled orders may leave now, under the exchange's per-account request budget.

The connector mirrors the exchange's address budget (``connectors.base.SendBudget``); this gate
turns it into a decision for the outbox. With room left, a batch may carry at most that many
orders. With none, the configured policy applies:

- ``"queue"`` (default): orders wait in the outbox, in order, and one order goes every
  ``trickle_s`` seconds — what the exchange itself lets through an address that is limited
  (reference §13.7: about one request per 10 s) — until fills raise the budget again;
- ``"refuse"``: every waiting order is answered at once as rejected with a reason that names the
  budget, so the engine journals it as failed (nothing is lost, nothing is sent).

Cancels never wait here: they have their own, higher cap, and reduce risk.

Example::

    gate = BudgetGate(connector.send_budget, "queue")
    allowance = gate.order_allowance(now=loop.time())   # None: no budget known; 0: hold
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from connectors.base import SendBudget

BudgetPolicy = Literal["queue", "refuse"]
TRICKLE_S = 10.0


@dataclass(frozen=True, slots=True)
class SendQueueStatus:
    """A read-only view of the outbox for callers (``OrderManager.send_queue``, ``oms ctl status``).

    ``queued_orders`` journaled orders wait to be sent; ``oldest_queued_s`` is how long the first
    of them (``oldest_client_order_id``) has waited. ``held_reason`` says why they wait when the
    exchange's address budget is spent (None while it has room: they are only being batched).
    ``refused_by_reason`` counts orders answered as refused without being sent, by kind
    (``budget_exhausted`` under policy "refuse", ``expired_in_queue`` when held past their
    ``expiresAfter`` deadline, ``canceled_in_queue`` when canceled while held; ``budget_refused``
    counts the first two).

    Example::

        q = oms.send_queue
        if q.held_reason:
            print(q.queued_orders, "orders held for", q.oldest_queued_s, "s:", q.held_reason)
    """

    queued_orders: int
    budget_refused: int
    oldest_queued_s: float | None = None
    oldest_client_order_id: str | None = None
    held_reason: str | None = None
    next_send_in_s: float | None = None
    address_used: int | None = None
    address_cap: int | None = None
    refused_by_reason: Mapping[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able values (what ``oms ctl status`` prints under ``send_queue``)."""
        return {
            "queued_orders": self.queued_orders,
            "oldest_queued_s": (None if self.oldest_queued_s is None
                                else round(self.oldest_queued_s, 3)),
            "oldest_client_order_id": self.oldest_client_order_id,
            "held_by_budget": self.held_reason is not None,
            "held_reason": self.held_reason,
            "next_send_in_s": (None if self.next_send_in_s is None
                               else round(self.next_send_in_s, 3)),
            "address_used": self.address_used,
            "address_cap": self.address_cap,
            "budget_refused": self.budget_refused,
            "refused_by_reason": dict(self.refused_by_reason),
        }


class BudgetGate:
    """Decides how many queued orders may be sent now (see the module docstring)."""

    def __init__(self, budget: SendBudget | None, policy: BudgetPolicy = "queue",
                 trickle_s: float = TRICKLE_S) -> None:
        if policy not in ("queue", "refuse"):
            raise ValueError(f"budget policy must be 'queue' or 'refuse', not {policy!r}")
        if not trickle_s > 0:
            raise ValueError(f"trickle_s must be a positive number of seconds, not {trickle_s}")
        self.budget = budget
        self.policy = policy
        self.trickle_s = trickle_s
        self._last_trickle: float | None = None
        #: Orders handed to the connector whose reply has not come yet: the connector counts an
        #: action when it is answered, so concurrent batches must not spend the same room twice.
        self._in_flight = 0
        #: Orders answered as refused because the budget was exhausted (policy "refuse") or
        #: because they were held past their deadline, in total and by kind.
        self.refused = 0
        self.refused_by_reason: dict[str, int] = {}

    def order_allowance(self, now: float) -> int | None:
        """Orders that may go now: None (no budget known), a positive count, or 0 (hold)."""
        if self.budget is None:
            return None
        room = self.budget.address_room(is_cancel=False) - self._in_flight
        if room > 0:
            return room
        if self.policy == "queue" and (self._last_trickle is None
                                       or now - self._last_trickle >= self.trickle_s):
            self._last_trickle = now
            return 1
        return 0

    def count_refusal(self, kind: str) -> None:
        """Count one order answered as refused without being sent (``kind``:
        ``budget_exhausted``, ``expired_in_queue`` or ``canceled_in_queue``)."""
        if kind != "canceled_in_queue":  # a withdrawal is the caller's choice, not the budget's
            self.refused += 1
        self.refused_by_reason[kind] = self.refused_by_reason.get(kind, 0) + 1

    def held_reason(self) -> str | None:
        """Why queued orders cannot go now, or None while the budget has room (or is unknown).

        Read-only: unlike :meth:`order_allowance` it never takes the trickle's slot.
        """
        if self.budget is None:
            return None
        if self.budget.address_room(is_cancel=False) - self._in_flight > 0:
            return None
        used, cap = self.address_counters()
        counters = f" ({used} of {cap} requests used)" if used is not None else ""
        if self.policy == "refuse":
            return (f"address budget exhausted{counters}: new orders are refused "
                    "(budget_policy='refuse'); trade volume raises the budget")
        return (f"address budget exhausted{counters}: orders wait in the outbox and one goes "
                f"every {self.trickle_s:g} s until fills raise the budget (1 request per USDC "
                "traded); cancels are not held")

    def address_counters(self) -> tuple[int | None, int | None]:
        """(requests used, cap) when the budget exposes them (the Hyperliquid ``RateBudget``)."""
        used = getattr(self.budget, "address_used", None)
        cap = getattr(self.budget, "address_cap", None)
        if isinstance(used, int) and isinstance(cap, int):
            return used, cap
        return None, None

    def sending(self, orders: int) -> None:
        """``orders`` are leaving now (call :meth:`answered` when their reply is in)."""
        self._in_flight += orders

    def answered(self, orders: int) -> None:
        """The reply for ``orders`` handed out with :meth:`sending` is in (or never will be)."""
        self._in_flight = max(0, self._in_flight - orders)

    def next_try_in(self, now: float) -> float:
        """Seconds until a held queue may send again (its trickle)."""
        if self._last_trickle is None:
            return 0.0
        return max(0.0, self._last_trickle + self.trickle_s - now)

    @staticmethod
    def refusal_reason() -> str:
        """The journaled reason of an order refused because the budget is exhausted."""
        return ("rate budget exhausted: the exchange's per-account request budget (10,000 + 1 "
                "per USDC traded) is spent; trade volume raises it, or use budget_policy='queue'")
