"""The account as a fold: positions, realized PnL (trading, fees, funding), cash, spot balances.

``AccountState`` is folded from two kinds of input, in journal order: our own fills (the
``OrderFilled`` events the order tracker applied — :meth:`AccountState.apply_own_fill`) and the
account's events (``oms.domain.account_events`` — :meth:`AccountState.apply`). The same fold runs
live and on replay, so a restarted engine holds the same account it held before the crash.

Perp positions use average-cost accounting, as the exchange does: adding moves the entry price,
reducing realizes ``closed × (price − entry)`` (sign-adjusted), crossing zero opens the rest at the
fill's price. When a fill carries the exchange's own ``closedPnl``, that figure is the realized
PnL: average cost depends on the order fills are applied in, and a fill fetched late (a gap fill
after a crash) is journaled after fills that came later on the exchange.

``cash`` is the perp collateral by our books: ledger movements + realized trading PnL
+ funding − fees (+ corrections). What only the exchange knows (mark price, margin used, leverage,
liquidation price, account value, withdrawable) comes from the last ``AccountObserved``.

Spot pairs (``BASE/QUOTE`` or ``@N``) move spot balances instead of a position.

>>> from decimal import Decimal as D
>>> acct = AccountState()
>>> acct.apply_own_fill("ETH", 1, D("2"), D("100"), D("0.1"), "USDC", 1)
>>> acct.apply_own_fill("ETH", -1, D("1"), D("110"), D("0.1"), "USDC", 2)
>>> p = acct.positions["ETH"]; (p.size, p.entry_price, p.realized_trading, p.fees, acct.cash)
(Decimal('1'), Decimal('100'), Decimal('10'), Decimal('0.2'), Decimal('9.8'))
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from decimal import Context, Decimal, InvalidOperation
from typing import Any

from oms.domain.account_events import (
    AccountAnomaly,
    AccountCorrected,
    AccountEvent,
    AccountObserved,
    FundingPaid,
    KillSwitchReset,
    KillSwitchTripped,
    LedgerUpdated,
    OutsideFill,
)

_CTX = Context(prec=40)
ZERO = Decimal(0)
COLLATERAL = "USDC"


def is_spot_pair(pair: str) -> bool:
    """Whether ``pair`` names a spot market (``PURR/USDC``, ``@107``) rather than a perp."""
    return "/" in pair or pair.startswith("@")


def _dec(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


@dataclass(slots=True)
class AssetPosition:
    """One perp's position by our books, and the exchange's last word on what only it knows."""

    pair: str
    size: Decimal = ZERO
    entry_price: Decimal = ZERO
    realized_trading: Decimal = ZERO
    fees: Decimal = ZERO
    funding: Decimal = ZERO
    fills: int = 0
    outside_fills: int = 0
    # From the last AccountObserved (None before the first reconciliation):
    mark_price: Decimal | None = None
    unrealized_pnl: Decimal | None = None
    margin_used: Decimal | None = None
    leverage: int | None = None
    leverage_type: str | None = None
    liquidation_price: Decimal | None = None

    @property
    def realized_pnl(self) -> Decimal:
        """Trading PnL + funding − fees."""
        return self.realized_trading + self.funding - self.fees

    def trade(
        self, sign: int, amount: Decimal, price: Decimal, reported: Decimal | None = None
    ) -> Decimal:
        """Fold one trade (``sign`` +1 buy, −1 sell); returns the PnL it realized: the
        exchange's figure (``reported``, its ``closedPnl``) when given, else our average cost."""
        self.fills += 1
        size = self.size
        signed = amount if sign > 0 else -amount
        if not size or (size > ZERO) == (sign > 0):
            held = abs(size)
            total = held + amount
            if total:
                self.entry_price = _CTX.divide(held * self.entry_price + amount * price, total)
            self.size = size + signed
            if reported:
                self.realized_trading += reported
            return reported or ZERO
        closed = min(abs(size), amount)
        direction = 1 if size > ZERO else -1
        pnl = closed * (price - self.entry_price) * direction if reported is None else reported
        self.realized_trading += pnl
        self.size = after = size + signed
        if not after:
            self.entry_price = ZERO
        elif (after > ZERO) != (size > ZERO):
            self.entry_price = price  # flipped: the remainder opened at this fill's price
        return pnl

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able view (Decimals as strings)."""
        out: dict[str, Any] = {}
        for name in self.__slots__:
            value = getattr(self, name)
            out[name] = str(value) if isinstance(value, Decimal) else value
        out["realized_pnl"] = str(self.realized_pnl)
        return out


@dataclass(slots=True)
class AccountState:
    """The whole account; see the module docstring. Mutable: the fold changes it in place."""

    positions: dict[str, AssetPosition] = field(default_factory=dict)
    cash: Decimal = ZERO
    ledger: Decimal = ZERO
    cash_corrections: Decimal = ZERO
    spot: dict[str, Decimal] = field(default_factory=dict)
    other_fees: dict[str, Decimal] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    account_value: Decimal | None = None
    withdrawable: Decimal | None = None
    total_margin_used: Decimal | None = None
    total_notional: Decimal | None = None
    peak_account_value: Decimal | None = None
    observed_at_ms: int = 0
    last_exchange_time_ms: int = 0
    corrections: int = 0
    anomalies: int = 0
    events_applied: int = 0
    kill_switch: str | None = None
    # The latest changes by exchange time (time_ms, pair, size change, cash change): lets a
    # reconciliation compare with an exchange answer taken a moment before some of them. Not
    # part of the account's value (not compared, not snapshotted).
    recent: deque[tuple[int, str, Decimal, Decimal]] = field(
        default_factory=lambda: deque(maxlen=4096), compare=False, repr=False
    )

    # ------------------------------------------------------------------ queries

    def position(self, pair: str) -> Decimal:
        """Signed size of ``pair`` (0 when flat or never traded)."""
        pos = self.positions.get(pair)
        return pos.size if pos is not None else ZERO

    def changes_after(self, time_ms: int) -> tuple[dict[str, Decimal], Decimal]:
        """Size change per pair and cash change folded from exchange events later than
        ``time_ms`` (as far as :attr:`recent` reaches)."""
        sizes: dict[str, Decimal] = {}
        cash = ZERO
        for when, pair, size, money in reversed(self.recent):
            if when <= time_ms:
                break
            sizes[pair] = sizes.get(pair, ZERO) + size
            cash += money
        return sizes, cash

    def has(self, key: str) -> bool:
        """Whether an event with this exchange identity was already applied."""
        return key in self.seen

    @property
    def realized_pnl(self) -> Decimal:
        """Realized PnL of every asset: trading + funding − fees (USDC)."""
        return sum((p.realized_pnl for p in self.positions.values()), ZERO)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able view of the account (Decimals as strings)."""

        def s(value: Decimal | None) -> str | None:
            return None if value is None else str(value)

        return {
            "positions": {k: p.as_dict() for k, p in sorted(self.positions.items())},
            "cash": str(self.cash),
            "ledger": str(self.ledger),
            "realized_pnl": str(self.realized_pnl),
            "spot": {k: str(v) for k, v in sorted(self.spot.items())},
            "account_value": s(self.account_value),
            "withdrawable": s(self.withdrawable),
            "total_margin_used": s(self.total_margin_used),
            "total_notional": s(self.total_notional),
            "peak_account_value": s(self.peak_account_value),
            "observed_at_ms": self.observed_at_ms,
            "corrections": self.corrections,
            "anomalies": self.anomalies,
            "kill_switch": self.kill_switch,
        }

    # ------------------------------------------------------------------ fold

    def _position(self, pair: str) -> AssetPosition:
        pos = self.positions.get(pair)
        if pos is None:
            pos = self.positions[pair] = AssetPosition(pair)
        return pos

    def _trade(
        self,
        pair: str,
        sign: int,
        amount: Decimal,
        price: Decimal,
        fee: Decimal,
        fee_asset: str,
        time_ms: int,
        reported: Decimal | None,
    ) -> AssetPosition | None:
        if is_spot_pair(pair):
            base, _, quote = pair.partition("/")
            quote = quote or COLLATERAL
            spot = self.spot
            spot[base] = spot.get(base, ZERO) + (amount if sign > 0 else -amount)
            spot[quote] = spot.get(quote, ZERO) - (amount * price if sign > 0 else -amount * price)
            spot[fee_asset] = spot.get(fee_asset, ZERO) - fee
            return None
        pos = self._position(pair)
        money = pos.trade(sign, amount, price, reported)
        if fee_asset == COLLATERAL:
            pos.fees += fee
            money -= fee
        else:
            self.other_fees[fee_asset] = self.other_fees.get(fee_asset, ZERO) + fee
        self.cash += money
        self.recent.append((time_ms, pair, amount if sign > 0 else -amount, money))
        return pos

    def apply_own_fill(
        self,
        pair: str,
        sign: int,
        amount: Decimal,
        price: Decimal,
        fee: Decimal,
        fee_asset: str,
        exchange_time_ms: int,
        closed_pnl: Decimal | None = None,
    ) -> None:
        """Fold a fill of one of our orders (already de-duplicated by the order tracker);
        ``closed_pnl`` is what the exchange says it realized (None: our average cost)."""
        self.events_applied += 1
        self._trade(pair, sign, amount, price, fee, fee_asset, exchange_time_ms, closed_pnl)
        if exchange_time_ms > self.last_exchange_time_ms:
            self.last_exchange_time_ms = exchange_time_ms

    def apply(self, event: AccountEvent) -> bool:
        """Fold one account event; False when it changed nothing (a duplicate key, an anomaly)."""
        self.events_applied += 1
        if isinstance(event, (OutsideFill, FundingPaid, LedgerUpdated)):
            if event.key in self.seen:
                return False
            self.seen.add(event.key)
            if event.exchange_time_ms > self.last_exchange_time_ms:
                self.last_exchange_time_ms = event.exchange_time_ms
        if isinstance(event, OutsideFill):
            pos = self._trade(
                event.pair,
                event.side.sign,
                event.amount,
                event.price,
                event.fee,
                event.fee_asset,
                event.exchange_time_ms,
                event.closed_pnl,
            )
            if pos is not None:
                pos.outside_fills += 1
        elif isinstance(event, FundingPaid):
            self._position(event.pair).funding += event.usdc
            self.cash += event.usdc
            self.recent.append((event.exchange_time_ms, event.pair, ZERO, event.usdc))
        elif isinstance(event, LedgerUpdated):
            self.cash += event.usdc
            self.ledger += event.usdc
            self.recent.append((event.exchange_time_ms, "", ZERO, event.usdc))
        elif isinstance(event, AccountObserved):
            self._observe(event)
        elif isinstance(event, AccountCorrected):
            self._correct(event)
        elif isinstance(event, AccountAnomaly):
            anomaly_key: str | None = event.key
            if anomaly_key is not None:
                if anomaly_key in self.seen:
                    return False
                self.seen.add(anomaly_key)
            self.anomalies += 1
            return False
        elif isinstance(event, KillSwitchTripped):
            self.kill_switch = event.reason
        elif isinstance(event, KillSwitchReset):
            self.kill_switch = None
        return True

    def _observe(self, event: AccountObserved) -> None:
        self.observed_at_ms = event.exchange_time_ms
        self.account_value = event.account_value
        self.withdrawable = event.withdrawable
        self.total_margin_used = event.total_margin_used
        self.total_notional = event.total_notional
        if self.peak_account_value is None or event.account_value > self.peak_account_value:
            self.peak_account_value = event.account_value
        for pos in self.positions.values():  # flat on the exchange: nothing to report
            pos.mark_price = pos.unrealized_pnl = pos.margin_used = pos.liquidation_price = None
        for pair, view in event.positions.items():
            pos = self._position(pair)
            pos.mark_price = _dec(view.get("mark_price"))
            pos.unrealized_pnl = _dec(view.get("unrealized_pnl"))
            pos.margin_used = _dec(view.get("margin_used"))
            pos.liquidation_price = _dec(view.get("liquidation_price"))
            leverage = view.get("leverage")
            pos.leverage = int(leverage) if isinstance(leverage, int) else pos.leverage
            lev_type = view.get("leverage_type")
            pos.leverage_type = lev_type if isinstance(lev_type, str) else pos.leverage_type

    def _correct(self, event: AccountCorrected) -> None:
        # A correction moves our value by the difference both were measured at, so events folded
        # after the exchange's answer (and before the correction) keep their effect.
        self.corrections += 1
        delta = event.exchange - event.believed
        what, _, name = event.field.partition(":")
        if what == "size":
            pos = self._position(name)
            pos.size += delta
            if not pos.size:
                pos.entry_price = ZERO
            elif event.exchange_entry_price is not None:
                pos.entry_price = event.exchange_entry_price
        elif what == "cash":
            self.cash_corrections += delta
            self.cash += delta
        elif what == "spot":
            self.spot[name] = self.spot.get(name, ZERO) + delta
