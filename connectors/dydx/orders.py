"""Building order and cancel messages from requests, and choosing their block deadlines.

Order kinds (reference §3): ``Ioc`` → a short-term order (flags 0) with ``goodTilBlock``;
``Gtc`` → a long-term order (flags 64) resting until ``goodTilBlockTime``; ``Alo`` → the same with
``TIME_IN_FORCE_POST_ONLY``; a request with a ``trigger`` → a conditional order (flags 32, resting
on chain until ``goodTilBlockTime``) with ``condition_type`` STOP_LOSS or TAKE_PROFIT and
``conditional_order_trigger_subticks``; a market trigger fires as an IOC at the request's worst
price, a limit trigger as a resting (GTT) limit. Deadlines: the engine gives a wall-clock
``expires_after_ms``; here it becomes a block height after which the order can no longer
appear — a short-term order's ``goodTilBlock`` (3 to 19 blocks past the next one, within
``ShortBlockWindow`` 20), a stateful transaction's ``timeout_height``. Heights are estimated
from ``block_time_s``; certainty never rests on the estimate: "not found" is trusted only once
the Indexer has passed that height.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from v4_proto.dydxprotocol.clob.order_pb2 import Order, OrderId
from v4_proto.dydxprotocol.clob.tx_pb2 import MsgCancelOrder, MsgPlaceOrder
from v4_proto.dydxprotocol.subaccounts.subaccount_pb2 import SubaccountId

from connectors.base import OrderRuleViolation, PlaceOrderRequest
from connectors.dydx import constants as c
from connectors.dydx.client_ids import ClientIdRecord
from connectors.dydx.markets import DydxMarket

_TIF = {"Ioc": Order.TIME_IN_FORCE_IOC, "Gtc": Order.TIME_IN_FORCE_UNSPECIFIED,
        "Alo": Order.TIME_IN_FORCE_POST_ONLY}
_MIN_SHORT_BLOCKS = 3


@dataclass(frozen=True, slots=True)
class Plan:
    """Where and until when an order lives."""

    flags: int
    good_til_block: int
    good_til_block_time: int
    dead_after_height: int


def blocks_until(deadline_ms: int, now_ms: int, block_time_s: float) -> int:
    """Whole blocks from now to ``deadline_ms`` (at least 1)."""
    return max(1, math.ceil((deadline_ms - now_ms) / (block_time_s * 1000)))


def plan(request: PlaceOrderRequest, height: int, now_ms: int, deadline_ms: int,
         block_time_s: float, long_term_ttl_s: int) -> Plan:
    """Flags, goodTilBlock/Time and the last height at which the order could appear."""
    blocks = blocks_until(deadline_ms, now_ms, block_time_s)
    if request.trigger is not None:
        if request.reduce_only and not request.trigger.is_market:
            # v4-chain ``MsgPlaceOrder.ValidateBasic``: reduce-only needs IOC (else code 9003);
            # a market trigger fires as an IOC, a limit trigger rests.
            raise OrderRuleViolation(
                f"{request.pair}: dYdX accepts reduce-only conditional orders only as market"
                " triggers (STOP_MARKET / TAKE_PROFIT_MARKET, which fire as IOC); pass"
                " reduce_only=False for a stop-limit / take-profit-limit"
            )
        gtbt = now_ms // 1000 + long_term_ttl_s
        return Plan(c.FLAG_CONDITIONAL, 0, gtbt, height + 1 + max(blocks, 2))
    if request.tif == "Ioc":
        k = min(max(blocks, _MIN_SHORT_BLOCKS), c.SHORT_BLOCK_WINDOW - 1)
        gtb = height + 1 + k
        return Plan(c.FLAG_SHORT_TERM, gtb, 0, gtb)
    if request.reduce_only:
        raise OrderRuleViolation(
            f"{request.pair}: dYdX accepts reduce-only only on IOC (short-term) orders"
        )
    gtbt = now_ms // 1000 + long_term_ttl_s
    return Plan(c.FLAG_LONG_TERM, 0, gtbt, height + 1 + max(blocks, 2))


def order_id(address: str, subaccount: int, record: ClientIdRecord) -> OrderId:
    """The chain's OrderId of a journaled order."""
    return OrderId(subaccount_id=SubaccountId(owner=address, number=subaccount),
                   client_id=record.client_id, order_flags=record.flags,
                   clob_pair_id=record.clob_pair_id)


def place_message(address: str, subaccount: int, record: ClientIdRecord, market: DydxMarket,
                  request: PlaceOrderRequest) -> MsgPlaceOrder:
    """MsgPlaceOrder of ``request``; sizes and prices converted exactly (or refused)."""
    order = Order(
        order_id=order_id(address, subaccount, record),
        side=Order.SIDE_BUY if request.side == "buy" else Order.SIDE_SELL,
        quantums=market.to_quantums(request.amount),
        subticks=market.to_subticks(request.price),
        time_in_force=_TIF[request.tif],
        reduce_only=request.reduce_only,
        client_metadata=c.CLIENT_METADATA,
    )
    trigger = request.trigger
    if trigger is not None:
        # The engine's STOP_* are the chain's STOP_LOSS, TAKE_PROFIT_* its TAKE_PROFIT; both
        # fire on the oracle price (reference §3.1, v4-chain ``clob/order.proto``). The official
        # client's STOP_LIMIT leaves condition_type unset (a 6000 refusal): we always set it.
        order.condition_type = (Order.CONDITION_TYPE_STOP_LOSS if trigger.tpsl == "sl"
                                else Order.CONDITION_TYPE_TAKE_PROFIT)
        order.conditional_order_trigger_subticks = market.to_subticks(trigger.price)
        order.time_in_force = (Order.TIME_IN_FORCE_IOC if trigger.is_market
                               else Order.TIME_IN_FORCE_UNSPECIFIED)
    if record.flags == c.FLAG_SHORT_TERM:
        order.good_til_block = record.good_til_block
    else:
        order.good_til_block_time = record.good_til_block_time
    return MsgPlaceOrder(order=order)


def cancel_message(address: str, subaccount: int, record: ClientIdRecord) -> MsgCancelOrder:
    """MsgCancelOrder reaching as far as the order itself (GTB, or GTBT for stateful)."""
    msg = MsgCancelOrder(order_id=order_id(address, subaccount, record))
    if record.flags == c.FLAG_SHORT_TERM:
        msg.good_til_block = record.good_til_block
    else:
        msg.good_til_block_time = record.good_til_block_time
    return msg
