"""Running strategies: start, route events, timers and books to them, isolate their failures.

Each strategy gets a :class:`StrategyContext`. The runner is an ``on_event`` listener of the
engine (so it sees events only once they are durable) and routes each to the strategy that placed
the order. A callback that raises stops that strategy alone: it is logged, alerted, and its
orders are canceled or left resting (``on_strategy_error``); the engine and the other strategies
carry on. ``pause`` stops timers, books and new placements for every strategy; order events are
still delivered, so a strategy's view of its orders stays right.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from oms.domain.events import OrderEvent, OrderFilled
from oms.domain.order import InFlightOrder
from oms.service.context import StrategyContext

if TYPE_CHECKING:
    from connectors.base import BookUpdate
    from oms.engine import OrderManager

log = logging.getLogger("oms.service.runner")

ErrorPolicy = Literal["cancel", "leave"]


@dataclass(slots=True)
class StrategySlot:
    """One strategy and its run state (``running``, ``stopped`` or ``failed``)."""

    name: str
    strategy: Any
    ctx: StrategyContext
    state: str = "starting"
    error: str | None = None
    events: int = 0
    calls: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able view (for ``oms ctl status``)."""
        return {"state": self.state, "error": self.error, "events": self.events,
                "open_orders": len(self.ctx.open_orders())}


class StrategyRunner:
    """Owns the strategies of one service."""

    def __init__(self, oms: OrderManager, on_failure: Callable[[str, str], None],
                 error_policy: ErrorPolicy = "cancel", timer_interval_s: float = 1.0,
                 blocked: Callable[[], str | None] = lambda: None,
                 on_own: Callable[[str, list[str]], None] | None = None) -> None:
        self._oms = oms
        self._on_own = on_own
        self._blocked = blocked
        self._on_failure = on_failure
        self.error_policy: ErrorPolicy = error_policy
        self._interval = timer_interval_s
        self.slots: dict[str, StrategySlot] = {}
        self._owner: dict[str, str] = {}
        self.paused = False
        self._tasks: list[asyncio.Task[None]] = []

    def add(self, name: str, strategy: Any) -> None:
        """Register a strategy under ``name`` (before :meth:`start`)."""
        def may_place() -> str | None:
            slot = self.slots[name]
            if slot.state not in ("running", "starting"):
                return f"stopped ({slot.state})"
            if self.paused:
                return "the service is paused (oms ctl resume)"
            return self._blocked()

        ctx = StrategyContext(name, self._oms, may_place, logging.getLogger(f"oms.strategy.{name}"),
                              self._on_own)
        self.slots[name] = StrategySlot(name, strategy, ctx)

    def adopt(self, owners: dict[str, str]) -> dict[str, int]:
        """Give each strategy back its orders from before a restart (``cid -> strategy``, from
        :meth:`oms.service.ownership.OwnershipLog.load`), before :meth:`start`; the count per
        strategy. Orders of a strategy no longer configured stay with the engine alone."""
        mine: dict[str, set[str]] = {}
        for cid, name in owners.items():
            mine.setdefault(name, set()).add(cid)
        for name, cids in mine.items():
            slot = self.slots.get(name)
            if slot is None:
                log.warning("%d active orders belong to strategy %r, which is not configured: "
                            "the engine keeps managing them (oms ctl cancel-all cancels them)",
                            len(cids), name)
                continue
            slot.ctx.adopt(cids)
            log.info("strategy %s: %d active orders from before the restart given back",
                     name, len(cids))
        return {name: len(cids) for name, cids in mine.items()}

    async def start(self) -> None:
        """Listen to the engine, call every ``on_start``, then run timers and book routing."""
        self._oms.add_listener(on_event=self._on_event)
        for slot in self.slots.values():
            if await self._call(slot, "on_start", slot.ctx):
                slot.state = "running"
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._timers(), name="oms-strategy-timers"))
        updates = getattr(self._oms.connector, "book_updates", None)
        if updates is not None:
            self._tasks.append(loop.create_task(self._books(updates()), name="oms-strategy-books"))

    async def stop(self, name: str, reason: str, cancel_orders: bool) -> int:
        """Stop one strategy (``on_stop``), then cancel its orders if asked; the cancel count."""
        slot = self.slots[name]
        if slot.state in ("running", "starting"):
            await self._call(slot, "on_stop")
            if slot.state != "failed":
                slot.state = "stopped"
            slot.error = slot.error or reason
        return self._cancel_orders(slot) if cancel_orders else 0

    async def stop_all(self, reason: str) -> None:
        """Stop every strategy and the runner's tasks (orders are left to the caller)."""
        for name in self.slots:
            await self.stop(name, reason, cancel_orders=False)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    def status(self) -> dict[str, Any]:
        """Every strategy's state."""
        return {name: slot.as_dict() for name, slot in self.slots.items()}

    # ------------------------------------------------------------------ routing

    async def _on_event(self, event: OrderEvent, order: InFlightOrder) -> None:
        cid = event.client_order_id
        owner = self._owner.get(cid)
        if owner is None:
            owner = next((n for n, s in self.slots.items() if cid in s.ctx.own), None)
            if owner is None:
                return
            self._owner[cid] = owner
        slot = self.slots[owner]
        if slot.state != "running":
            return
        slot.events += 1
        if await self._call(slot, "on_order_event", event, order) and type(event) is OrderFilled:
            await self._call(slot, "on_fill", event, order)

    async def _timers(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            if self.paused or not self._oms.is_trading:
                continue
            now = time.time_ns()
            for slot in list(self.slots.values()):
                if slot.state == "running":
                    await self._call(slot, "on_timer", now)

    async def _books(self, updates: Any) -> None:
        update: BookUpdate
        async for update in updates:
            if self.paused:
                continue
            for slot in list(self.slots.values()):
                if slot.state == "running" and update.pair in slot.ctx.books:
                    await self._call(slot, "on_book", update.pair, slot.ctx.book(update.pair))

    async def _call(self, slot: StrategySlot, name: str, *args: Any) -> bool:
        """Call one callback; on an exception stop the strategy, apply the policy, report."""
        callback = getattr(slot.strategy, name, None)
        if callback is None:
            return True
        slot.calls[name] = slot.calls.get(name, 0) + 1
        try:
            result = callback(*args)
            if inspect.isawaitable(result):
                await result
            return True
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            slot.state = "failed"
            slot.error = f"{name} raised {type(exc).__name__}: {exc}"
            log.exception("strategy %s failed in %s; it is stopped", slot.name, name)
            canceled = self._cancel_orders(slot) if self.error_policy == "cancel" else 0
            left = len(slot.ctx.open_orders()) - canceled
            self._on_failure(slot.name, f"{slot.error}; {canceled} orders canceled, "
                                        f"{max(left, 0)} left to the engine")
            return False

    def _cancel_orders(self, slot: StrategySlot) -> int:
        if not self._oms.is_trading:
            return 0
        try:
            return slot.ctx.cancel_all()
        except Exception:
            log.exception("could not cancel the orders of strategy %s", slot.name)
            return 0
