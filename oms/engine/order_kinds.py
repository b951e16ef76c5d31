"""Order kinds beyond the plain limit: stops, take-profits, brackets, position TP/SL, market orders.

Every kind follows the engine's one rule: journal first, send once durable. A bracket (entry plus
take-profit and/or stop-loss legs, Hyperliquid's ``normalTpsl``) is one call that returns every
client order id at once; all its orders are journaled (created, submitted, legs linked to the
entry by ``parent_id``) before the single action leaves. Each order then has its own three-valued
outcome, resolved by cloid like any order.

The legs wait for the entry: the exchange answers ``waitingForFill`` for them (journaled as their
trigger state) and arms them when the entry fills. It reports no event for the arming, so when the
journal says the entry FILLED, the engine journals the legs' ``waiting_for_trigger`` itself
(:meth:`OrderKindCommands.on_emitted`).

Market orders have no type of their own on Hyperliquid: :meth:`OrderKindCommands.market` takes the
best opposite quote of the book (or the mid) and a slippage bound (default 5 %, the official SDK's)
and places an IOC limit at that worst price, quantized by the trading rules; a bound too tight
comes back as the exchange's "could not immediately match" refusal, journaled like any other.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from connectors.base import ExchangeConnector, Grouping, PlaceOrderRequest, TriggerSpec
from oms.domain.enums import Grouping as DomainGrouping
from oms.domain.enums import (
    OrderState,
    OrderType,
    PositionAction,
    TimeInForce,
    TradeSide,
    TriggerState,
)
from oms.domain.events import (
    OrderCreated,
    OrderEvent,
    OrderRejected,
    OrderSubmitted,
    TriggerStateChanged,
)
from oms.domain.ids import ClientOrderId
from oms.domain.order import OrderRecord
from oms.engine.config import EngineConfig
from oms.engine.order_kind_rules import Leg, check_bracket, check_trigger_side, trigger_prices
from oms.engine.outbox import Outbox
from oms.engine.risk import RiskGate

DEFAULT_MARKET_SLIPPAGE = Decimal("0.05")
"""Slippage bound of :meth:`OrderKindCommands.market` by default (the official SDK's 5 %)."""


class OrderSink(Protocol):
    """What this collaborator needs of the live orders: decide + fold + journal, and lookups."""

    def emit(
        self, cid: str, candidates: list[OrderEvent], after: Callable[[], None] | None = None
    ) -> list[OrderEvent]: ...

    def get(self, cid: str) -> OrderRecord | None: ...

    @property
    def active_count(self) -> int: ...


PlaceLimit = Callable[[TradeSide, str, Decimal, OrderType, Decimal, bool], ClientOrderId]
"""``(side, pair, amount, order type, price, reduce_only) -> cid``: the plain order command."""


@dataclass(frozen=True, slots=True)
class BracketOrder:
    """The client order ids of a bracket (None for a leg that was not asked for)."""

    entry: ClientOrderId
    take_profit: ClientOrderId | None
    stop_loss: ClientOrderId | None


@dataclass(frozen=True, slots=True)
class _Spec:
    side: TradeSide
    order_type: OrderType
    amount: Decimal
    price: Decimal
    tif: TimeInForce
    reduce_only: bool
    trigger_price: Decimal | None = None
    parent: ClientOrderId | None = None


class OrderKindCommands:
    """Trigger orders, brackets, position TP/SL and market orders (see the module docstring)."""

    def __init__(
        self,
        live: OrderSink,
        gate: RiskGate,
        outbox: Outbox,
        connector: ExchangeConnector,
        config: EngineConfig,
        ensure_trading: Callable[[], None],
        net_position: Callable[[str], Decimal],
        place_limit: PlaceLimit,
    ) -> None:
        self._live = live
        self._gate = gate
        self._outbox = outbox
        self._connector = connector
        self._config = config
        self._ensure = ensure_trading
        self._net_position = net_position
        self._place_limit = place_limit
        self._legs: dict[str, list[ClientOrderId]] = {}

    # ------------------------------------------------------------------ commands

    async def trigger_order(
        self,
        side: TradeSide,
        pair: str,
        amount: Decimal,
        order_type: OrderType,
        *,
        trigger_price: Decimal,
        price: Decimal | None = None,
        reduce_only: bool = True,
    ) -> ClientOrderId:
        """A stop or take-profit resting on the exchange until the mark crosses ``trigger_price``.

        Raises before journaling if the trigger is off the tick or already met by the mark.
        """
        self._ensure()
        rule = self._connector.trading_rule(pair)
        trigger, limit = trigger_prices(rule, order_type, side, trigger_price, price)
        check_trigger_side(order_type, side, trigger, await self._connector.mark_price(pair))
        amount_q = self._amount(pair, amount, limit)
        spec = _Spec(side, order_type, amount_q, limit, TimeInForce.GTC, reduce_only, trigger)
        [cid] = self._journal(pair, [spec], DomainGrouping.NONE)
        return cid

    def bracket(
        self,
        side: TradeSide,
        pair: str,
        amount: Decimal,
        *,
        price: Decimal,
        take_profit: Leg | None = None,
        stop_loss: Leg | None = None,
        time_in_force: TimeInForce = TimeInForce.GTC,
    ) -> BracketOrder:
        """An entry order with its take-profit and/or stop-loss, journaled and sent as one.

        Raises before journaling if the legs disagree with the entry (size, price order) or a
        trigger is off the tick.
        """
        self._ensure()
        if not isinstance(price, Decimal):
            raise TypeError("price must be decimal.Decimal (never float)")
        rule = self._connector.trading_rule(pair)
        price_q = rule.quantize_price(price)
        amount_q = self._amount(pair, amount, price_q)
        check_bracket(side, amount_q, price_q, take_profit, stop_loss)
        exit_side = TradeSide.SELL if side is TradeSide.BUY else TradeSide.BUY
        specs = [_Spec(side, OrderType.LIMIT, amount_q, price_q, time_in_force, False)]
        kinds = [(take_profit, OrderType.TAKE_PROFIT_MARKET, OrderType.TAKE_PROFIT_LIMIT),
                 (stop_loss, OrderType.STOP_MARKET, OrderType.STOP_LIMIT)]
        for leg, market_kind, limit_kind in kinds:
            if leg is not None:
                kind = market_kind if leg.price is None else limit_kind
                trigger, limit = trigger_prices(rule, kind, exit_side, leg.trigger_price, leg.price)
                specs.append(_Spec(exit_side, kind, amount_q, limit, TimeInForce.GTC, True,
                                   trigger))
        cids = self._journal(pair, specs, DomainGrouping.NORMAL_TPSL)
        legs = iter(cids[1:])
        return BracketOrder(
            cids[0],
            next(legs) if take_profit is not None else None,
            next(legs) if stop_loss is not None else None,
        )

    async def position_tpsl(
        self, pair: str, *, take_profit: Leg | None = None, stop_loss: Leg | None = None
    ) -> BracketOrder:
        """Take-profit and/or stop-loss on the current position (``positionTpsl``), sized to it.

        ``entry`` of the result is the first leg's id. Raises ``ValueError`` when flat.
        """
        self._ensure()
        if take_profit is None and stop_loss is None:
            raise ValueError("position_tpsl needs take_profit= and/or stop_loss=")
        size = await self._exchange_position(pair)
        if size == 0:
            raise ValueError(f"no open {pair} position to protect")
        rule = self._connector.trading_rule(pair)
        side = TradeSide.SELL if size > 0 else TradeSide.BUY
        mark = await self._connector.mark_price(pair)
        specs: list[_Spec] = []
        for leg, kind_m, kind_l in ((take_profit, OrderType.TAKE_PROFIT_MARKET,
                                     OrderType.TAKE_PROFIT_LIMIT),
                                    (stop_loss, OrderType.STOP_MARKET, OrderType.STOP_LIMIT)):
            if leg is not None:
                kind = kind_m if leg.price is None else kind_l
                trigger, limit = trigger_prices(rule, kind, side, leg.trigger_price, leg.price)
                check_trigger_side(kind, side, trigger, mark)
                specs.append(_Spec(side, kind, abs(size), limit, TimeInForce.GTC, True, trigger))
        cids = self._journal(pair, specs, DomainGrouping.POSITION_TPSL)
        tp = cids[0] if take_profit is not None else None
        sl = cids[-1] if stop_loss is not None else None
        return BracketOrder(cids[0], tp, sl)

    async def market(
        self,
        side: TradeSide,
        pair: str,
        amount: Decimal,
        *,
        slippage: Decimal = DEFAULT_MARKET_SLIPPAGE,
        reduce_only: bool = False,
    ) -> ClientOrderId:
        """An IOC at the book's best opposite price ± ``slippage`` (quantized, see module doc)."""
        self._ensure()
        rule = self._connector.trading_rule(pair)
        reference = await self._connector.reference_price(pair, side.value)
        bound = rule.worst_price(side.value, reference, slippage)
        return self._place_limit(side, pair, amount, OrderType.MARKET, bound, reduce_only)

    async def market_close(
        self, pair: str, *, slippage: Decimal = DEFAULT_MARKET_SLIPPAGE
    ) -> ClientOrderId | None:
        """Close the exchange's current position in ``pair`` with a reduce-only market order.

        Returns None when there is no position.
        """
        self._ensure()
        size = await self._exchange_position(pair)
        if size == 0:
            return None
        side = TradeSide.SELL if size > 0 else TradeSide.BUY
        return await self.market(side, pair, abs(size), slippage=slippage, reduce_only=True)

    # ------------------------------------------------------------------ reports

    def on_emitted(self, record: OrderRecord) -> None:
        """After an emit: when a bracket's entry is FILLED, its waiting legs are armed."""
        if record.state is not OrderState.FILLED or record.grouping is not (
            DomainGrouping.NORMAL_TPSL
        ):
            return
        legs = self._legs.pop(record.client_order_id, None)
        for leg_cid in legs or ():
            leg = self._live.get(leg_cid)
            if leg is None or leg.state.is_terminal:
                continue
            if leg.trigger_state not in (None, TriggerState.WAITING_FOR_FILL):
                continue
            armed = TriggerStateChanged(
                leg_cid, TriggerState.WAITING_FOR_TRIGGER, "entry filled", None, time.time_ns()
            )
            self._live.emit(leg_cid, [armed])

    def adopt(self, records: Iterable[OrderRecord]) -> None:
        """Rebuild the entry → legs index from replayed orders (start-up)."""
        for record in records:
            if record.parent_id is not None:
                self._legs.setdefault(record.parent_id, []).append(record.client_order_id)

    # ------------------------------------------------------------------ internals

    def _amount(self, pair: str, amount: Decimal, price: Decimal) -> Decimal:
        if not isinstance(amount, Decimal):
            raise TypeError("amount must be decimal.Decimal (never float)")
        rule = self._connector.trading_rule(pair)
        amount_q = rule.quantize_amount(amount)
        rule.check_size(price, amount_q)
        return amount_q

    async def _exchange_position(self, pair: str) -> Decimal:
        for position in await self._connector.positions():
            if position.pair == pair:
                return position.size
        return Decimal(0)

    def _journal(
        self, pair: str, specs: list[_Spec], grouping: DomainGrouping
    ) -> list[ClientOrderId]:
        """Journal every order of one action (created, submitted; or rejected by the risk gate,
        all of them, if any is refused); send the action once the last entry is durable."""
        now_ns = time.time_ns()
        deadline = now_ns // 1_000_000 + int(self._config.expires_after_s * 1000)
        cids = [ClientOrderId.new(now_ns) for _ in specs]
        parent = cids[0] if grouping is DomainGrouping.NORMAL_TPSL else None
        refusal = None
        for spec in specs:
            refusal = refusal or self._gate.check(
                pair=pair, side=spec.side.value, amount=spec.amount, price=spec.price,
                open_orders=self._live.active_count, position=self._net_position(pair),
                now_ns=now_ns, reduce_only=spec.reduce_only,
            )
        requests: list[PlaceOrderRequest] = []
        batches: list[tuple[ClientOrderId, list[OrderEvent]]] = []
        for i, (cid, spec) in enumerate(zip(cids, specs, strict=True)):
            created = OrderCreated(
                cid, pair, spec.side, spec.order_type, spec.amount, spec.price, spec.tif,
                spec.reduce_only, PositionAction.CLOSE if spec.reduce_only else PositionAction.OPEN,
                None, now_ns, self._connector.venue, self._connector.account, spec.trigger_price,
                parent if i > 0 else None, grouping,
            )
            if refusal is not None:
                batches.append((cid, [created, OrderRejected(cid, refusal, "risk", now_ns)]))
                continue
            batches.append((cid, [created, OrderSubmitted(cid, 1, deadline, now_ns)]))
            requests.append(_request(pair, cid, spec))
        if parent is not None and refusal is None:
            self._legs[parent] = cids[1:]
        send = self._sender(requests, grouping, deadline) if requests else None
        for n, (cid, events) in enumerate(batches):
            self._live.emit(cid, events, send if n == len(batches) - 1 else None)
        return cids

    def _sender(
        self, requests: list[PlaceOrderRequest], grouping: DomainGrouping, deadline: int
    ) -> Callable[[], None]:
        if grouping is DomainGrouping.NONE and len(requests) == 1:
            return lambda: self._outbox.place(requests[0], deadline)
        wire_grouping: Grouping = (
            "normalTpsl" if grouping is DomainGrouping.NORMAL_TPSL else "positionTpsl"
        )
        return lambda: self._outbox.place_group(requests, wire_grouping, deadline)


def _request(pair: str, cid: ClientOrderId, spec: _Spec) -> PlaceOrderRequest:
    trigger = None
    if spec.trigger_price is not None:
        is_market = spec.order_type.is_market_trigger
        if spec.order_type.tpsl == "tp":
            trigger = TriggerSpec(spec.trigger_price, is_market, "tp")
        else:
            trigger = TriggerSpec(spec.trigger_price, is_market, "sl")
    return PlaceOrderRequest(
        cloid=cid.cloid, pair=pair, side=spec.side.value, amount=spec.amount, price=spec.price,
        tif=spec.tif.value, reduce_only=spec.reduce_only, trigger=trigger,
    )
