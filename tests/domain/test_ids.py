"""Client order ids: format, order, cloid mapping."""

from __future__ import annotations

import pytest

from oms.domain import ClientOrderId, InvalidClientOrderId, order_stream


def test_format_and_cloid_round_trip() -> None:
    cid = ClientOrderId.new()
    assert len(cid) == 32 and cid == cid.lower() and int(cid, 16) >= 0
    assert cid.cloid == "0x" + cid and len(cid.cloid) == 34
    assert ClientOrderId.from_cloid(cid.cloid) == cid
    assert ClientOrderId.from_cloid(cid.cloid.upper().replace("0X", "0x")) == cid
    assert order_stream(cid) == f"order-{cid}"


def test_sortable_by_creation_time_and_unique() -> None:
    ids = [ClientOrderId.new(now_ns=1_700_000_000_000_000_000 + i * 300_000) for i in range(5000)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert ids[0].created_ms == 1_700_000_000_000
    later = ClientOrderId.new(now_ns=1_800_000_000_000_000_000)
    assert later > ids[-1] and later.created_ms == 1_800_000_000_000


@pytest.mark.parametrize("bad", ["", "0x12", "0x" + "g" * 32, "12" * 16, "0x" + "1" * 33])
def test_invalid_cloids(bad: str) -> None:
    with pytest.raises(InvalidClientOrderId):
        ClientOrderId.from_cloid(bad)


def test_parse_validates() -> None:
    with pytest.raises(InvalidClientOrderId, match="32 lowercase hex"):
        ClientOrderId.parse("ABC")
    assert ClientOrderId.parse("a" * 32) == "a" * 32
