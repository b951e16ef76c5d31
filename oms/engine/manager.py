"""The order manager: the engine's composition root and its public face.

``OrderManager`` builds the engine's collaborators, wires them through narrow interfaces, runs
their life cycle and exposes the public API; it holds no order logic of its own:

- :class:`~oms.engine.live_orders.LiveOrders` — the one live index of orders (emit, get, look up
  by cloid / exchange id, restore), folded by the projection's own code, and the journal;
- :class:`~oms.engine.commands.CommandHandler` — buy, sell, cancel, replace, cancel-all, kill
  switch: risk gate, journal, then the outbox (cancel-on-ack lives there);
- :class:`~oms.engine.intake.ReportHandler` — replies, pushes, status answers, fills, and the
  resolution of unknown outcomes;
- :class:`~oms.engine.reconcile.Reconciler` — gap fills, active-order reconcile, sweep;
- :class:`~oms.engine.streams.Background` — stream consumers, poller, dead-man switch;
- :func:`~oms.engine.recovery.recover` — the start-up sequence.

Everything a user can call is listed in :data:`PUBLIC_API`; nothing there journals an event,
skips the risk gate or reaches the outbox.

Example::

    async with await OrderManager.open("sqlite+aiosqlite:///oms.db", connector) as oms:
        cid = oms.buy("ETH", Decimal("0.5"), OrderType.LIMIT, price=Decimal("3000"))
        print(oms.get_order(cid).state)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from decimal import Decimal

from connectors.base import ExchangeConnector
from eventstore import EventStore, Fenced
from oms.domain.codec import decode
from oms.domain.enums import OrderType, PositionAction, TimeInForce
from oms.domain.events import OrderEvent
from oms.domain.ids import ClientOrderId
from oms.domain.order import InFlightOrder
from oms.domain.parent import PARENT_INDEX_STREAM, PARENT_STREAM_PREFIX
from oms.engine.commands import CommandHandler
from oms.engine.config import EngineConfig
from oms.engine.intake import ReportHandler
from oms.engine.lease import LEASE_STREAM, EngineLease
from oms.engine.listeners import Callback
from oms.engine.live_orders import LiveOrders
from oms.engine.outbox import Outbox
from oms.engine.reconcile import ReconcileCounts, Reconciler
from oms.engine.recovery import RecoveryParts, RecoveryReport, recover
from oms.engine.risk import RiskGate, RiskLimits
from oms.engine.status import TradingStatus
from oms.engine.streams import Background
from oms.engine.tasks import EngineTasks
from oms.engine.views import EngineSnapshot, every_order, snapshot_of
from projections import PositionBook, Projector

log = logging.getLogger(__name__)
ALGO_PREFIX = (PARENT_STREAM_PREFIX, PARENT_INDEX_STREAM)

PUBLIC_API: frozenset[str] = frozenset(
    {
        # life cycle
        "open", "close", "is_trading", "recovery_report", "store", "connector", "config",
        # commands
        "buy", "sell", "cancel", "replace", "cancel_all", "set_kill_switch", "reconcile",
        # queries
        "get_order", "load_order", "all_orders", "active_orders", "orders", "active_count",
        "positions", "projector", "snapshot", "add_listener", "events", "flush", "settled",
    }
)  # fmt: skip
"""Every public name of :class:`OrderManager` (a test fails if the class grows another)."""


class OrderManager:
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
        self._store = store
        self._connector = connector
        self._config = config = config or EngineConfig()
        self._owns_store = owns_store
        self._status = TradingStatus()
        self._tasks = EngineTasks()
        self._lease = EngineLease(store, connector.venue, connector.account)
        self._live = LiveOrders(store, config.completed_in_memory, self._on_journal_failure)
        self._reports = ReportHandler(
            self._live, connector, config, self._tasks, self._send_cancel
        )
        self._outbox = Outbox(
            connector,
            self._reports.on_place_result,
            self._reports.on_cancel_result,
            max_batch=config.max_batch,
            max_in_flight=config.max_in_flight,
        )
        self._commands = CommandHandler(
            self._live, RiskGate(risk or RiskLimits()), self._outbox, connector, config,
            self._status,
        )
        self._reconciler = Reconciler(self._live, self._reports, connector, config, self._tasks)
        self._background = Background(
            self._live, self._reports, self._reconciler, connector, config, self._tasks
        )
        self._recovery_report: RecoveryReport | None = None

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
        """Claim the journal, replay, verify, connect, reconcile; then open for trading.

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
            manager._recovery_report = await recover(manager._recovery_parts())
        except BaseException:
            await manager.close()
            raise
        manager._status.open()
        return manager

    def _recovery_parts(self) -> RecoveryParts:
        return RecoveryParts(
            store=self._store,
            connector=self._connector,
            config=self._config,
            live=self._live,
            reconciler=self._reconciler,
            claim=self._lease.claim,
            start_pipeline=self._start_pipeline,
            flush=self.flush,
        )

    def _send_cancel(self, pair: str, cloid: str, deadline_ms: int) -> None:
        # Wiring only: the report handler's journaled cancels (cancel-on-ack) leave through
        # the one outbox, built after it because the outbox reports back to it.
        self._outbox.cancel(pair, cloid, deadline_ms)

    def _start_pipeline(self) -> None:
        self._live.start()
        self._outbox.start()
        self._background.start()

    async def __aenter__(self) -> OrderManager:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop trading, flush the journal, stop tasks, close the connector (and our store)."""
        self._status.stop("closed")
        await self._tasks.close()
        await self._outbox.close()
        await self._live.close()
        if self._config.snapshot_every > 0:
            try:  # a snapshot only saves time at the next start; a fenced engine writes none
                if await self._lease.still_ours():
                    await self._live.save_snapshot(only_if_changed=True)
            except Exception as exc:
                log.warning("could not write a snapshot on close (%s); the next start replays", exc)
        await self._connector.close()
        if self._owns_store:
            await self._store.close()

    def _on_journal_failure(self, exc: BaseException) -> None:
        if isinstance(exc, Fenced):
            self._status.stop(self._fenced_reason("another engine"), keep_first=False)
            log.critical("%s", self._status.reason)
            self._tasks.spawn(self._name_the_fencer())
            return
        self._status.stop(
            f"the journal failed ({exc}); the engine stopped trading. Fix the database and"
            " restart: start-up replays the journal and reconciles with the exchange",
            keep_first=False,
        )

    @staticmethod
    def _fenced_reason(who: str) -> str:
        return (
            f"fenced: {who} claimed this journal, so this engine stopped trading (one engine"
            " per journal). Nothing more is journaled or sent from here; close this one"
        )

    async def _name_the_fencer(self) -> None:
        who = await self._lease.fenced_by()
        self._status.stop(self._fenced_reason(f"the engine with {who}"), keep_first=False)
        log.critical("%s", self._status.reason)

    @property
    def is_trading(self) -> bool:
        """True once recovery completed and until close or a journal failure."""
        return self._status.is_trading

    @property
    def recovery_report(self) -> RecoveryReport | None:
        """What start-up replayed, checked and corrected (None before it completed)."""
        return self._recovery_report

    @property
    def store(self) -> EventStore:
        """The journal's event store (read it; appending to order streams is the engine's)."""
        return self._store

    @property
    def connector(self) -> ExchangeConnector:
        """The exchange connector the engine trades through."""
        return self._connector

    @property
    def config(self) -> EngineConfig:
        """The engine's settings."""
        return self._config

    # ------------------------------------------------------------------ commands

    def buy(
        self,
        pair: str,
        amount: Decimal,
        order_type: OrderType = OrderType.LIMIT,
        *,
        price: Decimal,
        time_in_force: TimeInForce | None = None,
        reduce_only: bool = False,
        position_action: PositionAction = PositionAction.OPEN,
        leverage: int | None = None,
        client_order_id: ClientOrderId | None = None,
    ) -> ClientOrderId:
        """Place a buy order; returns its client order id at once (never awaits I/O).

        ``price`` is the limit price (for ``MARKET`` orders: the worst acceptable price of the
        IOC). Raises ``ValueError``/``OrderRuleViolation``/``UnknownPair`` on bad input (nothing
        is journaled); a risk refusal is journaled as a rejected order and its id returned.
        ``client_order_id`` lets a caller that journals the id first (an execution algorithm's
        child, see :mod:`oms.algos`) choose it; by default a fresh one is made.
        """
        return self._commands.buy(
            pair, amount, order_type, price=price, time_in_force=time_in_force,
            reduce_only=reduce_only, position_action=position_action, leverage=leverage,
            client_order_id=client_order_id,
        )  # fmt: skip

    def sell(
        self,
        pair: str,
        amount: Decimal,
        order_type: OrderType = OrderType.LIMIT,
        *,
        price: Decimal,
        time_in_force: TimeInForce | None = None,
        reduce_only: bool = False,
        position_action: PositionAction = PositionAction.OPEN,
        leverage: int | None = None,
        client_order_id: ClientOrderId | None = None,
    ) -> ClientOrderId:
        """Place a sell order; see :meth:`buy`."""
        return self._commands.sell(
            pair, amount, order_type, price=price, time_in_force=time_in_force,
            reduce_only=reduce_only, position_action=position_action, leverage=leverage,
            client_order_id=client_order_id,
        )  # fmt: skip

    def cancel(self, client_order_id: str) -> None:
        """Request a cancel (journaled, then sent). Raises :class:`OrderNotActive` if terminal.

        An order not acknowledged yet is canceled as soon as its acknowledgement arrives.
        """
        self._commands.cancel(client_order_id)

    def replace(
        self, client_order_id: str, *, price: Decimal | None = None, amount: Decimal | None = None
    ) -> ClientOrderId:
        """Replace an active order by a new one (new client order id, returned) at once.

        An acknowledged order is replaced by the exchange's atomic ``modify`` (journaled
        replacement, then the old order's cancel request, then one action); see
        ``CommandHandler.replace`` for the two-leg path of an order not yet acknowledged.
        """
        return self._commands.replace(client_order_id, price=price, amount=amount)

    async def cancel_all(self) -> int:
        """Cancel every active order; returns how many cancels were requested."""
        return await self._commands.cancel_all()

    def set_kill_switch(self, on: bool) -> None:
        """Refuse (on) or allow (off) new orders; existing orders are not touched."""
        self._commands.set_kill_switch(on)

    async def reconcile(self) -> ReconcileCounts:
        """Run a gap fill now: fills since the last journaled one, then every active order's
        status (what the engine does after a reconnect or a silent stream)."""
        return await self._reconciler.refresh("request")

    # ------------------------------------------------------------------ queries

    def get_order(self, client_order_id: str) -> InFlightOrder | None:
        """A snapshot of one order's live state (including events still being journaled), if it
        is held in memory (active or recently completed); see :meth:`load_order` for older ones."""
        return self._live.snapshot(client_order_id)

    async def load_order(self, client_order_id: str) -> InFlightOrder | None:
        """One order's state from memory or, once it has left memory (completed orders beyond
        ``completed_in_memory``), folded from its journal stream; None if it was never journaled.
        """
        return await self._live.load(client_order_id)

    async def all_orders(self, batch_size: int = 1000) -> AsyncIterator[InFlightOrder]:
        """Every order the journal knows (active, completed, evicted), by client order id.

        Served from the SQL read models, brought up to the journal's head first (incremental,
        checkpointed: not a fold of the whole journal each time); memory stays flat.
        """
        await self._live.flush()
        async for order in every_order(self._store, batch_size):
            yield order

    def snapshot(self) -> EngineSnapshot:
        """Orders and positions as one consistent copy: a fill is in both or in neither.

        ``position`` is the last journal position made durable; after :meth:`flush` (or
        :meth:`settled`) the copy is exactly the journal's state at that position.
        """
        return snapshot_of(self._live.projector)

    async def settled(self, timeout_s: float = 30.0) -> None:
        """Wait until nothing is pending: every event durable, every request sent, and no
        background fill fetch, resolution or read-back still running.

        Raises ``TimeoutError`` after ``timeout_s`` seconds (e.g. an unknown outcome still
        waiting for its deadline, or the exchange unreachable).
        """
        async with asyncio.timeout(timeout_s):
            while True:
                await self.flush()
                work = self._tasks.work()
                if work:
                    await asyncio.wait(work)
                    continue
                if self._live.idle and not self._outbox.pending:
                    return
                await asyncio.sleep(0.01)

    @property
    def active_orders(self) -> dict[str, InFlightOrder]:
        """Every non-terminal order by client order id."""
        return {r.client_order_id: r.freeze() for r in self._live.active_records()}

    @property
    def orders(self) -> Mapping[str, InFlightOrder]:
        """Snapshots of every order held in memory (active and recently completed)."""
        return {r.client_order_id: r.freeze() for r in self._live.records()}

    @property
    def active_count(self) -> int:
        """How many orders are not terminal (cheap: no snapshots)."""
        return self._live.active_count

    @property
    def positions(self) -> PositionBook:
        """Positions and PnL per pair, from the journaled fills."""
        return self._live.positions

    @property
    def projector(self) -> Projector:
        """The projection (tracker + positions) the engine folds every event into; read only."""
        return self._live.projector

    def add_listener(self, **callbacks: Callback) -> None:
        """Register callbacks: on_created/filled/canceled/failed/completed, on_event.

        Each is called as ``callback(event, order)`` after the event is durable; coroutine
        functions are scheduled as tasks; exceptions are logged and never reach the engine.
        """
        self._live.add_listener(**callbacks)

    async def events(self, from_position: int | None = None) -> AsyncIterator[OrderEvent]:
        """Every order event in journal order: from ``from_position``, else from now on (live).

        Anomalies journaled for no order are included; the engine lease's claims are not."""
        if from_position is None:
            head, _ = await self._store.head()
            from_position = head + 1
        async for recorded in self._store.subscribe(from_position=from_position):
            if recorded.stream_id == LEASE_STREAM or recorded.stream_id.startswith(ALGO_PREFIX):
                continue  # the engine's own bookkeeping / parent orders (see oms.algos)
            yield decode(recorded.type, recorded.data, recorded.event_version)

    async def flush(self) -> None:
        """Wait until every event emitted so far is durable and every queued request is sent."""
        await self._live.flush()
        await self._outbox.drain()
