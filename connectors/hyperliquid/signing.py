"""Hyperliquid signatures: L1 actions (phantom agent) and user-signed actions.

L1 actions (orders, cancels, modifies, leverage, scheduleCancel...) are hashed as
``keccak(msgpack(action) || nonce || vault || expiresAfter)`` (the *connection id*), wrapped in an
EIP-712 ``Agent(string source, bytes32 connectionId)`` message of the ``Exchange`` domain
(chainId 1337) and signed with secp256k1. The output equals the official Python SDK's
(``hyperliquid.utils.signing.sign_l1_action``) byte for byte: ``r``/``s`` are unpadded lowercase
hex (``eth_utils.to_hex`` of the integer) and ``v`` is 27 or 28. Both SDKs sign deterministically
(RFC 6979, low-s), so the signatures are identical.

The fast path precomputes the domain separator, the ``Agent`` type hash and the two ``source``
hashes, and signs with ``coincurve`` directly: about 25 µs per order on this machine class,
against ~220 µs for the SDK.

Example::

    sig = sign_l1_action(key, {"type": "scheduleCancel"}, nonce=1700000000000, is_mainnet=False)
    assert recover_l1_signer({"type": "scheduleCancel"}, 1700000000000, sig,
                             is_mainnet=False) == L1Signer(key).address
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

import msgpack
from coincurve import PrivateKey, PublicKey
from Crypto.Hash import keccak as _keccak_mod
from eth_utils.address import to_checksum_address

from connectors.hyperliquid import constants
from connectors.hyperliquid.errors import MissingPrivateKey


class Signature(TypedDict):
    """A signature as the ``/exchange`` envelope carries it."""

    r: str
    s: str
    v: int


def keccak256(data: bytes) -> bytes:
    """Keccak-256 (the Ethereum variant, not NIST SHA3-256) of ``data``."""
    return _keccak_mod.new(digest_bits=256, data=data).digest()


def _address_bytes(address: str) -> bytes:
    raw = address[2:] if address.startswith(("0x", "0X")) else address
    if len(raw) != 40:
        raise ValueError(f"address {address!r} is not 20 bytes of hex; pass a 0x-prefixed address")
    return bytes.fromhex(raw)


def _eip712_domain_separator(name: str, version: str, chain_id: int, contract: str) -> bytes:
    type_hash = keccak256(
        b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    )
    return keccak256(
        type_hash
        + keccak256(name.encode())
        + keccak256(version.encode())
        + chain_id.to_bytes(32, "big")
        + _address_bytes(contract).rjust(32, b"\x00")
    )


L1_DOMAIN_SEPARATOR = _eip712_domain_separator(
    constants.L1_DOMAIN_NAME,
    constants.L1_DOMAIN_VERSION,
    constants.L1_CHAIN_ID,
    constants.ZERO_ADDRESS,
)
AGENT_TYPE_HASH = keccak256(b"Agent(string source,bytes32 connectionId)")
_SOURCE_HASH = {
    True: keccak256(constants.MAINNET_SOURCE.encode()),
    False: keccak256(constants.TESTNET_SOURCE.encode()),
}
_DIGEST_PREFIX = b"\x19\x01" + L1_DOMAIN_SEPARATOR


def action_hash(
    action: Mapping[str, Any] | Sequence[Any],
    vault_address: str | None,
    nonce: int,
    expires_after: int | None,
) -> bytes:
    """The connection id of an L1 action: keccak of msgpack(action), nonce, vault and expiry.

    ``action`` must be exactly what is sent (key order matters; no floats).
    """
    data = msgpack.packb(action) + nonce.to_bytes(8, "big")
    if vault_address is None:
        data += b"\x00"
    else:
        data += b"\x01" + _address_bytes(vault_address)
    if expires_after is not None:
        data += b"\x00" + expires_after.to_bytes(8, "big")
    return keccak256(data)


def l1_digest(connection_id: bytes, is_mainnet: bool) -> bytes:
    """The EIP-712 digest of the phantom agent ``{source, connectionId}``."""
    struct_hash = keccak256(AGENT_TYPE_HASH + _SOURCE_HASH[is_mainnet] + connection_id)
    return keccak256(_DIGEST_PREFIX + struct_hash)


def _parse_private_key(private_key: str | bytes) -> PrivateKey:
    if isinstance(private_key, bytes):
        raw = private_key
    else:
        text = private_key[2:] if private_key.startswith(("0x", "0X")) else private_key
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raise ValueError("private key is not hex; pass 32 bytes as 0x-prefixed hex") from None
    if len(raw) != 32:
        raise ValueError("private key must be 32 bytes (64 hex characters)")
    return PrivateKey(raw)


def _address_of(public_key: PublicKey) -> str:
    return str(to_checksum_address(keccak256(public_key.format(compressed=False)[1:])[-20:]))


def _signature_of(recoverable: bytes) -> Signature:
    # Match eth_utils.to_hex(int): lowercase, no zero padding.
    return {
        "r": hex(int.from_bytes(recoverable[:32], "big")),
        "s": hex(int.from_bytes(recoverable[32:64], "big")),
        "v": 27 + recoverable[64],
    }


class L1Signer:
    """Signs L1 actions with one key; the key never appears in ``repr`` or messages.

    Example::

        signer = L1Signer("0x0123...0123")
        signer.address                     # '0x14791697260E4c9A71f18484C9f997B308e59325'
        signer.sign(action, nonce, vault_address=None, expires_after=None, is_mainnet=False)
    """

    __slots__ = ("_address", "_key")

    def __init__(self, private_key: str | bytes) -> None:
        if not private_key:
            raise MissingPrivateKey("no private key given; pass private_key= to sign actions")
        self._key = _parse_private_key(private_key)
        self._address = _address_of(self._key.public_key)

    @property
    def address(self) -> str:
        """The signer's checksummed address (the API wallet's address for an agent key)."""
        return self._address

    def __repr__(self) -> str:
        return f"L1Signer(address={self._address})"

    def sign_digest(self, digest: bytes) -> Signature:
        """Sign a 32-byte digest (RFC 6979, low-s) and format it like the SDK."""
        return _signature_of(self._key.sign_recoverable(digest, hasher=None))

    def sign(
        self,
        action: Mapping[str, Any] | Sequence[Any],
        nonce: int,
        vault_address: str | None = None,
        expires_after: int | None = None,
        is_mainnet: bool = True,
    ) -> Signature:
        """Sign an L1 action exactly as the official SDK does."""
        connection_id = action_hash(action, vault_address, nonce, expires_after)
        return self.sign_digest(l1_digest(connection_id, is_mainnet))


_signer_cache: dict[str | bytes, L1Signer] = {}


def sign_l1_action(
    private_key: str | bytes,
    action: Mapping[str, Any] | Sequence[Any],
    nonce: int,
    vault_address: str | None = None,
    expires_after: int | None = None,
    is_mainnet: bool = True,
) -> Signature:
    """Sign an L1 action; equals ``hyperliquid.utils.signing.sign_l1_action`` for the same inputs.

    Example::

        sign_l1_action(key, {"type": "cancel", "cancels": [{"a": 0, "o": 12}]}, 1700000000000)
        # {'r': '0x...', 's': '0x...', 'v': 27}
    """
    signer = _signer_cache.get(private_key)
    if signer is None:
        signer = L1Signer(private_key)
        # A handful of keys per process at most; caching skips re-deriving the public key.
        if len(_signer_cache) < 16:
            _signer_cache[private_key] = signer
    return signer.sign(action, nonce, vault_address, expires_after, is_mainnet)


def _recoverable_bytes(signature: Mapping[str, Any]) -> bytes:
    r = int(str(signature["r"]), 16)
    s = int(str(signature["s"]), 16)
    v = int(signature["v"])
    recid = v - 27 if v >= 27 else v
    if recid not in (0, 1):
        raise ValueError(f"signature v must be 27 or 28, got {v}")
    return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([recid])


def recover_l1_signer(
    action: Mapping[str, Any] | Sequence[Any],
    nonce: int,
    signature: Mapping[str, Any],
    vault_address: str | None = None,
    expires_after: int | None = None,
    is_mainnet: bool = True,
) -> str:
    """The checksummed address that signed this L1 action (what the exchange recovers)."""
    digest = l1_digest(action_hash(action, vault_address, nonce, expires_after), is_mainnet)
    public_key = PublicKey.from_signature_and_message(
        _recoverable_bytes(signature), digest, hasher=None
    )
    return _address_of(public_key)


def sign_user_signed_action(
    private_key: str | bytes,
    action: dict[str, Any],
    payload_types: Sequence[Mapping[str, str]],
    primary_type: str,
    is_mainnet: bool = True,
) -> Signature:
    """Sign a user-signed action (usdSend, withdraw3, approveAgent...) like the SDK.

    Mutates ``action`` as the SDK does: sets ``signatureChainId`` and ``hyperliquidChain``.
    These actions are rare and not latency-critical, so eth-account does the typed-data encoding.
    """
    from eth_account.messages import encode_typed_data

    action["signatureChainId"] = constants.USER_SIGNED_CHAIN_ID_HEX
    action["hyperliquidChain"] = "Mainnet" if is_mainnet else "Testnet"
    typed = {
        "domain": {
            "name": constants.USER_SIGNED_DOMAIN_NAME,
            "version": "1",
            "chainId": int(constants.USER_SIGNED_CHAIN_ID_HEX, 16),
            "verifyingContract": constants.ZERO_ADDRESS,
        },
        "types": {
            primary_type: [dict(t) for t in payload_types],
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
        },
        "primaryType": primary_type,
        "message": action,
    }
    signable = encode_typed_data(full_message=typed)
    digest = keccak256(b"\x19" + signable.version + signable.header + signable.body)
    signer = _signer_cache.get(private_key) or L1Signer(private_key)
    return signer.sign_digest(digest)
