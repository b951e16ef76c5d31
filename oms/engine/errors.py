"""Engine errors: each says what happened and what to do."""

from __future__ import annotations


class EngineClosed(RuntimeError):
    """The engine is not open for trading (not started, closed, or stopped after a failure)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"the order manager is not trading: {reason}")
        self.reason = reason


class RecoveryFailed(RuntimeError):
    """Start-up recovery could not complete; the engine stays closed (fail closed).

    ``step`` names the step (claim, replay, verify, connect, reconcile, fills, sweep, journal).
    """

    def __init__(self, step: str, detail: str) -> None:
        super().__init__(
            f"recovery failed at step '{step}': {detail}. The engine stays closed; fix the cause"
            " and start it again (nothing was traded)"
        )
        self.step = step
        self.detail = detail


class UnknownOrder(KeyError):
    """No order with this client order id is known to the engine."""

    def __str__(self) -> str:
        return f"no order with client order id {self.args[0]!r}"


class OrderNotActive(ValueError):
    """The order is in a terminal state; it cannot be cancelled or modified."""

    def __init__(self, client_order_id: str, state: str) -> None:
        super().__init__(f"order {client_order_id} is {state}: nothing to cancel")
        self.client_order_id = client_order_id
        self.state = state
