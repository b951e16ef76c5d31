"""Markets and exact Decimal ↔ quantums/subticks conversion.

dYdX sizes are integers of *base quantums* (``size = quantums · 10^atomicResolution``) and
prices integers of *subticks*
(``price = subticks · 10^(quantumConversionExponent − atomicResolution − 6)``, the 6 being USDC's
decimals; Indexer ``protocol-translations.ts``). An order's quantums must be a
multiple of ``stepBaseQuantums`` and its subticks a multiple of ``subticksPerTick``.

The official client converts with floats and rounds *down*, silently turning sub-step sizes into
one step (``node/market.py``; e.g. an ETH size of 1.001 becomes 1.000). Here conversion is exact:
a size or price that is not on the grid raises :class:`OrderRuleViolation` naming the step, so
nothing is sent that the caller did not ask for.

>>> m = DydxMarket("BTC-USD", 0, -10, -9, 1_000_000, 100_000)
>>> m.to_quantums(Decimal("0.0015")), m.to_subticks(Decimal("60123"))
(15000000, 6012300000)
>>> m.from_subticks(6012300000), m.from_quantums(15000000)
(Decimal('60123.00000'), Decimal('0.0015000000'))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import Any

from connectors.base import OrderRuleViolation, TradingRule, UnknownPair
from connectors.dydx.constants import QUOTE_ATOMIC_RESOLUTION
from connectors.dydx.errors import UnexpectedReply


@dataclass(frozen=True, slots=True)
class DydxMarket:
    """One perpetual market's grid, as ``/v4/perpetualMarkets`` lists it."""

    ticker: str
    clob_pair_id: int
    atomic_resolution: int
    quantum_conversion_exponent: int
    step_base_quantums: int
    subticks_per_tick: int
    status: str = "ACTIVE"
    oracle_price: Decimal | None = None

    @property
    def step_size(self) -> Decimal:
        """The smallest size increment (one ``stepBaseQuantums``)."""
        return Decimal(self.step_base_quantums).scaleb(self.atomic_resolution)

    @property
    def tick_size(self) -> Decimal:
        """The smallest price increment (one ``subticksPerTick``)."""
        return self.from_subticks(self.subticks_per_tick)

    @property
    def _price_exponent(self) -> int:
        # price = subticks · 10^(qce + quote_res − atomic_res), quote_res = −6
        return self.quantum_conversion_exponent + QUOTE_ATOMIC_RESOLUTION - self.atomic_resolution

    def to_quantums(self, size: Decimal) -> int:
        """Exact base quantums of ``size``; raises unless it is a positive multiple of the step."""
        quantums = size.scaleb(-self.atomic_resolution)
        if size <= 0 or quantums != quantums.to_integral_value():
            raise OrderRuleViolation(
                f"{self.ticker}: size {size} is not a positive multiple of the step"
                f" {self.step_size.normalize():f}"
            )
        value = int(quantums)
        if value % self.step_base_quantums:
            raise OrderRuleViolation(
                f"{self.ticker}: size {size} is not a multiple of the step"
                f" {self.step_size.normalize():f} (stepBaseQuantums {self.step_base_quantums})"
            )
        return value

    def to_subticks(self, price: Decimal) -> int:
        """Exact subticks of ``price``; raises unless it is a positive multiple of the tick."""
        subticks = price.scaleb(-self._price_exponent)
        if price <= 0 or subticks != subticks.to_integral_value():
            raise OrderRuleViolation(
                f"{self.ticker}: price {price} is not a positive multiple of the tick"
                f" {self.tick_size.normalize():f}"
            )
        value = int(subticks)
        if value % self.subticks_per_tick:
            raise OrderRuleViolation(
                f"{self.ticker}: price {price} is off the tick {self.tick_size.normalize():f}"
                f" (subticksPerTick {self.subticks_per_tick})"
            )
        return value

    def from_quantums(self, quantums: int) -> Decimal:
        """The size of ``quantums`` base quantums."""
        return Decimal(quantums).scaleb(self.atomic_resolution)

    def from_subticks(self, subticks: int) -> Decimal:
        """The price of ``subticks`` subticks."""
        return Decimal(subticks).scaleb(self._price_exponent)

    def rule(self) -> DydxTradingRule:
        """The exchange-agnostic :class:`TradingRule` of this market."""
        step, tick = self.step_size, self.tick_size
        return DydxTradingRule(
            pair=self.ticker,
            asset_id=self.clob_pair_id,
            amount_decimals=max(-step.normalize().as_tuple().exponent, 0),  # type: ignore[operator]
            price_sig_figs=40,
            price_max_decimals=max(-tick.normalize().as_tuple().exponent, 0),  # type: ignore[operator]
            min_notional=Decimal(0),
            max_leverage=20,
            step_size=step,
            tick_size=tick,
        )


