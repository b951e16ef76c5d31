"""Signing: every shared vector, and generated actions of every kind against the official SDK."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from hyperliquid.utils import signing as sdk
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.hyperliquid import wire
from connectors.hyperliquid.signing import (
    L1_DOMAIN_SEPARATOR,
    L1Signer,
    action_hash,
    l1_digest,
    recover_l1_signer,
    sign_l1_action,
    sign_user_signed_action,
)

VECTORS_FILE = Path(__file__).resolve().parents[2] / "data" / "hyperliquid_vectors.json"
VECTORS = json.loads(VECTORS_FILE.read_text())
TEST_KEY = "0x0123456789012345678901234567890123456789012345678901234567890123"
TEST_ADDRESS = "0x14791697260E4c9A71f18484C9f997B308e59325"
SDK_WALLET = Account.from_key(TEST_KEY)


@pytest.mark.parametrize("vector", VECTORS["l1_vectors"], ids=lambda v: v["name"])
def test_l1_vector(vector: dict[str, Any]) -> None:
    action, nonce = vector["action"], vector["nonce"]
    vault, expires = vector["vault_address"], vector["expires_after"]
    import msgpack

    assert msgpack.packb(action).hex() == vector["msgpack_action_hex"]
    connection_id = action_hash(action, vault, nonce, expires)
    assert "0x" + connection_id.hex() == vector["connection_id"]
    for net in vector["networks"].values():
        assert "0x" + L1_DOMAIN_SEPARATOR.hex() == net["eip712_domain_separator"]
        assert "0x" + l1_digest(connection_id, net["is_mainnet"]).hex() == net["eip712_digest"]
        sig = sign_l1_action(
            vector["private_key"], action, nonce, vault, expires, net["is_mainnet"]
        )
        assert sig == net["signature"]
        signer = recover_l1_signer(action, nonce, sig, vault, expires, net["is_mainnet"])
        assert signer == vector["signer_address"] == net["recovered_address"]


def test_signer_address_and_repr_hide_the_key() -> None:
    signer = L1Signer(TEST_KEY)
    assert signer.address == TEST_ADDRESS
    assert TEST_KEY[2:] not in repr(signer)
    assert TEST_KEY[2:10] not in repr(signer)


def test_bad_keys_are_refused_without_echoing_them() -> None:
    with pytest.raises(ValueError, match="32 bytes") as info:
        L1Signer("0x1234")
    assert "1234" not in str(info.value)
    with pytest.raises(ValueError, match="not hex"):
        L1Signer("zz" * 32)


def test_a_wrong_network_or_nonce_recovers_another_signer() -> None:
    action = wire.schedule_cancel_action(1_700_000_010_000)
    sig = sign_l1_action(TEST_KEY, action, 1_700_000_000_000, is_mainnet=False)
    assert recover_l1_signer(action, 1_700_000_000_000, sig, is_mainnet=False) == TEST_ADDRESS
    assert recover_l1_signer(action, 1_700_000_000_000, sig, is_mainnet=True) != TEST_ADDRESS
    assert recover_l1_signer(action, 1_700_000_000_001, sig, is_mainnet=False) != TEST_ADDRESS


# ---- generated actions of every kind, compared with the installed official SDK -------------------

prices = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("99999"), places=4)
sizes = st.decimals(min_value=Decimal("0.00001"), max_value=Decimal("100000"), places=5)
assets = st.integers(min_value=0, max_value=20_000)
oids = st.integers(min_value=0, max_value=2**63)
cloids = st.integers(min_value=0, max_value=2**128 - 1).map(wire.cloid_from_int)
addresses = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())
order_types = st.one_of(
    st.sampled_from(["Gtc", "Ioc", "Alo"]).map(wire.limit_order_type),
    st.builds(wire.trigger_order_type, prices, st.booleans(), st.sampled_from(["tp", "sl"])),
)
order_wires = st.builds(
    wire.order_wire,
    assets,
    st.booleans(),
    prices,
    sizes,
    st.booleans(),
    order_types,
    st.none() | cloids,
)
groupings = st.sampled_from(["na", "normalTpsl", "positionTpsl"]) | st.builds(
    lambda p: {"p": p}, st.integers(0, 100_000_000)
)
actions = st.one_of(
    st.builds(
        wire.order_action,
        st.lists(order_wires, min_size=1, max_size=4),
        groupings,
        st.none() | st.tuples(addresses.map(str.upper), st.integers(0, 1000)),
    ),
    st.builds(
        wire.cancel_action, st.lists(st.tuples(assets, oids), min_size=1, max_size=4), st.booleans()
    ),
    st.builds(
        wire.cancel_by_cloid_action,
        st.lists(st.tuples(assets, cloids), min_size=1, max_size=4),
        st.booleans(),
    ),
    st.builds(wire.modify_action, oids | cloids, order_wires, st.booleans()),
    st.builds(
        wire.batch_modify_action,
        st.lists(st.tuples(oids | cloids, order_wires), min_size=1, max_size=3),
        st.booleans(),
    ),
    st.builds(wire.schedule_cancel_action, st.none() | st.integers(0, 2**53)),
    st.builds(wire.update_leverage_action, assets, st.booleans(), st.integers(1, 100)),
    st.just(wire.noop_action()),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    action=actions,
    nonce=st.integers(min_value=0, max_value=2**63),
    vault=st.none() | addresses,
    expires=st.none() | st.integers(min_value=0, max_value=2**63),
    is_mainnet=st.booleans(),
)
def test_every_action_signs_like_the_sdk(
    action: dict[str, Any], nonce: int, vault: str | None, expires: int | None, is_mainnet: bool
) -> None:
    ours = sign_l1_action(TEST_KEY, action, nonce, vault, expires, is_mainnet)
    theirs = sdk.sign_l1_action(
        SDK_WALLET, copy.deepcopy(action), vault, nonce, expires, is_mainnet
    )
    assert ours == theirs
    assert action_hash(action, vault, nonce, expires) == sdk.action_hash(
        action, vault, nonce, expires
    )
    recovered = sdk.recover_agent_or_user_from_l1_action(
        action, ours, vault, nonce, expires, is_mainnet
    )
    assert recovered == TEST_ADDRESS
    assert recover_l1_signer(action, nonce, ours, vault, expires, is_mainnet) == TEST_ADDRESS


@settings(max_examples=60, deadline=None)
@given(
    asset=st.integers(0, 200),
    is_buy=st.booleans(),
    reduce_only=st.booleans(),
    price=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999"), places=2),
    size=st.decimals(min_value=Decimal("0.001"), max_value=Decimal("9999"), places=3),
    tif=st.sampled_from(["Gtc", "Ioc", "Alo"]),
    cloid=st.none() | st.integers(0, 2**128 - 1),
)
def test_our_order_wire_equals_the_sdk_builder(
    asset: int,
    is_buy: bool,
    reduce_only: bool,
    price: Decimal,
    size: Decimal,
    tif: str,
    cloid: int | None,
) -> None:
    from hyperliquid.utils.types import Cloid

    ours = wire.order_wire(
        asset,
        is_buy,
        price,
        size,
        reduce_only,
        wire.limit_order_type(tif),
        None if cloid is None else wire.cloid_from_int(cloid),
    )
    request: dict[str, Any] = {
        "coin": "X",
        "is_buy": is_buy,
        "sz": float(size),
        "limit_px": float(price),
        "reduce_only": reduce_only,
        "order_type": {"limit": {"tif": tif}},
        "cloid": None if cloid is None else Cloid.from_int(cloid),
    }
    theirs = sdk.order_request_to_order_wire(request, asset)  # type: ignore[arg-type]
    assert ours == theirs
    assert list(ours) == list(theirs)


@pytest.mark.parametrize(
    ("sign_types", "primary", "action"),
    [
        (
            sdk.USD_SEND_SIGN_TYPES,
            "HyperliquidTransaction:UsdSend",
            {
                "type": "usdSend",
                "destination": "0x5e9ee1089755c3435139848e47e6635505d5a13a",
                "amount": "1",
                "time": 1687816341423,
            },
        ),
        (
            sdk.WITHDRAW_SIGN_TYPES,
            "HyperliquidTransaction:Withdraw",
            {
                "type": "withdraw3",
                "destination": "0x5e9ee1089755c3435139848e47e6635505d5a13a",
                "amount": "1",
                "time": 1687816341423,
            },
        ),
        (
            sdk.USD_CLASS_TRANSFER_SIGN_TYPES,
            "HyperliquidTransaction:UsdClassTransfer",
            {"type": "usdClassTransfer", "amount": "10", "toPerp": True, "nonce": 1687816341423},
        ),
    ],
)
@pytest.mark.parametrize("is_mainnet", [True, False])
def test_user_signed_actions_equal_the_sdk(
    sign_types: Any, primary: str, action: dict[str, Any], is_mainnet: bool
) -> None:
    ours = sign_user_signed_action(TEST_KEY, dict(action), sign_types, primary, is_mainnet)
    theirs = sdk.sign_user_signed_action(SDK_WALLET, dict(action), sign_types, primary, is_mainnet)
    assert ours == theirs
