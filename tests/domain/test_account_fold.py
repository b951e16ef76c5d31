"""Property tests of the account fold (``oms.domain.account.AccountState``).

- Against an independent implementation: the simulator's own account (``Account.apply_perp_fill``,
  the exchange's truth in every other test) gives the same size, entry price and realized PnL for
  any sequence of fills.
- Sums: realized PnL = Σ realized trading + Σ funding − Σ fees, and cash = Σ ledger + that +
  Σ corrections, for any sequence of our fills, outside fills, funding, ledger and corrections.
- Duplicates: an event whose key was applied changes nothing, however often it comes back.
- Codec: every account event survives encode → decode; snapshots restore the same account.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.hyperliquid.simulator.accounts import Account
from oms.domain.account import AccountState
from oms.domain.account_events import (
    AccountCorrected,
    AccountEvent,
    FundingPaid,
    LedgerUpdated,
    OutsideFill,
)
from oms.domain.codec import decode_account, encode
from oms.domain.enums import TradeSide
from projections.account_codec import account_from_json, account_to_json

D = Decimal
PAIRS = ("ETH", "BTC")
sizes = st.integers(1, 500).map(lambda n: D(n) / 100)
prices = st.integers(9_000, 11_000).map(lambda n: D(n) / 10)
fees = st.integers(-5, 50).map(lambda n: D(n) / 1000)


@st.composite
def fills(draw: Any) -> tuple[str, int, Decimal, Decimal, Decimal]:
    return (draw(st.sampled_from(PAIRS)), draw(st.sampled_from((1, -1))), draw(sizes),
            draw(prices), draw(fees))


@st.composite
def inputs(draw: Any) -> list[tuple[str, Any]]:
    """A mix of our fills, outside fills, funding, ledger updates and corrections (some keys
    repeated, as a trade seen live, in a snapshot and in a gap fill would be)."""
    out: list[tuple[str, Any]] = []
    for i in range(draw(st.integers(0, 40))):
        kind = draw(st.sampled_from(("own", "outside", "funding", "ledger", "correct", "dup")))
        if kind == "own":
            out.append(("own", draw(fills())))
        elif kind == "outside":
            pair, sign, sz, px, fee = draw(fills())
            out.append(("event", OutsideFill(
                f"fill:{i}:9", pair, TradeSide.BUY if sign > 0 else TradeSide.SELL, px, sz, fee,
                "USDC", str(i), "9", draw(st.sampled_from(("unknown_order", "liquidation"))),
                None, None, None, i)))
        elif kind == "funding":
            usdc = D(draw(st.integers(-10_000, 10_000))) / 10_000
            out.append(("event", FundingPaid(f"funding:ETH:{i}", "ETH", usdc, D(1),
                                             D("0.0000125"), i)))
        elif kind == "ledger":
            usdc = D(draw(st.integers(-1000, 5000)))
            out.append(("event", LedgerUpdated(f"ledger:{i}", "deposit", usdc, i, {})))
        elif kind == "correct":
            field = draw(st.sampled_from(("cash", "size:ETH", "spot:USDC")))
            believed = D(draw(st.integers(-5, 5)))
            exchange = believed + D(draw(st.integers(-3, 3)))
            out.append(("event", AccountCorrected(field, believed, exchange, None, "test", i)))
        elif out and out[-1][0] == "event":
            out.append(out[-1])  # the same event again: must change nothing
    return out


def fold(items: list[tuple[str, Any]]) -> AccountState:
    account = AccountState()
    for kind, item in items:
        if kind == "own":
            pair, sign, sz, px, fee = item
            account.apply_own_fill(pair, sign, sz, px, fee, "USDC", 0)
        else:
            account.apply(item)
    return account


@settings(max_examples=200, deadline=None)
@given(st.lists(fills(), max_size=60))
def test_fold_equals_the_exchanges_own_accounting(trades: list[Any]) -> None:
    ours = AccountState()
    exchange = Account(usdc=D(0))
    realized = {p: D(0) for p in PAIRS}
    for pair, sign, sz, px, fee in trades:
        ours.apply_own_fill(pair, sign, sz, px, fee, "USDC", 0)
        realized[pair] += exchange.apply_perp_fill(pair, sign > 0, px, sz, fee).closed_pnl
    for pair in PAIRS:
        theirs = exchange.positions.get(pair)
        mine = ours.positions.get(pair)
        assert (mine.size if mine else D(0)) == (theirs.szi if theirs else D(0))
        if theirs is not None and mine is not None:
            assert abs(mine.entry_price - theirs.entry_px) < D("1e-20")
        assert abs((mine.realized_trading if mine else D(0)) - realized[pair]) < D("1e-18")
    assert abs(ours.cash - exchange.usdc) < D("1e-18")


@settings(max_examples=200, deadline=None)
@given(inputs())
def test_realized_pnl_and_cash_are_the_sums_of_the_events(items: list[tuple[str, Any]]) -> None:
    account = fold(items)
    applied: dict[str, AccountEvent] = {}
    own_fees = D(0)
    for kind, item in items:
        if kind == "own":
            own_fees += item[4]
        elif getattr(item, "key", None) is not None:
            applied.setdefault(item.key, item)
    funding = sum((e.usdc for e in applied.values() if isinstance(e, FundingPaid)), D(0))
    ledger = sum((e.usdc for e in applied.values() if isinstance(e, LedgerUpdated)), D(0))
    outside_fees = sum((e.fee for e in applied.values() if isinstance(e, OutsideFill)), D(0))
    trading = sum((p.realized_trading for p in account.positions.values()), D(0))
    assert sum((p.fees for p in account.positions.values()), D(0)) == own_fees + outside_fees
    assert sum((p.funding for p in account.positions.values()), D(0)) == funding
    # Entry prices are 40-digit quotients, so realized trading PnL is exact only to ~1e-20;
    # summed in another order it may differ in the last digits (Decimal's 28-digit context).
    tiny = D("1e-12")
    assert abs(account.realized_pnl - (trading + funding - own_fees - outside_fees)) < tiny
    assert account.ledger == ledger
    assert abs(account.cash - (ledger + account.realized_pnl + account.cash_corrections)) < tiny
    outside = sum(p.outside_fills for p in account.positions.values())
    assert outside == sum(1 for e in applied.values() if isinstance(e, OutsideFill))


@settings(max_examples=100, deadline=None)
@given(inputs())
def test_duplicates_change_nothing_and_snapshots_restore_the_same_account(
    items: list[tuple[str, Any]],
) -> None:
    once = fold(items)
    twice = fold([*items, *[(k, e) for k, e in items if k == "event" and hasattr(e, "key")]])
    corrections = [(k, e) for k, e in items if isinstance(e, AccountCorrected)]
    if not corrections:  # corrections are deltas: applying one again is a new correction
        assert twice.as_dict() == once.as_dict() and twice.seen == once.seen
    assert account_from_json(account_to_json(once)) == once


@given(inputs())
def test_every_account_event_survives_the_codec(items: list[tuple[str, Any]]) -> None:
    for kind, item in items:
        if kind == "event":
            assert decode_account(*encode(item)) == item


@settings(max_examples=100, deadline=None)
@given(st.lists(fills(), max_size=40), st.randoms(use_true_random=False))
def test_realized_pnl_is_the_exchanges_whatever_order_fills_are_journaled_in(
    trades: list[Any], rng: Any
) -> None:
    exchange = Account(usdc=D(0))
    reported = []
    for pair, sign, sz, px, fee in trades:
        closed = exchange.apply_perp_fill(pair, sign > 0, px, sz, fee).closed_pnl
        reported.append((pair, sign, sz, px, fee, closed))
    rng.shuffle(reported)  # a gap fill after a crash journals an earlier fill after later ones
    ours = AccountState()
    for pair, sign, sz, px, fee, closed in reported:
        ours.apply_own_fill(pair, sign, sz, px, fee, "USDC", 0, closed)
    assert abs(ours.cash - exchange.usdc) < D("1e-12")  # sums of 28-digit Decimals
    for pair in PAIRS:
        theirs = exchange.positions.get(pair)
        assert ours.position(pair) == (theirs.szi if theirs else D(0))