@dataclass(frozen=True, slots=True)
class DydxTradingRule(TradingRule):
    """A :class:`TradingRule` on dYdX's grid: sizes are multiples of ``step_size`` and prices of
    ``tick_size`` (neither needs to be a power of ten); there is no minimum notional."""

    step_size: Decimal = Decimal(1)
    tick_size: Decimal = Decimal(1)

    def quantize_amount(self, amount: Decimal) -> Decimal:
        """Round ``amount`` down to a multiple of the step (never up)."""
        steps = (amount / self.step_size).to_integral_value(rounding=ROUND_DOWN)
        return (steps * self.step_size).normalize() if steps else Decimal(0)

    def quantize_price(self, price: Decimal, side: str | None = None) -> Decimal:
        """Round ``price`` to a multiple of the tick (at least one tick).

        ``side="buy"`` rounds down and ``side="sell"`` up, so a limit is never worse than asked
        (as :meth:`TradingRule.quantize_price`); without a side, to the nearest tick.
        """
        self._finite("price", price)
        if price <= 0:
            raise OrderRuleViolation(f"{self.pair}: price must be positive, got {price}")
        rounding = {"buy": ROUND_FLOOR, "sell": ROUND_CEILING, None: ROUND_HALF_EVEN}.get(side)
        if rounding is None:
            raise ValueError(f"side must be 'buy', 'sell' or None, got {side!r}")
        ticks = (price / self.tick_size).to_integral_value(rounding=rounding)
        if ticks < 1:
            if side is not None:  # a buy rounded down to 0 would be no price at all
                raise OrderRuleViolation(
                    f"{self.pair}: price {price} is below one tick ({self.tick_size})"
                )
            ticks = Decimal(1)
        return (ticks * self.tick_size).normalize()

    def check(self, price: Decimal, amount: Decimal) -> None:
        """Raise :class:`OrderRuleViolation` unless ``price`` and ``amount`` are on the grid."""
        if amount != self.quantize_amount(amount):
            raise OrderRuleViolation(
                f"{self.pair}: amount {amount} is not a multiple of the step {self.step_size}"
            )
        if price != self.quantize_price(price):
            raise OrderRuleViolation(
                f"{self.pair}: price {price} is off the tick {self.tick_size}; use quantize_price"
            )
        self.check_size(price, amount)


def _int(raw: Mapping[str, Any], key: str) -> int:
    value = raw[key]
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"{key} is {type(value).__name__}")
    return int(value)


def parse_market(raw: Mapping[str, Any]) -> DydxMarket:
    """One entry of ``/v4/perpetualMarkets``'s ``markets``; raises :class:`UnexpectedReply`."""
    try:
        oracle = raw.get("oraclePrice")
        market = DydxMarket(
            ticker=str(raw["ticker"]),
            clob_pair_id=_int(raw, "clobPairId"),
            atomic_resolution=_int(raw, "atomicResolution"),
            quantum_conversion_exponent=_int(raw, "quantumConversionExponent"),
            step_base_quantums=_int(raw, "stepBaseQuantums"),
            subticks_per_tick=_int(raw, "subticksPerTick"),
            status=str(raw.get("status", "ACTIVE")),
            oracle_price=Decimal(str(oracle)) if oracle not in (None, "") else None,
        )
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise UnexpectedReply(f"perpetual market entry: {exc!r}", repr(raw)) from exc
    if market.step_base_quantums <= 0 or market.subticks_per_tick <= 0:
        raise UnexpectedReply("perpetual market with a non-positive step or tick", repr(raw))
    return market


class Markets:
    """The markets by ticker, replaced as a whole on every refresh."""

    def __init__(self) -> None:
        self._by_ticker: dict[str, DydxMarket] = {}
        self._by_clob: dict[int, DydxMarket] = {}
        self._rules: dict[str, DydxTradingRule] = {}

    def replace(self, reply: Any) -> None:
        """Load a ``/v4/perpetualMarkets`` reply (``{"markets": {ticker: {...}}}``)."""
        if not isinstance(reply, dict) or not isinstance(reply.get("markets"), dict):
            raise UnexpectedReply("perpetualMarkets reply has no 'markets' object", repr(reply))
        markets = [parse_market(m) for m in reply["markets"].values()]
        self._by_ticker = {m.ticker: m for m in markets}
        self._by_clob = {m.clob_pair_id: m for m in markets}
        self._rules = {m.ticker: m.rule() for m in markets}

    def get(self, ticker: str) -> DydxMarket:
        """The market ``ticker``; raises :class:`UnknownPair`."""
        try:
            return self._by_ticker[ticker]
        except KeyError:
            raise UnknownPair(ticker) from None

    def by_clob(self, clob_pair_id: int) -> DydxMarket | None:
        """The market of a clob pair id, or None."""
        return self._by_clob.get(clob_pair_id)

    def rule(self, ticker: str) -> DydxTradingRule:
        """The trading rule of ``ticker``; raises :class:`UnknownPair`."""
        try:
            return self._rules[ticker]
        except KeyError:
            raise UnknownPair(ticker) from None

    def __len__(self) -> int:
        return len(self._by_ticker)
