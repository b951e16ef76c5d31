"""The order manager: the public face of the engine.

``buy``/``sell`` validate, quantize and risk-check synchronously, decide the order's first events
with the pure domain functions, and return the client order id at once. The events go through the
journal (durable, group-committed) and only then through the outbox to the exchange. Every report
from the exchange (placement replies, stream updates, status queries, fills) becomes candidate
events that pass through the same ``decide``, so duplicates are dropped and illegal ones become
anomalies.

Example::

    async with await OrderManager.open("sqlite+aiosqlite:///oms.db", connector) as oms:
        cid = oms.buy("ETH", Decimal("0.5"), OrderType.LIMIT, price=Decimal("3000"))
        print(oms.get_order(cid).state)
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from decimal import Decimal
from typing import Any

from connectors.base import (
    ExchangeConnector,
)
from eventstore import EventStore, RecordedEvent
from oms.domain.codec import decode
from oms.domain.decide import decide
from oms.domain.events import OrderCreated, OrderEvent
from oms.domain.ids import ClientOrderId, order_stream
from oms.domain.order import InFlightOrder, OrderRecord, step
from oms.engine.commands import OrderCommands
from oms.engine.config import EngineConfig
from oms.engine.errors import EngineClosed
from oms.engine.intake import ReportIntake
from oms.engine.journal import Journal
from oms.engine.listeners import Callback, Listeners
from oms.engine.outbox import Outbox
from oms.engine.recovery import RecoveryReport, recover
from oms.engine.risk import RiskGate, RiskLimits
from oms.engine.views import EngineSnapshot, every_order, snapshot_of
from projections import PositionBook, Projector, save_snapshot

log = logging.getLogger(__name__)

class OrderManager(OrderCommands, ReportIntake):
    """Tracks, journals, submits and reconciles orders on one exchange account."""

    def __init__(
        self,
        store: EventStore,
        connector: ExchangeConnector,
        risk: RiskLimits | None = None,
        config: EngineConfig | None = None,
        *,
        owns_store: bool = False,
    ) -> None:
        self.store = store
        self.connector = connector
        self.config = config or EngineConfig()
        self._gate = RiskGate(risk or RiskLimits())
        self._owns_store = owns_store
        # Live state: one mutable record per order, owned here; readers get frozen snapshots.
        self._orders: dict[str, OrderRecord] = {}
        self._by_oid: dict[str, str] = {}
        self._active: set[str] = set()
        self._completed: deque[str] = deque()
        # Events handed to the journal and not yet durable, per order: such an order is never
        # evicted from the projection's tracker (its pending events must find it there).
        self._pending: dict[str, int] = {}
        self._projector = Projector()
        self._projector.tracker.pinned = self._pending
        self._journal = Journal(store, self._on_durable, self._on_journal_failure)
        self._outbox = Outbox(
            connector,
            self._on_place_result,
            self._on_cancel_result,
            max_batch=self.config.max_batch,
            max_in_flight=self.config.max_in_flight,
        )
        self._listeners = Listeners()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._services: set[asyncio.Task[Any]] = set()
        self._cancel_on_ack: set[str] = set()
        self._readback_locks: dict[str, asyncio.Lock] = {}
        self._resolving: set[str] = set()
        self._trading = False
        self._closed_reason: str | None = "not started"
        self._last_stream_s = time.monotonic()
        self._events_since_snapshot = 0
        self.recovery_report: RecoveryReport | None = None

    # ------------------------------------------------------------------ life cycle

    @classmethod
    async def open(
        cls,
        store: str | EventStore,
        connector: ExchangeConnector,
        risk: RiskLimits | None = None,
        config: EngineConfig | None = None,
        *,
        listeners: Mapping[str, Callback] | None = None,
    ) -> OrderManager:
        """Open the journal, replay, verify, connect, reconcile; then open for trading.

        ``listeners`` (``{"on_filled": f, ...}``, as :meth:`add_listener` takes them) are
        registered before recovery, so they also receive the events recovery journals.
        Raises :class:`oms.engine.errors.RecoveryFailed` (engine stays closed) if any step fails.
        """
        owns = isinstance(store, str)
        store_obj = await EventStore.open(store) if isinstance(store, str) else store
        manager = cls(store_obj, connector, risk, config, owns_store=owns)
        if listeners:
            manager.add_listener(**listeners)
        try:
            manager.recovery_report = await recover(manager)
        except BaseException:
            await manager.close()
            raise
        manager._trading = True
        manager._closed_reason = None
        return manager

    async def __aenter__(self) -> OrderManager:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop trading, flush the journal, stop tasks, close the connector (and our store)."""
        self._trading = False
        if self._closed_reason is None:
            self._closed_reason = "closed"
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=2.0)
        await self._outbox.close()
        try:
            await self._journal.close()
        except Exception as exc:
            log.error("journal could not flush on close: %s", exc)
        await self._listeners.close()
        await self._snapshot_on_close()
        await self.connector.close()
        if self._owns_store:
            await self.store.close()

    async def _snapshot_on_close(self) -> None:
        """Write a snapshot when anything was journaled, so the next start replays nothing."""
        if not self._events_since_snapshot or self._journal.failed is not None:
            return
        if self.config.snapshot_every <= 0:
            return
        try:
            await save_snapshot(self.store, self._projector)
            self._events_since_snapshot = 0
        except Exception as exc:  # a snapshot only saves time at the next start
            log.warning("could not write a snapshot on close (%s); the next start replays", exc)

    @property
    def is_trading(self) -> bool:
        """True once recovery completed and until close or a journal failure."""
        return self._trading

    # ------------------------------------------------------------------ queries

    def get_order(self, client_order_id: str) -> InFlightOrder | None:
        """A snapshot of one order's live state (including events still being journaled), if it
        is held in memory (active or recently completed); see :meth:`load_order` for older ones."""
        record = self._orders.get(client_order_id)
        return None if record is None else record.freeze()

    async def load_order(self, client_order_id: str) -> InFlightOrder | None:
        """One order's state from memory or, once it has left memory (completed orders beyond
        ``completed_in_memory``), folded from its journal stream; None if it was never journaled.
        """
        order = self.get_order(client_order_id)
        if order is not None:
            return order
        await self._journal.flush()  # the stream then holds every event emitted so far
        return self.get_order(client_order_id) or await self._fold_stream(client_order_id)

    async def all_orders(self, batch_size: int = 1000) -> AsyncIterator[InFlightOrder]:
        """Every order the journal knows (active, completed, evicted), by client order id.

        Served from the SQL read models, brought up to the journal's head first (incremental,
        checkpointed: not a fold of the whole journal each time); memory stays flat.
        """
        await self._journal.flush()
        async for order in every_order(self.store, batch_size):
            yield order

    def snapshot(self) -> EngineSnapshot:
        """Orders and positions as of one journal position: a fill is in both or in neither."""
        return snapshot_of(self._projector)

    async def settled(self, timeout_s: float = 30.0) -> None:
        """Wait until nothing is pending: every event durable, every request sent, and no
        background fill fetch, resolution or read-back still running.

        Raises ``TimeoutError`` after ``timeout_s`` seconds (e.g. an unknown outcome still
        waiting for its deadline, or the exchange unreachable).
        """
        async with asyncio.timeout(timeout_s):
            while True:
                await self.flush()
                work = [t for t in self._tasks if t not in self._services and not t.done()]
                if work:
                    await asyncio.wait(work)
                    continue
                if not self._pending and not self._outbox.pending:
                    return
                await asyncio.sleep(0.01)

    @property
    def active_orders(self) -> dict[str, InFlightOrder]:
        """Every non-terminal order by client order id."""
        orders = self._orders
        return {cid: orders[cid].freeze() for cid in self._active}

    @property
    def orders(self) -> Mapping[str, InFlightOrder]:
        """Snapshots of every order held in memory (active and recently completed)."""
        return {cid: record.freeze() for cid, record in self._orders.items()}

    @property
    def active_count(self) -> int:
        """How many orders are not terminal (cheap: no snapshots)."""
        return len(self._active)

    @property
    def positions(self) -> PositionBook:
        """Positions and PnL per pair, from durable fills."""
        return self._projector.positions

    @property
    def projector(self) -> Projector:
        """The durable projection (tracker + positions) fed by the journal."""
        return self._projector

    def add_listener(self, **callbacks: Callback) -> None:
        """Register callbacks: on_created/filled/canceled/failed/completed, on_event.

        Each is called as ``callback(event, order)`` after the event is durable; coroutine
        functions are scheduled as tasks; exceptions are logged and never reach the engine.
        """
        self._listeners.add(**callbacks)

    async def events(self, from_position: int | None = None) -> AsyncIterator[OrderEvent]:
        """Every domain event in journal order: from ``from_position``, else from now on (live)."""
        if from_position is None:
            head, _ = await self.store.head()
            from_position = head + 1
        async for recorded in self.store.subscribe(from_position=from_position):
            yield decode(recorded.type, recorded.data, recorded.event_version)

    async def flush(self) -> None:
        """Wait until every event emitted so far is durable and every queued request is sent."""
        await self._journal.flush()
        await self._outbox.drain()

    # ------------------------------------------------------------------ internals: emit

    def emit(self, cid: str, candidates: list[OrderEvent]) -> list[OrderEvent]:
        """Pass candidates through ``decide``, apply them live, queue them for the journal.

        An order that has left memory (the engine's or the projection's) is first read back
        from its journal stream (:meth:`_readback_then_emit`); the events are then decided
        against its whole history, so the result never depends on a cache size.
        """
        if candidates and self._needs_readback(cid, candidates[0]):
            self.spawn(self._readback_then_emit(cid, candidates))
            return []
        return self._emit_now(cid, candidates)

    def _needs_readback(self, cid: str, first: OrderEvent) -> bool:
        if type(first) is OrderCreated:
            return False
        if cid not in self._orders:
            return True  # evicted from memory: its stream (after a flush) is the truth
        # Held here; the projection holds it too, or is about to (its events are pending and
        # pinned there).
        return cid not in self._projector.tracker and cid not in self._pending

    async def _readback_then_emit(self, cid: str, candidates: list[OrderEvent]) -> None:
        """Bring an evicted order back into memory (engine and tracker), then emit."""
        if await self.ensure_loaded(cid, candidates[0]):
            self._emit_now(cid, candidates)
        else:
            self._never_journaled(cid, candidates)

    async def ensure_loaded(self, cid: str, first: OrderEvent | None = None) -> bool:
        """Read an order that has left memory back from its journal stream (False: unknown).

        Serialized per order, and after a journal flush: the stream then holds every event
        emitted so far, so two reports of one fill arriving together are applied once.
        """
        lock = self._readback_locks.setdefault(cid, asyncio.Lock())
        try:
            async with lock:
                await self._journal.flush()
                if first is not None and not self._needs_readback(cid, first):
                    return True
                tracker = self._projector.tracker
                if cid in self._orders and cid in tracker:
                    return True
                order = await self._fold_stream(cid)
                if order is None:
                    return cid in self._orders
                if cid not in self._orders:
                    self._put(cid, OrderRecord.thaw(order))
                if cid not in tracker:
                    tracker.restore(OrderRecord.thaw(order))
                return True
        finally:
            if not lock.locked() and self._readback_locks.get(cid) is lock:
                del self._readback_locks[cid]

    def _emit_now(self, cid: str, candidates: list[OrderEvent]) -> list[OrderEvent]:
        order, out = self._decide_all(cid, candidates)
        if not out or order is None:
            return out
        self._put(cid, order)
        self._submit(cid, out)
        if order.exchange_order_id is not None and cid in self._cancel_on_ack:
            self._cancel_on_ack.discard(cid)
            if not order.state.is_terminal:
                self._request_cancel(order)
        return out

    def _decide_all(
        self, cid: str, candidates: list[OrderEvent]
    ) -> tuple[OrderRecord | None, list[OrderEvent]]:
        """``decide`` each candidate against the state so far and fold what it returns.

        The same ``decide`` + ``step`` as ``evolve`` (``step`` is its in-place form), applied to
        the order's live record: no snapshot is taken on the hot path.
        """
        record = self._orders.get(cid)
        out: list[OrderEvent] = []
        for candidate in candidates:
            for event in decide(record, candidate):
                record = step(record, event)
                out.append(event)
        return record, out

    def _emit_then(self, cid: str, events: list[OrderEvent], after: Callable[[], None]) -> None:
        """Emit events that need no decision (commands) and run ``after`` once durable."""
        order, out = self._decide_all(cid, events)
        if order is None or not out:
            return
        self._put(cid, order)
        self._submit(cid, out, after)

    def _submit(
        self, cid: str, events: list[OrderEvent], after: Callable[[], None] | None = None
    ) -> None:
        self._pending[cid] = self._pending.get(cid, 0) + len(events)
        self._journal.submit(order_stream(ClientOrderId(cid)), events, after)

    def adopt_projector(self, projector: Projector) -> None:
        """Take the replayed projection as the durable state and seed live state from it."""
        self._projector = projector
        tracker = projector.tracker
        tracker.pinned = self._pending
        for order in [*tracker.active(), *tracker.recently_completed()]:
            self._put(order.client_order_id, OrderRecord.thaw(order))

    def start_pipeline(self) -> None:
        """Start the journal writer, the outbox sender and the listener dispatcher."""
        self._journal.start()
        self._outbox.start()
        self._listeners.start()

    @property
    def by_oid(self) -> Mapping[str, str]:
        """Client order id by exchange order id."""
        return self._by_oid

    @property
    def last_stream_activity(self) -> float:
        """``time.monotonic()`` of the last stream message applied."""
        return self._last_stream_s

    def _put(self, cid: str, order: OrderRecord) -> None:
        """Store the live record of one order and keep the indexes in step."""
        new = cid not in self._orders
        self._orders[cid] = order
        if order.state.is_terminal:
            if cid in self._active or new:  # completed now, or read back from the journal
                self._active.discard(cid)
                # Keep recently completed orders (late fills, queries); forget the oldest so
                # memory stays flat. A late fill for a forgotten order reloads its stream.
                self._completed.append(cid)
                if len(self._completed) > self.config.completed_in_memory:
                    old = self._completed.popleft()
                    stale = self._orders.get(old)
                    if old in self._pending:
                        self._completed.append(old)  # events on their way: evict it later
                    elif stale is not None and stale.state.is_terminal:
                        del self._orders[old]
                        if stale.exchange_order_id is not None:
                            self._by_oid.pop(stale.exchange_order_id, None)
        else:
            self._active.add(cid)
        if order.exchange_order_id is not None:
            self._by_oid[order.exchange_order_id] = cid

    def _net_position(self, pair: str) -> Decimal:
        position = self._projector.positions.get(pair)
        return position.net_size if position is not None else Decimal(0)

    def _ensure_trading(self) -> None:
        if not self._trading:
            raise EngineClosed(self._closed_reason or "closed")

    # ------------------------------------------------------------------ internals: resolution

    def spawn(self, coro: Coroutine[Any, Any, Any], *, service: bool = False) -> None:
        """Run a background coroutine owned by the engine (cancelled on close).

        ``service``: a task that runs for the engine's life (streams, timers), which
        :meth:`settled` does not wait for.
        """
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        if service:
            self._services.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        self._services.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("engine task failed: %r", task.exception())

    async def resolve(self, cid: str) -> None:
        """Resolve an unknown outcome by asking the exchange by cloid, bounded by the deadline."""
        if cid in self._resolving:
            return
        self._resolving.add(cid)
        try:
            from oms.engine.reconcile import resolve_order

            await resolve_order(self, cid)
        finally:
            self._resolving.discard(cid)

    # ------------------------------------------------------------------ internals: durability

    def _on_durable(self, pairs: Sequence[tuple[RecordedEvent, OrderEvent]]) -> None:
        tracker = self._projector.tracker
        publish = self._listeners.active
        pending = self._pending
        for recorded, event in pairs:
            cid = event.client_order_id
            before = tracker.state_of(cid) if publish else None
            _, record = self._projector.apply_event(event, recorded.position)
            left = pending.get(cid)
            if left is not None:
                if left <= 1:
                    del pending[cid]
                else:
                    pending[cid] = left - 1
            if publish and record is not None:
                self._listeners.publish(event, record.freeze(), before)
        self._events_since_snapshot += len(pairs)

    def _on_journal_failure(self, exc: BaseException) -> None:
        self._trading = False
        self._closed_reason = (
            f"the journal failed ({exc}); the engine stopped trading. Fix the database and"
            " restart: start-up replays the journal and reconciles with the exchange"
        )
