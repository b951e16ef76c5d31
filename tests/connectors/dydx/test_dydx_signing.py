"""Keys, addresses and transaction bytes: reference vectors and the official builder."""

from __future__ import annotations

import hashlib

import pytest
from coincurve import PublicKey
from coincurve.ecdsa import cdata_to_der, deserialize_compact
from dydx_helpers import ADDRESS, MNEMONIC
from dydx_v4_client.key_pair import KeyPair
from dydx_v4_client.node.builder import Builder
from dydx_v4_client.wallet import Wallet
from v4_proto.dydxprotocol.clob.order_pb2 import Order, OrderId
from v4_proto.dydxprotocol.clob.tx_pb2 import MsgPlaceOrder
from v4_proto.dydxprotocol.subaccounts.subaccount_pb2 import SubaccountId

from connectors.dydx.errors import InvalidMnemonic
from connectors.dydx.signing import DydxKey, TxSigner, tx_hash


def _order(address: str, client_id: int = 123456789) -> MsgPlaceOrder:
    order_id = OrderId(subaccount_id=SubaccountId(owner=address, number=0),
                       client_id=client_id, order_flags=0, clob_pair_id=0)
    return MsgPlaceOrder(order=Order(order_id=order_id, side=Order.SIDE_BUY, quantums=15_000_000,
                                     subticks=6_012_300_000, good_til_block=1_000_020,
                                     client_metadata=2))


def test_reference_key_vector() -> None:
    key = DydxKey.from_mnemonic(MNEMONIC)
    assert key.address == ADDRESS
    assert key.public_key.hex() == (
        "03f0be763f781b5b59ebc37d721beda913148a539425baa720b97d4820f652ed75")
    assert key.sign(b"hello, world!").hex() == (
        "cf30b06a0f635b21b4ee546e60adb00173de2ff8b3e59803f754c33f824c77aa"
        "1c7d186ab0467a4b4a274a54d71d96447a86ee94eba585f337fbc5e68daa9ae8")
    assert "mirror" not in repr(key) and ADDRESS in repr(key)


def test_worked_transaction_of_the_reference() -> None:
    signer = TxSigner(DydxKey.from_mnemonic(MNEMONIC), "dydx-testnet-4", 7, memo="Client Example")
    tx = signer.sign([_order(ADDRESS)], sequence=3)
    assert tx_hash(tx) == "027978EC1745C422BDF6FE6F41FBBBBE06F3B5267C60226740E3B634463A930A"


@pytest.mark.parametrize("sequence", [0, 3, 1460, 2**33])
def test_same_bytes_as_the_official_builder(sequence: int) -> None:
    wallet = Wallet(KeyPair.from_mnemonic(MNEMONIC), account_number=42, sequence=sequence)
    msg = _order(ADDRESS, client_id=sequence % 2**32)
    official = Builder("localdydxprotocol", "adv4tnt").build(wallet, msg).SerializeToString()
    ours = TxSigner(DydxKey.from_mnemonic(MNEMONIC), "localdydxprotocol", 42,
                    memo="Client Example").sign([msg], sequence)
    assert ours == official


def test_signature_is_low_s_and_verifies() -> None:
    key = DydxKey.from_mnemonic(MNEMONIC)
    order = (0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141)
    for i in range(50):
        message = hashlib.sha256(str(i).encode()).digest()
        sig = key.sign(message)
        assert int.from_bytes(sig[32:], "big") <= order // 2
        assert PublicKey(key.public_key).verify(cdata_to_der(deserialize_compact(sig)), message)


@pytest.mark.parametrize("words", [
    "mirror actor skill",  # too short
    MNEMONIC.replace("wait", "waiter"),  # not a BIP-39 word
    MNEMONIC.rsplit(" ", 1)[0] + " mirror",  # bad checksum
    "",
])
def test_a_wrong_mnemonic_is_refused_without_echoing_it(words: str) -> None:
    with pytest.raises(InvalidMnemonic) as raised:
        DydxKey.from_mnemonic(words)
    assert "not a valid BIP-39 phrase" in str(raised.value)
    assert "mirror" not in str(raised.value) and "skill" not in str(raised.value)
