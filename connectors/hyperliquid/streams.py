"""Re-export of :mod:`connectors.streams` (the fan-out is exchange-agnostic; it started here)."""

from connectors.streams import Broadcast, Subscription

__all__ = ["Broadcast", "Subscription"]
