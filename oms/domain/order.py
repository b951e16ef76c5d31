"""``InFlightOrder`` (one order's state) and ``evolve`` (the fold step), with the replay fast path.

The semantics live in one place: ``transitions.classify`` says whether an event applies, and
``OrderRecord.apply`` says what applying it does. ``evolve`` runs both on a private copy and
returns a frozen ``InFlightOrder``; the tracker runs the very same two functions in place on a
mutable ``OrderRecord`` (no copy per event), which is what makes multi-million-event replays cheap.

>>> from decimal import Decimal
>>> from oms.domain.enums import *
>>> from oms.domain.events import OrderCreated, OrderAccepted
>>> from oms.domain.ids import ClientOrderId
>>> cid = ClientOrderId("0" * 32)
>>> o = evolve(None, OrderCreated(cid, "ETH", TradeSide.BUY, OrderType.LIMIT, Decimal("1"),
...     Decimal("3000"), TimeInForce.GTC, False, PositionAction.OPEN, None, 0, "hl", "main"))
>>> evolve(o, OrderAccepted(cid, "42", 1)).state
<OrderState.OPEN: 'open'>
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any

from oms.domain.enums import (
    Grouping,
    OrderState,
    OrderType,
    PositionAction,
    TimeInForce,
    TradeSide,
    TriggerState,
)
from oms.domain.events import (
    CancelRejected,
    CancelRequested,
    OrderAccepted,
    OrderCreated,
    OrderEvent,
    OrderFilled,
    OrderStatusUnknown,
    OrderSubmitted,
    TriggerStateChanged,
)
from oms.domain.ids import ClientOrderId
from oms.domain.transitions import Effect, classify

S = OrderState
_ZERO = Decimal(0)
_NO_TRADES: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class InFlightOrder:
    """One order as the fold of its events: parameters, state, and exact execution totals.

    ``expires_after_ms`` is the deadline of the latest submission or cancel; ``previous_state`` is
    where a rejected cancel returns to; ``unknown`` marks an outcome pending resolution (lost list).
    A trigger order also has its ``trigger_price`` and, once the exchange reported it, its
    ``trigger_state`` (and ``trigger_mark``, the mark price it was triggered at when known);
    ``parent_id`` links a bracket's legs to the entry order.
    """

    client_order_id: ClientOrderId
    pair: str
    side: TradeSide
    order_type: OrderType
    amount: Decimal
    price: Decimal | None
    time_in_force: TimeInForce
    reduce_only: bool
    position_action: PositionAction
    leverage: int | None
    created_at_ns: int
    venue: str
    account: str
    state: OrderState = OrderState.PENDING_CREATE
    exchange_order_id: str | None = None
    executed_base: Decimal = _ZERO
    executed_quote: Decimal = _ZERO
    fees: Mapping[str, Decimal] = field(default_factory=dict)
    trade_ids: frozenset[str] = _NO_TRADES
    last_fill_ms: int | None = None
    submit_attempts: int = 0
    cancel_attempts: int = 0
    expires_after_ms: int | None = None
    previous_state: OrderState | None = None
    unknown: bool = False
    anomalies: int = 0
    reason: str | None = None
    trigger_price: Decimal | None = None
    parent_id: ClientOrderId | None = None
    grouping: Grouping = Grouping.NONE
    trigger_state: TriggerState | None = None
    trigger_mark: Decimal | None = None

    @property
    def average_price(self) -> Decimal | None:
        """Volume-weighted average fill price, or None before any fill."""
        return self.executed_quote / self.executed_base if self.executed_base else None

    @property
    def remaining(self) -> Decimal:
        """Amount not yet executed (never negative: overfills are refused)."""
        return self.amount - self.executed_base

    @property
    def is_terminal(self) -> bool:
        """FILLED, CANCELED or FAILED."""
        return self.state.is_terminal

    @property
    def is_active(self) -> bool:
        """Not terminal: the order may still trade or change."""
        return not self.state.is_terminal

    @property
    def cloid(self) -> str:
        """The Hyperliquid cloid of the order."""
        return self.client_order_id.cloid


FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(InFlightOrder))
_CREATED_FIELDS = tuple(f.name for f in fields(OrderCreated))


class OrderRecord:
    """The mutable working form of an order used by the fold (same field names as InFlightOrder).

    ``trade_ids`` and ``fees`` are shared empty values until the first fill: idle orders stay small.
    """

    __slots__ = FIELD_NAMES

    client_order_id: ClientOrderId
    pair: str
    side: TradeSide
    order_type: OrderType
    amount: Decimal
    price: Decimal | None
    time_in_force: TimeInForce
    reduce_only: bool
    position_action: PositionAction
    leverage: int | None
    created_at_ns: int
    venue: str
    account: str
    state: OrderState
    exchange_order_id: str | None
    executed_base: Decimal
    executed_quote: Decimal
    fees: dict[str, Decimal]
    trade_ids: frozenset[str] | set[str]
    last_fill_ms: int | None
    submit_attempts: int
    cancel_attempts: int
    expires_after_ms: int | None
    previous_state: OrderState | None
    unknown: bool
    anomalies: int
    reason: str | None
    trigger_price: Decimal | None
    parent_id: ClientOrderId | None
    grouping: Grouping
    trigger_state: TriggerState | None
    trigger_mark: Decimal | None

    @classmethod
    def created(cls, event: OrderCreated) -> OrderRecord:
        """A new record in PENDING_CREATE from its "created" event."""
        return cls.new(*[getattr(event, name) for name in _CREATED_FIELDS])

    @classmethod
    def new(
        cls,
        client_order_id: ClientOrderId,
        pair: str,
        side: TradeSide,
        order_type: OrderType,
        amount: Decimal,
        price: Decimal | None,
        time_in_force: TimeInForce,
        reduce_only: bool,
        position_action: PositionAction,
        leverage: int | None,
        created_at_ns: int,
        venue: str,
        account: str,
        trigger_price: Decimal | None = None,
        parent_id: ClientOrderId | None = None,
        grouping: Grouping = Grouping.NONE,
    ) -> OrderRecord:
        """A new record in PENDING_CREATE from the fields of an ``OrderCreated`` (in its order)."""
        rec = cls.__new__(cls)
        rec.client_order_id = client_order_id
        rec.pair = pair
        rec.side = side
        rec.order_type = order_type
        rec.amount = amount
        rec.price = price
        rec.time_in_force = time_in_force
        rec.reduce_only = reduce_only
        rec.position_action = position_action
        rec.leverage = leverage
        rec.created_at_ns = created_at_ns
        rec.venue = venue
        rec.account = account
        rec.state = S.PENDING_CREATE
        rec.exchange_order_id = None
        rec.executed_base = rec.executed_quote = _ZERO
        rec.fees = _EMPTY_FEES
        rec.trade_ids = _NO_TRADES
        rec.last_fill_ms = rec.expires_after_ms = None
        rec.submit_attempts = rec.cancel_attempts = rec.anomalies = 0
        rec.previous_state = None
        rec.unknown = False
        rec.reason = None
        rec.trigger_price = trigger_price
        rec.parent_id = parent_id
        rec.grouping = grouping
        rec.trigger_state = rec.trigger_mark = None
        return rec

    @classmethod
    def thaw(cls, order: InFlightOrder) -> OrderRecord:
        """A mutable copy of ``order``."""
        rec = cls.__new__(cls)
        for name in FIELD_NAMES:
            setattr(rec, name, getattr(order, name))
        rec.fees = dict(order.fees) if order.fees else _EMPTY_FEES
        rec.trade_ids = set(order.trade_ids) if order.trade_ids else _NO_TRADES
        return rec

    def freeze(self) -> InFlightOrder:
        """An immutable snapshot of this record."""
        values: dict[str, Any] = {n: getattr(self, n) for n in FIELD_NAMES}
        values["fees"] = dict(self.fees)
        values["trade_ids"] = frozenset(self.trade_ids)
        return InFlightOrder(**values)

    def apply(self, event: OrderEvent) -> None:
        """Fold an event that ``classify`` found legal (Effect.APPLY) into this record."""
        type_ = event.TYPE
        if type_ == "OrderFilled":
            assert isinstance(event, OrderFilled)
            self.on_fill(
                event.trade_id,
                event.price,
                event.amount,
                event.fee,
                event.fee_asset,
                event.exchange_time_ms,
                event.exchange_order_id,
            )
        elif type_ == "OrderSubmitted":
            assert isinstance(event, OrderSubmitted)
            self.on_submitted(event.attempt, event.expires_after_ms)
        elif type_ == "OrderAccepted":
            assert isinstance(event, OrderAccepted)
            self.on_accepted(event.exchange_order_id)
        elif type_ == "CancelRequested":
            assert isinstance(event, CancelRequested)
            self.on_cancel_requested(event.attempt, event.expires_after_ms)
        elif type_ == "CancelRejected":
            assert isinstance(event, CancelRejected)
            self.state = self.previous_state or S.OPEN
            self.previous_state = None
            self.unknown = False
            self.reason = event.reason
        elif type_ == "OrderCanceled" or type_ == "OrderRejected" or type_ == "OrderNotFound":
            state = S.CANCELED if type_ == "OrderCanceled" else S.FAILED
            self.on_ended(state, event.reason)  # type: ignore[union-attr]
        elif type_ == "OrderStatusUnknown":
            assert isinstance(event, OrderStatusUnknown)
            self.unknown = True
            self.reason = event.reason
        elif type_ == "OrderAnomaly":
            self.anomalies += 1
        elif type_ == "TriggerStateChanged":
            assert isinstance(event, TriggerStateChanged)
            self.on_trigger_state(event.trigger_state, event.mark_price)

    # The per-event mutations below are what ``apply`` does for each type. The replay fast path
    # (``projections.row_fold``) calls them directly with values decoded from the journal, so
    # there is one definition of what an applied event does to an order.

    def on_submitted(self, attempt: int, expires_after_ms: int) -> None:
        """Apply an ``OrderSubmitted``: the attempt and its deadline are recorded."""
        self.submit_attempts = attempt
        self.expires_after_ms = expires_after_ms

    def on_accepted(self, exchange_order_id: str) -> None:
        """Apply an ``OrderAccepted``: the exchange id is recorded and the order is live."""
        self.exchange_order_id = exchange_order_id
        self.unknown = False
        if self.state is S.PENDING_CREATE:
            self.state = S.OPEN
        elif self.state is S.PENDING_CANCEL and self.previous_state is S.PENDING_CREATE:
            self.previous_state = S.OPEN

    def on_trigger_state(self, trigger_state: TriggerState, mark: Decimal | None) -> None:
        """Apply a ``TriggerStateChanged``: the flag moves on; a report implies acceptance."""
        self.trigger_state = trigger_state
        if trigger_state is TriggerState.TRIGGERED and mark is not None:
            self.trigger_mark = mark
        self.unknown = False
        if self.state is S.PENDING_CREATE:
            self.state = S.OPEN
        elif self.state is S.PENDING_CANCEL and self.previous_state is S.PENDING_CREATE:
            self.previous_state = S.OPEN

    def on_cancel_requested(self, attempt: int, expires_after_ms: int) -> None:
        """Apply a ``CancelRequested``: PENDING_CANCEL, remembering where a reject returns to."""
        if self.state is not S.PENDING_CANCEL:
            self.previous_state = self.state
            self.state = S.PENDING_CANCEL
        self.cancel_attempts = attempt
        self.expires_after_ms = expires_after_ms

    def on_ended(self, state: OrderState, reason: str) -> None:
        """Apply an ``OrderCanceled`` (CANCELED) or ``OrderRejected``/``OrderNotFound`` (FAILED)."""
        self.state = state
        self.previous_state = None
        self.unknown = False
        self.reason = reason

    def on_fill(
        self,
        trade_id: str,
        price: Decimal,
        amount: Decimal,
        fee: Decimal,
        fee_asset: str,
        exchange_time_ms: int,
        exchange_order_id: str | None,
    ) -> None:
        """Apply an ``OrderFilled``: exact totals, fees per asset, and the resulting state."""
        self.executed_base += amount
        self.executed_quote += amount * price
        trade_ids = self.trade_ids
        if isinstance(trade_ids, frozenset):  # the shared empty value, or a restored snapshot
            self.trade_ids = {*trade_ids, trade_id}
        else:
            trade_ids.add(trade_id)
        if self.fees is _EMPTY_FEES:
            self.fees = {fee_asset: fee}
        else:
            self.fees[fee_asset] = self.fees.get(fee_asset, _ZERO) + fee
        if self.last_fill_ms is None or exchange_time_ms > self.last_fill_ms:
            self.last_fill_ms = exchange_time_ms
        if self.exchange_order_id is None and exchange_order_id is not None:
            self.exchange_order_id = exchange_order_id
        self.unknown = False
        state = self.state
        if self.executed_base == self.amount:
            self.state = S.FILLED
            self.previous_state = None
        elif state is S.PENDING_CANCEL:
            self.previous_state = S.PARTIALLY_FILLED  # a rejected cancel returns here
        elif state is not S.CANCELED:
            self.state = S.PARTIALLY_FILLED  # a fill before the ack implies the order was accepted


_EMPTY_FEES: dict[str, Decimal] = {}  # shared and never mutated: records replace it on first fill


def step(record: OrderRecord | None, event: OrderEvent) -> OrderRecord | None:
    """The in-place fold step: ``evolve`` mutating ``record`` (returns the record to keep)."""
    if classify(record, event).effect is not Effect.APPLY:
        return record
    if record is None:
        return OrderRecord.created(event) if isinstance(event, OrderCreated) else None
    record.apply(event)
    return record


def evolve(order: InFlightOrder | None, event: OrderEvent) -> InFlightOrder | None:
    """The pure fold step: ``order`` after ``event``; an illegal event leaves it unchanged."""
    if classify(order, event).effect is not Effect.APPLY:
        return order
    if order is None:
        return OrderRecord.created(event).freeze() if isinstance(event, OrderCreated) else None
    record = OrderRecord.thaw(order)
    record.apply(event)
    return record.freeze()


def fold(events: list[OrderEvent] | tuple[OrderEvent, ...]) -> InFlightOrder | None:
    """The order built by evolving ``events`` from nothing."""
    order: InFlightOrder | None = None
    for event in events:
        order = evolve(order, event)
    return order
