"""The public face of the order kinds and account commands (delegates to the collaborators).

Example::

    ids = oms.bracket(TradeSide.BUY, "ETH", Decimal("0.5"), price=Decimal("3000"),
                      take_profit=Leg(Decimal("3300")), stop_loss=Leg(Decimal("2850")))
    stop = await oms.trigger_order(TradeSide.SELL, "ETH", Decimal("0.5"), OrderType.STOP_MARKET,
                                   trigger_price=Decimal("2800"))
    cid = await oms.market(TradeSide.BUY, "ETH", Decimal("0.1"))
    await oms.set_leverage("ETH", 5, "isolated")
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

from oms.domain.enums import OrderType, PositionAction, TimeInForce, TradeSide
from oms.domain.ids import ClientOrderId
from oms.engine.account_commands import AccountCommandResult, AccountCommands, MarginMode
from oms.engine.order_kind_rules import Leg
from oms.engine.order_kinds import DEFAULT_MARKET_SLIPPAGE, BracketOrder, OrderKindCommands


class OrderKindApi:
    """Mixin of :class:`oms.engine.manager.OrderManager`: every order kind and account command."""

    if TYPE_CHECKING:
        _kinds: OrderKindCommands
        _accounts: AccountCommands

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
        ) -> ClientOrderId: ...

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
        """A stop or take-profit (``order_type`` STOP_MARKET, STOP_LIMIT, TAKE_PROFIT_MARKET or
        TAKE_PROFIT_LIMIT) resting until the mark crosses ``trigger_price``; returns its id.

        ``price``: the limit once triggered (required for ``*_LIMIT``; for ``*_MARKET`` the worst
        price, default ``trigger ± 10 %``). Raises ``TriggerOnWrongSide`` when the mark already
        meets the trigger, ``TriggerPriceOffTick`` off the tick; nothing is journaled then.
        """
        return await self._kinds.trigger_order(
            side, pair, amount, order_type, trigger_price=trigger_price, price=price,
            reduce_only=reduce_only,
        )

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
        """An entry limit order with its take-profit and/or stop-loss, one exchange action.

        Every id is returned at once and every order journaled before the action leaves. The legs
        wait until the entry fills. Raises ``BracketMismatch`` (legs vs entry) before journaling.
        """
        return self._kinds.bracket(
            side, pair, amount, price=price, take_profit=take_profit, stop_loss=stop_loss,
            time_in_force=time_in_force,
        )

    async def position_tpsl(
        self, pair: str, *, take_profit: Leg | None = None, stop_loss: Leg | None = None
    ) -> BracketOrder:
        """Take-profit and/or stop-loss on the current position (sized to it)."""
        return await self._kinds.position_tpsl(pair, take_profit=take_profit, stop_loss=stop_loss)

    async def market(
        self,
        side: TradeSide,
        pair: str,
        amount: Decimal,
        *,
        slippage: Decimal = DEFAULT_MARKET_SLIPPAGE,
        reduce_only: bool = False,
    ) -> ClientOrderId:
        """A market order: an IOC at the book's best price ± ``slippage`` (default 5 %)."""
        return await self._kinds.market(
            side, pair, amount, slippage=slippage, reduce_only=reduce_only
        )

    async def market_close(
        self, pair: str, *, slippage: Decimal = DEFAULT_MARKET_SLIPPAGE
    ) -> ClientOrderId | None:
        """Close the current position of ``pair`` reduce-only at market (None when flat)."""
        return await self._kinds.market_close(pair, slippage=slippage)

    async def set_leverage(
        self, pair: str, leverage: int, margin: MarginMode = "cross"
    ) -> AccountCommandResult:
        """Set the leverage and margin mode of ``pair``, journaled with its outcome."""
        return await self._accounts.set_leverage(pair, leverage, margin)

    async def update_isolated_margin(self, pair: str, amount: Decimal) -> AccountCommandResult:
        """Add (> 0) or remove (< 0) USDC margin of an isolated position, journaled."""
        return await self._accounts.update_isolated_margin(pair, amount)

    @property
    def leverage(self) -> Mapping[str, tuple[int, bool]]:
        """``pair -> (leverage, is_cross)`` per the journal (reconciled at start-up)."""
        return self._accounts.leverage

    def _place_plain(
        self,
        side: TradeSide,
        pair: str,
        amount: Decimal,
        order_type: OrderType,
        price: Decimal,
        reduce_only: bool,
    ) -> ClientOrderId:
        action = PositionAction.CLOSE if reduce_only else PositionAction.OPEN
        return self._place(side, pair, amount, order_type, price, None, reduce_only, action, None)
