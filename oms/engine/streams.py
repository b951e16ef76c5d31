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
from typing import TYPE_CHECKING

from oms.engine.reconcile import ReconcileCounts, gap_fill, gap_fill_start, reconcile_active

if TYPE_CHECKING:
    from oms.engine.manager import OrderManager

log = logging.getLogger(__name__)


def start_background(manager: OrderManager) -> None:
    """Start every background task of ``manager`` (all are cancelled by ``manager.close()``)."""
    manager.spawn(_consume_order_updates(manager), service=True)
    manager.spawn(_consume_fills(manager), service=True)
    manager.spawn(_poll_when_silent(manager), service=True)
    if manager.config.dead_man_switch_s is not None:
        manager.spawn(_dead_man_switch(manager, manager.config.dead_man_switch_s), service=True)

    async def on_reconnect() -> None:
        await refresh(manager, "reconnect")

    manager.connector.add_reconnect_callback(on_reconnect)


async def refresh(manager: OrderManager, why: str) -> ReconcileCounts:
    """Gap fill: fills since the last journaled one, then the status of every active order."""
    counts = ReconcileCounts()
    try:
        await gap_fill(manager, counts, gap_fill_start(manager))
        if manager.active_count:
            await reconcile_active(manager, counts)
    except Exception as exc:
        log.warning("gap fill after %s failed (%s); the poller retries", why, exc)
    else:
        log.info(
            "gap fill after %s: %d fills fetched, %d orders checked",
            why,
            counts.fills_fetched,
            counts.checked,
        )
    return counts


async def _consume_order_updates(manager: OrderManager) -> None:
    async for report in manager.connector.order_updates():
        try:
            manager.on_status_report(report)
        except Exception:
            log.exception("order update could not be applied: %r", report)


async def _consume_fills(manager: OrderManager) -> None:
    async for fill in manager.connector.fills():
        try:
            manager.on_fill(fill)
        except Exception:
            log.exception("fill could not be applied: %r", fill)


async def _poll_when_silent(manager: OrderManager) -> None:
    interval = manager.config.poll_interval_s
    while True:
        await asyncio.sleep(interval)
        silent_for = time.monotonic() - manager.last_stream_activity
        if manager.active_count and silent_for >= interval:
            await refresh(manager, f"{silent_for:.1f}s of stream silence")


async def _dead_man_switch(manager: OrderManager, horizon_s: float) -> None:
    while True:
        at_ms = time.time_ns() // 1_000_000 + int(horizon_s * 1000)
        try:
            await manager.connector.schedule_cancel(at_ms)
        except Exception as exc:
            log.warning("dead-man switch renewal failed: %s", exc)
        await asyncio.sleep(max(horizon_s / 3, 1.0))
