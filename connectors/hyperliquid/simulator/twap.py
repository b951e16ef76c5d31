"""Hyperliquid's native TWAP on the local exchange: ``twapOrder``, ``twapCancel``, the slices.

What the live exchange does (reference §13.11; GB-TRADE "order-types", GB-EXCH twapOrder):

- a TWAP of ``sz`` over ``m`` minutes (5…1440, else ``Invalid TWAP duration: <m> min(s)``) sends a
  suborder every 30 s: about ``2m + 1`` suborders, the first one at activation; the target
  executed after suborder ``k`` is ``(k+1)/n`` of the size, a suborder never exceeds 3× the normal
  size (catch-up after a slice that did not fill), randomize moves each one by up to ±20 %;
- each suborder is an IOC bounded to 3 % slippage from the mid;
- the notional must be at least max($100, $10 per minute) (``TWAP order value too small…``);
- its fills carry the TWAP's id (``userFills`` / ``userTwapSliceFills``, hash all zeros) and
  ``twapHistory`` keeps one row per status change (``activated``, then ``finished`` or
  ``terminated``), ``time`` in seconds, ``state.timestamp`` in ms.

The 30 s interval is divided by ``SimulatorConfig.twap_speedup`` (tests run a 5-minute TWAP in a
few seconds); everything else is as above. Slices are exempt from the $10 order minimum (a $100
TWAP over 5 minutes has 11 slices of ~$9), as on the live exchange (doc example: $10,000/1 h →
121 suborders of ~$83; 4 days → ~$10 each).

Example::

    book = TwapBook(seed=7)
    status = book.place(engine, user, TwapWire(1, True, Decimal("0.1"), False, 5, False), now)
    # {"running": {"twapId": 1}}
    book.tick(engine, now + 30_000)   # sends the slices that are due
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Any

from .config import MarketSpec
from .records import OrderRecord, fmt

if TYPE_CHECKING:
    from .engine import ExchangeEngine

ZERO = Decimal(0)
ZERO_HASH = "0x" + "0" * 64
MIN_MINUTES = 5
MAX_MINUTES = 1440
SLICE_INTERVAL_MS = 30_000
MAX_SLIPPAGE = Decimal("0.03")
CATCH_UP = 3  # a suborder is at most 3x the normal size
RANDOMIZE = Decimal("0.2")
MIN_VALUE = Decimal(100)
VALUE_PER_MINUTE = Decimal(10)
NEVER_PLACED = "TWAP was never placed, already canceled, or filled."


@dataclass(frozen=True, slots=True)
class TwapWire:
    """A parsed ``twapOrder`` (``a``, ``b``, ``s``, ``r``, ``m``, ``t``)."""

    asset: int
    is_buy: bool
    sz: Decimal
    reduce_only: bool
    minutes: int
    randomize: bool


@dataclass(slots=True)
class Twap:
    """One TWAP as the exchange runs it."""

    twap_id: int
    user: str
    asset: int
    coin: str
    is_buy: bool
    sz: Decimal
    reduce_only: bool
    minutes: int
    randomize: bool
    created_ms: int
    n_slices: int
    interval_ms: int
    executed_sz: Decimal = ZERO
    executed_ntl: Decimal = ZERO
    slices_sent: int = 0
    status: str = "activated"

    def state_wire(self) -> dict[str, Any]:
        """The ``state`` object of ``twapHistory`` rows / ``twapStates``."""
        return {"coin": self.coin, "user": self.user, "side": "B" if self.is_buy else "A",
                "sz": fmt(self.sz), "executedSz": fmt(self.executed_sz),
                "executedNtl": fmt(self.executed_ntl), "minutes": self.minutes,
                "reduceOnly": self.reduce_only, "randomize": self.randomize,
                "timestamp": self.created_ms}

    def to_state(self) -> dict[str, Any]:
        """JSON-ready (Decimals as strings) for the state file."""
        out = asdict(self)
        for key in ("sz", "executed_sz", "executed_ntl"):
            out[key] = str(out[key])
        return out

    @classmethod
    def from_state(cls, raw: dict[str, Any]) -> Twap:
        """Inverse of :meth:`to_state`."""
        values = dict(raw)
        for key in ("sz", "executed_sz", "executed_ntl"):
            values[key] = Decimal(values[key])
        return cls(**values)


def slice_count(minutes: int) -> int:
    """Suborders of an ``m``-minute TWAP: one every 30 s from activation to the end (2m + 1)."""
    return 2 * minutes + 1


def min_value(minutes: int) -> Decimal:
    """The smallest notional a TWAP of ``minutes`` may have: max($100, $10 per minute)."""
    return max(MIN_VALUE, VALUE_PER_MINUTE * minutes)


def value_error(minutes: int) -> str:
    """The exchange's text for a TWAP below :func:`min_value` (reference §13.11)."""
    least = min_value(minutes)
    if least == MIN_VALUE:
        return "TWAP order value too small. Min is $100."
    return f"TWAP order value too small. Min is ${least:f}, which is $10 per minute."


