"""Wire format, trading rules, nonces, outcome classification and the book (pure parts)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hyperliquid.utils.signing import float_to_wire
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.base import (
    BookLevel,
    BookUpdate,
    ExchangeOrderStatus,
    OrderRuleViolation,
    Outcome,
    TradingRule,
    UnknownPair,
)
from connectors.hyperliquid import wire
from connectors.hyperliquid.book import OrderBook
from connectors.hyperliquid.errors import InvalidCloid, UnexpectedReply, WireFormatError
from connectors.hyperliquid.nonces import LEASE_MS, NonceManager
from connectors.hyperliquid.outcomes import cancel_results, default_result, place_results
from connectors.hyperliquid.parsing import map_status, parse_fill, parse_order_status_reply
from connectors.hyperliquid.rest import ExchangeReply
from connectors.hyperliquid.rules import TradingRules, parse_perp_meta, parse_spot_meta

VECTORS_FILE = Path(__file__).resolve().parents[2] / "data" / "hyperliquid_vectors.json"
VECTORS = json.loads(VECTORS_FILE.read_text())


@pytest.mark.parametrize("case", VECTORS["float_to_wire"]["cases"], ids=lambda c: c["input_repr"])
def test_float_to_wire_vectors(case: dict[str, Any]) -> None:
    value = Decimal(case["input_repr"])
    # A float like 0.30000000000000004 is rounded by the SDK; from a Decimal we refuse to round.
    if case["error"] or value.as_tuple().exponent < -8:
        with pytest.raises(WireFormatError, match="decimals"):
            wire.decimal_to_wire(value)
    else:
        # The SDK's '-0' is an artefact of its dead guard; the canonical form is '0'.
        expected = "0" if case["output"] == "-0" else case["output"]
        assert wire.decimal_to_wire(value) == expected


def test_non_finite_numbers_never_reach_the_wire() -> None:
    for bad in ("NaN", "Infinity", "-Infinity"):
        with pytest.raises(WireFormatError, match="finite"):
            wire.decimal_to_wire(Decimal(bad))


@pytest.mark.parametrize("case", VECTORS["cloid"]["cases"], ids=lambda c: str(c["from_int"]))
def test_cloid_vectors(case: dict[str, Any]) -> None:
    assert wire.cloid_from_int(case["from_int"]) == case["raw"]


def test_cloid_from_client_order_id_is_deterministic_and_valid() -> None:
    a = wire.cloid_from_client_order_id("order-1")
    assert a == wire.cloid_from_client_order_id("order-1")
    assert a != wire.cloid_from_client_order_id("order-2")
    assert wire.validate_cloid(a) == a
    assert wire.cloid_from_client_order_id(a) == a
    with pytest.raises(InvalidCloid):
        wire.validate_cloid("0xABC")
    with pytest.raises(InvalidCloid):
        wire.cloid_from_int(-1)


@pytest.mark.parametrize(
    "case", VECTORS["order_request_to_order_wire"]["cases"], ids=lambda c: str(c["asset"])
)
def test_order_wire_vectors(case: dict[str, Any]) -> None:
    req = case["order_request"]
    kind = req["order_type"]
    if "limit" in kind:
        order_type = wire.limit_order_type(kind["limit"]["tif"])
    else:
        trig = kind["trigger"]
        order_type = wire.trigger_order_type(
            Decimal(str(trig["triggerPx"])), trig["isMarket"], trig["tpsl"]
        )
    ours = wire.order_wire(
        case["asset"],
        req["is_buy"],
        Decimal(str(req["limit_px"])),
        Decimal(str(req["sz"])),
        req["reduce_only"],
        order_type,
        req.get("cloid"),
    )
    assert ours == case["order_wire"]
    assert list(ours) == case["order_wire_key_order"]
    assert msgpack.packb(ours).hex() == case["msgpack_hex"]


def test_optional_flags_are_omitted_not_false() -> None:
    assert wire.cancel_action([(1, 2)]) == {"type": "cancel", "cancels": [{"a": 1, "o": 2}]}
    assert list(wire.cancel_action([(1, 2)], fast=True)) == ["type", "cancels", "f"]
    assert wire.schedule_cancel_action(None) == {"type": "scheduleCancel"}
    assert "a" not in wire.modify_action(5, {"a": 1})
    action = wire.order_action([], builder=("0xABCDEF0000000000000000000000000000000001", 10))
    assert action["builder"] == {"b": "0xabcdef0000000000000000000000000000000001", "f": 10}


# ---- rounding properties ------------------------------------------------------------------------

sane = st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal("9999999"), places=8)


@settings(max_examples=300, deadline=None)
@given(value=sane)
def test_wire_string_round_trips_and_matches_the_sdk(value: Decimal) -> None:
    text = wire.decimal_to_wire(value)
    assert Decimal(text) == value
    assert "e" not in text.lower()
    assert not (("." in text) and text.endswith(("0", ".")))
    if len(value.normalize().as_tuple().digits) <= 15:  # exactly representable as a float string
        assert float_to_wire(float(value)) == text


@settings(max_examples=300, deadline=None)
@given(
    sz_decimals=st.integers(0, 6),
    spot=st.booleans(),
    price=st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("500000"), places=8),
)
def test_quantized_prices_are_always_sendable(sz_decimals: int, spot: bool, price: Decimal) -> None:
    max_decimals = (8 if spot else 6) - sz_decimals
    rule = TradingRule("X", 0, sz_decimals, 5, max_decimals, Decimal(0))
    try:
        q = rule.quantize_price(price)
    except OrderRuleViolation:
        return  # below one tick: refused, never rounded to a price of 0
    assert q == rule.quantize_price(q)  # idempotent
    text = wire.decimal_to_wire(q)
    decimals = len(text.split(".")[1]) if "." in text else 0
    assert decimals <= max_decimals
    significant = text.replace(".", "").lstrip("0")
    assert "." not in text or len(significant) <= 5
    rule.check(q, Decimal(1))


@settings(max_examples=200, deadline=None)
@given(sz_decimals=st.integers(0, 6), amount=sane)
def test_quantized_amounts_never_exceed_the_request(sz_decimals: int, amount: Decimal) -> None:
    rule = TradingRule("X", 0, sz_decimals, 5, 6 - sz_decimals, Decimal(0))
    q = rule.quantize_amount(amount)
    assert q <= amount
    assert amount - q < Decimal(1).scaleb(-sz_decimals)
    assert wire.decimal_to_wire(q) if q else True


def test_checked_order_wire_refuses_bad_numbers_before_sending() -> None:
    rule = TradingRule("ETH", 1, 4, 5, 2, Decimal(10))
    with pytest.raises(OrderRuleViolation, match="tick"):
        wire.checked_order_wire(rule, True, Decimal("3000.123"), Decimal("1"), False, {})
    with pytest.raises(OrderRuleViolation, match="decimals"):
        wire.checked_order_wire(rule, True, Decimal("3000"), Decimal("0.00001"), False, {})
    with pytest.raises(OrderRuleViolation, match="minimum"):
        wire.checked_order_wire(rule, True, Decimal("3000"), Decimal("0.001"), False, {})
    ok = wire.checked_order_wire(rule, True, Decimal("3000.1"), Decimal("0.01"), False, {})
    assert ok["p"] == "3000.1"


# ---- rules ----------------------------------------------------------------

META = {
    "universe": [
        {"name": "BTC", "szDecimals": 5, "maxLeverage": 50},
        {"name": "ETH", "szDecimals": 4, "maxLeverage": 25},
        {"name": "OLD", "szDecimals": 2, "maxLeverage": 3, "isDelisted": True},
    ]
}
SPOT_META = {
    "tokens": [
        {"name": "USDC", "szDecimals": 8, "weiDecimals": 8, "index": 0},
        {"name": "PURR", "szDecimals": 0, "weiDecimals": 5, "index": 1},
        {"name": "HYPE", "szDecimals": 2, "weiDecimals": 8, "index": 150},
    ],
    "universe": [
        {"name": "PURR/USDC", "tokens": [1, 0], "index": 0},
        {"name": "@107", "tokens": [150, 0], "index": 107},
    ],
}


def test_rules_from_meta_and_spot_meta() -> None:
    rules = TradingRules()
    rules.replace(parse_perp_meta(META), parse_spot_meta(SPOT_META))
    eth = rules.get("ETH")
    assert (eth.asset_id, eth.amount_decimals, eth.price_max_decimals, eth.max_leverage) == (
        1,
        4,
        2,
        25,
    )
    assert rules.get("OLD").asset_id == 2  # delisted coins keep their slot
    purr = rules.get("PURR/USDC")
    assert (purr.asset_id, purr.amount_decimals, purr.price_max_decimals, purr.is_spot) == (
        10000,
        0,
        8,
        True,
    )
    hype = rules.get("@107")
    assert rules.get("HYPE/USDC") is hype
    assert (hype.asset_id, hype.amount_decimals, hype.price_max_decimals) == (10107, 2, 6)
    assert rules.by_asset(10107) is hype
    with pytest.raises(UnknownPair, match="refresh"):
        rules.get("DOGE")
    with pytest.raises(UnexpectedReply):
        parse_perp_meta({"universe": [{"name": "X"}]})


# ---- nonces ----------------------------------------------------------------


def test_nonces_increase_within_one_millisecond_and_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "nonce"
    frozen = NonceManager(path, clock=lambda: 1_000)
    issued = [frozen.next() for _ in range(5)]
    assert issued == [1_000, 1_001, 1_002, 1_003, 1_004]
    assert int(path.read_text()) >= issued[-1]
    restarted = NonceManager(path, clock=lambda: 1_000)  # clock did not move (or went back)
    assert restarted.next() > issued[-1]
    assert NonceManager(None, clock=lambda: 5).next() == 5


def test_nonce_lease_is_written_rarely(tmp_path: Path) -> None:
    path = tmp_path / "nonce"
    now = [10_000]
    nonces = NonceManager(path, clock=lambda: now[0])
    nonces.next()
    first = path.read_text()
    now[0] += LEASE_MS // 2
    nonces.next()
    assert path.read_text() == first  # still inside the lease: no disk write
    now[0] += LEASE_MS
    nonces.next()
    assert path.read_text() != first


# ---- outcomes ----------------------------------------------------------------

C1, C2 = wire.cloid_from_int(1), wire.cloid_from_int(2)


def _ok(statuses: list[Any], kind: str = "order") -> ExchangeReply:
    return ExchangeReply("ok", {"type": kind, "data": {"statuses": statuses}}, "raw")


def test_place_statuses_map_to_three_valued_results() -> None:
    results = place_results(
        _ok([{"resting": {"oid": 7}}, {"filled": {"totalSz": "0.5", "avgPx": "10.5", "oid": 8}}]),
        [C1, C2],
    )
    assert results[0].outcome is Outcome.CONFIRMED and results[0].resting
    assert results[0].exchange_order_id == "7"
    assert results[1].filled_amount == Decimal("0.5") and results[1].average_price == Decimal(
        "10.5"
    )
    [rejected] = place_results(_ok([{"error": "Order must have minimum value of $10."}]), [C1])
    assert rejected.outcome is Outcome.REJECTED and rejected.reason is not None
    both = place_results(_ok([{"error": "Order has invalid price."}]), [C1, C2])
    assert [r.outcome for r in both] == [Outcome.REJECTED] * 2


def test_only_definite_refusals_become_rejected() -> None:
    expired = ExchangeReply("err", "Action already expired", "raw")
    assert {r.outcome for r in place_results(expired, [C1, C2])} == {Outcome.REJECTED}
    odd = ExchangeReply("err", "something new went wrong", "raw-text")
    [unknown] = place_results(odd, [C1])
    assert unknown.outcome is Outcome.UNKNOWN and unknown.raw == "raw-text"
    for reply in (
        ExchangeReply("unknown", None, "", "timeout"),
        ExchangeReply("unknown", None, "<html>502</html>", "HTTP 502", 502),
        _ok([{"weird": 1}]),
        _ok([{"resting": {"oid": 1}}]),  # one status for two orders, not an error: unknown
    ):
        assert {r.outcome for r in place_results(reply, [C1, C2])} == {Outcome.UNKNOWN}
    limited = ExchangeReply("refused", None, "", "HTTP 429 rate limited", 429)
    assert place_results(limited, [C1])[0].outcome is Outcome.REJECTED


def test_cancel_and_default_results() -> None:
    ok, missing = cancel_results(
        _ok(
            ["success", {"error": "Order was never placed, already canceled, or filled."}], "cancel"
        ),
        2,
    )
    assert ok.outcome is Outcome.CONFIRMED and missing.outcome is Outcome.REJECTED
    assert cancel_results(ExchangeReply("unknown", None, "", "timeout"), 1)[0].outcome is (
        Outcome.UNKNOWN
    )
    assert default_result(ExchangeReply("ok", {"type": "default"}, "")).outcome is (
        Outcome.CONFIRMED
    )
    too_early = ExchangeReply("err", "Scheduled cancel time too early, must be at least 5 s", "")
    assert default_result(too_early).outcome is Outcome.REJECTED


# ---- parsing ----------------------------------------------------------------


def test_status_strings_map_generically() -> None:
    assert map_status("open") is ExchangeOrderStatus.OPEN
    assert map_status("marginCanceled") is ExchangeOrderStatus.CANCELED
    assert map_status("someFutureCanceled") is ExchangeOrderStatus.CANCELED
    assert map_status("scheduledCancel") is ExchangeOrderStatus.CANCELED
    assert map_status("iocCancelRejected") is ExchangeOrderStatus.REJECTED
    assert map_status("triggered") is ExchangeOrderStatus.TRIGGERED
    with pytest.raises(UnexpectedReply):
        map_status("teleported")


def test_order_status_and_fill_parsing() -> None:
    assert parse_order_status_reply({"status": "unknownOid"}, C1).status is (
        ExchangeOrderStatus.NOT_FOUND
    )
    entry = {
        "order": {
            "coin": "ETH",
            "side": "A",
            "limitPx": "3000.0",
            "sz": "0.4",
            "oid": 141682155424,
            "timestamp": 5,
            "origSz": "1.0",
            "cloid": C1,
        },
        "status": "open",
        "statusTimestamp": 9,
    }
    report = parse_order_status_reply({"status": "order", "order": entry}, C1)
    assert (report.side, report.amount, report.remaining, report.exchange_order_id) == (
        "sell",
        Decimal("1.0"),
        Decimal("0.4"),
        "141682155424",
    )
    fill = parse_fill(
        {
            "coin": "ETH",
            "px": "3000.5",
            "sz": "0.1",
            "side": "B",
            "time": 3,
            "oid": 12,
            "tid": 99,
            "fee": "-0.01",
            "feeToken": "USDC",
            "crossed": False,
            "cloid": None,
        }
    )
    assert (fill.trade_id, fill.is_maker, fill.fee, fill.cloid) == (
        "99",
        True,
        Decimal("-0.01"),
        None,
    )
    with pytest.raises(UnexpectedReply):
        parse_fill({"coin": "ETH"})


# ---- book ----------------------------------------------------------------


def _lv(px: str, sz: str) -> BookLevel:
    return BookLevel(Decimal(px), Decimal(sz), 1)


def test_book_best_mid_depth_and_staleness() -> None:
    book = OrderBook("ETH", stale_after_s=1.0)
    assert book.is_stale() and book.mid() is None
    book.apply(
        BookUpdate(
            "ETH", 10, (_lv("99", "1"), _lv("98", "2")), (_lv("101", "1.5"), _lv("102", "3"))
        )
    )
    assert book.mid() == Decimal(100) and book.spread() == Decimal(2)
    assert book.amount_within(Decimal("101.5"), "buy") == Decimal("1.5")
    assert book.amount_within(Decimal("98"), "sell") == Decimal(3)
    assert not book.is_stale()
    book.apply(BookUpdate("ETH", 5, (), ()))  # older snapshot ignored
    assert book.best_bid() == _lv("99", "1")
    book.mark_stale()
    assert book.is_stale()
