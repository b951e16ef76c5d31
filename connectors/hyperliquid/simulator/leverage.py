"""Leverage, isolated margin and the margin sweep of the simulated accounts.

The rules come from the reference (§4.7, §13.5) and the recorded answers it cites:

- ``updateLeverage``: an integer in ``[1, maxLeverage]`` per (account, asset), else
  ``Invalid leverage value…``; switching cross ↔ isolated while a position is open is refused
  with ``Cannot switch leverage type with open position.`` [recorded]; raising or lowering the
  leverage of an open position is allowed;
- ``updateIsolatedMargin``: ``ntli`` micro-USD, positive adds, negative removes; on a position that
  is not isolated (or no position) ``Position does not use isolated margin.`` [recorded]. Adding
  needs that much free cross margin; removing must leave at least the position's initial margin
  (the exchange also keeps 10 % of the position value, §13.5). The texts of those two refusals are
  not recorded; ours reuse ``Insufficient margin…`` wording and say which limit was hit;
- an isolated position's ``leverage`` carries ``rawUsd`` = ``marginUsed − szi × markPx``
  (the identity of §13.5), computed by ``isolated_leverage_wire``;
- when the mark moves, an account whose free margin turned negative loses its newest resting
  opening orders (``marginCanceled``) until it is back at or above zero.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .dexes import leverage_refusal
from .records import fmt

if TYPE_CHECKING:
    from .accounts import Account
    from .engine import ExchangeEngine

_ZERO = Decimal(0)
SWITCH_WITH_POSITION = "Cannot switch leverage type with open position."
NOT_ISOLATED = "Position does not use isolated margin."


def update_leverage(engine: ExchangeEngine, user: str, asset: int, is_cross: bool,
                    leverage: int) -> str | None:
    """Apply ``updateLeverage``; None when done, else the whole-action error text."""
    market = engine.markets.get(asset)
    if market is None or market.is_spot:
        return f"Invalid asset {asset}."
    if not 1 <= leverage <= market.max_leverage:
        return f"Invalid leverage value. Max leverage for {market.coin} is {market.max_leverage}."
    refusal = leverage_refusal(market, is_cross)  # HIP-3: isolated-only (dexes.py)
    if refusal is not None:
        return refusal
    account = engine.account(user)
    current = account.leverage.get(market.coin)
    was_cross = current[1] if current is not None else True
    if account.position(market.coin) != _ZERO and was_cross != is_cross:
        return SWITCH_WITH_POSITION
    account.leverage[market.coin] = (leverage, is_cross)
    engine.changes += 1
    return None


def update_isolated_margin(engine: ExchangeEngine, user: str, asset: int, ntli: int) -> str | None:
    """Apply ``updateIsolatedMargin`` (``ntli`` micro-USD); None when done, else the error."""
    market = engine.markets.get(asset)
    if market is None or market.is_spot:
        return f"Invalid asset {asset}."
    account = engine.account(user)
    setting = account.leverage.get(market.coin)
    if account.position(market.coin) == _ZERO or setting is None or setting[1]:
        return NOT_ISOLATED
    amount = Decimal(ntli) / 1_000_000
    extra = account.isolated_extra.get(market.coin, _ZERO)
    marks, default = engine.marks(), engine.config.default_leverage
    if amount > _ZERO and amount > account.available_margin(marks, default):
        return "Insufficient margin to add to the isolated position."
    if amount < _ZERO and extra + amount < _ZERO:
        return ("Insufficient margin to remove: an isolated position keeps at least its initial"
                " margin.")
    account.isolated_extra[market.coin] = extra + amount
    engine.changes += 1
    return None


def isolated_leverage_wire(account: Account, coin: str, szi: Decimal, mark: Decimal,
                           lev: int, margin: Decimal) -> dict[str, Any]:
    """``leverage`` of a position: ``{"type": "isolated", "value", "rawUsd"}`` or cross."""
    setting = account.leverage.get(coin)
    if setting is None or setting[1]:
        return {"type": "cross", "value": lev}
    raw_usd = margin - szi * mark
    return {"type": "isolated", "value": lev,
            "rawUsd": fmt(raw_usd.quantize(Decimal("1e-6")))}


def margin_sweep(engine: ExchangeEngine, now: int) -> int:
    """Cancel (``marginCanceled``) resting opening orders of accounts now short of margin."""
    marks, default = engine.marks(), engine.config.default_leverage
    canceled = 0
    for user, oids in list(engine.user_orders.items()):
        account = engine.accounts.get(user)
        if account is None or account.house or account.order_margin <= _ZERO:
            continue
        if account.available_margin(marks, default) >= _ZERO:
            continue
        for oid in reversed(oids):
            record = engine.orders[oid]
            if record.status != "open" or record.reduce_only or record.reserved <= _ZERO:
                continue
            engine.close_order(record, "marginCanceled", now)
            canceled += 1
            if account.available_margin(marks, default) >= _ZERO:
                break
    return canceled
