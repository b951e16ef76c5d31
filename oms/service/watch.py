"""Background watchers of a running service: the journal tail and the health checks.

:func:`tail_journal` follows the event store (every event, in order, once durable) and feeds the
metrics and the anomaly alerts. :class:`HealthWatch` checks on a timer what no event reports:
stream silence while orders are active, the exchange's request budget, the engine having
stopped trading on its own (a journal failure), corrections journaled by runtime
reconciliation.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from eventstore import EventStore
from oms.service.alerts import Alerter
from oms.service.metrics import ServiceMetrics

if TYPE_CHECKING:
    from oms.engine import OrderManager

log = logging.getLogger("oms.service.watch")


async def tail_journal(store: EventStore, from_position: int, metrics: ServiceMetrics,
                       alerter: Alerter) -> None:
    """Observe every event from ``from_position`` on (until cancelled)."""
    async for recorded in store.subscribe(from_position=from_position):
        try:
            metrics.observe(recorded)
        except Exception:
            log.exception("metrics could not observe position %d", recorded.position)
        if recorded.type == "OrderAnomaly":
            data = recorded.data
            alerter.alert("anomaly", f"order {data.get('client_order_id')}: "
                                     f"{data.get('kind')} — {data.get('detail')}",
                          position=recorded.position, anomaly=data.get("kind"),
                          client_order_id=data.get("client_order_id"))


class HealthWatch:
    """Periodic checks that raise alerts once per episode (and again after recovery)."""

    def __init__(self, oms: OrderManager, alerter: Alerter, *, silence_s: float,
                 interval_s: float, stopping: asyncio.Event,
                 corrections: Callable[[], dict[str, int]] | None = None) -> None:
        self._oms = oms
        self._alerter = alerter
        self._silence_s = silence_s
        self._interval = interval_s
        self._stopping = stopping
        self._open: set[str] = set()
        self.budget_left: float | None = None
        self._last_budget = 0.0
        self._messages = -1
        self._last_message = time.monotonic()
        self._corrections = corrections
        self._corrections_seen: dict[str, int] = {}

    async def run(self) -> None:
        """Check forever, every ``interval_s``."""
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.check()
            except Exception:
                log.exception("health check failed")

    async def check(self) -> None:
        """One round of checks."""
        oms = self._oms
        silent = self._silent_for()
        self._episode("stream_silence", oms.active_count > 0 and silent > self._silence_s,
                      f"no exchange stream message for {silent:.0f} s with "
                      f"{oms.active_count} active orders (REST polling covers the gap)")
        self._episode("journal_failed", not oms.is_trading and not self._stopping.is_set(),
                      "the engine stopped trading on its own (journal failure?); "
                      "restart the service after fixing the database")
        self._check_corrections()
        if time.monotonic() - self._last_budget >= 10.0:
            self._last_budget = time.monotonic()
            self.budget_left = await self._budget()
            if self.budget_left is not None:
                self._episode("budget_exhausted", self.budget_left <= 0,
                              "the exchange's request budget for this address is used up "
                              "(orders are refused until more volume is traded)")

    def _check_corrections(self) -> None:
        """Alert when runtime reconciliation journaled corrections since the last check."""
        if self._corrections is None:
            return
        now = self._corrections()
        new = {k: v - self._corrections_seen.get(k, 0) for k, v in now.items()
               if v > self._corrections_seen.get(k, 0)}
        self._corrections_seen = now
        if new:
            self._alerter.alert("reconciliation", f"runtime reconciliation journaled "
                                f"{sum(new.values())} corrections (what the exchange streams "
                                f"had not reported): {new}", kinds=new)

    def _silent_for(self) -> float:
        """Seconds since the exchange's stream last delivered a message (the connector's own
        WebSocket counters; 0 for a connector that has none)."""
        stats: Any = getattr(getattr(self._oms.connector, "ws", None), "stats", None)
        now = time.monotonic()
        if stats is None:
            return 0.0
        if stats.messages != self._messages:
            self._messages, self._last_message = stats.messages, now
        return now - self._last_message

    async def _budget(self) -> float | None:
        rest: Any = getattr(self._oms.connector, "rest", None)
        if rest is None:
            return None
        try:
            reply = await rest.info({"type": "userRateLimit", "user": self._oms.connector.account})
            return float(int(reply["nRequestsCap"]) - int(reply["nRequestsUsed"]))
        except Exception as exc:
            log.info("rate-limit budget query failed: %s", exc)
            return None

    def _episode(self, kind: str, bad: bool, message: str) -> None:
        if bad and kind not in self._open:
            self._open.add(kind)
            self._alerter.alert(kind, message)
        elif not bad and kind in self._open:
            self._open.discard(kind)
            log.info("%s cleared", kind)
