"""The engine's live order book: one index of orders, one eviction policy, one fold.

Every order event the engine decides goes through :meth:`LiveOrders.emit`: ``decide`` against the
order's current record, folded at once into the projection (tracker and positions) by the same
``Projector.apply_event`` a replay runs, and queued for the journal. There is no second copy of
the orders: the projection tracker *is* the live index (by client order id, by exchange order
id, active and recently completed, oldest completion evicted first), so an event is folded once
and an eviction has one thing to repair. Listeners are told once the events are durable, with the
order as it stood right after each event.

An order that has left memory is read back from its journal stream by the same fold as every
as-of query (``projections.load_order``) before a late event is applied to it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from eventstore import EventStore, RecordedEvent, SealKey
from oms.domain.account_events import ACCOUNT_STREAM_PREFIX, AccountEvent
from oms.domain.codec import DomainEvent
from oms.domain.decide import decide
from oms.domain.enums import OrderState
from oms.domain.events import OrderCreated, OrderEvent, OrderFilled
from oms.domain.ids import ORDER_STREAM_PREFIX, ClientOrderId, order_stream
from oms.domain.order import InFlightOrder, OrderRecord
from oms.engine.journal import Journal
from oms.engine.listeners import Callback, Listeners
from oms.engine.sealing import Sealer, snapshot_now
from projections import PositionBook, Projector, load_order

log = logging.getLogger(__name__)

_Published = tuple[OrderEvent, InFlightOrder, OrderState | None]


class LiveOrders:
    """Emit / get / look up / restore orders; owns the journal pipeline and the listeners."""

    def __init__(
        self,
        store: EventStore,
        completed_capacity: int,
        on_journal_failure: Callable[[BaseException], None],
        *,
        seal_key: SealKey | None = None,
        seal_every: int = 0,
        archive_dir: str | None = None,
    ) -> None:
        self._store = store
        self._archive_dir = Path(archive_dir) if archive_dir else None
        self._capacity = max(completed_capacity, 1)
        self._projector = Projector(completed_capacity=self._capacity)
        self._projector.deferred_fills = {}
        self._journal = Journal(store, self._on_durable, on_journal_failure)
        self._listeners = Listeners()
        self._events_since_snapshot = 0
        self._seal_key = seal_key
        self._sealer = Sealer(
            seal_key, seal_every, lambda: self.save_snapshot(only_if_changed=True)
        )
        self._readback_locks: dict[str, asyncio.Lock] = {}
        self._watchers: list[Callable[[OrderRecord], None]] = []

    # ------------------------------------------------------------------ reading

    @property
    def projector(self) -> Projector:
        """The projection of every order and position (tracker + positions)."""
        return self._projector

    @property
    def positions(self) -> PositionBook:
        """Positions and PnL per pair."""
        return self._projector.positions

    def get(self, cid: str) -> OrderRecord | None:
        """The live record of an order held in memory (read it, never mutate it)."""
        return self._projector.tracker.record(cid)

    def snapshot(self, cid: str) -> InFlightOrder | None:
        """A frozen copy of an order held in memory."""
        record = self._projector.tracker.record(cid)
        return None if record is None else record.freeze()

    def cid_of_exchange_id(self, exchange_order_id: str) -> str | None:
        """The client order id of the order the exchange calls ``exchange_order_id``."""
        return self._projector.tracker.cid_by_exchange_id(exchange_order_id)

    def active_records(self) -> list[OrderRecord]:
        """Every non-terminal order's record, oldest first."""
        return self._projector.tracker.active_records()

    def records(self) -> list[OrderRecord]:
        """Every order held in memory (active, then recently completed)."""
        return self._projector.tracker.records()

    @property
    def active_count(self) -> int:
        """How many orders are not terminal."""
        return self._projector.tracker.active_count

    def __contains__(self, cid: object) -> bool:
        return cid in self._projector.tracker

    async def read_back(self, cid: str) -> InFlightOrder | None:
        """The order folded from its journal stream (None: the journal never saw it)."""
        return await load_order(self._store, cid, self._archive_dir)

    async def load(self, cid: str) -> InFlightOrder | None:
        """One order from memory or, once it has left memory, from its stream (after a flush,
        so the stream holds every event emitted so far); None if never journaled."""
        order = self.snapshot(cid)
        if order is not None:
            return order
        await self._journal.flush()
        return self.snapshot(cid) or await self.read_back(cid)

    async def ensure_loaded(self, cid: str) -> bool:
        """Read an order that has left memory back into it (False: the journal never saw it).

        Serialized per order, and after a journal flush: the stream then holds every event
        emitted so far, so two reports of one fill arriving together are applied once.
        """
        lock = self._readback_locks.setdefault(cid, asyncio.Lock())
        try:
            async with lock:
                if cid in self._projector.tracker:
                    return True
                await self._journal.flush()
                if cid in self._projector.tracker:
                    return True
                order = await self.read_back(cid)
                if order is None:
                    return False
                self.restore(order)
                return True
        finally:
            if not lock.locked() and self._readback_locks.get(cid) is lock:
                del self._readback_locks[cid]

    # ------------------------------------------------------------------ writing

    def emit(
        self, cid: str, candidates: list[OrderEvent], after: Callable[[], None] | None = None
    ) -> list[OrderEvent]:
        """``decide`` each candidate against the order, fold what it returns, journal it.

        ``after`` runs once the events are durable (that is where requests leave for the
        exchange). Events for an order not held in memory (and not created here) are dropped:
        callers read such orders back first (:meth:`restore`).
        """
        return self._fold(cid, candidates, True, after)

    def append(
        self, cid: str, decided: Sequence[OrderEvent], after: Callable[[], None] | None = None
    ) -> list[OrderEvent]:
        """Fold and journal events the pure decider already decided against the current state."""
        return self._fold(cid, decided, False, after)

    def _fold(
        self,
        cid: str,
        events: Sequence[OrderEvent],
        deciding: bool,
        after: Callable[[], None] | None,
    ) -> list[OrderEvent]:
        tracker = self._projector.tracker
        record = tracker.record(cid)
        if record is None and not (events and type(events[0]) is OrderCreated):
            return []
        apply = self._projector.apply_event
        position = tracker.last_position
        published: list[_Published] | None = [] if self._listeners.active else None
        out: list[OrderEvent] = []
        for candidate in events:
            for event in decide(record, candidate) if deciding else (candidate,):
                before = None if record is None else record.state
                _, applied = apply(event, position)
                if applied is None:
                    continue
                record = applied
                out.append(event)
                if published is not None:
                    published.append((event, applied.freeze(), before))
        if out:
            self._journal.submit(
                order_stream(ClientOrderId(cid)), out, self._then(published, after)
            )
            if record is not None:
                for watcher in self._watchers:
                    watcher(record)
        return out

    def watch(self, watcher: Callable[[OrderRecord], None]) -> None:
        """Call ``watcher(record)`` after every emit or append that changed an order (a bracket
        arms its legs when its entry fills)."""
        self._watchers.append(watcher)

    def _then(
        self, published: list[_Published] | None, after: Callable[[], None] | None
    ) -> Callable[[], None] | None:
        if not published:
            return after
        publish = self._listeners.publish

        def done() -> None:
            for event, order, before in published:
                publish(event, order, before)
            if after is not None:
                after()

        return done

    def emit_account(
        self,
        stream: str,
        events: Sequence[AccountEvent],
        after: Callable[[], None] | None = None,
    ) -> None:
        """Journal account events on the account's stream; they are folded into the account
        once durable, in journal order with our fills (as a replay folds them), and ``after``
        runs then."""
        self._journal.submit(stream, list(events), after)

    def note(self, stream: str, events: list[OrderEvent]) -> None:
        """Journal events that belong to no order (e.g. the anomaly of an unknown fill)."""
        self._journal.submit(stream, events)

    def add_listener(self, **callbacks: Callback) -> None:
        """Register user callbacks (see ``Listeners.add``)."""
        self._listeners.add(**callbacks)

    def listener_work(self) -> list[asyncio.Future[Any]]:
        """Events not yet delivered to every listener, and unfinished coroutine callbacks."""
        return self._listeners.work()

    @property
    def idle(self) -> bool:
        """True when every event emitted so far is durable."""
        return self._journal.idle

    def restore(self, order: InFlightOrder) -> None:
        """Put an order read back from the journal into memory (no-op if already held)."""
        if order.client_order_id not in self._projector.tracker:
            self._projector.tracker.restore(OrderRecord.thaw(order))

    def adopt(self, projector: Projector) -> None:
        """Take a replayed projection as the live state (start-up)."""
        projector.tracker.completed_capacity = self._capacity
        projector.deferred_fills = {}
        self._projector = projector

    # ------------------------------------------------------------------ pipeline

    def start(self) -> None:
        """Start the journal writer and the listener dispatcher."""
        self._journal.start()
        self._listeners.start()

    async def flush(self) -> None:
        """Wait until every event emitted so far is durable."""
        await self._journal.flush()

    async def close(self) -> None:
        """Flush the journal, stop it, deliver queued listener calls."""
        await self._sealer.close()
        try:
            await self._journal.close()
        except Exception as exc:
            log.error("journal could not flush on close: %s", exc)
        await self._listeners.close()

    async def save_snapshot(self, *, only_if_changed: bool) -> bool:
        """Snapshot the projection if it equals the journal (everything emitted is durable)."""
        if self._journal.failed is not None or not self._journal.idle:
            return False
        if only_if_changed and not self._events_since_snapshot:
            return False
        # ``save_snapshot`` serializes before its first await: nothing can be emitted between
        # the idle check above and the copy it writes.
        await snapshot_now(self._store, self._projector, self._seal_key)  # sealed with a key
        self._events_since_snapshot = 0
        return True

    def _on_durable(self, pairs: Sequence[tuple[RecordedEvent, DomainEvent]]) -> None:
        projector = self._projector
        account = projector.account
        for recorded, event in pairs:
            stream = recorded.stream_id
            # The account is folded here, in journal order (orders were folded at emit).
            if type(event) is OrderFilled:
                projector.fold_durable_fill(event)
            elif stream.startswith(ACCOUNT_STREAM_PREFIX):
                projector.events_applied += 1
                account.apply(event)  # type: ignore[arg-type]
            elif not stream.startswith(ORDER_STREAM_PREFIX):
                projector.foreign_events += 1  # as a replay counts them
        tracker = projector.tracker
        last = pairs[-1][0].position
        if last > tracker.last_position:
            tracker.last_position = last
        self._events_since_snapshot += len(pairs)
        self._sealer.note(len(pairs))
