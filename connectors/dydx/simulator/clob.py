"""The CLOB module of the local dYdX exchange: validation, memclob, matching, expiry.

Rules follow v4-chain ``x/clob`` (``types/message_{place,cancel}_order.go``,
``message_batch_cancel.go``, ``keeper/orders.go``, ``memclob/memclob.go``), with the codes of
``types/errors.go``. Short-term orders (flags 0) are checked and matched at CheckTx; their fills are
committed with the next block and they are purged after block ``goodTilBlock``. Long-term orders
(flags 64) and their cancels wait in the mempool and take effect in the next block; conditional
orders (flags 32) too, then wait ``UNTRIGGERED`` for the oracle (``conditional.py``). Not modeled:
collateral checks at placement, equity tiers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from v4_proto.dydxprotocol.clob.order_pb2 import Order, OrderId
from v4_proto.dydxprotocol.clob.tx_pb2 import MsgBatchCancel, MsgCancelOrder

from connectors.dydx import constants as c
from connectors.dydx.simulator.book import (
    BUY,
    TIF_FOK,
    TIF_IOC,
    TIF_POST_ONLY,
    Book,
    OrderKey,
    SimOrder,
)
from connectors.dydx.simulator.conditional import (
    Conditionals,
    check_trigger_tick,
    validate_condition,
)
from connectors.dydx.simulator.config import DydxSimConfig, MarketSpec
from connectors.dydx.simulator.ledger import Ledger
from connectors.dydx.simulator.txcheck import TxRefused

Emit = Callable[[dict[str, Any], bool], None]  # (event, now: vs with the next block)


def key_of(order_id: OrderId) -> OrderKey:
    """An OrderId as a hashable tuple."""
    sub = order_id.subaccount_id
    return (str(sub.owner), int(sub.number), int(order_id.client_id), int(order_id.order_flags),
            int(order_id.clob_pair_id))


def _clob_error(code: int, log: str) -> TxRefused:
    return TxRefused("clob", code, log)


class Clob:
    """Books, live orders, short-term cancels and pending stateful operations."""

    def __init__(self, config: DydxSimConfig, ledger: Ledger, emit: Emit) -> None:
        self.config = config
        self.markets: dict[int, MarketSpec] = {m.clob_pair_id: m for m in config.markets}
        self.books: dict[int, Book] = {m: Book() for m in self.markets}
        self.ledger = ledger
        self.emit = emit
        self.live: dict[OrderKey, SimOrder] = {}
        self.done: dict[OrderKey, SimOrder] = {}
        self.short_cancels: dict[OrderKey, int] = {}
        self.pending_places: dict[OrderKey, SimOrder] = {}
        self.pending_cancels: dict[OrderKey, int] = {}
        self._priority = 0
        self._event_index = 0
        #: Owners whose finished orders are not kept (the house market maker: memory stays flat).
        self.untracked: set[str] = set()
        self.conditionals = Conditionals(self)

    # validation ------------------------------------------------------------------------------

    def _market(self, clob: int) -> MarketSpec:
        market = self.markets.get(clob)
        if market is None:
            raise _clob_error(8, f"ClobPair with id {clob} does not exist:"
                              " ClobPair ID does not reference a valid CLOB")
        return market

    def _check_gtb(self, gtb: int, height: int) -> None:
        nxt = height + 1
        if gtb == 0:
            raise _clob_error(5, "GoodTilBlock cannot be 0: Invalid order goodTilBlock")
        if gtb < nxt:
            raise _clob_error(10, f"GoodTilBlock {gtb} is less than the current blockHeight {nxt}:"
                              " The next block height is greater than the GoodTilBlock of the"
                              " message")
        if gtb > nxt + self.config.short_block_window:
            raise _clob_error(11, f"The GoodTilBlock {gtb} exceeds the current blockHeight {nxt}"
                              f" plus ShortBlockWindow {self.config.short_block_window}: The"
                              " GoodTilBlock of the message is further than ShortBlockWindow"
                              " blocks into the future")

    def _check_gtbt(self, gtbt: int, block_time: int) -> None:
        if gtbt == 0:
            raise _clob_error(3001, "GoodTilBlockTime cannot be 0: Invalid order goodTilBlockTime")
        if gtbt <= block_time:
            raise _clob_error(3003, f"GoodTilBlockTime {gtbt} is less than or equal to the block"
                              f" time {block_time}: The block time is greater than the"
                              " GoodTilBlockTime of the message")
        if gtbt > block_time + c.STATEFUL_WINDOW_S:
            raise _clob_error(3004, "The GoodTilBlockTime of the message is further than"
                              " StatefulOrderTimeWindow into the future")

    def _validate_basic(self, order: Order) -> None:
        flags = order.order_id.order_flags
        if order.side not in (1, 2):
            raise _clob_error(3, f"invalid order side {order.side}: Invalid order side")
        if order.quantums == 0:
            raise _clob_error(4, "order size quantums cannot be 0: Invalid order quantums")
        if order.subticks == 0:
            raise _clob_error(6, "order subticks cannot be 0: Invalid order subticks")
        if order.time_in_force == TIF_FOK:
            raise _clob_error(48, "Fill-or-kill has been deprecated: This field has been"
                              " deprecated")
        if flags not in (c.FLAG_SHORT_TERM, c.FLAG_LONG_TERM, c.FLAG_CONDITIONAL):
            raise TxRefused("clob", 3000, f"invalid order flags {flags}: Invalid order flags")
        if flags == c.FLAG_LONG_TERM and order.time_in_force == TIF_IOC:
            raise _clob_error(3002, "Stateful orders cannot require immediate execution")
        validate_condition(order, flags == c.FLAG_CONDITIONAL)
        if order.reduce_only and order.time_in_force != TIF_IOC:
            raise _clob_error(9003, "reduce only orders must be short term IOC orders: Reduce-only"
                              " is currently disabled for non-IOC orders")

    def _validate_grid(self, order: Order, market: MarketSpec) -> None:
        if order.subticks % market.subticks_per_tick:
            raise _clob_error(12, f"Order subticks {order.subticks} must be a multiple of the"
                              f" ClobPair's SubticksPerTick {market.subticks_per_tick}:"
                              " MsgPlaceOrder is invalid")
        if order.quantums % market.step_base_quantums:
            raise _clob_error(12, f"Order Quantums {order.quantums} must be a multiple of the"
                              f" ClobPair's StepBaseQuantums {market.step_base_quantums}:"
                              " MsgPlaceOrder is invalid")

    # placing ---------------------------------------------------------------------------------

    def _new(self, order: Order, height: int) -> SimOrder:
        key = key_of(order.order_id)
        self._priority += 1
        return SimOrder(
            key=key, uuid=c.order_uuid(key[0], key[1], key[2], key[4], key[3]), side=order.side,
            quantums=order.quantums, subticks=order.subticks,
            good_til_block=order.good_til_block, good_til_block_time=order.good_til_block_time,
            tif=order.time_in_force, reduce_only=order.reduce_only,
            client_metadata=order.client_metadata, priority=self._priority,
            condition_type=order.condition_type,
            trigger_subticks=order.conditional_order_trigger_subticks,
        )

    def check_place(self, order: Order, height: int, block_time: int) -> None:
        """CheckTx of MsgPlaceOrder: refuse (raise) or, for a short-term order, place and match."""
        self._validate_basic(order)
        market = self._market(order.order_id.clob_pair_id)
        self._validate_grid(order, market)
        key = key_of(order.order_id)
        if key[3] != c.FLAG_SHORT_TERM:
            if key[3] == c.FLAG_CONDITIONAL:
                check_trigger_tick(order, market)
            self._check_gtbt(order.good_til_block_time, block_time)
            if key in self.live or key in self.pending_places or key in self.conditionals:
                raise _clob_error(3005, "Existing stateful order has higher-or-equal priority than"
                                  " the new one")
            if key in self.done:
                raise _clob_error(3009, "Stateful order was previously removed and therefore"
                                  " cannot be placed")
            self.pending_places[key] = self._new(order, height)
            return
        self._check_gtb(order.good_til_block, height)
        cancel_gtb = self.short_cancels.get(key)
        if cancel_gtb is not None and order.good_til_block <= cancel_gtb:
            raise _clob_error(7, "Attempt to place an order that is already canceled")
        old = self.live.get(key)
        if old is not None:
            if order.good_til_block <= old.good_til_block or order.side != old.side:
                raise _clob_error(20, "Replacing an existing order failed")
            self._remove(old, "CANCELED", "ORDER_REMOVAL_REASON_REPLACED", now=True)
        elif key in self.done and self.done[key].remaining == 0:
            raise _clob_error(24, "Order is fully filled")
        book = self.books[key[4]]
        if order.time_in_force == TIF_POST_ONLY and book.would_cross(order.side, order.subticks):
            raise _clob_error(2003, "Post-only order would cross one or more maker orders")
        sim = self._new(order, height)
        if sim.reduce_only:
            self.clamp_reduce_only(sim)
        self.emit(self.order_event(sim), True)
        self.execute(sim, next_block=True)
        if sim.remaining > 0 and sim.tif == TIF_IOC:
            self.finish(sim, "CANCELED",
                         "ORDER_REMOVAL_REASON_IMMEDIATE_OR_CANCEL_WOULD_REST_ON_BOOK")
        elif sim.remaining > 0:
            book.add(sim)
            self.live[key] = sim

    def clamp_reduce_only(self, sim: SimOrder) -> None:
        pos = self.ledger.subaccount(sim.key[0], sim.key[1]).positions.get(sim.key[4])
        size = pos.quantums if pos else 0
        if size == 0 or (size > 0) == (sim.side == BUY):
            raise _clob_error(2001, "Reduce-only orders cannot increase the position size")
        sim.quantums = min(sim.quantums, abs(size))

    def place_stateful(self, sim: SimOrder, height: int) -> None:
        """Block time: a long-term order enters the book (a crossing post-only is removed)."""
        if sim.key[3] == c.FLAG_CONDITIONAL:
            self.conditionals.rest(sim, height)
            return
        sim.created_height = height
        sim.status = "OPEN"
        book = self.books[sim.key[4]]
        if sim.tif == TIF_POST_ONLY and book.would_cross(sim.side, sim.subticks):
            self.finish(sim, "CANCELED", "ORDER_REMOVAL_REASON_POST_ONLY_WOULD_CROSS_MAKER_ORDER")
            return
        self.emit(self.order_event(sim), False)
        self.execute(sim, next_block=False)
        if sim.remaining > 0:
            book.add(sim)
            self.live[sim.key] = sim

    # cancels ---------------------------------------------------------------------------------

    def check_cancel(self, msg: MsgCancelOrder, height: int, block_time: int) -> None:
        """CheckTx of MsgCancelOrder."""
        key = key_of(msg.order_id)
        self._market(key[4])
        if key[3] in (c.FLAG_LONG_TERM, c.FLAG_CONDITIONAL):
            gtbt = msg.good_til_block_time
            self._check_gtbt(gtbt, block_time)
            order = (self.live.get(key) or self.pending_places.get(key)
                     or self.conditionals.get(key))
            if order is None:
                raise _clob_error(3006, "Stateful order does not exist")
            if gtbt < order.good_til_block_time:
                raise _clob_error(29, "cancel GoodTilBlockTime is less than the order's:"
                                  " Invalid stateful order cancellation")
            if key in self.pending_cancels:
                raise _clob_error(32, "Existing stateful order cancellation has higher-or-equal"
                                  " priority than the new one")
            self.pending_cancels[key] = gtbt
            return
        if key[3] != c.FLAG_SHORT_TERM:
            raise TxRefused("clob", 3000, f"invalid order flags {key[3]}: Invalid order flags")
        self.cancel_short_term(key, msg.good_til_block, height)

    def cancel_short_term(self, key: OrderKey, gtb: int, height: int) -> None:
        """A short-term cancel: remembered until its GTB; removes a resting order it outlives."""
        self._check_gtb(gtb, height)
        old = self.short_cancels.get(key)
        if old is not None and gtb <= old:
            raise _clob_error(9, "A cancel already exists in the memclob for this order with a"
                              " greater than or equal GoodTilBlock")
        self.short_cancels[key] = gtb
        order = self.live.get(key)
        if order is not None and order.good_til_block <= gtb:
            self.books[key[4]].remove(key)
            order.status, order.removal_reason = "BEST_EFFORT_CANCELED", (
                "ORDER_REMOVAL_REASON_USER_CANCELED")
            self.emit(self.order_event(order), True)

    def check_batch(self, msg: MsgBatchCancel, height: int) -> None:
        """CheckTx of MsgBatchCancel (short-term cancels only)."""
        ids = [(b.clob_pair_id, cid) for b in msg.short_term_cancels for cid in b.client_ids]
        clobs = [b.clob_pair_id for b in msg.short_term_cancels]
        if not ids or len(ids) > c.MAX_BATCH_CANCEL or len(set(clobs)) != len(clobs) or len(
                set(ids)) != len(ids):
            raise _clob_error(45, "Invalid batch cancel message")
        self._check_gtb(msg.good_til_block, height)
        owner, number = str(msg.subaccount_id.owner), int(msg.subaccount_id.number)
        for clob, cid in ids:
            self._market(clob)
            key = (owner, number, cid, c.FLAG_SHORT_TERM, clob)
            if self.short_cancels.get(key, -1) < msg.good_til_block:
                self.cancel_short_term(key, msg.good_til_block, height)

    def cancel_stateful(self, key: OrderKey) -> None:
        """Block time: apply a pending long-term cancel (a no-op if the order is gone)."""
        self.pending_cancels.pop(key, None)
        if self.conditionals.cancel(key):
            return
        order = self.live.get(key)
        if order is not None:
            self._remove(order, "CANCELED", "ORDER_REMOVAL_REASON_USER_CANCELED", now=False)

    # matching and expiry ---------------------------------------------------------------------

    def execute(self, taker: SimOrder, next_block: bool) -> None:
        """Match ``taker`` against its book and book every fill (maker price, both fees)."""
        market = self.markets[taker.key[4]]
        for m in self.books[taker.key[4]].match(taker):
            maker = m.maker
            if m.quantums == 0:
                self._remove(maker, "CANCELED", "ORDER_REMOVAL_REASON_SELF_TRADE_ERROR",
                             now=not next_block)
                continue
            quote = m.subticks * m.quantums
            qce = market.quantum_conversion_exponent
            quote = quote * 10**qce if qce >= 0 else quote // 10**-qce
            self._event_index += 1
            for order, liquidity, ppm in ((maker, "MAKER", self.config.maker_fee_ppm),
                                          (taker, "TAKER", self.config.taker_fee_ppm)):
                order.filled += m.quantums
                fee = quote * ppm // 1_000_000
                signed = m.quantums if order.side == BUY else -m.quantums
                pos = self.ledger.apply_fill(order.key[0], order.key[1], order.key[4], signed,
                                             quote, fee)
                self.emit({"kind": "fill", "order": order.uuid, "key": order.key,
                           "side": order.side, "liquidity": liquidity, "quantums": m.quantums,
                           "subticks": m.subticks, "quote": quote, "fee": fee,
                           "event_index": self._event_index,
                           "client_metadata": order.client_metadata, "at": time.time(),
                           "position": (pos.quantums, pos.open_cost),
                           "usdc": self.ledger.subaccount(order.key[0], order.key[1]).usdc},
                          False)
            if maker.remaining == 0:
                self._remove(maker, "FILLED", "ORDER_REMOVAL_REASON_FULLY_FILLED", now=False)
            else:
                maker.status = "OPEN"
                self.emit(self.order_event(maker), False)
        if taker.filled:
            taker.status = "FILLED" if taker.remaining == 0 else "OPEN"
            if taker.remaining == 0 and taker.key[0] not in self.untracked:
                self.done[taker.key] = taker
            self.emit(self.order_event(taker), False)

    def _remove(self, order: SimOrder, status: str, reason: str, now: bool) -> None:
        self.books[order.key[4]].remove(order.key)
        self.finish(order, status, reason, now)

    def finish(self, order: SimOrder, status: str, reason: str, now: bool = False) -> None:
        self.live.pop(order.key, None)
        if order.key[0] not in self.untracked:
            self.done[order.key] = order
        order.status, order.removal_reason = status, reason
        self.emit(self.order_event(order), now)

    def expire(self, height: int, block_time: int) -> None:
        """After block ``height``: purge short-term orders and cancels whose GTB it was, and
        long-term orders whose goodTilBlockTime the block time has reached."""
        for order in list(self.live.values()):
            dead = (order.good_til_block <= height if order.is_short_term
                    else order.good_til_block_time <= block_time)
            if dead:
                reason = order.removal_reason or "ORDER_REMOVAL_REASON_EXPIRED"
                self._remove(order, "CANCELED", reason, now=False)
        self.conditionals.expire(block_time)
        for key, gtb in list(self.short_cancels.items()):
            if gtb <= height:
                del self.short_cancels[key]

    @staticmethod
    def order_event(order: SimOrder) -> dict[str, Any]:
        return {"kind": "order", "key": order.key, "uuid": order.uuid, "side": order.side,
                "quantums": order.quantums, "filled": order.filled, "subticks": order.subticks,
                "gtb": order.good_til_block, "gtbt": order.good_til_block_time,
                "tif": order.tif, "reduce_only": order.reduce_only, "status": order.status,
                "reason": order.removal_reason, "created_height": order.created_height,
                "client_metadata": order.client_metadata,
                "condition_type": order.condition_type, "trigger": order.trigger_subticks}
