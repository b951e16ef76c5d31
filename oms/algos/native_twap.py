"""Native TWAPs (the exchange runs the slices) as journaled parents, reconciled after a crash.

``NativeTwaps.place`` checks the TWAP (the connector refuses what the exchange would: duration,
lot, minimum value; ``UnknownPair``), journals ``ParentCreated`` (kind ``native_twap``) with
``NativeTwapRequested`` (carrying the action's ``expiresAfter``) *before* the ``twapOrder`` is
sent, then links the exchange's TWAP id from the reply. Progress comes from one routine,
:meth:`NativeTwaps.sync`, the same live (a poll) and at start-up (after a crash):

1. no TWAP id yet (the reply was lost, or the engine died before it came): the exchange's TWAP
   history is searched for the TWAP we asked for (same pair, side, size, minutes, flags, created
   between our journal entry and the deadline; an id no other parent holds). Found: linked. Not
   found once the deadline (+ grace) has passed: never placed, with certainty, since the exchange
   refuses an action past its ``expiresAfter``;
2. linked: the slice fills of that TWAP id not yet journaled are journaled, each once (key:
   trade id + order id);
3. the TWAP's last status on the exchange ends the parent once every fill it counts is journaled:
   ``finished`` → ``done`` (or ``failed`` short of the total), ``terminated`` → ``canceled``,
   ``error`` → ``failed`` with the exchange's description.

The same fills reach the account (positions, fees) through the engine's fill intake as fills of
orders placed outside the engine (source ``twap``), applied once by the same trade key.

Example::

    native = await NativeTwaps.start(oms)      # resumes and reconciles every unfinished one
    pid = await native.place("ETH", "buy", Decimal("0.5"), minutes=30)
    await native.cancel(pid)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine
from decimal import Decimal
from typing import Any

from connectors.base import ExchangeUnavailable, Outcome, Side
from connectors.twap import (
    InvalidTwap,
    NativeTwapRequest,
    NativeTwapVenue,
    TwapSliceFill,
    TwapStatus,
)
from eventstore import NO_STREAM, NewEvent
from oms.algos.specs import AlgoSpecError
from oms.domain.ids import ClientOrderId
from oms.domain.native_twap import (
    NATIVE_INDEX_STREAM,
    NATIVE_KIND,
    NativeEvent,
    NativeSliceFilled,
    NativeTwapLinked,
    NativeTwapRequested,
    NativeTwapState,
    decode_native,
    encode_native,
    evolve_native,
)
from oms.domain.parent import (
    ACTIVE,
    ParentControl,
    ParentCreated,
    ParentFinished,
    ParentOpened,
    ParentSpec,
    parent_stream,
)
from oms.engine.errors import EngineClosed
from oms.engine.manager import OrderManager

log = logging.getLogger(__name__)

CLOCK_SKEW_MS = 5_000
"""How far the exchange's clock may be from ours when matching a TWAP's creation time."""
REREAD_MS = 60_000
"""A poll re-reads slice fills from this long before the last one journaled (a start-up
reconciliation reads them all): late-listed fills are caught, each journaled once by its key."""
DEFAULT_POLL_S = 10.0
"""Two /info requests (weight 20 each, reference §10) per active TWAP per poll."""


class NativeTwapUnsupported(AlgoSpecError):
    """The exchange connector has no native TWAP (use ``AlgoRunner.twap`` instead)."""


def _new(event: NativeEvent | ParentOpened) -> NewEvent:
    type_, data = encode_native(event)
    return NewEvent(type=type_, data=data)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class NativeTwaps:
    """Journals, sends, follows and reconciles native TWAP parents; see the module docstring."""

    def __init__(self, oms: OrderManager, *, poll_s: float = DEFAULT_POLL_S) -> None:
        self._oms = oms
        self._poll_s = poll_s
        self._states: dict[str, NativeTwapState] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._poller: asyncio.Task[None] | None = None

    @classmethod
    async def start(cls, oms: OrderManager, *, poll_s: float = DEFAULT_POLL_S) -> NativeTwaps:
        """Fold every native parent from the journal, reconcile the unfinished ones with the
        exchange (:meth:`sync`), then follow them every ``poll_s`` seconds."""
        native = cls(oms, poll_s=poll_s)
        await native._resume()
        native._poller = asyncio.get_running_loop().create_task(native._poll(), name="oms-twap")
        return native

    @property
    def _venue(self) -> NativeTwapVenue:
        connector = self._oms.connector
        if not isinstance(connector, NativeTwapVenue):
            raise NativeTwapUnsupported(
                f"{type(connector).__name__} has no native TWAP; use AlgoRunner.twap")
        return connector

    # ------------------------------------------------------------------ commands

    async def place(
        self, pair: str, side: str, amount: Decimal, *, minutes: int, randomize: bool = False,
        reduce_only: bool = False,
    ) -> str:  # fmt: skip
        """Start a native TWAP of ``amount`` over ``minutes``; returns the parent id once the
        parent is journaled (the ``twapOrder`` is sent in the background).

        Bad input raises ``AlgoSpecError`` (duration outside the exchange's range, amount off
        the lot, value below the exchange's minimum) or ``UnknownPair``; a closed engine
        ``EngineClosed``; nothing is journaled. The engine's risk gate (order notional, kill
        switch) does not see native TWAPs: the exchange runs their slices.
        """
        venue = self._venue
        if not self._oms.is_trading:
            raise EngineClosed("open the engine (recovery must complete) before a native TWAP")
        rule = self._oms.connector.trading_rule(pair)  # UnknownPair first
        if side != "buy" and side != "sell":
            raise AlgoSpecError(f"side must be 'buy' or 'sell', got {side!r}")
        if not isinstance(amount, Decimal):
            raise AlgoSpecError("amount must be decimal.Decimal (never float)")
        wire_side: Side = "buy" if side == "buy" else "sell"
        request = NativeTwapRequest(pair, wire_side, amount, minutes, randomize, reduce_only)
        price = await self._oms.connector.reference_price(pair, wire_side)
        try:
            venue.check_twap(request, price)
        except InvalidTwap as exc:
            raise AlgoSpecError(str(exc)) from exc
        now_ns = time.time_ns()
        lot = Decimal(1).scaleb(-rule.amount_decimals)
        spec = ParentSpec(NATIVE_KIND, pair, side, amount, price, now_ns,
                          now_ns + minutes * 60 * 10**9, 2 * minutes + 1, amount, lot, lot)
        parent_id = str(ClientOrderId.new())
        expires = now_ns // 1_000_000 + int(self._oms.config.expires_after_s * 1000)
        asked = NativeTwapRequested(parent_id, minutes, randomize, reduce_only, expires, now_ns)
        self._locks[parent_id] = asyncio.Lock()
        async with self._locks[parent_id]:
            await self._oms.store.append(NATIVE_INDEX_STREAM,
                                         [_new(ParentOpened(parent_id, now_ns))])
            await self._append(parent_id, [ParentCreated(parent_id, spec, now_ns), asked])
        self._spawn(self._send(parent_id, request, expires))
        return parent_id

    async def cancel(self, parent_id: str) -> None:
        """Journal the cancel, send ``twapCancel`` (once the TWAP's id is known), reconcile."""
        state = self.state(parent_id)
        if state.status not in ACTIVE:
            return
        async with self._locks[parent_id]:
            if not self._states[parent_id].cancel_requested:
                await self._append(parent_id, [ParentControl(parent_id, "cancel", time.time_ns())])
        await self.sync(parent_id)

    # ------------------------------------------------------------------ queries

    def state(self, parent_id: str) -> NativeTwapState:
        """The parent's journaled state; ``KeyError`` for an unknown id."""
        return self._states[parent_id]

    def states(self) -> dict[str, NativeTwapState]:
        """Every native parent known (resumed or started here)."""
        return dict(self._states)

    async def wait_finished(self, parent_id: str, timeout_s: float = 60.0) -> NativeTwapState:
        """Wait until the parent is done, canceled or failed; ``TimeoutError`` otherwise."""
        async with asyncio.timeout(timeout_s):
            while self.state(parent_id).status in ACTIVE:  # noqa: ASYNC110 - bounded poll of the fold
                await asyncio.sleep(0.05)
        return self._states[parent_id]

    async def close(self) -> None:
        """Stop following (the exchange keeps running the TWAPs; a restart reconciles them)."""
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # ------------------------------------------------------------------ reconciliation

    async def sync(self, parent_id: str, *, full: bool = False) -> None:
        """Bring one parent up to the exchange's truth (see the module docstring); ``full``
        reads every slice fill since the TWAP began, not only the recent ones."""
        async with self._locks[parent_id]:
            state = self._states[parent_id]
            if state.status not in ACTIVE or state.request is None:
                return
            if state.twap_id is None:
                await self._find_lost(state)
                state = self._states[parent_id]
                if state.twap_id is None or state.status not in ACTIVE:
                    return
            for _ in range(2):  # a second pass right after a cancel was answered
                if not await self._follow(self._states[parent_id], full):
                    return

    async def _follow(self, state: NativeTwapState, full: bool) -> bool:
        """Journal the linked TWAP's new slice fills and its end; send a requested cancel.
        True when a cancel was just answered (look again)."""
        venue, parent_id, twap_id = self._venue, state.parent_id, state.twap_id
        assert twap_id is not None
        start = state.spec.start_ns // 1_000_000 - CLOCK_SKEW_MS
        if state.fills and not full:
            start = max(start, max(f.time_ms for f in state.fills) - REREAD_MS)
        fills = [f for f in await self._slice_fills(venue, start) if f.twap_id == twap_id]
        new = [_filled(parent_id, f) for f in fills]
        new = [f for f in new if not state.has_fill(f.key)]
        if new:
            await self._append(parent_id, list(new))
            state = self._states[parent_id]
        rows = [r for r in await venue.twap_history() if r.twap_id == twap_id]
        last = rows[-1] if rows else None
        if last is not None and last.ended:
            await self._finish(state, last)
            return False
        if state.cancel_requested and last is not None:
            result = await venue.twap_cancel(state.spec.pair, twap_id, self._deadline())
            log.info("native TWAP %s cancel: %s %s", parent_id, result.outcome.value,
                     result.reason or "")
            return result.outcome is not Outcome.UNKNOWN
        return False

    async def _find_lost(self, state: NativeTwapState) -> None:
        """A TWAP whose id we never learnt: find it in the history, or prove it never placed."""
        request = state.request
        assert request is not None
        deadline_passed = _now_ms() > request.expires_after_ms + int(
            self._oms.config.deadline_grace_s * 1000)  # read the history only after that
        rows = await self._venue.twap_history()
        taken = {s.twap_id for s in self._states.values() if s.twap_id is not None}
        spec = state.spec
        for row in rows:
            if (row.twap_id not in taken and row.pair == spec.pair and row.side == spec.side
                    and row.amount == spec.amount and row.minutes == request.minutes
                    and row.randomize == request.randomize
                    and row.reduce_only == request.reduce_only
                    and spec.start_ns // 1_000_000 - CLOCK_SKEW_MS <= row.created_ms
                    <= request.expires_after_ms):
                await self._append(state.parent_id, [
                    NativeTwapLinked(state.parent_id, row.twap_id, "history", time.time_ns())])
                log.info("native TWAP %s found on the exchange as %s", state.parent_id,
                         row.twap_id)
                return
        if deadline_passed:
            await self._append(state.parent_id, [ParentFinished(
                state.parent_id, "failed",
                "never placed: the exchange lists no such TWAP and the request's deadline"
                " has passed", time.time_ns())])

    async def _finish(self, state: NativeTwapState, last: TwapStatus) -> None:
        if state.executed < last.executed:
            log.info("native TWAP %s: %s executed on the exchange, %s journaled; waiting for"
                     " the remaining slice fills", state.parent_id, last.executed, state.executed)
            return
        said = f"executed {state.executed} of {state.spec.amount} (exchange: {last.status}"
        said += f", {last.description})" if last.description else ")"
        if last.status == "finished":
            status = "done" if state.executed == state.spec.amount else "failed"
        elif last.status in ("terminated", "stopped"):
            status = "canceled"
        else:
            status = "failed"
        await self._append(state.parent_id, [
            ParentFinished(state.parent_id, status, said, time.time_ns())])
        log.info("native TWAP %s %s: %s", state.parent_id, status, said)

    @staticmethod
    async def _slice_fills(venue: NativeTwapVenue, start_ms: int) -> list[TwapSliceFill]:
        """Every slice fill from ``start_ms`` on (pages of at most 2000, bounded)."""
        out: dict[tuple[str, str], TwapSliceFill] = {}
        for _ in range(100):
            page = await venue.twap_slice_fills(start_ms)
            for fill in page:
                out[(fill.fill.trade_id, fill.fill.exchange_order_id)] = fill
            if len(page) < 2000:
                break
            start_ms = page[-1].fill.timestamp_ms  # the same ms again: deduplicated above
        return sorted(out.values(), key=lambda f: (f.fill.timestamp_ms, int(f.fill.trade_id)))

    # ------------------------------------------------------------------ internals

    async def _send(self, parent_id: str, request: NativeTwapRequest, expires: int) -> None:
        result = await self._venue.twap_order(request, expires)
        async with self._locks[parent_id]:
            state = self._states[parent_id]
            if result.outcome is Outcome.CONFIRMED and result.twap_id is not None:
                if state.twap_id is None:
                    await self._append(parent_id, [
                        NativeTwapLinked(parent_id, result.twap_id, "reply", time.time_ns())])
            elif result.outcome is Outcome.REJECTED and state.twap_id is None:
                await self._append(parent_id, [ParentFinished(
                    parent_id, "failed", f"the exchange refused the TWAP: {result.reason}",
                    time.time_ns())])
            else:
                log.warning("native TWAP %s: outcome unknown (%s); resolved from the TWAP"
                            " history", parent_id, result.reason)
        if result.outcome is Outcome.CONFIRMED:
            await self.sync(parent_id)  # a cancel journaled meanwhile is sent now

    def _deadline(self) -> int:
        return _now_ms() + int(self._oms.config.expires_after_s * 1000)

    async def _append(self, parent_id: str, events: list[NativeEvent]) -> None:
        state = self._states.get(parent_id)
        expected = NO_STREAM if state is None else state.version - 1
        await self._oms.store.append(parent_stream(parent_id), [_new(e) for e in events],
                                     expected)
        for event in events:
            state = evolve_native(state, event)
        assert state is not None
        self._states[parent_id] = state

    async def _resume(self) -> None:
        async for recorded in self._oms.store.read_stream(NATIVE_INDEX_STREAM):
            opened = decode_native(recorded.type, recorded.data)
            assert isinstance(opened, ParentOpened)
            state: NativeTwapState | None = None
            async for row in self._oms.store.read_stream(parent_stream(opened.parent_id)):
                event = decode_native(row.type, row.data)
                if not isinstance(event, ParentOpened):
                    state = evolve_native(state, event)
            if state is None:
                continue  # crashed between the index entry and the parent's first events
            self._states[state.parent_id] = state
            self._locks[state.parent_id] = asyncio.Lock()
        for parent_id, state in list(self._states.items()):
            if state.status in ACTIVE:
                await self.sync(parent_id, full=True)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._poll_s)
            for parent_id, state in list(self._states.items()):
                if state.status in ACTIVE:
                    try:
                        await self.sync(parent_id)
                    except (ExchangeUnavailable, OSError) as exc:
                        log.warning("native TWAP %s: sync failed (%s); retried", parent_id, exc)
                    except Exception:
                        log.exception("native TWAP %s: sync failed; retried", parent_id)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("native TWAP task failed: %r", task.exception())


def _filled(parent_id: str, slice_fill: TwapSliceFill) -> NativeSliceFilled:
    fill = slice_fill.fill
    return NativeSliceFilled(parent_id, f"{fill.trade_id}:{fill.exchange_order_id}",
                             fill.trade_id, fill.exchange_order_id, fill.amount, fill.price,
                             fill.fee, fill.timestamp_ms, time.time_ns())
