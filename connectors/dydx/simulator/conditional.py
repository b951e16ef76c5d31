"""Conditional orders (flags 32) of the local dYdX exchange: stop-loss and take-profit.

Rules follow v4-chain ``x/clob``: ``MsgPlaceOrder.ValidateBasic`` (a conditional order needs a
condition type and non-zero trigger subticks, others neither: codes 6000 / 6001), CheckTx (the
trigger on the tick: 6001), ``types/order.go`` ``CanTrigger`` (a take-profit buy or a stop-loss
sell fires when the oracle price falls to or below the trigger, the other two when it rises to or
above it), and the EndBlocker, which triggers on the block's oracle price and places the triggered
orders in the next block (reference §3.2, "conditional orders are placed the block after
triggering"). Until then the Indexer says ``UNTRIGGERED``; then ``OPEN`` / ``FILLED`` /
``CANCELED`` as for a long-term order. A triggered market order (IOC) that cannot fill is
canceled with ``IMMEDIATE_OR_CANCEL_WOULD_REST_ON_BOOK``; a reduce-only one with nothing left to
reduce with ``REDUCE_ONLY_RESIZE``.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

from v4_proto.dydxprotocol.clob.order_pb2 import Order

from connectors.dydx.simulator.book import BUY, TIF_IOC, OrderKey, SimOrder
from connectors.dydx.simulator.config import MarketSpec
from connectors.dydx.simulator.txcheck import TxRefused

if TYPE_CHECKING:
    from connectors.dydx.simulator.clob import Clob

STOP_LOSS, TAKE_PROFIT = 1, 2

#: (market) → its oracle price now.
OraclePrice = Callable[[MarketSpec], Decimal]


def validate_condition(order: Order, conditional: bool) -> None:
    """``ValidateBasic`` of the conditional fields; raises :class:`TxRefused` (clob 6000/6001)."""
    if conditional:
        if order.condition_type not in (STOP_LOSS, TAKE_PROFIT):
            raise TxRefused("clob", 6000, "condition type cannot be unspecified: Conditional"
                            " type is invalid")
        if order.conditional_order_trigger_subticks == 0:
            raise TxRefused("clob", 6001, "conditional order trigger subticks cannot be 0:"
                            " Conditional order trigger subticks is invalid")
    elif order.condition_type or order.conditional_order_trigger_subticks:
        raise TxRefused("clob", 6000, "condition type specified for non-conditional order:"
                        " Conditional type is invalid")


def check_trigger_tick(order: Order, market: MarketSpec) -> None:
    """CheckTx: trigger subticks must be a multiple of the pair's ``subticks_per_tick``."""
    if order.conditional_order_trigger_subticks % market.subticks_per_tick:
        raise TxRefused("clob", 6001, f"Conditional order trigger subticks"
                        f" {order.conditional_order_trigger_subticks} must be a multiple of the"
                        f" ClobPair's SubticksPerTick {market.subticks_per_tick}: Conditional"
                        " order trigger subticks is invalid")


def trigger_price(order: SimOrder, market: MarketSpec) -> Decimal:
    """The human trigger price of a conditional order."""
    exp = market.quantum_conversion_exponent - 6 - market.atomic_resolution
    return Decimal(order.trigger_subticks).scaleb(exp)


def can_trigger(order: SimOrder, trigger: Decimal, oracle: Decimal) -> bool:
    """v4-chain ``Order.CanTrigger``: whether ``oracle`` fires the order."""
    falls = (order.condition_type == TAKE_PROFIT) == (order.side == BUY)
    return oracle <= trigger if falls else oracle >= trigger


class Conditionals:
    """Untriggered conditional orders and the ones triggered for the next block."""

    def __init__(self, clob: Clob) -> None:
        self.clob = clob
        self.untriggered: dict[OrderKey, SimOrder] = {}
        self.triggered: dict[OrderKey, SimOrder] = {}

    def __contains__(self, key: OrderKey) -> bool:
        return key in self.untriggered or key in self.triggered

    def get(self, key: OrderKey) -> SimOrder | None:
        """A conditional order still waiting (to trigger, or to be placed)."""
        return self.untriggered.get(key) or self.triggered.get(key)

    def rest(self, order: SimOrder, height: int) -> None:
        """Block time: a placed conditional order is written to state, ``UNTRIGGERED``."""
        order.created_height = height
        order.status = "UNTRIGGERED"
        self.untriggered[order.key] = order
        self.clob.emit(self.clob.order_event(order), False)

    def place_triggered(self, height: int) -> None:
        """Block time: the orders triggered in the previous block enter the book (or trade)."""
        clob = self.clob
        triggered, self.triggered = list(self.triggered.values()), {}
        for order in triggered:
            order.status = "OPEN"
            if order.reduce_only:
                try:
                    clob.clamp_reduce_only(order)
                except TxRefused:
                    clob.finish(order, "CANCELED", "ORDER_REMOVAL_REASON_REDUCE_ONLY_RESIZE")
                    continue
            clob.emit(clob.order_event(order), False)
            clob.execute(order, next_block=False)
            if order.remaining == 0:
                continue
            if order.tif == TIF_IOC:
                clob.finish(order, "CANCELED",
                            "ORDER_REMOVAL_REASON_IMMEDIATE_OR_CANCEL_WOULD_REST_ON_BOOK")
            else:
                clob.books[order.key[4]].add(order)
                clob.live[order.key] = order

    def check(self, oracle: OraclePrice) -> None:
        """End of block: move every order the oracle price fires to the next block's list."""
        for key, order in list(self.untriggered.items()):
            market = self.clob.markets[key[4]]
            if can_trigger(order, trigger_price(order, market), oracle(market)):
                del self.untriggered[key]
                self.triggered[key] = order

    def cancel(self, key: OrderKey) -> bool:
        """Block time: apply a cancel to a waiting conditional order; False if none waits."""
        order = self.untriggered.pop(key, None) or self.triggered.pop(key, None)
        if order is None:
            return False
        self.clob.finish(order, "CANCELED", "ORDER_REMOVAL_REASON_USER_CANCELED")
        return True

    def expire(self, block_time: int) -> None:
        """Waiting conditional orders whose goodTilBlockTime the block time reached."""
        for waiting in (self.untriggered, self.triggered):
            for key, order in list(waiting.items()):
                if order.good_til_block_time <= block_time:
                    del waiting[key]
                    self.clob.finish(order, "CANCELED", "ORDER_REMOVAL_REASON_EXPIRED")
