"""What happens to an account besides its own orders: funding, liquidations, deposits, and a
test API to change a position behind a client's back.

- **Funding** (reference §13.14): every ``funding_interval_s`` each open perp position pays
  ``szi × oracle × rate`` (the simulator's oracle is its mark), longs pay shorts at a positive
  rate; the account is credited/debited at once, the payment is pushed on ``userEvents``
  (``{"funding": {...}}``) and ``userFundings``, and listed by ``userFunding``.
- **Liquidation** (§13.6): when an account's value falls below its maintenance margin (half the
  initial margin at the position's leverage, as the simulator's ``crossMaintenanceMarginUsed``),
  each position is closed at the mark price against the house by a fill carrying
  ``liquidation: {liquidatedUser, markPx, method: "market"}``; the user's open orders are
  canceled with ``liquidatedCanceled`` and a ``{"liquidation": {...}}`` user event is pushed.
- **Ledger**: ``deposit``/``withdraw`` move the perp collateral and are listed by
  ``userNonFundingLedgerUpdates`` (``delta.type`` ``deposit``/``withdraw``) and pushed.

Example::

    sim.accounts.set_mark("ETH", Decimal("2500"))     # may liquidate under-margined accounts
    sim.accounts.pay_funding(Decimal("0.0001"))        # one funding payment now
    sim.accounts.deposit(user, Decimal("500"))
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .accounts import ZERO, Account, Position, fee_for
from .config import MAKER_ADDRESS
from .records import fmt

MICRO = Decimal("0.000001")
Push = tuple[tuple[str, str], dict[str, Any]]


@dataclass(slots=True)
class AccountHistory:
    """Per-user funding and ledger rows, and the pushes not yet sent."""

    fundings: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    ledger: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    liquidations: int = 0
    pending: list[Push] = field(default_factory=list)

    def drain(self) -> list[Push]:
        """The queued pushes (the queue is empty afterwards)."""
        out, self.pending = self.pending, []
        return out


def _hash(*parts: object) -> str:
    return "0x" + hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()


class AccountOps:
    """Funding, liquidations, ledger and position edits on an ``ExchangeEngine``."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.history: AccountHistory = engine.history

    # ----- funding ----------------------------------------------------------------------------

    def pay_funding(self, rate: Decimal, now: int) -> int:
        """Pay one funding round at hourly ``rate`` on every open perp position; returns how many
        payments were made."""
        engine = self.engine
        marks = engine.marks()
        paid = 0
        for user, account in engine.accounts.items():
            if account.house:
                continue
            for coin, pos in sorted(account.positions.items()):
                if pos.szi == ZERO:
                    continue
                usdc = (-pos.szi * marks.get(coin, pos.entry_px) * rate).quantize(MICRO)
                account.usdc += usdc
                row = {"coin": coin, "usdc": fmt(usdc), "szi": fmt(pos.szi),
                       "fundingRate": fmt(rate), "nSamples": None}
                self.history.fundings.setdefault(user, []).append(
                    {"time": now, "hash": "0x" + "0" * 64, "delta": {"type": "funding", **row}})
                pushed = {"time": now, **row}
                self.history.pending.append(
                    (("user", user), {"channel": "user", "data": {"funding": pushed}}))
                self.history.pending.append((("userFundings", user), {
                    "channel": "userFundings", "data": {"user": user, "fundings": [pushed]}}))
                paid += 1
        if paid:
            engine.changes += 1
        return paid

    # ----- ledger -----------------------------------------------------------------------------

    def move_collateral(self, user: str, usdc: Decimal, kind: str, now: int) -> None:
        """Add ``usdc`` (negative: take it out) to the perp collateral as a ledger update."""
        account: Account = self.engine.account(user)
        account.usdc += usdc
        rows = self.history.ledger.setdefault(user, [])
        delta: dict[str, Any] = {"type": kind, "usdc": fmt(abs(usdc))}
        if kind == "withdraw":
            delta.update(nonce=now * 1000 + len(rows), fee="0.0")
        row = {"time": now, "hash": _hash("ledger", user, now, len(rows)), "delta": delta}
        rows.append(row)
        self.history.pending.append((("userNonFundingLedgerUpdates", user), {
            "channel": "userNonFundingLedgerUpdates",
            "data": {"user": user, "nonFundingLedgerUpdates": [row]}}))
        self.engine.changes += 1

    # ----- positions and liquidations ---------------------------------------------------------

    def shift_position(self, user: str, coin: str, delta: Decimal) -> None:
        """Change a position with no fill at all (a divergence only reconciliation can see)."""
        account: Account = self.engine.account(user)
        pos = account.positions.setdefault(coin, Position())
        if pos.szi == ZERO:
            pos.entry_px = self.engine.marks()[coin]
        pos.szi += delta
        if pos.szi == ZERO:
            del account.positions[coin]
        self.engine.changes += 1

    def maintenance_margin(self, account: Account) -> Decimal:
        """Half the initial margin of the account's positions at mark."""
        engine = self.engine
        return account.position_margin(engine.marks(), engine.config.default_leverage) / 2

    def liquidate_under_margined(self, now: int) -> list[str]:
        """Liquidate every account whose value is below its maintenance margin."""
        engine = self.engine
        done = []
        for user, account in list(engine.accounts.items()):
            if account.house or not account.positions:
                continue
            if account.account_value(engine.marks()) < self.maintenance_margin(account):
                self.liquidate(user, now)
                done.append(user)
        return done

    def liquidate(self, user: str, now: int, coins: list[str] | None = None) -> int:
        """Close the positions of ``user`` (all, or ``coins``) at mark as a market liquidation;
        returns the number of fills."""
        engine = self.engine
        account: Account = engine.account(user)
        marks = engine.marks()
        value_before = account.account_value(marks)
        notional = ZERO
        engine.cancel_all(user, "liquidatedCanceled", now)
        fills = 0
        for coin in sorted(coins if coins is not None else list(account.positions)):
            pos = account.positions.get(coin)
            if pos is None or pos.szi == ZERO:
                continue
            mark = marks[coin]
            size = abs(pos.szi)
            is_buy = pos.szi < ZERO
            notional += size * mark
            self._liquidation_fill(user, account, coin, is_buy, mark, size, now)
            fills += 1
        if fills:
            self.history.liquidations += 1
            self.history.pending.append((("user", user), {"channel": "user", "data": {
                "liquidation": {"lid": self.history.liquidations, "liquidator": MAKER_ADDRESS,
                                "liquidated_user": user,
                                "liquidated_ntl_pos": fmt(notional.quantize(MICRO)),
                                "liquidated_account_value": fmt(value_before.quantize(MICRO))}}}))
        return fills

    def _liquidation_fill(self, user: str, account: Account, coin: str, is_buy: bool,
                          px: Decimal, sz: Decimal, now: int) -> None:
        engine = self.engine
        market = engine.config.market_by_coin(coin)
        oid = engine._new_oid()
        tid = engine.next_tid
        engine.next_tid += 1
        fee = fee_for(px * sz, engine.config.taker_fee)
        outcome = account.apply_perp_fill(coin, is_buy, px, sz, fee)
        engine.account(MAKER_ADDRESS).apply_perp_fill(coin, not is_buy, px, sz, ZERO)
        trade_hash = _hash("liquidation", tid, oid)
        fill = {
            "coin": coin, "px": fmt(px), "sz": fmt(sz), "side": "B" if is_buy else "A",
            "time": now, "startPosition": fmt(outcome.start_position), "dir": outcome.direction,
            "closedPnl": fmt(outcome.closed_pnl), "hash": trade_hash, "oid": oid, "crossed": True,
            "fee": fmt(fee), "tid": tid, "cloid": None, "feeToken": "USDC",
            "liquidation": {"liquidatedUser": user, "markPx": fmt(px), "method": "market"},
        }
        engine.fills[user].append(fill)
        engine.pending_fills[user].append(fill)
        engine.pending_trades[market.coin].append({
            "coin": coin, "side": "B" if is_buy else "A", "px": fmt(px), "sz": fmt(sz),
            "hash": trade_hash, "time": now, "tid": tid,
            "users": [user, MAKER_ADDRESS] if is_buy else [MAKER_ADDRESS, user]})
        engine.changes += 1


