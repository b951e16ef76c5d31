"""Background tasks of a running engine: stream consumers, gap fills, polling, dead-man switch.

The WebSocket streams are the fast path; REST is the safety net. After every reconnect the
connector awaits our callback, which fills the gap (fills since the last journaled one, status of
every active order). When the streams have been silent for ``poll_interval_s`` while orders are
active, the same gap fill runs over REST.
"""

from __future__ import annotations

import asyncio
import logging
import time

from connectors.base import ExchangeConnector
from oms.engine.config import EngineConfig
from oms.engine.intake import ReportHandler
from oms.engine.live_orders import LiveOrders
from oms.engine.reconcile import Reconciler
from oms.engine.tasks import EngineTasks

log = logging.getLogger(__name__)


class Background:
    """Starts the engine's stream consumers, poller and dead-man switch (owned by ``tasks``)."""

    def __init__(
        self,
        live: LiveOrders,
        reports: ReportHandler,
        reconciler: Reconciler,
        connector: ExchangeConnector,
        config: EngineConfig,
        tasks: EngineTasks,
    ) -> None:
        self._live = live
        self._reports = reports
        self._reconciler = reconciler
        self._connector = connector
        self._config = config
        self._tasks = tasks

    def start(self) -> None:
        """Start every background task (all are cancelled when ``tasks`` closes)."""
        spawn = self._tasks.spawn
        spawn(self._consume_order_updates(), service=True)
        spawn(self._consume_fills(), service=True)
        spawn(self._poll_when_silent(), service=True)
        if self._config.dead_man_switch_s is not None:
            spawn(self._dead_man_switch(self._config.dead_man_switch_s), service=True)
        self._connector.add_reconnect_callback(self._on_reconnect)

    async def _on_reconnect(self) -> None:
        await self._reconciler.refresh("reconnect")

    async def _consume_order_updates(self) -> None:
        async for report in self._connector.order_updates():
            try:
                self._reports.on_status_report(report)
            except Exception:
                log.exception("order update could not be applied: %r", report)

    async def _consume_fills(self) -> None:
        async for fill in self._connector.fills():
            try:
                self._reports.on_fill(fill)
            except Exception:
                log.exception("fill could not be applied: %r", fill)

    async def _poll_when_silent(self) -> None:
        interval = self._config.poll_interval_s
        while True:
            await asyncio.sleep(interval)
            silent_for = time.monotonic() - self._reports.last_stream_activity
            if self._live.active_count and silent_for >= interval:
                await self._reconciler.refresh(f"{silent_for:.1f}s of stream silence")

    async def _dead_man_switch(self, horizon_s: float) -> None:
        while True:
            at_ms = time.time_ns() // 1_000_000 + int(horizon_s * 1000)
            try:
                await self._connector.schedule_cancel(at_ms)
            except Exception as exc:
                log.warning("dead-man switch renewal failed: %s", exc)
            await asyncio.sleep(max(horizon_s / 3, 1.0))
