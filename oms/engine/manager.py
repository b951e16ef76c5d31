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
- :func:`~oms.engine.recovery.recover` — the start-up sequence;
- :class:`~oms.engine.order_kinds.OrderKindCommands` — stops, take-profits, brackets, position
  TP/SL, market orders; :class:`~oms.engine.account_commands.AccountCommands` — leverage and
  isolated margin, journaled with their outcomes;
- :class:`~oms.engine.account_sync.AccountKeeper` — the account: fills placed elsewhere,
  funding, ledger, reconciliation with the exchange's account, account risk and kill switch.

Everything a user can call is in :data:`PUBLIC_API`; none of it journals an event directly,
skips the risk gate or reaches the outbox. Example::

    async with await OrderManager.open("sqlite+aiosqlite:///oms.db", connector) as oms:
        cid = oms.buy("ETH", Decimal("0.5"), OrderType.LIMIT, price=Decimal("3000"))
        print(oms.get_order(cid).state)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from decimal import Decimal

from connectors.account import AccountReader
from connectors.base import ExchangeConnector
from eventstore import EventStore, Fenced
from oms.domain.account import AccountState
from oms.domain.codec import DomainEvent, decode_any
from oms.domain.enums import OrderType, PositionAction, TimeInForce, TradeSide
from oms.domain.ids import ClientOrderId
from oms.domain.order import InFlightOrder
from oms.domain.parent import PARENT_INDEX_STREAM, PARENT_STREAM_PREFIX
from oms.engine.account_alerts import AccountCallback
from oms.engine.account_commands import AccountCommandResult, AccountCommands, MarginMode
from oms.engine.account_sync import AccountKeeper, AccountReconcileReport
from oms.engine.account_wiring import build_account_keeper, start_account_tasks
from oms.engine.anchoring import anchor_keeper
from oms.engine.commands import CommandHandler
from oms.engine.config import EngineConfig
from oms.engine.corrections import Corrections
from oms.engine.errors import RecoveryFailed
from oms.engine.intake import ReportHandler
from oms.engine.lease import LEASE_STREAM, EngineLease, fenced_reason
from oms.engine.listeners import Callback
from oms.engine.live_orders import LiveOrders
from oms.engine.nonce_home import ensure_nonce_file
from oms.engine.order_kind_rules import Leg
from oms.engine.order_kinds import DEFAULT_MARKET_SLIPPAGE, BracketOrder, OrderKindCommands
from oms.engine.outbox import Outbox
from oms.engine.reconcile import ReconcileCounts, Reconciler
from oms.engine.recovery import RecoveryParts, RecoveryReport, recover
from oms.engine.risk import RiskGate, RiskLimits
from oms.engine.send_budget import BudgetGate, SendQueueStatus
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
        "runtime_corrections",
        # commands
        "buy", "sell", "cancel", "replace", "cancel_all", "set_kill_switch", "reconcile",
        # order kinds and account commands (issue 15)
        "trigger_order", "bracket", "position_tpsl", "market", "market_close", "set_leverage",
        "update_isolated_margin", "leverage",
        # queries
        "get_order", "load_order", "all_orders", "active_orders", "orders", "active_count",
        "positions", "projector", "snapshot", "add_listener", "events", "flush", "settled",
        "send_queue", "add_work_source",
        # the account
        "account", "add_account_listener", "reconcile_account", "reset_account_kill_switch",
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
        self._work_sources: list[Callable[[], list[asyncio.Task[None]]]] = []
        self._lease = EngineLease(store, connector.venue, connector.account)
        self._live = LiveOrders(store, config.completed_in_memory, self._on_journal_failure,
                                seal_key=config.seal_key, seal_every=config.snapshot_every,
                                archive_dir=config.archive_dir)
        self._reports = ReportHandler(
            self._live, connector, config, self._tasks, self._send_cancel
        )
        self._outbox = Outbox(
            connector,
            self._reports.on_place_result,
            self._reports.on_cancel_result,
            max_batch=config.max_batch,
            max_in_flight=config.max_in_flight,
            gate=BudgetGate(getattr(connector, "send_budget", None), config.budget_policy),
        )
        gate = RiskGate(risk or RiskLimits())
        self._commands = CommandHandler(
            self._live, gate, self._outbox, connector, config, self._status
        )
        self._kinds = OrderKindCommands(
            self._live, gate, self._outbox, connector, config, self._status.ensure,
            self._net_position, self._place_plain,
        )
        self._live.watch(self._kinds.on_emitted)
        self._accounts = AccountCommands(store, connector, config, self._status.ensure)
        self._reports.corrections = corrections = Corrections()
        self._reconciler = Reconciler(self._live, self._reports, connector, config, self._tasks,
                                      corrections)
        self._background = Background(
            self._live, self._reports, self._reconciler, connector, config, self._tasks
        )
        self._account = build_account_keeper(
            self._live, self._reports, self._commands, connector, config
        )
        self._recovery_report: RecoveryReport | None = None
        self._anchor = anchor_keeper(store, config)

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
        ensure_nonce_file(store_obj, connector)  # two signers for one key never collide
        if listeners:
            manager.add_listener(**listeners)
        try:
            manager._recovery_report = await recover(manager._recovery_parts())
            manager._kinds.adopt(manager._live.records())
            try:
                await manager._accounts.recover()
            except Exception as exc:  # fail closed, like every other recovery step
                raise RecoveryFailed("account", f"leverage reconciliation failed: {exc}") from exc
            if manager._account is not None and isinstance(connector, AccountReader):
                start_account_tasks(manager._account, connector, manager._tasks)
        except BaseException:
            await manager.close()
            raise
        if manager._anchor is not None:
            manager._tasks.spawn(manager._anchor.run(manager._store), service=True)
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
            anchor=self._anchor,
            reconcile_account=self._reconcile_account_at_start if self._account else None,
        )

    async def _reconcile_account_at_start(self) -> dict[str, object]:
        assert self._account is not None
        return (await self._account.reconcile("start-up")).as_dict()

    def _net_position(self, pair: str) -> Decimal:
        position = self._live.positions.get(pair)
        return position.net_size if position is not None else Decimal(0)

    def _place_plain(
        self, side: TradeSide, pair: str, amount: Decimal, order_type: OrderType, price: Decimal,
        reduce_only: bool,
    ) -> ClientOrderId:
        place = self._commands.buy if side is TradeSide.BUY else self._commands.sell
        action = PositionAction.CLOSE if reduce_only else PositionAction.OPEN
        return place(pair, amount, order_type, price=price, reduce_only=reduce_only,
                     position_action=action)

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
        await self._anchor_on_close()
        await self._connector.close()
        if self._owns_store:
            await self._store.close()

    async def _anchor_on_close(self) -> None:
        """Anchor the final head: only an engine whose start-up matched the anchor does."""
        if self._anchor is None or not self._anchor.armed:
            return
        try:
            await self._anchor.update(self._store)
        except Exception as exc:
            log.warning("could not write the journal anchor on close: %s", exc)

    def _on_journal_failure(self, exc: BaseException) -> None:
        if isinstance(exc, Fenced):
            self._status.stop(fenced_reason("another engine"), keep_first=False)
            log.critical("%s", self._status.reason)
            self._tasks.spawn(self._name_the_fencer())
            return
        self._status.stop(
            f"the journal failed ({exc}); the engine stopped trading. Fix the database and"
            " restart: start-up replays the journal and reconciles with the exchange",
            keep_first=False,
        )

    async def _name_the_fencer(self) -> None:
        self._status.stop(fenced_reason(await self._lease.fenced_by()), keep_first=False)
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
    def runtime_corrections(self) -> Mapping[str, int]:
        """Events journaled by gap fills since start (after reconnects, silent streams,
        ``reconcile()``), by event type: what the streams had missed. Start-up corrections are
        in :attr:`recovery_report`."""
        return self._reconciler.corrections.by_kind

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
            reduce_only=reduce_only, position_action=position_action,
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
        client_order_id: ClientOrderId | None = None,
    ) -> ClientOrderId:
        """Place a sell order; see :meth:`buy`."""
        return self._commands.sell(
            pair, amount, order_type, price=price, time_in_force=time_in_force,
            reduce_only=reduce_only, position_action=position_action,
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

    # ------------------------------------------------------------------ order kinds, account
    # (details on OrderKindCommands / AccountCommands; each raises before journaling on bad input)

    async def trigger_order(
        self, side: TradeSide, pair: str, amount: Decimal, order_type: OrderType, *,
        trigger_price: Decimal, price: Decimal | None = None, reduce_only: bool = True,
    ) -> ClientOrderId:
        """A stop / take-profit (``STOP_*`` / ``TAKE_PROFIT_*``) resting until the mark crosses
        ``trigger_price``; ``price``: the limit once fired (``*_MARKET``: worst price, ±10 %)."""
        return await self._kinds.trigger_order(
            side, pair, amount, order_type, trigger_price=trigger_price, price=price,
            reduce_only=reduce_only,
        )  # fmt: skip

    def bracket(
        self, side: TradeSide, pair: str, amount: Decimal, *, price: Decimal,
        take_profit: Leg | None = None, stop_loss: Leg | None = None,
        time_in_force: TimeInForce = TimeInForce.GTC,
    ) -> BracketOrder:
        """An entry with its take-profit and/or stop-loss: one action, every id at once, all
        journaled before it leaves; the legs arm when the entry fills."""
        return self._kinds.bracket(
            side, pair, amount, price=price, take_profit=take_profit, stop_loss=stop_loss,
            time_in_force=time_in_force,
        )  # fmt: skip

    async def position_tpsl(
        self, pair: str, *, take_profit: Leg | None = None, stop_loss: Leg | None = None
    ) -> BracketOrder:
        """Take-profit and/or stop-loss on the current position, sized to it."""
        return await self._kinds.position_tpsl(pair, take_profit=take_profit, stop_loss=stop_loss)

    async def market(
        self, side: TradeSide, pair: str, amount: Decimal, *,
        slippage: Decimal = DEFAULT_MARKET_SLIPPAGE, reduce_only: bool = False,
    ) -> ClientOrderId:
        """A market order: an IOC at the book's best price ± ``slippage`` (default 5 %)."""
        return await self._kinds.market(
            side, pair, amount, slippage=slippage, reduce_only=reduce_only
        )  # fmt: skip

    async def market_close(
        self, pair: str, *, slippage: Decimal = DEFAULT_MARKET_SLIPPAGE
    ) -> ClientOrderId | None:
        """Close the exchange's current position in ``pair`` reduce-only (None when flat)."""
        return await self._kinds.market_close(pair, slippage=slippage)

    async def set_leverage(
        self, pair: str, leverage: int, margin: MarginMode = "cross"
    ) -> AccountCommandResult:
        """Set the leverage and margin mode of ``pair``, journaled with its outcome."""
        return await self._accounts.set_leverage(pair, leverage, margin)

    async def update_isolated_margin(self, pair: str, amount: Decimal) -> AccountCommandResult:
        """Add (> 0) or remove (< 0) USDC of an isolated position's margin, journaled."""
        return await self._accounts.update_isolated_margin(pair, amount)

    @property
    def leverage(self) -> Mapping[str, tuple[int, bool]]:
        """``pair -> (leverage, is_cross)`` per the journal, reconciled at start-up."""
        return self._accounts.leverage

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
        background fill fetch, resolution or read-back still running, every durable event
        delivered to the listeners, and no work of :meth:`add_work_source` sources running.

        Raises ``TimeoutError`` after ``timeout_s`` seconds (e.g. an unknown outcome still
        waiting for its deadline, or the exchange unreachable).
        """
        async with asyncio.timeout(timeout_s):
            while True:
                await self.flush()
                work = [*self._tasks.work(), *self._live.listener_work(),
                        *(t for source in self._work_sources for t in source())]
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
    def send_queue(self) -> SendQueueStatus:
        """What waits to be sent: orders held back by the exchange's request budget (or not yet
        batched), and how many were refused because the budget was spent (read-only)."""
        return self._outbox.queue_status()

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

    def add_work_source(self, source: Callable[[], list[asyncio.Task[None]]]) -> None:
        """Count a component's unfinished tasks in :meth:`settled` (the algorithm runner's
        steps, see ``oms.algos``): ``source()`` returns them each time settled looks."""
        self._work_sources.append(source)

    def add_listener(self, **callbacks: Callback) -> None:
        """Register callbacks: on_created/filled/canceled/failed/completed, on_event.

        Each is called as ``callback(event, order)`` after the event is durable; coroutine
        functions are scheduled as tasks; exceptions are logged and never reach the engine.
        """
        self._live.add_listener(**callbacks)

    async def events(self, from_position: int | None = None) -> AsyncIterator[DomainEvent]:
        """Every order and account event in journal order: from ``from_position``, else from
        now on (live).

        Anomalies journaled for no order are included; the engine lease's claims are not."""
        if from_position is None:
            head, _ = await self._store.head()
            from_position = head + 1
        async for recorded in self._store.subscribe(from_position=from_position):
            if recorded.stream_id == LEASE_STREAM or recorded.stream_id.startswith(ALGO_PREFIX):
                continue  # the engine's own bookkeeping / parent orders (see oms.algos)
            yield decode_any(recorded.type, recorded.data, recorded.event_version)

    # ------------------------------------------------------------------ the account

    @property
    def account(self) -> AccountState:
        """The account: positions (our fills and everyone else's), realized PnL (trading, fees,
        funding), cash, spot balances and the exchange's margin figures, folded from the
        journal (read only)."""
        return self._live.projector.account

    def add_account_listener(self, **callbacks: AccountCallback) -> None:
        """Register ``on_alert`` (corrections, anomalies, a tripped kill switch) and/or
        ``on_account_event`` callbacks, called with each account event once it is durable."""
        self._keeper().listeners.add(**callbacks)

    async def reconcile_account(self) -> AccountReconcileReport:
        """Reconcile the account with the exchange now (as the periodic task does)."""
        return await self._keeper().reconcile("on request")

    async def reset_account_kill_switch(self, reason: str = "operator") -> None:
        """Turn a tripped account kill switch off (journaled, with ``reason``)."""
        self._keeper().reset(reason)
        await self._live.flush()

    def _keeper(self) -> AccountKeeper:
        if self._account is None:
            raise TypeError(
                f"{type(self._connector).__name__} cannot read the account (no AccountReader)"
            )
        return self._account

    async def flush(self) -> None:
        """Wait until every event emitted so far is durable and every queued request is sent."""
        await self._live.flush()
        await self._outbox.drain()
