"""Listeners of the account: every durable account event, and alerts (corrections, anomalies,
a tripped kill switch) that a user must hear about at once.

Callbacks run after the event is durable and folded; a coroutine callback is scheduled as a
task; a callback that raises is logged and never reaches the engine.

Example::

    oms.add_account_listener(on_alert=lambda event: pager.send(repr(event)))
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from oms.domain.account_events import AccountEvent

log = logging.getLogger(__name__)

AccountCallback = Callable[[AccountEvent], Awaitable[None] | None]
KINDS = ("on_alert", "on_account_event")


class AccountListeners:
    """Callbacks by kind: ``on_alert`` and ``on_account_event``."""

    def __init__(self) -> None:
        self._callbacks: dict[str, list[AccountCallback]] = {k: [] for k in KINDS}
        self._tasks: set[asyncio.Task[Any]] = set()
        self.errors = 0

    def add(self, **callbacks: AccountCallback) -> None:
        """Register callbacks by kind; an unknown kind or a non-callable raises ``TypeError``."""
        for kind, callback in callbacks.items():
            if kind not in self._callbacks:
                raise TypeError(f"unknown account listener {kind!r}; choose from {KINDS}")
            if not callable(callback):
                raise TypeError(f"account listener {kind} must be callable, got {callback!r}")
            self._callbacks[kind].append(callback)

    def publish(self, event: AccountEvent, alert: bool) -> None:
        """Deliver one durable event (to ``on_alert`` too when ``alert``)."""
        kinds = ("on_account_event", "on_alert") if alert else ("on_account_event",)
        for kind in kinds:
            for callback in self._callbacks[kind]:
                try:
                    result = callback(event)
                    if inspect.isawaitable(result):
                        task = asyncio.ensure_future(result)
                        self._tasks.add(task)
                        task.add_done_callback(self._done)
                except Exception:
                    self.errors += 1
                    log.exception("account listener %s failed on %s", kind, event.TYPE)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.errors += 1
            log.error("account listener task failed: %r", task.exception())
