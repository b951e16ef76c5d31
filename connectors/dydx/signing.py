"""Keys, addresses and signed transactions of dYdX v4 (Cosmos SDK, SIGN_MODE_DIRECT).

- Key: BIP-39 mnemonic → BIP-44 ``m/44'/118'/0'/0/0`` (Cosmos) → secp256k1, derived with the
  official client's ``dydx_v4_client.key_pair.bytes_from_mnemonic`` (bip_utils).
- Address: ``bech32("dydx", ripemd160(sha256(compressed pubkey)))`` (official ``wallet.py``).
- Transaction: ``TxBody{[Any(msg)], memo, timeout_height}``, ``AuthInfo{SignerInfo{PubKey, DIRECT,
  sequence}, Fee{gas_limit}}``; the signature is ECDSA-SHA256 over ``SignDoc{body_bytes,
  auth_info_bytes, chain_id, account_number}``, 64 bytes ``r‖s`` with low S; the broadcast bytes
  are ``TxRaw{body_bytes, auth_info_bytes, [signature]}`` (official ``node/builder.py``; the same
  bytes as its ``Tx``).

Why not the official ``Builder``: it re-serializes the body and the auth info twice per
transaction and has no ``timeout_height`` (which gives a stateful placement its "never placed"
deadline). The bytes are identical for the same inputs — a test checks it against the official
builder and the worked vector of the reference — and ``benchmarks/dydx_bench.py`` compares speed.

Example::

    key = DydxKey.from_mnemonic(mnemonic)
    tx = TxSigner(key, "dydx-testnet-4", account_number=7).sign([place_msg], sequence=3)
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import bech32
from coincurve import PrivateKey
from Crypto.Hash import RIPEMD160
from google.protobuf.any_pb2 import Any as AnyProto
from google.protobuf.message import Message
from v4_proto.cosmos.crypto.secp256k1.keys_pb2 import PubKey
from v4_proto.cosmos.tx.signing.v1beta1.signing_pb2 import SignMode
from v4_proto.cosmos.tx.v1beta1.tx_pb2 import (
    AuthInfo,
    Fee,
    ModeInfo,
    SignDoc,
    SignerInfo,
    TxBody,
    TxRaw,
)

from connectors.dydx.constants import CLOB_GAS_LIMIT, TYPE_PUBKEY
from connectors.dydx.errors import InvalidMnemonic

# secp256k1 group order / 2: Cosmos rejects signatures with a high S (malleability).
_HALF_ORDER = (0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141 // 2).to_bytes(
    32, "big"
)
_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def address_of(public_key: bytes, prefix: str = "dydx") -> str:
    """The bech32 address of a 33-byte compressed secp256k1 public key."""
    digest = RIPEMD160.new(hashlib.sha256(public_key).digest()).digest()
    words = bech32.convertbits(digest, 8, 5)
    assert words is not None
    return str(bech32.bech32_encode(prefix, words))


class DydxKey:
    """A secp256k1 signing key. ``repr`` and ``str`` never show the key."""

    __slots__ = ("_key", "address", "public_key")

    def __init__(self, secret: bytes) -> None:
        self._key = PrivateKey(secret)
        #: 33-byte compressed public key.
        self.public_key: bytes = self._key.public_key.format(compressed=True)
        #: ``dydx1…`` address.
        self.address: str = address_of(self.public_key)

    @classmethod
    def from_mnemonic(cls, mnemonic: str) -> DydxKey:
        """Derive the key of a BIP-39 phrase; raises :class:`InvalidMnemonic` (words not shown)."""
        from bip_utils import Bip39MnemonicValidator
        from dydx_v4_client.key_pair import bytes_from_mnemonic

        phrase = " ".join(mnemonic.split())
        try:
            valid = Bip39MnemonicValidator().IsValid(phrase)
        except Exception:  # bip_utils raises several types for unknown words
            valid = False
        if not valid:
            words = len(phrase.split())
            raise InvalidMnemonic(
                f"the mnemonic ({words} words) is not a valid BIP-39 phrase: check the words"
                " and their order (12 or 24 English words, with a valid checksum)"
            )
        return cls(bytes_from_mnemonic(phrase))

    def secret_bytes(self) -> bytes:
        """The 32-byte secret, only to encrypt it into a keystore (``oms.cli.dydx_keys``)."""
        return bytes(self._key.secret)

    def __repr__(self) -> str:
        return f"DydxKey(address={self.address})"

    def sign(self, message: bytes) -> bytes:
        """ECDSA-SHA256 (RFC 6979) of ``message`` as 64 bytes ``r‖s`` with low S."""
        signature = self._key.sign_recoverable(message)  # sha256 by default
        r, s = signature[:32], signature[32:64]
        if s > _HALF_ORDER:  # libsecp256k1 already normalizes; kept for any other backend
            s = (_ORDER - int.from_bytes(s, "big")).to_bytes(32, "big")
        return r + s


def pack(message: Message) -> AnyProto:
    """``message`` as a ``google.protobuf.Any`` with the ``/full.Name`` type url."""
    return AnyProto(
        type_url="/" + message.DESCRIPTOR.full_name, value=message.SerializeToString()
    )


class TxSigner:
    """Signs CLOB transactions of one account (fixed chain id and account number)."""

    def __init__(
        self, key: DydxKey, chain_id: str, account_number: int, memo: str = ""
    ) -> None:
        self.key = key
        self.chain_id = chain_id
        self.account_number = account_number
        self.memo = memo
        self._pubkey_any = AnyProto(
            type_url=TYPE_PUBKEY, value=PubKey(key=key.public_key).SerializeToString()
        )
        self._mode = ModeInfo(single=ModeInfo.Single(mode=SignMode.SIGN_MODE_DIRECT))
        self._fee = Fee(gas_limit=CLOB_GAS_LIMIT)

    def auth_info_bytes(self, sequence: int) -> bytes:
        """The serialized ``AuthInfo`` for ``sequence``."""
        signer = SignerInfo(public_key=self._pubkey_any, mode_info=self._mode, sequence=sequence)
        return bytes(AuthInfo(signer_infos=[signer], fee=self._fee).SerializeToString())

    def sign(
        self, messages: Sequence[Message], sequence: int, timeout_height: int = 0
    ) -> bytes:
        """The broadcast bytes (``TxRaw``) of ``messages`` signed at ``sequence``."""
        body = TxBody(
            messages=[pack(m) for m in messages], memo=self.memo, timeout_height=timeout_height
        ).SerializeToString()
        auth = self.auth_info_bytes(sequence)
        doc = SignDoc(
            body_bytes=body,
            auth_info_bytes=auth,
            chain_id=self.chain_id,
            account_number=self.account_number,
        ).SerializeToString()
        return bytes(
            TxRaw(body_bytes=body, auth_info_bytes=auth, signatures=[self.key.sign(doc)])
            .SerializeToString()
        )


def tx_hash(tx_bytes: bytes) -> str:
    """The transaction hash as the node reports it: uppercase hex SHA-256 of the bytes."""
    return hashlib.sha256(tx_bytes).hexdigest().upper()
