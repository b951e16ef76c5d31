"""Who signed an action: independent signature recovery, nonces per signer, API wallets.

This module re-derives Hyperliquid's signing scheme on its own (msgpack action hash, phantom agent,
EIP-712 via eth-account) instead of importing the connector's signer, so the simulator cross-checks
any client: a payload that differs by one byte recovers a different address, and the request fails
with the live error ``User or API Wallet 0x… does not exist.``.

Example::

    digest_signer = recover_l1_signer(action, None, nonce, None, signature, is_mainnet=False)
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import Any

import msgpack
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_hash.auto import keccak

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
DAY_MS = 86_400_000
NONCES_KEPT = 100

_DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
_AGENT_TYPE = [{"name": "source", "type": "string"}, {"name": "connectionId", "type": "bytes32"}]

# Field lists of the user-signed actions the simulator accepts (EIP-712 field order matters).
APPROVE_AGENT_FIELDS = [
    {"name": "hyperliquidChain", "type": "string"},
    {"name": "agentAddress", "type": "address"},
    {"name": "agentName", "type": "string"},
    {"name": "nonce", "type": "uint64"},
]
APPROVE_BUILDER_FEE_FIELDS = [
    {"name": "hyperliquidChain", "type": "string"},
    {"name": "maxFeeRate", "type": "string"},
    {"name": "builder", "type": "address"},
    {"name": "nonce", "type": "uint64"},
]


class SignatureError(ValueError):
    """The signature object is malformed or no public key can be recovered from it."""


class InvalidSignature(SignatureError):
    """A well-formed signature that no key can have produced (answered as a whole-action err)."""


# secp256k1 group order. Signatures are accepted in the low-s form only (EIP-2): the exchange's
# recovery (k256 through ethers-rs) refuses the high-s twin, so a second encoding of the same
# signature cannot be replayed past a de-duplication keyed on the signature bytes.
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_HEX_WORD = re.compile(r"^0x[0-9a-fA-F]{1,64}$")


def parse_signature(raw: Any) -> tuple[int, int, int]:
    """``{"r": "0x…", "s": "0x…", "v": 27|28}`` -> ``(v, r, s)``; r/s may lack zero padding.

    Shape errors (v not an integer — JSON ``true`` included —, r/s not 0x-hex words) raise
    :class:`SignatureError` with a message the server answers as 422; a well-formed signature
    that cannot be valid (v other than 27/28, r or s out of range, high s) raises
    :class:`InvalidSignature` (``Unable to recover signer.``).
    """
    if not isinstance(raw, dict):
        raise SignatureError("signature must be an object with r, s and v")
    r, s, v = raw.get("r"), raw.get("s"), raw.get("v")
    if not (isinstance(r, str) and isinstance(s, str)) or not isinstance(v, int) \
            or isinstance(v, bool):
        raise SignatureError("signature r and s must be hex strings and v an integer")
    if not (_HEX_WORD.match(r) and _HEX_WORD.match(s)):
        raise SignatureError("signature r and s must be 0x followed by at most 64 hex digits")
    r_int, s_int = int(r, 16), int(s, 16)
    if v not in (27, 28) or not (0 < r_int < SECP256K1_N and 0 < s_int <= SECP256K1_N // 2):
        raise InvalidSignature("Unable to recover signer.")
    return v, r_int, s_int


def l1_action_hash(
    action: dict[str, Any], vault: str | None, nonce: int, expires_after: int | None
) -> bytes:
    """The connectionId: keccak(msgpack(action) ‖ nonce ‖ vault tag ‖ expiresAfter tag)."""
    data = msgpack.packb(action) + nonce.to_bytes(8, "big")
    if vault is None:
        data += b"\x00"
    else:
        data += b"\x01" + bytes.fromhex(vault[2:])
    if expires_after is not None:
        data += b"\x00" + expires_after.to_bytes(8, "big")
    return bytes(keccak(data))


def _recover(typed_data: dict[str, Any], vrs: tuple[int, int, int]) -> str:
    try:
        message = encode_typed_data(full_message=typed_data)
        address: str = Account.recover_message(message, vrs=vrs)
    except Exception as exc:  # eth-account raises several types for a bad (v, r, s)
        raise SignatureError("Unable to recover signer.") from exc
    return address.lower()


def recover_l1_signer(
    action: dict[str, Any],
    vault: str | None,
    nonce: int,
    expires_after: int | None,
    vrs: tuple[int, int, int],
    is_mainnet: bool,
) -> str:
    """Lower-case address that signed an L1 action (through the phantom agent)."""
    typed = {
        "domain": {"name": "Exchange", "version": "1", "chainId": 1337,
                   "verifyingContract": ZERO_ADDRESS},
        "types": {"Agent": _AGENT_TYPE, "EIP712Domain": _DOMAIN_TYPE},
        "primaryType": "Agent",
        "message": {"source": "a" if is_mainnet else "b",
                    "connectionId": l1_action_hash(action, vault, nonce, expires_after)},
    }
    return _recover(typed, vrs)


def recover_user_signed(
    action: dict[str, Any], primary_type: str, fields: list[dict[str, str]],
    vrs: tuple[int, int, int],
) -> str:
    """Lower-case address that signed a user-signed action (HyperliquidSignTransaction domain)."""
    try:
        chain_id = int(str(action["signatureChainId"]), 16)
    except (KeyError, ValueError) as exc:
        raise SignatureError("signatureChainId must be a hex string") from exc
    typed = {
        "domain": {"name": "HyperliquidSignTransaction", "version": "1", "chainId": chain_id,
                   "verifyingContract": ZERO_ADDRESS},
        "types": {primary_type: fields, "EIP712Domain": _DOMAIN_TYPE},
        "primaryType": primary_type,
        "message": {f["name"]: action[f["name"]] for f in fields},
    }
    return _recover(typed, vrs)


class NonceBook:
    """The 100 highest nonces of each signer and the ``(T - 2d, T + 1d)`` window rule."""

    def __init__(self, state: dict[str, list[int]] | None = None) -> None:
        self._by_signer: dict[str, list[int]] = {k: sorted(v) for k, v in (state or {}).items()}

    def check_and_use(self, signer: str, nonce: int, now_ms: int) -> str | None:
        """Record ``nonce`` for ``signer``; returns the live error text when it is not allowed."""
        if not now_ms - 2 * DAY_MS < nonce < now_ms + DAY_MS:
            return f"Invalid nonce: nonce {nonce} is outside the allowed time window"
        used = self._by_signer.setdefault(signer, [])
        index = bisect.bisect_left(used, nonce)
        if index < len(used) and used[index] == nonce:
            return f"Invalid nonce: duplicate nonce {nonce}"
        if len(used) >= NONCES_KEPT and nonce < used[0]:
            return f"Invalid nonce: nonce too low {nonce} < {used[0]}"
        used.insert(index, nonce)
        if len(used) > NONCES_KEPT:
            del used[0]
        return None

    def snapshot(self) -> dict[str, list[int]]:
        """JSON-ready copy for persistence."""
        return {k: list(v) for k, v in self._by_signer.items()}


@dataclass(slots=True)
class AgentBook:
    """API wallets: agent address -> (account it acts for, name). One unnamed agent per user."""

    agents: dict[str, tuple[str, str]] = field(default_factory=dict)

    def approve(self, user: str, agent: str, name: str) -> None:
        """Register ``agent`` for ``user``; an agent of the same user and name is replaced, and
        the zero address only revokes that slot (live semantics, reference §13.8).

        An agent that belongs to another user is never taken over: callers check
        :meth:`user_of` first (``ValueError`` here is a bug guard, not an answer).
        """
        owner_now = self.agents.get(agent)
        if owner_now is not None and owner_now[0] != user:
            raise ValueError(f"agent {agent} belongs to another user")
        for old, (owner, old_name) in list(self.agents.items()):
            if owner == user and old_name == name:
                del self.agents[old]
        if agent != ZERO_ADDRESS:
            self.agents[agent] = (user, name)

    def user_of(self, agent: str) -> str | None:
        """The account ``agent`` trades for, or None when it is no approved API wallet."""
        entry = self.agents.get(agent)
        return entry[0] if entry is not None else None
