"""The replay fast path: raw journal rows folded straight into the tracker's records.

A rebuild from zero folds every event of the log, and building a ``RecordedEvent``, a domain
event dataclass and a ``Verdict`` per row cost more than the fold itself. Here each row's JSON
is parsed once, the fields the fold needs are read from the dict, and the record is changed by
the very ``OrderRecord.on_*`` methods that ``OrderRecord.apply`` (and so ``evolve``) uses.

Only the common, unambiguous cases take the fast path. Each handler first checks, before it
touches anything, that the row is well formed for it and that ``classify`` would say APPLY:
the order is active, the transition table says APPLY for its state (one lookup in
``TRANSITIONS``, never a re-coded cell), and the data guards hold (trade id, overfill, exchange
id); a cell whose legality depends on another guard takes the slow path.
Everything else goes through ``Projector.apply_order_row``, the exact live path: older schema
versions (upcast), unknown types or newer versions (raise), malformed payloads (raise),
duplicates, overfills, anomalies, events of completed orders, payloads naming another order.
So a row either takes the slow path unchanged or does what the slow path would have done;
``tests/projections/test_row_fold_agrees.py`` checks this against a fold of ``evolve``.

>>> folder = RowFolder(Projector())
>>> folder.fold([(1, "audit-1", "Note", 1, b"{}")])
>>> folder.projector.foreign_events, folder.projector.last_position
(1, 1)
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import orjson

from eventstore.raw_read import RawRow
from oms.domain.account_events import ACCOUNT_STREAM_PREFIX
from oms.domain.enums import (
    Grouping,
    OrderState,
    OrderType,
    PositionAction,
    TimeInForce,
    TradeSide,
)
from oms.domain.events import (
    CancelRequested,
    OrderAccepted,
    OrderCanceled,
    OrderCreated,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
)
from oms.domain.ids import ORDER_STREAM_PREFIX, ClientOrderId
from oms.domain.order import OrderRecord
from oms.domain.transitions import TRANSITIONS, Effect
from projections.projector import Projector

S = OrderState
Handler = Callable[[str, dict[str, Any]], bool]
"""``handler(client_order_id, payload) -> folded``; False: nothing touched, take the slow path."""

_PREFIX_LEN = len(ORDER_STREAM_PREFIX)
# Anything a payload of the wrong shape can raise while it is read; the slow path then raises
# the codec's own MalformedEvent (or does what it always did), since nothing was changed yet.
_BAD_ROW = (KeyError, TypeError, ValueError, ArithmeticError)


def _members(cls: Any) -> dict[Any, Any]:
    return {m.value: m for m in cls}


def _handlers(projector: Projector) -> dict[str, tuple[int, Handler]]:
    """The fast handlers, by event type, with the one schema version each reads."""
    active, completed, lost, by_exchange_id, complete = projector.tracker.index()
    active_get = active.get
    # The table's cells, asked once per type: a row applies only where its cell says APPLY.
    legal = {c.TYPE: legal_states(c.TYPE) for c in (OrderCanceled, OrderRejected)}
    submit_ok, accept_ok = legal_states(OrderSubmitted.TYPE), legal_states(OrderAccepted.TYPE)
    fill_ok, cancel_ok = legal_states(OrderFilled.TYPE), legal_states(CancelRequested.TYPE)
    apply_fill = projector.positions.apply_fill
    account_fill = projector.account.apply_own_fill
    new_record = OrderRecord.new
    intern = sys.intern
    cid_type = ClientOrderId
    sides, types = _members(TradeSide), _members(OrderType)
    tifs, actions = _members(TimeInForce), _members(PositionAction)
    groupings = _members(Grouping)

    def created(cid: str, d: dict[str, Any]) -> bool:
        if cid in active or cid in completed:
            return False  # a second "created": the slow path records the anomaly
        try:
            if d["client_order_id"] != cid:
                return False
            pair, venue, account = d["pair"], d["venue"], d["account"]
            if type(pair) is not str or type(venue) is not str or type(account) is not str:
                return False
            price, trigger_price, parent = d["price"], d["trigger_price"], d["parent_id"]
            if parent is not None and type(parent) is not str:
                return False
            record = new_record(
                str.__new__(cid_type, cid),
                intern(pair),  # shared strings: a million orders do not hold a million "ETH"
                sides[d["side"]],
                types[d["order_type"]],
                Decimal(d["amount"]),
                None if price is None else Decimal(price),
                tifs[d["time_in_force"]],
                d["reduce_only"],
                actions[d["position_action"]],
                d["leverage"],
                d["created_at_ns"],
                intern(venue),
                intern(account),
                None if trigger_price is None else Decimal(trigger_price),
                None if parent is None else str.__new__(cid_type, parent),
                groupings[d["grouping"]],
            )
        except _BAD_ROW:
            return False
        active[record.client_order_id] = record
        return True

    def submitted(cid: str, d: dict[str, Any]) -> bool:
        record = active_get(cid)
        if record is None or record.state not in submit_ok:
            return False  # a resubmission after the ack is an anomaly
        try:
            if d["client_order_id"] != cid or d["sent_at_ns"] is _MISSING:
                return False
            attempt, expires = d["attempt"], d["expires_after_ms"]
        except _BAD_ROW:
            return False
        record.on_submitted(attempt, expires)
        _settle_lost(record)
        return True

    def accepted(cid: str, d: dict[str, Any]) -> bool:
        record = active_get(cid)
        if record is None or record.state not in accept_ok:
            return False
        if record.exchange_order_id is not None:
            return False  # a repeated or conflicting ack: ignored or an anomaly
        try:
            if d["client_order_id"] != cid or d["at_ns"] is _MISSING:
                return False
            exchange_order_id = d["exchange_order_id"]
        except _BAD_ROW:
            return False
        if type(exchange_order_id) is not str:
            return False
        record.on_accepted(exchange_order_id)
        by_exchange_id[exchange_order_id] = record.client_order_id
        _settle_lost(record)
        return True

    def filled(cid: str, d: dict[str, Any]) -> bool:
        record = active_get(cid)
        if record is None or record.state not in fill_ok:
            return False  # a late fill of a completed order, or an orphan
        try:
            if d["client_order_id"] != cid or d["is_maker"] is _MISSING:
                return False
            trade_id, fee_asset = d["trade_id"], d["fee_asset"]
            exchange_time_ms, exchange_order_id = d["exchange_time_ms"], d["exchange_order_id"]
            if type(trade_id) is not str or type(fee_asset) is not str:
                return False
            if type(exchange_time_ms) is not int:
                return False
            if exchange_order_id is not None and type(exchange_order_id) is not str:
                return False
            price, amount, fee = Decimal(d["price"]), Decimal(d["amount"]), Decimal(d["fee"])
            closed = d["closed_pnl"]
            closed_pnl = None if closed is None else Decimal(closed)
            if trade_id in record.trade_ids or record.executed_base + amount > record.amount:
                return False  # a duplicate (ignored) or an overfill (anomaly)
        except _BAD_ROW:
            return False
        had_exchange_id = record.exchange_order_id
        record.on_fill(
            trade_id, price, amount, fee, fee_asset, exchange_time_ms, exchange_order_id
        )
        key = record.client_order_id
        if had_exchange_id is None and record.exchange_order_id is not None:
            by_exchange_id[record.exchange_order_id] = key
        _settle_lost(record)
        if record.state is S.FILLED:
            del active[key]
            complete(key, record)
        apply_fill(record.pair, record.side.sign, amount, price, fee, fee_asset)
        account_fill(
            record.pair, record.side.sign, amount, price, fee, fee_asset, exchange_time_ms,
            closed_pnl,
        )
        return True

    def cancel_requested(cid: str, d: dict[str, Any]) -> bool:
        record = active_get(cid)
        if record is None or record.state not in cancel_ok:
            return False
        try:
            if d["client_order_id"] != cid or d["at_ns"] is _MISSING:
                return False
            attempt, expires = d["attempt"], d["expires_after_ms"]
        except _BAD_ROW:
            return False
        record.on_cancel_requested(attempt, expires)
        _settle_lost(record)
        return True

    def ended(state: OrderState, type_: str, only_before_ack: bool) -> Handler:
        # The table says where each ends an order; OrderRejected in PENDING_CANCEL also
        # depends on a guard (never accepted): that cell takes the slow path.
        ok = legal[type_]

        def handler(cid: str, d: dict[str, Any]) -> bool:
            record = active_get(cid)
            if record is None or record.state not in ok:
                return False
            if only_before_ack and record.state is S.PENDING_CANCEL:
                return False
            try:
                if d["client_order_id"] != cid or d["at_ns"] is _MISSING:
                    return False
                if only_before_ack and d["source"] is _MISSING:
                    return False
                reason = d["reason"]
            except _BAD_ROW:
                return False
            record.on_ended(state, reason)
            _settle_lost(record)
            key = record.client_order_id
            del active[key]
            complete(key, record)
            return True

        return handler

    def _settle_lost(record: OrderRecord) -> None:
        # The tracker's own bookkeeping after an applied event, in its order.
        key = record.client_order_id
        if record.unknown:
            lost.add(key)
        elif key in lost:
            lost.discard(key)

    return {
        OrderCreated.TYPE: (OrderCreated.VERSION, created),
        OrderSubmitted.TYPE: (OrderSubmitted.VERSION, submitted),
        OrderAccepted.TYPE: (OrderAccepted.VERSION, accepted),
        OrderFilled.TYPE: (OrderFilled.VERSION, filled),
        CancelRequested.TYPE: (CancelRequested.VERSION, cancel_requested),
        OrderCanceled.TYPE: (OrderCanceled.VERSION, ended(S.CANCELED, OrderCanceled.TYPE, False)),
        OrderRejected.TYPE: (OrderRejected.VERSION, ended(S.FAILED, OrderRejected.TYPE, True)),
    }


def legal_states(type_: str) -> frozenset[OrderState]:
    """The states in which the transition table applies ``type_`` (read from ``TRANSITIONS``)."""
    return frozenset(
        state
        for (state, t), cell in TRANSITIONS.items()
        if t == type_ and cell.effect is Effect.APPLY
    )


_MISSING: Any = object()  # never in a payload: ``d[k] is _MISSING`` only asserts k is present


class RowFolder:
    """Folds batches of :data:`eventstore.RawRow` into a :class:`Projector`, as ``apply`` would.

    The projector (tracker, positions, counters, notes) ends up exactly as if every row had been
    passed to ``Projector.apply`` as a ``RecordedEvent``, including when a row raises.
    """

    __slots__ = ("_handlers", "projector")

    def __init__(self, projector: Projector) -> None:
        self.projector = projector
        self._handlers = _handlers(projector)

    def fold(
        self, rows: Sequence[RawRow], start: int = 0, stop_on_evicted: bool = False
    ) -> int | None:
        """Fold ``rows[start:]`` (in position order, after ``projector.last_position``).

        With ``stop_on_evicted``, stops *before* a row whose order the tracker does not hold
        (a late event of an order evicted by the capacity) and returns that row's index, so the
        caller can read the order back from the journal and call again from there; returns
        None when every row was folded.
        """
        projector = self.projector
        tracker = projector.tracker
        slow = projector.apply_order_row
        account_row = projector.apply_account_row
        account_prefix = ACCOUNT_STREAM_PREFIX
        handlers_get = self._handlers.get
        loads = orjson.loads
        prefix = ORDER_STREAM_PREFIX
        created = OrderCreated.TYPE
        fast = foreign = 0
        last = tracker.last_position
        in_live_path = False
        try:
            for index in range(start, len(rows)):
                position, stream, type_, version, raw = rows[index]
                if stream.startswith(account_prefix):
                    # The account's events are few: each takes the exact live path.
                    tracker.last_position = last
                    in_live_path = True
                    account_row(position, type_, loads(raw), version)
                    in_live_path = False
                elif not stream.startswith(prefix):
                    foreign += 1  # another part of the system's stream: its payload is not ours
                else:
                    data = loads(raw)
                    entry = handlers_get(type_)
                    if entry is not None and entry[0] == version and entry[1](
                        stream[_PREFIX_LEN:], data
                    ):
                        fast += 1
                    else:
                        if (
                            stop_on_evicted
                            and type_ != created
                            and stream[_PREFIX_LEN:] not in tracker
                        ):
                            return index
                        tracker.last_position = last
                        in_live_path = True
                        slow(position, stream, type_, data, version)
                        in_live_path = False
                last = position
            return None
        finally:
            # Also on an error the projector reflects exactly what the live path would have
            # left: the rows before the bad one, and whatever the live path did with it.
            if not in_live_path:
                tracker.last_position = last
            projector.events_applied += fast
            projector.foreign_events += foreign
