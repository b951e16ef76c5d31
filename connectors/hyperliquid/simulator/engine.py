"""The exchange's state machine: orders, books, accounts, fills and the pushes they cause.

Handlers call it with already-authenticated, already-parsed requests; it never does I/O. Every
change queues WebSocket pushes, taken with :meth:`ExchangeEngine.drain` after each request or tick.

Example::

    engine = ExchangeEngine(SimulatorConfig(market_maker=False))
    status = engine.place(user, OrderWire(asset=1, is_buy=True, px=Decimal("3000"),
                                          sz=Decimal("0.01"), reduce_only=False, tif="Gtc"), now)
    # {"resting": {"oid": 1}}
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .account_ops import AccountHistory
from .accounts import ZERO, Account, fee_for
from .auth import AgentBook, NonceBook
from .config import HOUSE_ADDRESSES, MarketSpec, SimulatorConfig
from .dex_rules import dex_of
from .dexes import ensure_isolated
from .matching import Match, OrderBook, RestingOrder
from .records import OrderRecord, fmt
from .rules import order_rule_error
from .triggers import on_status, place_trigger
from .twap import TwapBook

OPEN = "open"
# Cancels the exchange makes on its own, also pushed as ``nonUserCancel`` on ``userEvents``.
NON_USER_CANCELS = frozenset({"selfTradeCanceled", "reduceOnlyCanceled"})
MISSING_ORDER = "Order was never placed, already canceled, or filled."
Status = dict[str, Any] | str


@dataclass(frozen=True, slots=True)
class OrderWire:
    """A parsed order from an ``order``/``modify`` action (prices and sizes as Decimal)."""

    asset: int
    is_buy: bool
    px: Decimal
    sz: Decimal
    reduce_only: bool
    tif: str | None
    cloid: str | None = None
    is_trigger: bool = False
    trigger_px: Decimal | None = None
    tpsl: str | None = None
    is_market: bool = False
    builder_fee: tuple[str, Decimal] | None = None  # (builder, rate) approved by the user


class ExchangeEngine:
    """All mutable exchange state, and the operations that change it."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.markets: dict[int, MarketSpec] = {m.asset: m for m in config.markets}
        self.books: dict[str, OrderBook] = {m.coin: OrderBook(m.coin) for m in config.markets}
        self.mids: dict[str, Decimal] = {m.coin: m.mid for m in config.markets}
        self.accounts: dict[str, Account] = {}
        self.orders: dict[int, OrderRecord] = {}
        self.user_orders: dict[str, list[int]] = defaultdict(list)
        self.open_cloids: dict[tuple[str, str], int] = {}
        self.last_cloids: dict[tuple[str, str], int] = {}
        self.fills: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.scheduled_cancels: dict[str, int] = {}
        self.nonces = NonceBook()
        self.agents = AgentBook()
        #: Vaults and sub-accounts: address -> (leader or master, "vault" | "subAccount").
        self.links: dict[str, tuple[str, str]] = {}
        self.builder_approvals: dict[tuple[str, str], int] = {}  # (user, builder) -> tenth bps
        self.builder_fees: dict[int, tuple[str, Decimal]] = {}   # oid -> (builder, rate)
        self.referrers: dict[str, str] = {}
        self.auto_created = 0
        self.next_oid = 1_000_000
        self.next_tid = 1
        self.changes = 0
        self.pending_updates: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.pending_fills: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.pending_trades: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.pending_non_user_cancels: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.dirty_books: set[str] = set()
        self.last_bbo: dict[str, tuple[Any, Any]] = {}
        self.mids_dirty = False
        self.reduce_only_open: dict[str, set[int]] = defaultdict(set)
        self.armed: set[int] = set()  # trigger orders watching the mark (see triggers.py)
        self.history = AccountHistory()  # funding and ledger rows (account_ops.py)
        self.twaps = TwapBook(config.seed, config.twap_speedup)  # native TWAP (twap.py)

    # ----- accounts -------------------------------------------------------------------------

    def has_account(self, user: str) -> bool:
        """Whether ``user`` exists (was named before, funded, or is a house account)."""
        return user in self.accounts

    def account(self, user: str) -> Account:
        """The account of ``user``, created and funded on first use."""
        account = self.accounts.get(user)
        if account is None:
            house = user in HOUSE_ADDRESSES
            funds = Decimal(10) ** 15 if house else self.config.initial_usdc
            account = Account(usdc=funds, spot={"USDC": funds}, house=house)
            self.accounts[user] = account
            self.changes += 1
        return account

    def view(self, user: str) -> Account:
        """The account of ``user`` for reading; an empty one (not stored) when it does not exist."""
        account = self.accounts.get(user)
        return account if account is not None else Account()

    def marks(self) -> dict[str, Decimal]:
        """Mark price per coin (the market's reference mid)."""
        return self.mids

    # ----- orders ---------------------------------------------------------------------------

    def _new_oid(self) -> int:
        self.next_oid += 1
        return self.next_oid

    def _record(self, user: str, market: MarketSpec, wire: OrderWire, status: str,
                now: int) -> OrderRecord:
        record = OrderRecord(
            oid=self._new_oid(), user=user, coin=market.coin, asset=market.asset,
            is_buy=wire.is_buy, limit_px=wire.px, sz=wire.sz, orig_sz=wire.sz, timestamp=now,
            cloid=wire.cloid, tif=wire.tif or "Gtc", reduce_only=wire.reduce_only,
            status=status, status_ts=now)
        self.orders[record.oid] = record
        if wire.builder_fee is not None:
            self.builder_fees[record.oid] = wire.builder_fee
        if user in HOUSE_ADDRESSES:
            return record  # house quotes churn every tick: keep no history of them
        self.user_orders[user].append(record.oid)
        if wire.cloid is not None:
            self.last_cloids[(user, wire.cloid)] = record.oid
        self.changes += 1
        return record

    def _set_status(self, record: OrderRecord, status: str, now: int) -> None:
        record.status = status
        record.status_ts = now
        if record.user in HOUSE_ADDRESSES:
            if status != OPEN:
                self.orders.pop(record.oid, None)
            return
        if status != OPEN:
            if record.cloid is not None:
                self.open_cloids.pop((record.user, record.cloid), None)
            if record.reduce_only:
                self.reduce_only_open[record.user].discard(record.oid)
        self.pending_updates[record.user].append(record.update_wire())
        self.changes += 1
        on_status(self, record, status, now)

    def _reject(self, user: str, market: MarketSpec, wire: OrderWire, status: str,
                message: str, now: int) -> Status:
        record = self._record(user, market, wire, status, now)
        self.pending_updates[user].append(record.update_wire())
        if "asset=" in message:  # a fault-injected reason may carry its own suffix
            return {"error": message}
        return {"error": f"{message} asset={market.asset}"}

    def place(self, user: str, wire: OrderWire, now: int,
              forced_error: str | None = None) -> Status:
        """Validate, match and maybe rest one order; returns its per-order status object."""
        market = self.markets.get(wire.asset)
        if market is None:
            return {"error": f"Invalid asset {wire.asset}."}
        if forced_error is not None:
            return self._reject(user, market, wire, "rejected", forced_error, now)
        if wire.is_trigger:
            return place_trigger(self, user, market, wire, now)
        if wire.cloid is not None and (user, wire.cloid) in self.open_cloids:
            return {"error": f"Duplicate cloid: an open order already uses {wire.cloid}. "
                             f"asset={market.asset}"}
        account = self.account(user)
        book = self.books[market.coin]
        sz = wire.sz
        rule = order_rule_error(market, wire.px, sz)
        if rule is not None:
            return self._reject(user, market, wire, rule[0], rule[1], now)
        if wire.reduce_only and not market.is_spot:
            pos = account.position(market.coin)
            if pos == ZERO or (pos > ZERO) == wire.is_buy:
                return self._reject(user, market, wire, "reduceOnlyRejected",
                                    "Reduce only order would increase position.", now)
            sz = min(sz, abs(pos))
        if wire.tif == "Alo" and book.crosses(wire.is_buy, wire.px):
            bbo = f"{fmt(book.best_bid() or ZERO)}@{fmt(book.best_ask() or ZERO)}"
            return self._reject(user, market, wire, "badAloPxRejected",
                                f"Post only order would have immediately matched, bbo was {bbo}.",
                                now)
        ensure_isolated(self, account, market)  # HIP-3 markets are isolated-only (dexes.py)
        lev = account.leverage_of(market.coin, self.config.default_leverage)
        if not account.house:
            money_error = self._money_check(account, market, wire, sz, lev)
            if money_error is not None:
                return self._reject(user, market, wire, money_error[0], money_error[1], now)
        sized = OrderWire(wire.asset, wire.is_buy, wire.px, sz, wire.reduce_only, wire.tif,
                          wire.cloid, builder_fee=wire.builder_fee)
        record = self._record(user, market, sized, OPEN, now)
        if wire.cloid is not None:
            self.open_cloids[(user, wire.cloid)] = record.oid
        return self._execute(record, market, book, account, lev, now)

    def _money_check(self, account: Account, market: MarketSpec, wire: OrderWire,
                     sz: Decimal, lev: int) -> tuple[str, str] | None:
        if market.is_spot:
            have = account.spot.get(market.quote if wire.is_buy else market.base, ZERO)
            need = wire.px * sz if wire.is_buy else sz
            if need > have:
                return "insufficientSpotBalanceRejected", "Insufficient spot balance"
            return None
        if wire.reduce_only:
            return None
        margin = wire.px * sz / lev
        if margin > account.available_margin(self.marks(), self.config.default_leverage):
            return "perpMarginRejected", "Insufficient margin to place order."
        return None

    def _execute(self, record: OrderRecord, market: MarketSpec, book: OrderBook,
                 account: Account, lev: int, now: int) -> Status:
        before = self.next_tid
        status = self._match(record, market, book, account, lev, now)
        if self.next_tid != before:
            # The taker's own reduce-only orders, checked once its status is final (so a filled
            # TP/SL leg cancels its sibling as siblingFilledCanceled first).
            self._check_reduce_only(record.user, market.coin, now)
        return status

    def _match(self, record: OrderRecord, market: MarketSpec, book: OrderBook,
                 account: Account, lev: int, now: int) -> Status:
        result = book.match(record.is_buy, record.limit_px, record.sz, record.user)
        for maker in result.self_trade_cancelled:
            self._close_resting(self.orders[maker.oid], "selfTradeCanceled", now)
        notional = ZERO
        for match in result.matches:
            self._trade(record, market, match, now)
            notional += match.px * match.sz
        filled = record.sz - result.remaining
        record.sz = result.remaining
        self.dirty_books.add(market.coin)
        cloid_part = {"cloid": record.cloid} if record.cloid is not None else {}
        if result.remaining == ZERO:
            self._set_status(record, "filled", now)
        elif record.tif == "Ioc":
            if filled == ZERO:
                self._set_status(record, "iocCancelRejected", now)
                return {"error": "Order could not immediately match against any resting orders. "
                                 f"asset={market.asset}"}
            self._set_status(record, "canceled", now)
        else:
            if not account.house and not market.is_spot and not record.reduce_only:
                record.reserved = record.limit_px * record.sz / lev
                account.order_margin += record.reserved
            if record.reduce_only:
                self.reduce_only_open[record.user].add(record.oid)
            book.add(RestingOrder(record.oid, record.user, record.is_buy, record.limit_px,
                                  record.sz, record.orig_sz, record.timestamp))
            if not account.house:
                self.pending_updates[record.user].append(record.update_wire())
            return {"resting": {"oid": record.oid, **cloid_part}}
        avg = notional / filled
        return {"filled": {"totalSz": fmt(filled), "avgPx": fmt(avg.quantize(Decimal("1e-8"))
                                                                 .normalize()),
                           "oid": record.oid, **cloid_part}}

    def execute(self, record: OrderRecord, market: MarketSpec, account: Account, lev: int,
                now: int) -> Status:
        """Match an open record (a fired trigger) against its book and rest what is left."""
        return self._execute(record, market, self.books[market.coin], account, lev, now)

    def lacks_margin(self, account: Account, market: MarketSpec, record: OrderRecord,
                     lev: int) -> bool:
        """Whether ``record`` (opening, not house) would fail the placement margin check."""
        wire = OrderWire(record.asset, record.is_buy, record.limit_px, record.sz, False, None)
        return not account.house and self._money_check(account, market, wire, record.sz,
                                                       lev) is not None

    def _release(self, record: OrderRecord, qty: Decimal, before: Decimal) -> None:
        if record.reserved == ZERO or before == ZERO:
            return
        part = record.reserved * qty / before
        record.reserved -= part
        self.accounts[record.user].order_margin -= part

    def _trade(self, taker: OrderRecord, market: MarketSpec, match: Match, now: int) -> None:
        maker = self.orders[match.maker.oid]
        before = maker.sz
        maker.sz = match.maker.sz
        self._release(maker, match.sz, before)
        tid = self.next_tid
        self.next_tid += 1
        trade_hash = "0x" + hashlib.sha256(f"{tid}:{maker.oid}:{taker.oid}".encode()).hexdigest()
        for record, crossed in ((maker, False), (taker, True)):
            self._fill(record, market, match, crossed, tid, trade_hash, now)
        buyer, seller = (taker.user, maker.user) if taker.is_buy else (maker.user, taker.user)
        self.pending_trades[market.coin].append({
            "coin": market.coin, "side": "B" if taker.is_buy else "A", "px": fmt(match.px),
            "sz": fmt(match.sz), "hash": trade_hash, "time": now, "tid": tid,
            "users": [buyer, seller]})
        if match.maker_done:
            self._set_status(maker, "filled", now)
        self._check_reduce_only(maker.user, market.coin, now)

    def _fill(self, record: OrderRecord, market: MarketSpec, match: Match, crossed: bool,
              tid: int, trade_hash: str, now: int) -> None:
        account = self.account(record.user)
        rate = self.config.taker_fee if crossed else self.config.maker_fee
        fee = ZERO if account.house else fee_for(match.px * match.sz, rate)
        builder = self.builder_fees.get(record.oid)
        if builder is not None and not account.house:  # charged to the user, paid to the builder
            builder_fee = fee_for(match.px * match.sz, builder[1])
            fee += builder_fee
            self.account(builder[0]).usdc += builder_fee
        if market.is_spot:
            outcome = account.apply_spot_fill(market.base, market.quote, record.is_buy, match.px,
                                              match.sz, fee)
        else:
            outcome = account.apply_perp_fill(market.coin, record.is_buy, match.px, match.sz, fee)
        if account.house:
            return
        fill = {
            "coin": market.coin, "px": fmt(match.px), "sz": fmt(match.sz),
            "side": "B" if record.is_buy else "A", "time": now,
            "startPosition": fmt(outcome.start_position), "dir": outcome.direction,
            "closedPnl": fmt(outcome.closed_pnl), "hash": trade_hash, "oid": record.oid,
            "crossed": crossed, "fee": fmt(fee), "tid": tid, "cloid": record.cloid,
            "feeToken": "USDC",
        }
        self.fills[record.user].append(fill)
        self.pending_fills[record.user].append(fill)
        self.changes += 1

    def _check_reduce_only(self, user: str, coin: str, now: int) -> None:
        """Cancel resting reduce-only orders that would now increase the position."""
        account = self.accounts[user]
        if account.house:
            return
        pos = account.position(coin)
        for oid in list(self.reduce_only_open.get(user, ())):
            record = self.orders[oid]
            if record.coin == coin and (pos == ZERO or (pos > ZERO) == record.is_buy):
                self._close_resting(record, "reduceOnlyCanceled", now)

    def _close_resting(self, record: OrderRecord, status: str, now: int) -> None:
        self.books[record.coin].remove(record.oid)  # a waiting trigger is not on the book
        self.armed.discard(record.oid)
        self._release(record, record.sz, record.sz)
        self.dirty_books.add(record.coin)
        self._set_status(record, status, now)
        if status in NON_USER_CANCELS and record.user not in HOUSE_ADDRESSES:
            self.pending_non_user_cancels[record.user].append(
                {"coin": record.coin, "oid": record.oid})

    new_record = _record
    reject = _reject
    close_order = _close_resting

    # ----- cancels --------------------------------------------------------------------------

    def cancel(self, user: str, asset: int, oid: int, now: int,
               status: str = "canceled") -> Status:
        """Cancel ``oid``; ``"success"`` or the live per-cancel error."""
        record = self.orders.get(oid)
        if (record is None or record.user != user or record.asset != asset
                or record.status != OPEN):
            return {"error": f"{MISSING_ORDER} asset={asset}"}
        self._close_resting(record, status, now)
        return "success"

    def cancel_by_cloid(self, user: str, asset: int, cloid: str, now: int) -> Status:
        """Cancel the open order of ``user`` carrying ``cloid``."""
        oid = self.open_cloids.get((user, cloid))
        return self.cancel(user, asset, oid if oid is not None else -1, now)

    def cancel_all(self, user: str, status: str, now: int) -> int:
        """Cancel every open order of ``user`` with ``status``; returns how many."""
        records = list(self.open_orders(user))
        for record in records:
            self._close_resting(record, status, now)
        return len(records)

    def fire_scheduled_cancels(self, now: int) -> None:
        """Run the dead man's switches whose time has come."""
        for user, when in list(self.scheduled_cancels.items()):
            if when <= now:
                del self.scheduled_cancels[user]
                self.cancel_all(user, "scheduledCancel", now)
                self.changes += 1

    def find(self, user: str, oid_or_cloid: int | str) -> OrderRecord | None:
        """The order of ``user`` with that oid, or the latest one with that cloid."""
        oid = (self.last_cloids.get((user, oid_or_cloid)) if isinstance(oid_or_cloid, str)
               else oid_or_cloid)
        record = self.orders.get(oid) if oid is not None else None
        return record if record is not None and record.user == user else None

    def open_orders(self, user: str) -> list[OrderRecord]:
        """Open orders of ``user``, oldest first."""
        out = []
        for oid in self.user_orders.get(user, ()):
            record = self.orders[oid]
            if record.status == OPEN:
                out.append(record)
        return out

    def note_mid(self, coin: str, mid: Decimal) -> None:
        """Move the reference (mark) price of ``coin``."""
        if self.mids.get(coin) != mid:
            self.mids[coin] = mid
            self.mids_dirty = True

    def book_mid(self, coin: str) -> Decimal:
        """Mid of the book, falling back to the reference price when a side is empty."""
        book = self.books[coin]
        bid, ask = book.best_bid(), book.best_ask()
        if bid is not None and ask is not None:
            return (bid + ask) / 2
        return self.mids[coin]

    def all_mids(self, dex: str = "") -> dict[str, str]:
        """``allMids`` payload of ``dex`` (spot pairs go with the first dex): coin -> mid."""
        return {coin: fmt(self.book_mid(coin).quantize(Decimal("1e-8")).normalize())
                for coin in self.books if dex_of(coin) == dex}
