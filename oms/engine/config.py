"""Engine settings, with defaults a live trader can start from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """How the engine talks to the exchange and recovers.

    - ``expires_after_s``: every placement and cancel carries ``expiresAfter`` this far ahead;
      once it has passed, an order the exchange does not know is journaled as never placed.
    - ``deadline_grace_s``: extra wait past a deadline before trusting "not found" (clock skew).
    - ``poll_interval_s``: when the streams have been silent this long and orders are active, poll
      fills and order status over REST (the fallback for a dead WebSocket).
    - ``unknown_orders``: what recovery does with open orders the journal does not know:
      ``"adopt"`` journals them as external orders, ``"cancel"`` cancels them on the exchange.
    - ``dead_man_switch_s``: keep a ``scheduleCancel`` this far ahead while healthy (``None``: off).
    - ``snapshot_every``: write a projection snapshot after this many journaled events (0: never).
    - ``fill_lookback_s``: how far before the last journaled fill the gap fill starts.
    - ``completed_in_memory``: completed orders kept in memory (older ones are reloaded on demand).
    """

    expires_after_s: float = 5.0
    deadline_grace_s: float = 1.0
    poll_interval_s: float = 5.0
    unknown_orders: Literal["adopt", "cancel"] = "adopt"
    dead_man_switch_s: float | None = None
    snapshot_every: int = 50_000
    fill_lookback_s: float = 60.0
    max_batch: int = 40
    max_in_flight: int = 4
    status_query_concurrency: int = 16
    completed_in_memory: int = 10_000
