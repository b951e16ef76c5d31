"""EIP-191 seal keys: seals signed with an Ethereum key (``personal_sign``), as wallets do.

Which key: by default the account's own signing key (the one the engine already holds to place
orders), so nothing new has to be kept safe; or, better for an operator with separate duties, a
dedicated *audit key* whose address is pinned in the engine's configuration. Either way the
journal's database never holds the key, so someone who can edit the database cannot forge a seal.
An EIP-191 ``personal_sign`` signature cannot be replayed as a Hyperliquid action: actions are
EIP-712 typed-data signatures, a different prefix (``\\x19\\x01``) and domain.

>>> key = Eip191SealKey("0x" + "11" * 32)
>>> key.recover(b"seal", key.sign(b"seal")) == key.address
True
"""

from __future__ import annotations

from eth_account import Account
from eth_account.messages import encode_defunct


class Eip191SealKey:
    """Signs and verifies seals with one Ethereum private key (never shown in ``repr``)."""

    __slots__ = ("_account",)

    def __init__(self, private_key: str) -> None:
        try:
            self._account = Account.from_key(private_key)
        except (ValueError, TypeError):
            # The message never includes the key.
            raise ValueError("the seal key is not a valid private key (0x + 64 hex)") from None

    @property
    def address(self) -> str:
        """The key's checksummed address: seals are accepted only from it."""
        return str(self._account.address)

    def sign(self, message: bytes) -> str:
        """The EIP-191 signature of ``message`` (0x hex, 65 bytes)."""
        signed = self._account.sign_message(encode_defunct(primitive=message))
        return "0x" + bytes(signed.signature).hex()

    def recover(self, message: bytes, signature: str) -> str:
        """The address that signed ``message``; ``ValueError`` for a malformed signature."""
        return eip191_recover(message, signature)

    def __repr__(self) -> str:
        return f"Eip191SealKey(address={self.address})"


class Eip191SealVerifier:
    """Recovers EIP-191 signers; needs no key (for auditors and ``oms audit verify``)."""

    def recover(self, message: bytes, signature: str) -> str:
        """The address that signed ``message``; ``ValueError`` for a malformed signature."""
        return eip191_recover(message, signature)


def eip191_recover(message: bytes, signature: str) -> str:
    """The address whose EIP-191 signature of ``message`` is ``signature``."""
    try:
        raw = bytes.fromhex(signature.removeprefix("0x"))
        return str(Account.recover_message(encode_defunct(primitive=message), signature=raw))
    except Exception as exc:  # eth-keys raises several types for a bad signature
        raise ValueError(f"malformed signature ({type(exc).__name__})") from None
