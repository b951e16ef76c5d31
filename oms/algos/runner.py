"""Runs execution algorithms (TWAP, iceberg) as journaled parent orders over an ``OrderManager``.

The runner owns the ``algo-*`` streams; everything it sends goes through the engine's public
commands (``buy``/``sell``/``cancel``), so children are ordinary orders: risk-gated, journaled,
reconciled. The loop for one parent, under its lock, is always: fold -> ``decide`` -> append the
decision (with the stream's expected version) -> act. A released slice's child id is journaled
*before* the child's order is created, so after a crash every released slice is either an order
the journal knows (the engine's recovery already reconciled it) or one it never held, hence never
sent: it is closed as ``never_sent`` and the schedule carries its amount to the next slice.

Example::

    async with await OrderManager.open(url, connector) as oms:
        algos = await AlgoRunner.start(oms)       # resumes every unfinished parent first
        pid = algos.twap("ETH", "buy", Decimal("2"), Decimal("3100"), duration_s=600, slices=10)
        ...
        await algos.close()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine
from decimal import Decimal
from typing import Any

from connectors.base import TradingRule
from eventstore import NO_STREAM, NewEvent
from oms.algos.amend import ParentNotActive, amend_spec
from oms.algos.confirm import exchange_filled, needs_check
from oms.algos.native_twap import NativeTwaps
from oms.algos.specs import iceberg_spec, twap_spec
from oms.domain.enums import OrderState, OrderType, TimeInForce
from oms.domain.events import OrderEvent
from oms.domain.ids import ClientOrderId
from oms.domain.order import InFlightOrder
from oms.domain.parent import (
    ACTIVE,
    PARENT_INDEX_STREAM,
    TERMINAL,
    ChildProgress,
    ParentAmended,
    ParentAnomaly,
    ParentControl,
    ParentCreated,
    ParentDecodeError,
    ParentEvent,
    ParentFinished,
    ParentOpened,
    ParentSpec,
    ParentState,
    SliceReleased,
    decode_parent,
    encode_parent,
    evolve,
    parent_stream,
)
from oms.domain.parent_decide import CancelChild, Finish, Release, decide
from oms.engine.errors import OrderNotActive
from oms.engine.manager import OrderManager

log = logging.getLogger(__name__)


class UnknownParent(KeyError):
    """No parent order with this id is known to the runner."""


class AlgoRunner:
    """Journals, drives and resumes parent orders; see the module docstring."""

    def __init__(self, oms: OrderManager, *, tick_s: float = 0.25, min_interval_s: float = 1.0):
        self._oms = oms
        self._tick_s = tick_s
        self._min_interval_s = min_interval_s
        self._states: dict[str, ParentState] = {}
        self._pending: dict[str, ParentState] = {}  # started, not yet journaled
        self._locks: dict[str, asyncio.Lock] = {}
        self._parent_of: dict[str, str] = {}
        self._confirmed: set[str] = set()  # children whose fill the exchange confirmed
        self._tasks: set[asyncio.Task[None]] = set()
        self._ticker: asyncio.Task[None] | None = None
        self._closed = False
        self._native: NativeTwaps | None = None  # the exchange's own TWAPs (native_twap.py)

    @classmethod
    async def start(
        cls, oms: OrderManager, *, tick_s: float = 0.25, min_interval_s: float = 1.0,
        native_poll_s: float = 10.0,
    ) -> AlgoRunner:
        """Resume every unfinished parent from the journal, then start the schedule's clock.

        Call it right after ``OrderManager.open`` (whose recovery reconciled every child).
        Native TWAPs are reconciled with the exchange here too, then followed every
        ``native_poll_s`` seconds.
        """
        runner = cls(oms, tick_s=tick_s, min_interval_s=min_interval_s)
        oms.add_listener(on_event=runner._on_order_event)
        oms.add_work_source(runner.work)  # oms.settled() waits for the runner's steps too
        await runner._resume()
        runner._native = await NativeTwaps.start(oms, poll_s=native_poll_s)
        runner._ticker = asyncio.get_running_loop().create_task(runner._tick(), name="oms-algos")
        return runner

    # ------------------------------------------------------------------ commands

    def twap(
        self, pair: str, side: str, amount: Decimal, price: Decimal, *, duration_s: float,
        slices: int,
    ) -> str:  # fmt: skip
        """Start a TWAP: ``slices`` IOC children at limit ``price`` over ``duration_s``; returns
        the parent id at once. Bad input raises ``AlgoSpecError``/``UnknownPair`` (nothing
        journaled). The parent is journaled before its first child is created."""
        rule = self._oms.connector.trading_rule(pair)
        spec = twap_spec(rule, side, amount, price, start_ns=time.time_ns(),
                         duration_s=duration_s, slices=slices,
                         min_interval_s=self._min_interval_s)  # fmt: skip
        return self._create(spec)

    def iceberg(
        self, pair: str, side: str, amount: Decimal, price: Decimal, *, display: Decimal
    ) -> str:
        """Start an iceberg: one resting child of at most ``display`` at ``price`` at a time;
        returns the parent id at once (see :meth:`twap` for errors)."""
        rule = self._oms.connector.trading_rule(pair)
        return self._create(iceberg_spec(rule, side, amount, price, display=display))

    async def native_twap(
        self, pair: str, side: str, amount: Decimal, *, minutes: int, randomize: bool = False,
        reduce_only: bool = False,
    ) -> str:  # fmt: skip
        """Start the exchange's own TWAP (Hyperliquid ``twapOrder``) as a parent; returns its id
        once journaled. See :class:`oms.algos.native_twap.NativeTwaps` (errors, crash safety)."""
        assert self._native is not None, "use AlgoRunner.start"
        return await self._native.place(pair, side, amount, minutes=minutes,
                                        randomize=randomize, reduce_only=reduce_only)

    async def pause(self, parent_id: str) -> None:
        """Journal a pause: the working child is canceled and nothing is released until resume."""
        await self._control(parent_id, "pause")

    async def resume(self, parent_id: str) -> None:
        """Journal a resume: a TWAP catches up with its schedule (never past its deadline)."""
        await self._control(parent_id, "resume")

    async def cancel(self, parent_id: str) -> None:
        """Journal a cancel: the working child is canceled, then the parent ends ``canceled``."""
        if self._native is not None and parent_id in self._native.states():
            await self._native.cancel(parent_id)  # twapCancel
            return
        await self._control(parent_id, "cancel")

    async def amend(
        self, parent_id: str, *, amount: Decimal | None = None, price: Decimal | None = None,
        duration_s: float | None = None, display: Decimal | None = None,
    ) -> ParentState:  # fmt: skip
        """Journal an amend of what is left (see :mod:`oms.algos.amend`); the new state.

        A working child that no longer fits is canceled, then replaced under the new spec. Bad
        input raises ``AlgoSpecError`` (``ParentNotActive`` once the parent is over or being
        canceled) and nothing is journaled.
        """
        rule = self._oms.connector.trading_rule(self.parent(parent_id).spec.pair)
        async with self._locks[parent_id]:
            state = self._states.get(parent_id)
            if state is None:
                raise UnknownParent(parent_id)
            working = state.working
            if working is not None:  # validate against the freshest fills the engine has
                await self._record(parent_id, working.child_id,
                                   await self._oms.load_order(working.child_id))  # fmt: skip
                state = self._states[parent_id]
            if state.status in TERMINAL or state.cancel_requested:
                raise ParentNotActive(
                    f"parent {parent_id} is {state.status}"
                    f"{' (cancel requested)' if state.cancel_requested else ''}: nothing to"
                    " amend; start a new one"
                )
            now = time.time_ns()
            spec = amend_spec(rule, state.spec, state.executed, now, amount=amount, price=price,
                              duration_s=duration_s, display=display,
                              min_interval_s=self._min_interval_s)  # fmt: skip
            await self._append(parent_id, ParentAmended(parent_id, spec, now))
            await self._step(parent_id)
            return self._states[parent_id]

    def work(self) -> list[asyncio.Task[None]]:
        """The runner's unfinished steps (``OrderManager.settled`` waits for them)."""
        return [t for t in self._tasks if not t.done()]

    async def settled(self, timeout_s: float = 30.0) -> None:
        """Wait until the engine and the runner have nothing pending (``OrderManager.settled``,
        which counts the runner's steps); the schedule's future slices are not waited for."""
        await self._oms.settled(timeout_s)

    # ------------------------------------------------------------------ queries

    @property
    def min_interval_s(self) -> float:
        """The shortest TWAP slice interval this runner accepts (seconds)."""
        return self._min_interval_s

    def trading_rule(self, pair: str) -> TradingRule:
        """The exchange's rule of ``pair`` (raises the connector's ``UnknownPair``)."""
        return self._oms.connector.trading_rule(pair)

    def parent(self, parent_id: str) -> ParentState:
        """The parent's state as journaled; raises :class:`UnknownParent`.

        A parent just started and not yet durable shows as ``working`` with ``version`` 0.
        """
        state = self._states.get(parent_id) or self._pending.get(parent_id)
        if state is None and self._native is not None and parent_id in self._native.states():
            return self._native.state(parent_id).as_parent()
        if state is None:
            raise UnknownParent(parent_id)
        return state

    @property
    def native(self) -> NativeTwaps:
        """The native TWAP parents (their exchange ids and slice fills: ``native.state(id)``)."""
        assert self._native is not None, "use AlgoRunner.start"
        return self._native

    def parents(self) -> dict[str, ParentState]:
        """Every parent this runner knows (resumed or started here)."""
        native = self._native.states() if self._native is not None else {}
        return {**{k: v.as_parent() for k, v in native.items()}, **self._pending, **self._states}

    async def wait_finished(self, parent_id: str, timeout_s: float = 30.0) -> ParentState:
        """Wait until the parent is done, canceled or failed; ``TimeoutError`` otherwise."""
        async with asyncio.timeout(timeout_s):
            while self.parent(parent_id).status in ACTIVE:  # noqa: ASYNC110 - a bounded poll of the folded state
                await asyncio.sleep(0.02)
        return self.parent(parent_id)

    async def close(self) -> None:
        """Stop the clock and the runner's tasks (children stay as they are, journaled)."""
        self._closed = True
        if self._native is not None:
            await self._native.close()
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # ------------------------------------------------------------------ internals

    def _create(self, spec: ParentSpec) -> str:
        parent_id = str(ClientOrderId.new())
        self._locks[parent_id] = asyncio.Lock()
        self._pending[parent_id] = ParentState(parent_id, spec)
        self._spawn(self._open(parent_id, spec))
        return parent_id

    async def _open(self, parent_id: str, spec: ParentSpec) -> None:
        async with self._locks[parent_id]:
            now = time.time_ns()
            await self._oms.store.append(
                PARENT_INDEX_STREAM, [_new(ParentOpened(parent_id, now))]
            )  # the index first: a pointer to a stream never written is skipped on resume
            await self._append(parent_id, ParentCreated(parent_id, spec, now))
            self._pending.pop(parent_id, None)
            await self._step(parent_id)

    async def _control(self, parent_id: str, action: str) -> None:
        self.parent(parent_id)
        async with self._locks[parent_id]:
            await self._append(parent_id, ParentControl(parent_id, action, time.time_ns()))
            await self._step(parent_id)

    async def _append(self, parent_id: str, event: ParentEvent) -> None:
        state = self._states.get(parent_id)
        expected = -1 if state is None else state.version - 1
        await self._oms.store.append(
            parent_stream(parent_id), [_new(event)], NO_STREAM if expected < 0 else expected
        )
        new = evolve(state, event)
        assert new is not None
        self._states[parent_id] = new
        if isinstance(event, SliceReleased):
            self._parent_of[event.child_id] = parent_id

    async def _step(self, parent_id: str) -> None:
        """Decide and act until the decider waits (caller holds the parent's lock)."""
        for _ in range(8):  # a bounded burst: the clock calls again
            state = self._states[parent_id]
            decision = decide(state, time.time_ns())
            if isinstance(decision, Release):
                if not await self._last_child_confirmed(state):
                    return  # the exchange counted more fills: decide again on the next tick
                await self._release(state, decision)
            elif isinstance(decision, CancelChild):
                await self._cancel_child(parent_id, decision.child_id)
                return
            elif isinstance(decision, Finish):
                event = ParentFinished(parent_id, decision.status, decision.reason, time.time_ns())
                await self._append(parent_id, event)
                log.info("parent %s %s: %s", parent_id, decision.status, decision.reason)
                return
            else:
                return

    async def _release(self, state: ParentState, decision: Release) -> None:
        spec, child = state.spec, ClientOrderId.new()
        event = SliceReleased(
            state.parent_id, decision.index, str(child), decision.amount, time.time_ns()
        )
        await self._append(state.parent_id, event)  # durable before the child exists
        place = self._oms.buy if spec.side == "buy" else self._oms.sell
        tif = TimeInForce.IOC if spec.kind == "twap" else TimeInForce.GTC
        try:
            place(spec.pair, decision.amount, OrderType.LIMIT, price=spec.price,
                  time_in_force=tif, client_order_id=child)  # fmt: skip
        except Exception as exc:  # refused before journaling: the child never existed
            log.warning(
                "parent %s: child %s refused before sending: %s", state.parent_id, child, exc
            )
            progress = ChildProgress(
                state.parent_id, child, Decimal(0), True, "failed", time.time_ns()
            )
            await self._append(state.parent_id, progress)

    async def _last_child_confirmed(self, state: ParentState) -> bool:
        """False when the last child ended canceled and the exchange counts more fills than
        the journal (see :mod:`oms.algos.confirm`): its count is recorded at once (the engine
        journals the fill itself when it arrives) and the next child waits for the next step."""
        last = state.children[-1] if state.children else None
        if last is None or not needs_check(last, self._confirmed):
            return True
        try:
            filled = await exchange_filled(self._oms.connector, last)
        except Exception as exc:  # the answer is unknown: ask again on the next tick
            log.info("parent %s: child %s status unknown: %s", state.parent_id, last.child_id, exc)
            return False
        self._confirmed.add(last.child_id)
        if filled is None or filled <= last.filled:
            return True
        log.warning("parent %s: child %s filled %s on the exchange, %s journaled so far",
                    state.parent_id, last.child_id, filled, last.filled)  # fmt: skip
        await self._append(state.parent_id, ChildProgress(
            state.parent_id, last.child_id, filled, True, "canceled", time.time_ns()))
        return False

    async def _cancel_child(self, parent_id: str, child_id: str) -> None:
        order = await self._oms.load_order(child_id)
        if order is None or order.state.is_terminal:
            await self._record(parent_id, child_id, order)
        elif order.state is not OrderState.PENDING_CANCEL:
            with contextlib.suppress(OrderNotActive):
                self._oms.cancel(child_id)

    async def _record(self, parent_id: str, child_id: str, order: InFlightOrder | None) -> bool:
        """Journal a child's progress if the order says more than the parent knows."""
        state = self._states[parent_id]
        known = next((c for c in state.children if c.child_id == child_id), None)
        if known is None:
            return False
        if order is None:  # released, never journaled by the engine: never sent, with certainty
            filled, terminal, label = Decimal(0), True, "never_sent"
        else:
            filled, terminal, label = (
                order.executed_base,
                order.state.is_terminal,
                order.state.value,
            )
        if filled == known.filled and terminal == known.terminal:
            return False
        now = time.time_ns()
        before = state.executed
        await self._append(
            parent_id, ChildProgress(parent_id, child_id, filled, terminal, label, now)
        )
        after, amount = self._states[parent_id].executed, state.spec.amount
        if after > amount and after > before:
            detail = (f"child {child_id} filled {filled} ({label}): executed {after} of {amount},"
                      f" {after - amount} past the parent's amount (a fill after its cancel)")
            log.warning("parent %s overshoot: %s", parent_id, detail)
            await self._append(parent_id, ParentAnomaly(parent_id, "overshoot", detail, now))
        return True

    def _on_order_event(self, event: OrderEvent, order: InFlightOrder) -> None:
        parent_id = self._parent_of.get(order.client_order_id)
        if parent_id is not None and not self._closed:
            self._spawn(self._child_changed(parent_id, order.client_order_id))

    async def _child_changed(self, parent_id: str, child_id: str) -> None:
        async with self._locks[parent_id]:
            if await self._record(parent_id, child_id, await self._oms.load_order(child_id)):
                await self._step(parent_id)

    async def _resume(self) -> None:
        async for recorded in self._oms.store.read_stream(PARENT_INDEX_STREAM):
            opened = decode_parent(recorded.type, recorded.data)
            assert isinstance(opened, ParentOpened)
            state: ParentState | None = None
            async for row in self._oms.store.read_stream(parent_stream(opened.parent_id)):
                event = decode_parent(row.type, row.data)
                if isinstance(event, ParentOpened):
                    raise ParentDecodeError(f"index event in parent stream {opened.parent_id}")
                state = evolve(state, event)
            if state is None:
                continue  # crashed between the index entry and the parent's first event
            self._states[state.parent_id] = state
            self._locks[state.parent_id] = asyncio.Lock()
            if state.status not in ACTIVE:
                continue
            for child in state.children:
                self._parent_of[child.child_id] = state.parent_id
            async with self._locks[state.parent_id]:
                for child in state.children:
                    if not child.terminal:
                        order = await self._oms.load_order(child.child_id)
                        await self._record(state.parent_id, child.child_id, order)
                await self._step(state.parent_id)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self._tick_s)
            for parent_id, state in list(self._states.items()):
                if state.status in ACTIVE and not self._locks[parent_id].locked():
                    self._spawn(self._tick_step(parent_id))  # a task: settled() waits for it

    async def _tick_step(self, parent_id: str) -> None:
        async with self._locks[parent_id]:
            try:
                await self._step(parent_id)
            except Exception:
                log.exception("parent %s: step failed; retried next tick", parent_id)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("algo task failed: %r", task.exception())


def _new(event: ParentEvent | ParentOpened) -> NewEvent:
    type_, data = encode_parent(event)
    return NewEvent(type=type_, data=data)