def rows_between(rows: list[dict[str, Any]], start: int, end: int | None,
                 limit: int = 500) -> list[dict[str, Any]]:
    """Rows with ``start <= time <= end``, oldest first, at most ``limit`` (the live page cap)."""
    picked = [r for r in rows if r["time"] >= start and (end is None or r["time"] <= end)]
    return picked[:limit]


def liquidation_px(account: Account, coin: str, marks: dict[str, Decimal],
                   default_leverage: int) -> Decimal | None:
    """Mark price of ``coin`` at which the account's value would meet its maintenance margin,
    other prices unchanged (None when flat or when no such positive price exists)."""
    pos = account.positions.get(coin)
    if pos is None or pos.szi == ZERO:
        return None
    lev = Decimal(account.leverage_of(coin, default_leverage))
    mark = marks.get(coin, pos.entry_px)
    # value(p) = value_now + szi·(p − mark); maintenance(p) = mm_other + |szi|·p/(2·lev)
    mm_other = sum((abs(p.szi) * marks.get(c, p.entry_px) / Decimal(
        account.leverage_of(c, default_leverage)) / 2
        for c, p in account.positions.items() if c != coin), ZERO)
    value_now = account.account_value(marks)
    k = abs(pos.szi) / (2 * lev)
    denominator = pos.szi - k
    if denominator == ZERO:
        return None
    price = (mm_other - value_now + pos.szi * mark) / denominator
    return price if price > ZERO else None