def bounded_price(market: MarketSpec, mid: Decimal, is_buy: bool) -> Decimal:
    """The suborder's limit: 3 % through the mid, on a valid price (5 significant figures)."""
    raw = mid * (1 + MAX_SLIPPAGE) if is_buy else mid * (1 - MAX_SLIPPAGE)
    rounding = ROUND_FLOOR if is_buy else ROUND_CEILING  # never past the 3 % bound
    exponent = raw.adjusted() - 4  # 5 significant figures
    step = Decimal(1).scaleb(max(exponent, -market.max_price_decimals))
    return raw.quantize(step, rounding=rounding).normalize()


class TwapBook:
    """Every TWAP of the exchange, their history rows and slice fills, and the pushes owed."""

    def __init__(self, seed: int = 7, speedup: float = 1.0) -> None:
        self.twaps: dict[int, Twap] = {}
        self.slice_fills: dict[str, list[dict[str, Any]]] = {}
        self.rows: dict[str, list[dict[str, Any]]] = {}  # twapHistory rows per user, oldest first
        self.next_id = 1
        self.speedup = speedup
        self._rng = random.Random(seed)
        self._pending: list[tuple[tuple[str, str], dict[str, Any]]] = []

    # ----- actions --------------------------------------------------------------------------

    def place(self, engine: ExchangeEngine, user: str, wire: TwapWire, now: int) -> Any:
        """Validate and start a TWAP; the ``data.status`` of the ``twapOrder`` reply."""
        market = engine.markets.get(wire.asset)
        if market is None:
            return {"error": f"Invalid asset {wire.asset}."}
        if not MIN_MINUTES <= wire.minutes <= MAX_MINUTES:
            return {"error": f"Invalid TWAP duration: {wire.minutes} min(s)"}
        if wire.sz <= 0 or wire.sz != wire.sz.quantize(Decimal(1).scaleb(-market.sz_decimals),
                                                       rounding=ROUND_DOWN):
            return {"error": "Order has invalid size."}
        if wire.sz * engine.book_mid(market.coin) < min_value(wire.minutes):
            return {"error": value_error(wire.minutes)}
        if wire.reduce_only and not self._reduces(engine, user, market, wire.is_buy):
            return {"error": "Reduce-only TWAP order would increase position."}
        n = slice_count(wire.minutes)
        interval = max(1, int(SLICE_INTERVAL_MS / self.speedup))
        twap = Twap(self.next_id, user, wire.asset, market.coin, wire.is_buy, wire.sz,
                    wire.reduce_only, wire.minutes, wire.randomize, now, n, interval)
        self.next_id += 1
        self.twaps[twap.twap_id] = twap
        engine.account(user)
        self._history(twap, "activated", now)
        engine.changes += 1
        return {"running": {"twapId": twap.twap_id}}

    def cancel(self, engine: ExchangeEngine, user: str, asset: int, twap_id: int,
               now: int) -> Any:
        """Stop a running TWAP of ``user``; ``"success"`` or the exchange's error object."""
        twap = self.twaps.get(twap_id)
        if twap is None or twap.user != user or twap.asset != asset or twap.status != "activated":
            return {"error": NEVER_PLACED}
        self._history(twap, "terminated", now)
        engine.changes += 1
        return "success"

    # ----- the clock ------------------------------------------------------------------------

    def tick(self, engine: ExchangeEngine, now: int) -> None:
        """Send every suborder that is due at ``now`` (catching up if the clock was late)."""
        for twap in list(self.twaps.values()):
            while twap.status == "activated" and twap.slices_sent < twap.n_slices and (
                    twap.created_ms + twap.slices_sent * twap.interval_ms <= now):
                self._slice(engine, twap, now)
            if twap.status == "activated" and twap.slices_sent >= twap.n_slices:
                self._history(twap, "finished", now)
                engine.changes += 1

    def _slice(self, engine: ExchangeEngine, twap: Twap, now: int) -> None:
        from .engine import OrderWire  # the engine imports this module: import at use

        market = engine.markets[twap.asset]
        lot = Decimal(1).scaleb(-market.sz_decimals)
        twap.slices_sent += 1
        last = twap.slices_sent >= twap.n_slices
        target = twap.sz if last else twap.sz * twap.slices_sent / twap.n_slices
        size = min(target - twap.executed_sz, CATCH_UP * twap.sz / twap.n_slices)
        if twap.randomize and not last:
            factor = Decimal(str(round(self._rng.uniform(-0.2, 0.2), 4)))
            size += size * factor
        size = min(size, twap.sz - twap.executed_sz).quantize(lot, rounding=ROUND_DOWN)
        account = engine.account(twap.user)
        if twap.reduce_only:
            position = account.position(market.coin)
            if position == ZERO or (position > ZERO) == twap.is_buy:
                return  # nothing left to reduce: this suborder does nothing
            size = min(size, abs(position))
        if size <= ZERO:
            return
        px = bounded_price(market, engine.book_mid(market.coin), twap.is_buy)
        wire = OrderWire(twap.asset, twap.is_buy, px, size, twap.reduce_only, "Ioc")
        lev = account.leverage_of(market.coin, engine.config.default_leverage)
        probe = OrderRecord(0, twap.user, market.coin, twap.asset, twap.is_buy, px, size, size,
                            now, None, "Ioc", twap.reduce_only, "open", now)
        if not twap.reduce_only and engine.lacks_margin(account, market, probe, lev):
            return  # this suborder is refused for margin; the next one catches up
        record = engine.new_record(twap.user, market, wire, "open", now)
        before = len(engine.fills.get(twap.user, ()))
        engine.execute(record, market, account, lev, now)
        for fill in engine.fills.get(twap.user, [])[before:]:
            if fill["oid"] != record.oid:
                continue
            fill["hash"] = ZERO_HASH  # as the live slice fills (reference §13.11)
            fill["twapId"] = twap.twap_id
            twap.executed_sz += Decimal(fill["sz"])
            twap.executed_ntl += Decimal(fill["sz"]) * Decimal(fill["px"])
            entry = {"fill": {**fill, "twapId": None}, "twapId": twap.twap_id}
            self.slice_fills.setdefault(twap.user, []).append(entry)
            self._pending.append((("userTwapSliceFills", twap.user), {
                "channel": "userTwapSliceFills",
                "data": {"user": twap.user, "twapSliceFills": [entry]}}))

    # ----- reads ----------------------------------------------------------------------------

    def history(self, user: str) -> list[dict[str, Any]]:
        """``twapHistory`` of ``user``: one row per status change, newest first."""
        return list(reversed(self.rows.get(user, [])))

    def fills_of(self, user: str, start: int | None = None,
                 end: int | None = None) -> list[dict[str, Any]]:
        """``userTwapSliceFills`` (the newest 2000) or ``…ByTime`` (oldest first in range)."""
        rows = self.slice_fills.get(user, [])
        if start is None:
            return list(reversed(rows[-2000:]))
        stop = end if end is not None else 2**63
        return [r for r in rows if start <= r["fill"]["time"] <= stop][:2000]

    def drain(self) -> list[tuple[tuple[str, str], dict[str, Any]]]:
        """The pushes owed since the last drain (``userTwapSliceFills``, ``userTwapHistory``)."""
        out, self._pending = self._pending, []
        return out

    # ----- persistence ----------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        """JSON-ready state for the exchange's state file."""
        return {"next_id": self.next_id, "twaps": [t.to_state() for t in self.twaps.values()],
                "slice_fills": self.slice_fills, "rows": self.rows}

    def load(self, raw: dict[str, Any] | None) -> None:
        """Inverse of :meth:`to_state` (``None``: a state file from before native TWAP)."""
        if not raw:
            return
        self.next_id = int(raw["next_id"])
        self.twaps = {int(t["twap_id"]): Twap.from_state(t) for t in raw["twaps"]}
        self.slice_fills = {u: list(rows) for u, rows in raw["slice_fills"].items()}
        self.rows = {u: list(rows) for u, rows in raw["rows"].items()}

    # ----- internals ------------------------------------------------------------------------

    @staticmethod
    def _reduces(engine: ExchangeEngine, user: str, market: MarketSpec, is_buy: bool) -> bool:
        position = engine.view(user).position(market.coin)
        return position != ZERO and (position > ZERO) != is_buy

    def _history(self, twap: Twap, status: str, now: int) -> None:
        twap.status = status
        row = {"time": now // 1000, "state": twap.state_wire(), "status": {"status": status},
               "twapId": twap.twap_id}
        self.rows.setdefault(twap.user, []).append(row)
        self._pending.append((("userTwapHistory", twap.user), {
            "channel": "userTwapHistory", "data": {"user": twap.user, "history": [row]}}))
