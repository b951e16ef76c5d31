"""The command handler: ``buy``, ``sell``, ``replace``, ``cancel``, ``cancel_all``, kill switch.

Every command is synchronous and never awaits I/O: it validates and quantizes against the
exchange's rules, runs the pre-trade risk gate, decides the order's events with the pure domain
functions, applies them to the live record and queues them for the journal (``LiveOrders``).
What must reach the exchange is handed to the outbox only once those events are durable (the
journal's ``after`` callbacks), so a submission never overtakes its journal entry. Cancel-on-ack
(a cancel asked for before the exchange acknowledged the order) lives here alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal

from connectors.base import ExchangeConnector, PlaceOrderRequest
from oms.domain.decider import Then, decide_command
from oms.domain.enums import OrderState, OrderType, PositionAction, TimeInForce, TradeSide
from oms.domain.events import CancelRequested, OrderCreated
from oms.domain.ids import ClientOrderId
from oms.domain.messages import CancelOrder, PlaceOrder
from oms.domain.order import OrderRecord
from oms.engine.config import EngineConfig
from oms.engine.errors import OrderNotActive, UnknownOrder
from oms.engine.live_orders import LiveOrders
from oms.engine.order_input import order_terms
from oms.engine.outbox import Outbox
from oms.engine.risk import RiskGate
from oms.engine.spot_rules import spot_pair
from oms.engine.status import TradingStatus

_Send = Callable[[PlaceOrderRequest, int], None]
"""Hands a journaled placement (request, deadline in ms) to the exchange."""

_TIF_BY_TYPE = {
    OrderType.LIMIT: TimeInForce.GTC,
    OrderType.LIMIT_MAKER: TimeInForce.ALO,
    OrderType.MARKET: TimeInForce.IOC,
}


class CommandHandler:
    """Turns user commands into journaled events and, once durable, outbox requests."""

    def __init__(
        self,
        live: LiveOrders,
        gate: RiskGate,
        outbox: Outbox,
        connector: ExchangeConnector,
        config: EngineConfig,
        status: TradingStatus,
    ) -> None:
        self._live = live
        self._gate = gate
        self._outbox = outbox
        self._connector = connector
        self._config = config
        self._status = status
        #: The account's pre-trade check (``notional, reduce_only -> refusal or None``), set
        #: by the engine when it keeps the account.
        self.account_check: Callable[[Decimal, bool], str | None] | None = None

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

        ``price`` is the limit price (for ``MARKET`` orders: the worst acceptable price of the IOC).
        Raises ``ValueError``/``OrderRuleViolation``/``UnknownPair`` on bad input (nothing is
        journaled);
        a risk refusal is journaled as a rejected order and its id returned. Leverage is not an
        order parameter on Hyperliquid: set it first with ``await set_leverage(pair, n)``.
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
            None,  # leverage is an account setting: set_leverage() before the order
            cid=client_order_id,
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
        client_order_id: ClientOrderId | None = None,
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
            None,  # leverage is an account setting: set_leverage() before the order
            cid=client_order_id,
        )

    def cancel(self, client_order_id: str) -> None:
        """Request a cancel (journaled, then sent). Raises :class:`OrderNotActive` if terminal.

        An order the exchange has not acknowledged yet is journaled as PENDING_CANCEL at once;
        the decider sends the cancel when the acknowledgement arrives (cancel-on-ack).
        """
        self._status.ensure()
        record = self._live.get(client_order_id)
        if record is None:
            raise UnknownOrder(client_order_id)
        if record.state.is_terminal:
            raise OrderNotActive(client_order_id, record.state.value)
        self._decide_cancel(record)

    def _decide_cancel(self, record: OrderRecord) -> None:
        decision = decide_command(
            record, CancelOrder(record.client_order_id), self._config.timing()
        )
        send = None
        deadline = decision.cancel_deadline_ms
        if Then.SEND_CANCEL in decision.then and deadline is not None:
            pair, cloid, outbox = record.pair, record.client_order_id.cloid, self._outbox

            def send() -> None:
                outbox.cancel(pair, cloid, deadline)

        elif record.state is OrderState.PENDING_CREATE and decision.events:
            # Not acknowledged yet: if the placement still waits in the send queue (held by
            # the address budget) it is withdrawn and journaled as never sent, instead of
            # waiting there for an acknowledgement that would only come to be canceled.
            cloid, outbox = record.client_order_id.cloid, self._outbox

            def send() -> None:
                outbox.withdraw(cloid)

        self._live.append(record.client_order_id, decision.events, send)

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
        self._status.ensure()
        record = self._live.get(client_order_id)
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
        old = self._live.get(old_cid)
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
        self._live.emit(
            old_cid,
            [requested],
            lambda: self._outbox.modify(old_cloid, old_oid, request, deadline_ms),
        )

    async def cancel_all(self) -> int:
        """Cancel every active order; returns how many cancels were requested."""
        count = 0
        for record in self._live.active_records():
            if record.state is not OrderState.PENDING_CANCEL:
                self.cancel(record.client_order_id)
                count += 1
        await self._live.flush()
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
        cid: ClientOrderId | None = None,
    ) -> ClientOrderId:
        """Validate, quantize, risk-check and journal a new order; ``send`` it once durable.

        ``send`` defaults to the outbox's placement queue (``replace`` passes a modify instead).
        """
        self._status.ensure()
        rule = self._connector.trading_rule(pair)
        pair = spot_pair(rule, pair, reduce_only=reduce_only, leverage=leverage)
        amount_q, price_q = order_terms(
            rule, side, amount, price, self._config.price_off_tick
        )
        tif = tif or _TIF_BY_TYPE[order_type]
        now_ns = time.time_ns()
        if cid is None:
            cid = ClientOrderId.new(now_ns)
        elif self._live.get(cid) is not None:  # a chosen id (an algorithm's child) is used once
            raise ValueError(f"client order id {cid} is already an order of this engine")
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
            venue=self._connector.venue,
            account=self._connector.account,
        )
        refusal = self._gate.check(
            pair=pair,
            side=side.value,
            amount=amount_q,
            price=price_q,
            open_orders=self._live.active_count,
            position=self._net_position(pair),
            now_ns=now_ns,
            reduce_only=reduce_only,
        )
        if refusal is None and self.account_check is not None:
            refusal = self.account_check(amount_q * price_q, reduce_only)
        timing = self._config.timing(now_ns)
        decision = decide_command(None, PlaceOrder(created, refusal), timing)
        hand_over = None
        if Then.SEND_PLACE in decision.then:
            request = PlaceOrderRequest(
                cloid=cid.cloid,
                pair=pair,
                side=side.value,
                amount=amount_q,
                price=price_q,
                tif=tif.value,
                reduce_only=reduce_only,
            )
            deadline = timing.deadline_from_now
            sender = send or self._outbox.place

            def hand_over() -> None:
                sender(request, deadline)

        self._live.append(cid, decision.events, hand_over)
        return cid

    def _net_position(self, pair: str) -> Decimal:
        position = self._live.positions.get(pair)
        return position.net_size if position is not None else Decimal(0)
