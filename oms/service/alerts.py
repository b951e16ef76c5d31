"""Alerts: always to the log, and to a webhook (JSON POST, retried) when one is configured.

:meth:`Alerter.alert` never blocks and never raises: the alert is logged at once and queued for a
background task that POSTs it, retrying with exponential backoff. The queue is bounded; when a
webhook is down for long, the oldest queued alerts are dropped (and counted) rather than letting
memory grow — the log still has every one.

The JSON body: ``{"kind", "message", "details", "at" (ISO-8601 UTC), "service", "account"}``.

Example::

    alerter = Alerter("https://hooks.example/oms", service="mm-eth", account="0xabc")
    await alerter.start()
    alerter.alert("kill_switch", "kill switch turned on by alice")
    await alerter.close()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import aiohttp

log = logging.getLogger("oms.alerts")

KINDS = ("anomaly", "reconciliation", "recovery_failed", "kill_switch", "budget_exhausted",
         "stream_silence", "strategy_failed", "journal_failed", "ownership")


class Alerter:
    """Logs every alert and delivers it to an optional webhook off the caller's path."""

    def __init__(self, webhook_url: str | None = None, *, service: str = "oms",
                 account: str = "", timeout_s: float = 5.0, retries: int = 5,
                 max_queued: int = 1000) -> None:
        self.webhook_url = webhook_url
        self.service = service
        self.account = account
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._retries = retries
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(max_queued)
        self._task: asyncio.Task[None] | None = None
        self.counts: Counter[str] = Counter()
        """Alerts raised, by kind."""
        self.delivered = 0
        self.failed = 0
        self.dropped = 0

    def alert(self, kind: str, message: str, **details: Any) -> None:
        """Log ``message`` as an alert of ``kind`` and queue it for the webhook (never blocks)."""
        self.counts[kind] += 1
        log.warning("ALERT %s: %s", kind, message, extra={"alert": kind, "details": details})
        if self.webhook_url is None:
            return
        body = {
            "kind": kind,
            "message": message,
            "details": details,
            "at": datetime.now(UTC).isoformat(),
            "service": self.service,
            "account": self.account,
        }
        if self._queue.full():
            self._queue.get_nowait()
            self._queue.task_done()
            self.dropped += 1
        self._queue.put_nowait(body)

    async def start(self) -> None:
        """Start the webhook sender (no-op without a webhook)."""
        if self.webhook_url is not None and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="oms-alerts")

    async def close(self, drain_s: float = 3.0) -> None:
        """Try to deliver what is queued for up to ``drain_s`` seconds, then stop."""
        if self._task is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), drain_s)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        assert self.webhook_url is not None
        async with aiohttp.ClientSession(timeout=self._timeout) as session:
            while True:
                body = await self._queue.get()
                try:
                    await self._deliver(session, self.webhook_url, body)
                finally:
                    self._queue.task_done()

    async def _deliver(self, session: aiohttp.ClientSession, url: str,
                       body: dict[str, Any]) -> None:
        delay = 0.2
        for attempt in range(1, self._retries + 2):
            try:
                async with session.post(url, json=body) as response:
                    if response.status < 300:
                        self.delivered += 1
                        return
                    problem = f"HTTP {response.status}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                problem = type(exc).__name__
            if attempt > self._retries:
                break
            log.info("alert webhook attempt %d failed (%s); retrying in %.1f s",
                     attempt, problem, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
        self.failed += 1
        log.error("alert %s could not be delivered to the webhook after %d attempts (%s)",
                  body["kind"], self._retries + 1, problem)
