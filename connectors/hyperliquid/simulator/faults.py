"""Fault injection: scoped, countable misbehaviour for tests, and a baseline from CLI flags.

Test API (on ``sim.faults``)::

    sim.faults.delay_responses(0.5, count=2)   # the next 2 replies come 0.5 s late
    sim.faults.drop_replies(1)                 # apply the next /exchange action, then hang up
    sim.faults.http_error(429, 3)              # the next 3 requests get HTTP 429, nothing applied
    sim.faults.close_websockets()              # or close_websocket(0)
    sim.faults.pause_pushes(2.0)               # hold WebSocket pushes for 2 s
    sim.faults.drop_ws_messages(0.5)           # drop half of the WebSocket pushes
    sim.faults.reject_next_orders(2, reason="Insufficient margin to place order.")
    sim.faults.reset()                         # back to the baseline (CLI flags) / no faults

CLI format (``--faults``): comma-separated ``name=value`` pairs, all optional::

    drop_ws=0.05          fraction of WebSocket pushes dropped (0..1)
    delay=0.2             seconds added to every HTTP reply
    error_rate=0.01       probability a request is answered 503 (not applied)
    error_status=503      status used by error_rate (429 or 5xx)
    drop_reply_rate=0.01  probability an /exchange action is applied but its reply dropped
    reject_rate=0.01      probability an order gets a per-order rejection
    seed=1                seed of the fault dice (default: the simulator's seed)
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, fields

DEFAULT_REJECT_REASON = "Order rejected by fault injection."


class FaultSpecError(ValueError):
    """A ``--faults`` string that cannot be parsed; the message says which part and why."""


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """Always-on, probabilistic faults (the CLI baseline)."""

    drop_ws: float = 0.0
    delay: float = 0.0
    error_rate: float = 0.0
    error_status: int = 503
    drop_reply_rate: float = 0.0
    reject_rate: float = 0.0
    seed: int | None = None


def parse_faults(text: str) -> FaultSpec:
    """Parse ``"drop_ws=0.05,delay=0.2,error_rate=0.01"`` into a :class:`FaultSpec`."""
    known = {f.name: f for f in fields(FaultSpec)}
    values: dict[str, float | int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, raw = part.partition("=")
        name = name.strip()
        if not sep or name not in known:
            raise FaultSpecError(f"bad fault {part!r}: use name=value with name one of "
                                 f"{', '.join(known)}")
        try:
            value: float | int = (int(raw) if name in ("error_status", "seed")
                                  else float(raw))
        except ValueError as exc:
            raise FaultSpecError(f"bad value in {part!r}: expected a number") from exc
        if name.endswith(("_rate", "drop_ws")) and not 0.0 <= value <= 1.0:
            raise FaultSpecError(f"{name} must be between 0 and 1, got {value}")
        if name == "delay" and value < 0:
            raise FaultSpecError("delay must be >= 0 seconds")
        if name == "error_status" and not (value == 429 or 500 <= value <= 599):
            raise FaultSpecError("error_status must be 429 or 5xx")
        values[name] = value
    return FaultSpec(**values)  # type: ignore[arg-type]


class FaultInjector:
    """The live fault switchboard of one simulator. Counters are consumed request by request."""

    def __init__(self, spec: FaultSpec | None, seed: int) -> None:
        self.spec = spec or FaultSpec()
        self._rng = random.Random(self.spec.seed if self.spec.seed is not None else seed)
        self._ws_closer: Callable[[int | None], int] = lambda index: 0
        self.reset()

    def attach_ws_closer(self, closer: Callable[[int | None], int]) -> None:
        """Wire the WebSocket hub in (``closer(None)`` closes all, ``closer(i)`` one)."""
        self._ws_closer = closer

    def reset(self) -> None:
        """Clear every fault set by a test; the CLI baseline stays."""
        self._delay = self.spec.delay
        self._delay_count: int | None = None
        self._drop_replies = 0
        self._http_status = 0
        self._http_count = 0
        self._http_path: str | None = None
        self._paused_until = 0.0
        self._drop_fraction = self.spec.drop_ws
        self._reject_count = 0
        self._reject_reason = DEFAULT_REJECT_REASON

    # ----- test API -------------------------------------------------------------------------

    def delay_responses(self, seconds: float, count: int | None = None) -> None:
        """Delay the next ``count`` replies (None: every reply until reset)."""
        self._delay, self._delay_count = seconds, count

    def drop_replies(self, count: int) -> None:
        """Apply the next ``count`` /exchange actions but close the socket instead of replying."""
        self._drop_replies = count

    def http_error(self, status: int, count: int, path: str | None = None) -> None:
        """Answer the next ``count`` requests (of ``path`` if given) with ``status``."""
        self._http_status, self._http_count, self._http_path = status, count, path

    def close_websockets(self) -> int:
        """Close every WebSocket connection now; returns how many were closed."""
        return self._ws_closer(None)

    def close_websocket(self, index: int) -> int:
        """Close the ``index``-th open WebSocket connection (oldest first)."""
        return self._ws_closer(index)

    def pause_pushes(self, seconds: float) -> None:
        """Hold WebSocket pushes for ``seconds`` (they are delivered afterwards, in order)."""
        self._paused_until = time.monotonic() + seconds

    def drop_ws_messages(self, fraction: float) -> None:
        """Drop this fraction of WebSocket pushes (0 disables)."""
        self._drop_fraction = fraction

    def reject_next_orders(self, count: int, reason: str = DEFAULT_REJECT_REASON) -> None:
        """Give the next ``count`` orders a per-order ``{"error": reason}`` status."""
        self._reject_count, self._reject_reason = count, reason

    # ----- server side ----------------------------------------------------------------------

    def take_http_error(self, path: str) -> int | None:
        """The status to answer instead of serving this request, if any."""
        if self._http_count > 0 and self._http_path in (None, path):
            self._http_count -= 1
            return self._http_status
        if self.spec.error_rate and self._rng.random() < self.spec.error_rate:
            return self.spec.error_status
        return None

    def take_delay(self) -> float:
        """Seconds to hold the current reply."""
        if self._delay_count is not None:
            if self._delay_count <= 0:
                return self.spec.delay
            self._delay_count -= 1
        return self._delay

    def take_drop_reply(self) -> bool:
        """Whether to hang up instead of sending this /exchange reply."""
        if self._drop_replies > 0:
            self._drop_replies -= 1
            return True
        return bool(self.spec.drop_reply_rate) and self._rng.random() < self.spec.drop_reply_rate

    def take_order_rejection(self) -> str | None:
        """The rejection text for the order being placed, if it must fail."""
        if self._reject_count > 0:
            self._reject_count -= 1
            return self._reject_reason
        if self.spec.reject_rate and self._rng.random() < self.spec.reject_rate:
            return self._reject_reason
        return None

    def push_pause_left(self) -> float:
        """Seconds left of a push pause (0 when pushes flow)."""
        return max(0.0, self._paused_until - time.monotonic())

    def drop_push(self) -> bool:
        """Whether to drop the WebSocket push being sent."""
        return bool(self._drop_fraction) and self._rng.random() < self._drop_fraction
