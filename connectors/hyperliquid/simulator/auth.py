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


class SignatureError(ValueError):
    """The signature object is malformed or no public key can be recovered from it."""


def parse_signature(raw: Any) -> tuple[int, int, int]:
    """``{"r": "0x…", "s": "0x…", "v": 27|28}`` -> ``(v, r, s)``; r/s may lack zero padding."""
    if not isinstance(raw, dict):
        raise SignatureError("signature must be an object with r, s and v")
    r, s, v = raw.get("r"), raw.get("s"), raw.get("v")
    if not (isinstance(r, str) and isinstance(s, str) and isinstance(v, int)):
        raise SignatureError("signature r and s must be hex strings and v an integer")
    try:
        r_int, s_int = int(r, 16), int(s, 16)
    except ValueError as exc:
        raise SignatureError("signature r and s must be hex strings") from exc
    if v in (0, 1):
        v += 27
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
        """Register ``agent`` for ``user``; an agent of the same user and name is replaced."""
        for old, (owner, old_name) in list(self.agents.items()):
            if owner == user and old_name == name:
                del self.agents[old]
        self.agents[agent] = (user, name)

    def user_of(self, agent: str) -> str | None:
        """The account ``agent`` trades for, or None when it is no approved API wallet."""
        entry = self.agents.get(agent)
        return entry[0] if entry is not None else None
