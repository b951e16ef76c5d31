"""Encoding, decoding, upcasting and bad input."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest
from kit.orders import ONE_OF_EACH

from oms.domain import MalformedEvent, UnknownEventType, UnsupportedEventVersion, decode, encode
from oms.domain.codec import current_version


@pytest.mark.parametrize("event", list(ONE_OF_EACH.values()), ids=list(ONE_OF_EACH))
def test_round_trip_through_json(event: object) -> None:
    type_, data, version = encode(event)  # type: ignore[arg-type]
    assert type_ == type(event).TYPE and version == type(event).VERSION  # type: ignore[attr-defined]
    wire = orjson.loads(orjson.dumps(data))  # what the store gives back
    assert decode(type_, wire, version) == event


def test_decimals_are_strings_and_exact() -> None:
    _, data, _ = encode(ONE_OF_EACH["OrderFilled"])
    assert data["price"] == "3000" and data["amount"] == "0.1"
    back = decode("OrderFilled", {**data, "amount": "0.1000000000000000000000000001"}, 2)
    assert back.amount == Decimal("0.1000000000000000000000000001")  # type: ignore[union-attr]


def test_upcast_v1_created_and_filled() -> None:
    _, data, _ = encode(ONE_OF_EACH["OrderCreated"])
    v1 = {k: v for k, v in data.items() if k not in ("venue", "account")}
    ev = decode("OrderCreated", v1, 1)
    assert (ev.venue, ev.account) == ("hyperliquid", "main")  # type: ignore[union-attr]
    _, fdata, _ = encode(ONE_OF_EACH["OrderFilled"])
    f1 = {k: v for k, v in fdata.items() if k not in ("fee_asset", "exchange_order_id")}
    fill = decode("OrderFilled", f1, 1)
    assert fill.fee_asset == "USDC" and fill.exchange_order_id is None  # type: ignore[union-attr]


def test_unknown_type_names_type_and_version() -> None:
    with pytest.raises(UnknownEventType, match=r"'OrderTeleported' \(schema version 3\)"):
        decode("OrderTeleported", {}, 3)


def test_newer_version_names_type_and_version() -> None:
    newer = current_version("OrderCanceled") + 1
    message = rf"'OrderCanceled' has schema version {newer}"
    with pytest.raises(UnsupportedEventVersion, match=message):
        decode("OrderCanceled", {"client_order_id": "0" * 32, "reason": "x", "at_ns": 1}, newer)
    with pytest.raises(UnsupportedEventVersion):
        decode("OrderCanceled", {}, 0)


def test_malformed_payloads() -> None:
    with pytest.raises(MalformedEvent, match="lacks field 'reason'"):
        decode("OrderCanceled", {"client_order_id": "0" * 32, "at_ns": 1}, 1)
    _, data, v = encode(ONE_OF_EACH["OrderFilled"])
    with pytest.raises(MalformedEvent, match="malformed"):
        decode("OrderFilled", {**data, "price": "three thousand"}, v)
    _, cdata, cv = encode(ONE_OF_EACH["OrderCreated"])
    with pytest.raises(MalformedEvent, match="TradeSide"):
        decode("OrderCreated", {**cdata, "side": "sideways"}, cv)
