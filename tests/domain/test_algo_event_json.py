"""The journal JSON of the parent, native TWAP and leverage events, byte for byte.

These streams have no schema versions to upcast from: a codec change that altered one byte of a
payload would make journals already written unreadable, or read differently. Bad payloads are
refused with the module's specific error, never half read.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
import pytest

from oms.domain.ids import ClientOrderId
from oms.domain.leverage import (
    AccountCommandRequested,
    LeverageObserved,
    decode_leverage_event,
    encode_leverage_event,
)
from oms.domain.native_twap import NativeSliceFilled, decode_native, encode_native
from oms.domain.parent import (
    ParentCreated,
    ParentDecodeError,
    ParentOpened,
    ParentSpec,
    SliceReleased,
    decode_parent,
    encode_parent,
)

D = Decimal
SPEC = ParentSpec("twap", "ETH", "buy", D("1.50"), D("3000.5"), 1, 2, 3, D("0.5"), D("0.001"),
                  D("1E-4"))  # fmt: skip
SPEC_JSON = ('{"kind":"twap","pair":"ETH","side":"buy","amount":"1.50","price":"3000.5",'
             '"start_ns":1,"end_ns":2,"slices":3,"display":"0.5","lot":"0.001",'
             '"min_child":"0.0001"}')  # fmt: skip
CID = ClientOrderId("ab" * 16)


@pytest.mark.parametrize(("event", "expected"), [
    (ParentCreated("p", SPEC, 5),
     '["ParentCreated",{"parent_id":"p","spec":' + SPEC_JSON + ',"at_ns":5}]'),
    (SliceReleased("p", 0, CID, D("0.10"), 6),
     '["SliceReleased",{"parent_id":"p","index":0,"child_id":"' + "ab" * 16
     + '","amount":"0.10","at_ns":6}]'),
    (ParentOpened("p", 12), '["ParentOpened",{"parent_id":"p","at_ns":12}]'),
])  # fmt: skip
def test_parent_events_journal_as_they_always_have(event: Any, expected: str) -> None:
    assert orjson.dumps(encode_parent(event)).decode() == expected
    assert decode_parent(*encode_parent(event)) == event


def test_a_native_slice_fill_journals_as_it_always_has() -> None:
    fill = NativeSliceFilled("p", "3:1003", "3", "1003", D("0.0153"), D("3000.5"), D("-0.01"),
                             4, 5)  # fmt: skip
    assert orjson.dumps(encode_native(fill)).decode() == (
        '["NativeSliceFilled",{"parent_id":"p","key":"3:1003","trade_id":"3",'
        '"exchange_order_id":"1003","amount":"0.0153","price":"3000.5","fee":"-0.01",'
        '"time_ms":4,"at_ns":5}]')  # fmt: skip
    assert decode_native(*encode_native(fill)) == fill


@pytest.mark.parametrize(("event", "expected"), [
    (AccountCommandRequested("r1", "ETH", "set_leverage", 5, False, None, 10, 1),
     '["AccountCommandRequested",{"request_id":"r1","pair":"ETH","command":"set_leverage",'
     '"leverage":5,"cross":false,"amount":null,"expires_after_ms":10,"at_ns":1},1]'),
    (AccountCommandRequested("r2", "ETH", "isolated_margin", None, None, D("-12.50"), 10, 2),
     '["AccountCommandRequested",{"request_id":"r2","pair":"ETH","command":"isolated_margin",'
     '"leverage":null,"cross":null,"amount":"-12.50","expires_after_ms":10,"at_ns":2},1]'),
    (LeverageObserved("ETH", 3, True, 5),
     '["LeverageObserved",{"pair":"ETH","leverage":3,"cross":true,"at_ns":5},1]'),
])  # fmt: skip
def test_leverage_events_journal_as_they_always_have(event: Any, expected: str) -> None:
    assert orjson.dumps(encode_leverage_event(event)).decode() == expected
    assert decode_leverage_event(*encode_leverage_event(event)) == event


def _created(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads('{"parent_id":"p","spec":' + SPEC_JSON + ',"at_ns":5}')
    return {**data, **changes}


@pytest.mark.parametrize("data", [
    _created(at_ns=5, extra=1),                              # a key the event does not have
    {"parent_id": "p", "at_ns": 5},                          # a field missing
    _created(spec="twap"),                                   # the nested spec not an object
    _created(spec={**_created()["spec"], "price": "3k"}),    # a decimal that does not parse
    _created(spec={**_created()["spec"], "amount": None}),   # None where a decimal must be
])  # fmt: skip
def test_a_malformed_parent_payload_is_refused_with_the_parent_error(data: Any) -> None:
    with pytest.raises(ParentDecodeError, match="malformed ParentCreated payload"):
        decode_parent("ParentCreated", data)


def test_malformed_native_and_leverage_payloads_are_refused() -> None:
    fill = encode_native(NativeSliceFilled("p", "k", "1", "2", D(1), D(2), D(0), 3, 4))[1]
    with pytest.raises(ParentDecodeError, match="malformed NativeSliceFilled payload"):
        decode_native("NativeSliceFilled", {**fill, "fee": "free"})
    _, data, version = encode_leverage_event(
        AccountCommandRequested("r", "ETH", "isolated_margin", None, None, D(1), 10, 1))
    with pytest.raises(InvalidOperation):
        decode_leverage_event("AccountCommandRequested", {**data, "amount": "lots"}, version)
    with pytest.raises(TypeError):
        decode_leverage_event("AccountCommandRequested", {**data, "surplus": 1}, version)
