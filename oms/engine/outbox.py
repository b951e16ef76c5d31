"""The outbox: journaled submissions, cancels and modifies go to the exchange, batched.

Items enter the outbox only after their journal entry is durable (see ``journal.py``). A sender task
drains whatever is waiting, up to ``max_batch`` orders per action (one signature, one request), and
keeps at most ``max_in_flight`` requests on the wire so a slow reply does not hold everything
behind it. Waiting cancels go out the same way, up to ``max_batch`` per ``cancelByCloid`` action
(the exchange counts one IP weight per batch), each with its own outcome. A TP/SL group (an entry
with its legs, or legs on a position) is one action of its own. Each action's ``expiresAfter`` is
the earliest journaled deadline of its orders, so "the deadline has passed and the exchange does
not know the order" always means "never placed".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from connectors.base import (
    CancelResult,
    ExchangeConnector,
    Grouping,
    Outcome,
    PlaceOrderRequest,
    PlaceResult,
)
from oms.domain.ids import ClientOrderId, InvalidClientOrderId
from oms.engine.send_budget import BudgetGate, SendQueueStatus

log = logging.getLogger(__name__)

PlaceCallback = Callable[[PlaceOrderRequest, PlaceResult], None]
CancelCallback = Callable[[str, CancelResult], None]


@dataclass(frozen=True, slots=True)
class _Place:
    request: PlaceOrderRequest
    deadline_ms: int
    queued_at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True, slots=True)
class _Group:
    requests: tuple[PlaceOrderRequest, ...]
    grouping: Grouping
    deadline_ms: int
    queued_at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True, slots=True)
class _Cancel:
    pair: str
    cloid: str
    deadline_ms: int


@dataclass(frozen=True, slots=True)
class _Modify:
    old_cloid: str
    old_exchange_order_id: str
    request: PlaceOrderRequest
    deadline_ms: int


class Outbox:
    """Sends placements, cancels and modifies; reports every outcome through the callbacks.

    A modify (the exchange's atomic cancel-and-replace) reports twice: the replacement's outcome
    through ``on_placed`` and the old order's through ``on_canceled`` — confirmed when the
    replacement was confirmed, unknown otherwise (the exchange may have canceled the old order
    and then refused the new one, so only its status by cloid can tell).
    """

    def __init__(
        self,
        connector: ExchangeConnector,
        on_placed: PlaceCallback,
        on_canceled: CancelCallback,
        max_batch: int = 39,
        max_in_flight: int = 4,
        gate: BudgetGate | None = None,
    ) -> None:
        self._connector = connector
        self._gate = gate or BudgetGate(getattr(connector, "send_budget", None))
        self._on_placed = on_placed
        self._on_canceled = on_canceled
        self._max_batch = max_batch
        self._slots = asyncio.Semaphore(max_in_flight)
        self._places: list[_Place | _Group] = []
        self._cancels: list[_Cancel | _Modify] = []
        self._wake = asyncio.Event()
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self.sent_actions = 0

    def start(self) -> None:
        """Start the sender task."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="oms-outbox")

    def place(self, request: PlaceOrderRequest, deadline_ms: int) -> None:
        """Queue a journaled placement."""
        self._places.append(_Place(request, deadline_ms))
        self._wake.set()

    def place_group(
        self, requests: list[PlaceOrderRequest], grouping: Grouping, deadline_ms: int
    ) -> None:
        """Queue journaled orders that must leave together in one action with ``grouping``."""
        self._places.append(_Group(tuple(requests), grouping, deadline_ms))
        self._wake.set()

    def cancel(self, pair: str, cloid: str, deadline_ms: int) -> None:
        """Queue a journaled cancel."""
        self._cancels.append(_Cancel(pair, cloid, deadline_ms))
        self._wake.set()

    def withdraw(self, cloid: str) -> bool:
        """Take a placement still waiting in the queue out of it (its order was canceled before
        it left): answered as refused, "never sent", so the journal closes it. False when it is
        not waiting (already on the wire, or part of a TP/SL group) or the queue is not held by
        the budget (it leaves at once anyway): cancel-on-ack applies then, as always."""
        if self._gate.held_reason() is None:
            return False
        for index, item in enumerate(self._places):
            if isinstance(item, _Place) and item.request.cloid == cloid:
                del self._places[index]
                self._gate.count_refusal("canceled_in_queue")
                self._on_placed(item.request, PlaceResult(
                    Outcome.REJECTED, cloid,
                    reason="canceled while held in the send queue: never sent to the exchange"))
                self._changed.set()
                return True
        return False

    def modify(
        self, old_cloid: str, old_exchange_order_id: str, request: PlaceOrderRequest,
        deadline_ms: int,
    ) -> None:
        """Queue a journaled replace of ``old_cloid`` by ``request`` (one exchange modify)."""
        self._cancels.append(_Modify(old_cloid, old_exchange_order_id, request, deadline_ms))
        self._wake.set()

    @property
    def queued_orders(self) -> int:
        """Journaled orders waiting to be sent (held back by the budget, or not yet batched)."""
        return len(self._places)

    @property
    def budget_refused(self) -> int:
        """Orders answered as refused because the request budget was exhausted."""
        return self._gate.refused

    def queue_status(self) -> SendQueueStatus:
        """What waits to be sent and why (see :class:`SendQueueStatus`)."""
        oldest_s: float | None = None
        oldest_id: str | None = None
        if self._places:
            first = min(self._places, key=lambda item: item.queued_at)
            oldest_s = max(0.0, time.monotonic() - first.queued_at)
            cloid = (first.requests[0] if isinstance(first, _Group) else first.request).cloid
            try:
                oldest_id = str(ClientOrderId.from_cloid(cloid))
            except InvalidClientOrderId:  # another venue's id scheme: shown as sent
                oldest_id = cloid
        held = self._gate.held_reason() if self._places else None
        used, cap = self._gate.address_counters()
        next_in = (self._gate.next_try_in(asyncio.get_running_loop().time())
                   if held is not None and self._gate.policy == "queue" else None)
        return SendQueueStatus(
            queued_orders=len(self._places), budget_refused=self._gate.refused,
            oldest_queued_s=oldest_s, oldest_client_order_id=oldest_id, held_reason=held,
            next_send_in_s=next_in, address_used=used, address_cap=cap,
            refused_by_reason=dict(self._gate.refused_by_reason))

    @property
    def pending(self) -> int:
        """Items queued or on the wire."""
        return len(self._places) + len(self._cancels) + len(self._in_flight)

    async def drain(self, timeout_s: float = 10.0) -> None:
        """Wait (bounded) until nothing is queued or on the wire."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout_s
        while self.pending and loop.time() < end:
            self._changed.clear()
            with contextlib.suppress(TimeoutError):  # asyncio.timeout never eats a cancel
                async with asyncio.timeout_at(end):
                    await self._changed.wait()

    async def close(self) -> None:
        """Stop sending; requests already on the wire are awaited briefly, then cancelled."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._in_flight:
            _, still = await asyncio.wait(self._in_flight, timeout=2.0)
            for task in still:
                task.cancel()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._cancels or self._places:
                await self._slots.acquire()
                if self._cancels:
                    # Cancels first: they reduce risk, and the exchange favours them too.
                    item = self._cancels.pop(0)
                    if isinstance(item, _Modify):
                        self._spawn(self._send_modify(item))
                    else:
                        self._spawn(self._send_cancels([item, *self._take_cancels()]))
                    continue
                allowance = self._gate.order_allowance(asyncio.get_running_loop().time())
                if allowance == 0:
                    self._slots.release()
                    await self._hold_places()
                    continue
                head = self._places[0]
                if isinstance(head, _Group):
                    # A TP/SL group leaves as one action, whole, even if it is bigger than
                    # the allowance: splitting it would change what the exchange does.
                    self._places.pop(0)
                    self._gate.sending(len(head.requests))
                    self._spawn(self._send_group(head))
                    continue
                size = self._max_batch if allowance is None else min(self._max_batch, allowance)
                batch = self._take_batch(size)
                self._gate.sending(len(batch))
                self._spawn(self._send_places(batch))

    def _take_cancels(self) -> list[_Cancel]:
        """Plain cancels queued next (up to the batch size), leaving modifies in order."""
        taken: list[_Cancel] = []
        while self._cancels and len(taken) < self._max_batch - 1:
            head = self._cancels[0]
            if not isinstance(head, _Cancel):
                break
            taken.append(head)
            del self._cancels[0]
        return taken

    def _take_batch(self, size: int) -> list[_Place]:
        """Up to ``size`` queued orders of one kind, before the next group: post-only (ALO)
        orders go in batches of their own, as the exchange advises (it prioritises ALO-only
        batches)."""
        head = self._places[0]
        assert isinstance(head, _Place)
        post_only = head.request.tif == "Alo"
        batch: list[_Place] = []
        rest: list[_Place | _Group] = []
        for index, item in enumerate(self._places):
            if isinstance(item, _Group):
                rest.extend(self._places[index:])  # nothing jumps ahead of a group
                break
            if len(batch) < size and (item.request.tif == "Alo") == post_only:
                batch.append(item)
            else:
                rest.append(item)
        self._places = rest
        return batch

    async def _hold_places(self) -> None:
        """No budget left: refuse the queued orders, or wait for a cancel, the next trickle or
        the first queued deadline (an order held past it can never be placed: it is answered as
        refused, so the journal says why it never left)."""
        if self._gate.policy == "refuse":
            self._refuse_held(lambda item: True, self._gate.refusal_reason(), "budget_exhausted")
            return
        self._refuse_held(lambda item: item.deadline_ms <= time.time_ns() // 1_000_000,
                          "not sent before its expiresAfter deadline: " +
                          self._gate.refusal_reason(), "expired_in_queue")
        if not self._places:
            return
        now = asyncio.get_running_loop().time()
        to_deadline = min(p.deadline_ms for p in self._places) / 1000 - time.time()
        delay = max(0.0, min(self._gate.next_try_in(now), to_deadline))
        log.warning("request budget exhausted: %d orders queued, next in %.1f s",
                    len(self._places), delay)
        with contextlib.suppress(TimeoutError):  # a cancel arriving wakes us earlier
            async with asyncio.timeout(delay):
                await self._wake.wait()
        self._wake.clear()

    def _refuse_held(self, which: Callable[[_Place | _Group], bool], reason: str,
                     kind: str) -> None:
        refused = [item for item in self._places if which(item)]
        if not refused:
            return
        self._places = [item for item in self._places if not which(item)]
        for item in refused:
            requests = item.requests if isinstance(item, _Group) else (item.request,)
            for request in requests:
                self._gate.count_refusal(kind)
                self._on_placed(request,
                                PlaceResult(Outcome.REJECTED, request.cloid, reason=reason))
        self._changed.set()


    def _spawn(self, coro: asyncio.Future[None] | object) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)  # type: ignore[arg-type]
        self._in_flight.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._slots.release()
        self._changed.set()

    async def _send_places(self, batch: list[_Place]) -> None:
        requests = [p.request for p in batch]
        deadline = min(p.deadline_ms for p in batch)
        self.sent_actions += 1
        try:
            results = await self._connector.place_orders(requests, deadline)
            if len(results) != len(requests):
                raise ValueError(f"{len(results)} results for {len(requests)} orders")
        except Exception as exc:  # a connector must not raise here; if it does, outcome unknown
            log.warning("placement raised %s: outcomes unknown, resolving by cloid", exc)
            results = [
                PlaceResult(Outcome.UNKNOWN, r.cloid, reason=f"connector error: {exc}")
                for r in requests
            ]
        finally:
            self._gate.answered(len(requests))
        for request, result in zip(requests, results, strict=True):
            self._on_placed(request, result)

    async def _send_group(self, group: _Group) -> None:
        requests = list(group.requests)
        self.sent_actions += 1
        try:
            results = await self._connector.place_orders(
                requests, group.deadline_ms, group.grouping
            )
            if len(results) != len(requests):
                raise ValueError(f"{len(results)} results for {len(requests)} orders")
        except Exception as exc:
            log.warning("group placement raised %s: outcomes unknown, resolving by cloid", exc)
            results = [
                PlaceResult(Outcome.UNKNOWN, r.cloid, reason=f"connector error: {exc}")
                for r in requests
            ]
        finally:
            self._gate.answered(len(requests))
        for request, result in zip(requests, results, strict=True):
            self._on_placed(request, result)

    async def _send_cancels(self, items: list[_Cancel]) -> None:
        self.sent_actions += 1
        deadline = min(item.deadline_ms for item in items)
        try:
            results = await self._connector.cancel_many_by_cloid(
                [(item.pair, item.cloid) for item in items], deadline
            )
            if len(results) != len(items):
                raise ValueError(f"{len(results)} results for {len(items)} cancels")
        except Exception as exc:
            log.warning("cancel raised %s: outcomes unknown, resolving by cloid", exc)
            results = [CancelResult(Outcome.UNKNOWN, reason=f"connector error: {exc}")] * len(items)
        for item, result in zip(items, results, strict=True):
            self._on_canceled(item.cloid, result)

    async def _send_modify(self, item: _Modify) -> None:
        self.sent_actions += 1
        try:
            result = await self._connector.modify(
                item.old_exchange_order_id, item.request, item.deadline_ms
            )
        except Exception as exc:
            log.warning("modify raised %s: outcomes unknown, resolving by cloid", exc)
            reason = f"connector error: {exc}"
            result = PlaceResult(Outcome.UNKNOWN, item.request.cloid, reason=reason)
        self._on_placed(item.request, result)
        if result.outcome is Outcome.CONFIRMED:
            old = CancelResult(Outcome.CONFIRMED, reason=f"replaced by {item.request.cloid}")
        else:
            why = result.reason or result.outcome.value
            old = CancelResult(Outcome.UNKNOWN, reason=f"modify not confirmed ({why})")
        self._on_canceled(item.old_cloid, old)
