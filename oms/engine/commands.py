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

_Send = Callable[[PlaceOrderRequest, int], None]
"""Hands a journaled placement (request, deadline in ms) to the exchange."""

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
        def _account_refusal(self, notional: Decimal, reduce_only: bool) -> str | None: ...

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
        """Replace an active order by a new one (new client order id, returned) at once.

        ``amount`` defaults to what the old order has left, ``price`` to its price. When the old
        order is acknowledged, this is the exchange's atomic ``modify``: the replacement is
        journaled (created, submitted), then the old order's cancel request, and only then is one
        modify action sent, so the two never rest together. The replacement's outcome is handled
        like any placement; the old order is canceled when the modify is confirmed and is
        resolved by its status otherwise (the exchange may have canceled it and refused the new
        one). An old order not yet acknowledged (or already being canceled) is replaced in two
        legs instead: a journaled cancel, sent once it is acknowledged, and a new order sent
        at once (for a moment both may rest).
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
        old_oid = record.exchange_order_id
        atomic = old_oid is not None and record.state is not OrderState.PENDING_CANCEL
        send: _Send | None = None
        if atomic:
            assert old_oid is not None

            def send(request: PlaceOrderRequest, deadline_ms: int) -> None:
                self._send_modify(client_order_id, old_oid, request, deadline_ms)

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
            send,
        )
        if not atomic:
            self.cancel(client_order_id)
        return replacement

    def _send_modify(
        self, old_cid: str, old_oid: str, request: PlaceOrderRequest, deadline_ms: int
    ) -> None:
        """Once the replacement is durable: journal the old order's cancel request, then send.

        If the old order ended (or a cancel was requested) meanwhile, no cancel request is
        journaled for it and the modify goes anyway: the exchange decides, and refuses to modify
        an order that is no longer open.
        """
        old = self._orders.get(old_cid)
        old_cloid = ClientOrderId(old_cid).cloid
        if old is None or old.state.is_terminal or old.state is OrderState.PENDING_CANCEL:
            self._outbox.modify(old_cloid, old_oid, request, deadline_ms)
            return
        requested = CancelRequested(
            client_order_id=old.client_order_id,
            attempt=old.cancel_attempts + 1,
            expires_after_ms=deadline_ms,
            at_ns=time.time_ns(),
        )
        self._emit_then(
            old_cid,
            [requested],
            lambda: self._outbox.modify(old_cloid, old_oid, request, deadline_ms),
        )

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
        send: _Send | None = None,
    ) -> ClientOrderId:
        """Validate, quantize, risk-check and journal a new order; ``send`` it once durable.

        ``send`` defaults to the outbox's placement queue (``replace`` passes a modify instead).
        """
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
        if reason is None:
            reason = self._account_refusal(amount_q * price_q, reduce_only)
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
        sender = send or self._outbox.place
        self._emit_then(cid, [created, submitted], lambda: sender(request, deadline))
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
