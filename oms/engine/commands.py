"""Order commands: ``buy``, ``sell``, ``replace``, ``cancel``, ``cancel_all``, the kill switch.

Every command is synchronous and never awaits I/O: it validates and quantizes against the
exchange's rules, runs the pre-trade risk gate, decides the order's events with the pure domain
functions, applies them to the live record and queues them for the journal. What must reach the
exchange is handed to the outbox only once those events are durable (``Journal`` ``after``
callbacks), so a submission never overtakes its journal entry.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

from connectors.base import PlaceOrderRequest
from oms.domain.enums import OrderState, OrderType, PositionAction, TimeInForce, TradeSide
from oms.domain.events import (
    CancelRequested,
    OrderCreated,
    OrderEvent,
    OrderRejected,
    OrderSubmitted,
)
from oms.domain.ids import ClientOrderId
from oms.domain.order import OrderRecord
from oms.engine.errors import OrderNotActive, UnknownOrder

if TYPE_CHECKING:
    from connectors.base import ExchangeConnector
    from oms.engine.config import EngineConfig
    from oms.engine.journal import Journal
    from oms.engine.outbox import Outbox
    from oms.engine.risk import RiskGate

_TIF_BY_TYPE = {
    OrderType.LIMIT: TimeInForce.GTC,
    OrderType.LIMIT_MAKER: TimeInForce.ALO,
    OrderType.MARKET: TimeInForce.IOC,
}


class OrderCommands:
    """Mixin of :class:`oms.engine.manager.OrderManager`: the command side."""

    if TYPE_CHECKING:
        _orders: dict[str, OrderRecord]
        _active: set[str]
        _cancel_on_ack: set[str]
        _gate: RiskGate
        _journal: Journal
        _outbox: Outbox
        config: EngineConfig
        connector: ExchangeConnector

        def emit(self, cid: str, candidates: list[OrderEvent]) -> list[OrderEvent]: ...
        def _emit_then(
            self, cid: str, events: list[OrderEvent], after: Callable[[], None]
        ) -> None: ...
        def _ensure_trading(self) -> None: ...
        def _net_position(self, pair: str) -> Decimal: ...

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
    ) -> ClientOrderId:
        """Place a buy order; returns its client order id at once (never awaits I/O).

        ``price`` is the limit price (for ``MARKET`` orders: the worst acceptable price of the IOC).
        Raises ``ValueError``/``OrderRuleViolation``/``UnknownPair`` on bad input (nothing is
        journaled);
        a risk refusal is journaled as a rejected order and its id returned.
        """
        return self._place(
            TradeSide.BUY,
            pair,
            amount,
            order_type,
            price,
            time_in_force,
            reduce_only,
            position_action,
            leverage,
        )

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
    ) -> ClientOrderId:
        """Place a sell order; see :meth:`buy`."""
        return self._place(
            TradeSide.SELL,
            pair,
            amount,
            order_type,
            price,
            time_in_force,
            reduce_only,
            position_action,
            leverage,
        )

    def cancel(self, client_order_id: str) -> None:
        """Request a cancel (journaled, then sent). Raises :class:`OrderNotActive` if terminal."""
        self._ensure_trading()
        order = self._orders.get(client_order_id)
        if order is None:
            raise UnknownOrder(client_order_id)
        if order.state.is_terminal:
            raise OrderNotActive(client_order_id, order.state.value)
        if order.state is OrderState.PENDING_CANCEL:
            return
        if order.exchange_order_id is None:
            # Not acknowledged yet: cancelling now could race the placement; cancel on the ack.
            self._cancel_on_ack.add(client_order_id)
            return
        self._request_cancel(order)

    def replace(
        self, client_order_id: str, *, price: Decimal | None = None, amount: Decimal | None = None
    ) -> ClientOrderId:
        """Cancel an active order and place its replacement (new client order id, returned).

        Done as a journaled cancel plus a journaled new order, not the exchange's in-place
        ``modify``: each leg has its own three-valued outcome and its own recovery, and the
        replacement is sent at once (so for a moment both may rest; size ``amount`` accordingly).
        ``amount`` defaults to what the old order had left.
        """
        self._ensure_trading()
        record = self._orders.get(client_order_id)
        if record is None:
            raise UnknownOrder(client_order_id)
        if record.state.is_terminal:
            raise OrderNotActive(client_order_id, record.state.value)
        new_amount = amount if amount is not None else record.amount - record.executed_base
        new_price = price if price is not None else record.price
        if new_price is None:
            raise ValueError(f"order {client_order_id} has no price: pass price=")
        replacement = self._place(
            record.side,
            record.pair,
            new_amount,
            record.order_type,
            new_price,
            record.time_in_force,
            record.reduce_only,
            record.position_action,
            record.leverage,
        )
        self.cancel(client_order_id)
        return replacement

    async def cancel_all(self) -> int:
        """Cancel every active order; returns how many cancels were requested."""
        count = 0
        for cid in list(self._active):
            if self._orders[cid].state is not OrderState.PENDING_CANCEL:
                self.cancel(cid)
                count += 1
        await self._journal.flush()
        return count

    def set_kill_switch(self, on: bool) -> None:
        """Refuse (on) or allow (off) new orders; existing orders are not touched."""
        limits = self._gate.limits
        self._gate.limits = type(limits)(
            limits.max_order_notional,
            limits.max_open_orders,
            limits.max_position_default,
            limits.max_position,
            limits.max_orders_per_second,
            on,
        )

    def _place(
        self,
        side: TradeSide,
        pair: str,
        amount: Decimal,
        order_type: OrderType,
        price: Decimal,
        tif: TimeInForce | None,
        reduce_only: bool,
        action: PositionAction,
        leverage: int | None,
    ) -> ClientOrderId:
        self._ensure_trading()
        if not isinstance(amount, Decimal) or not isinstance(price, Decimal):
            raise TypeError("amount and price must be decimal.Decimal (never float)")
        rule = self.connector.trading_rule(pair)
        amount_q = rule.quantize_amount(amount)
        price_q = rule.quantize_price(price)
        rule.check_size(price_q, amount_q)  # quantized: only size and notional can fail
        tif = tif or _TIF_BY_TYPE[order_type]
        now_ns = time.time_ns()
        cid = ClientOrderId.new(now_ns)
        created = OrderCreated(
            client_order_id=cid,
            pair=pair,
            side=side,
            order_type=order_type,
            amount=amount_q,
            price=price_q,
            time_in_force=tif,
            reduce_only=reduce_only,
            position_action=action,
            leverage=leverage,
            created_at_ns=now_ns,
            venue=self.connector.venue,
            account=self.connector.account,
        )
        reason = self._gate.check(
            pair=pair,
            side=side.value,
            amount=amount_q,
            price=price_q,
            open_orders=len(self._active),
            position=self._net_position(pair),
            now_ns=now_ns,
            reduce_only=reduce_only,
        )
        if reason is not None:
            rejected = OrderRejected(
                client_order_id=cid, reason=reason, source="risk", at_ns=now_ns
            )
            self.emit(cid, [created, rejected])
            return cid
        deadline = now_ns // 1_000_000 + int(self.config.expires_after_s * 1000)
        submitted = OrderSubmitted(
            client_order_id=cid, attempt=1, expires_after_ms=deadline, sent_at_ns=now_ns
        )
        request = PlaceOrderRequest(
            cloid=cid.cloid,
            pair=pair,
            side=side.value,
            amount=amount_q,
            price=price_q,
            tif=tif.value,
            reduce_only=reduce_only,
        )
        self._emit_then(cid, [created, submitted], lambda: self._outbox.place(request, deadline))
        return cid

    def _request_cancel(self, order: OrderRecord) -> None:
        now_ns = time.time_ns()
        deadline = now_ns // 1_000_000 + int(self.config.expires_after_s * 1000)
        request = CancelRequested(
            client_order_id=order.client_order_id,
            attempt=1,
            expires_after_ms=deadline,
            at_ns=now_ns,
        )
        pair, cloid = order.pair, order.client_order_id.cloid
        self._emit_then(
            order.client_order_id, [request], lambda: self._outbox.cancel(pair, cloid, deadline)
        )
