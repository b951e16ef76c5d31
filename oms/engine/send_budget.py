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

from dataclasses import dataclass
from typing import Literal

from connectors.base import SendBudget

BudgetPolicy = Literal["queue", "refuse"]
TRICKLE_S = 10.0


@dataclass(frozen=True, slots=True)
class SendQueueStatus:
    """A read-only view of the outbox for callers (``OrderManager.send_queue``)."""

    queued_orders: int
    budget_refused: int


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
        #: Orders answered as refused because the budget was exhausted (policy "refuse").
        self.refused = 0

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
