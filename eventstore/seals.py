"""Sealed checkpoints: a signed statement "the log up to position P has head hash H, and the
snapshot of the state at P has digest D".

Why a signature and not just another hash: whoever can edit the database can also recompute
every hash after an edit. A seal is signed with a key the database never holds, so a seal
cannot be forged (or moved, or attached to another snapshot) without that key. Start-up then
trusts the sealed prefix — checked when the seal was made, and by ``oms audit verify`` on a
schedule — and re-checks only the tail after it.

The event store does no cryptography itself: a :class:`SealSigner` and a :class:`SealVerifier`
are injected (the engine provides EIP-191 ones over an Ethereum key, see
``oms.engine.seal_keys``), so this layer stays free of exchange and key code.

>>> seal = Seal(position=10, head_hash="ab" * 32, snapshot_digest="cd" * 32,
...             schema_revision="0003_seals", sealed_at_us=1, signer="0xabc", signature="")
>>> seal.message()[:30]
b'{"head_hash":"abababababababab'
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from typing import Any, Protocol

import orjson

from eventstore.history_errors import SealForged

SEAL_KIND = "oms-seal/1"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class SealSigner(Protocol):
    """Signs seal messages with a key the journal's database does not hold."""

    @property
    def address(self) -> str:
        """The public identity (e.g. ``0x`` address) a verifier recovers from a signature."""
        ...

    def sign(self, message: bytes) -> str:
        """The signature of ``message`` (hex text)."""
        ...


class SealVerifier(Protocol):
    """Recovers who signed a seal message."""

    def recover(self, message: bytes, signature: str) -> str:
        """The address that signed ``message``; raises ``ValueError`` for a malformed signature."""
        ...


class SealKey(SealSigner, SealVerifier, Protocol):
    """A key that both signs seals and recovers their signer (what the engine is given)."""


def snapshot_digest(data: bytes) -> str:
    """The digest a seal carries for a snapshot body (SHA-256, hex)."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class Seal:
    """One signed checkpoint of the log (see the module docstring)."""

    position: int
    head_hash: str
    snapshot_digest: str
    schema_revision: str
    sealed_at_us: int
    signer: str
    signature: str

    def message(self) -> bytes:
        """The canonical bytes that are signed: every field but the signature, sorted keys."""
        body: dict[str, Any] = {
            "kind": SEAL_KIND,
            "position": self.position,
            "head_hash": self.head_hash,
            "snapshot_digest": self.snapshot_digest,
            "schema_revision": self.schema_revision,
            "sealed_at_us": self.sealed_at_us,
            "signer": self.signer.lower(),
        }
        return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able view (archive headers, CLI output)."""
        return {
            "position": self.position,
            "head_hash": self.head_hash,
            "snapshot_digest": self.snapshot_digest,
            "schema_revision": self.schema_revision,
            "sealed_at_us": self.sealed_at_us,
            "signer": self.signer,
            "signature": self.signature,
        }

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> Seal:
        """The seal of :meth:`as_dict`; ``ValueError`` when a field is missing or mistyped."""
        try:
            seal = cls(
                position=int(body["position"]),
                head_hash=str(body["head_hash"]),
                snapshot_digest=str(body["snapshot_digest"]),
                schema_revision=str(body["schema_revision"]),
                sealed_at_us=int(body["sealed_at_us"]),
                signer=str(body["signer"]),
                signature=str(body["signature"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a seal ({type(exc).__name__}: {exc})") from None
        return seal


def make_seal(
    signer: SealSigner,
    *,
    position: int,
    head_hash: str,
    snapshot: bytes,
    schema_revision: str,
    sealed_at_us: int,
) -> Seal:
    """A seal of ``position`` (whose stored hash is ``head_hash``) and ``snapshot``, signed."""
    if position < 1:
        raise ValueError(f"a seal needs a position >= 1, got {position}")
    if not _HEX64.match(head_hash):
        raise ValueError("head_hash must be 64 lowercase hex digits")
    unsigned = Seal(
        position=position,
        head_hash=head_hash,
        snapshot_digest=snapshot_digest(snapshot),
        schema_revision=schema_revision,
        sealed_at_us=sealed_at_us,
        signer=signer.address,
        signature="",
    )
    return replace(unsigned, signature=signer.sign(unsigned.message()))


def check_seal(seal: Seal, verifier: SealVerifier, trusted: str | None) -> None:
    """Raise :class:`SealForged` unless ``seal`` was signed by ``trusted`` (or, with ``trusted``
    None, by the signer it names — which proves only that the seal is intact, not who made it).
    """
    try:
        who = verifier.recover(seal.message(), seal.signature)
    except (ValueError, TypeError) as exc:
        raise SealForged(seal.position, f"its signature is malformed ({type(exc).__name__})") \
            from None
    expected = (trusted or seal.signer).lower()
    if who.lower() != expected:
        raise SealForged(
            seal.position,
            f"it was signed by {who}, not by {expected}"
            if who.lower() != seal.signer.lower()
            else f"its signer {who} is not the trusted signer {expected}",
        )
