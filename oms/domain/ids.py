"""Client order ids: unique, sortable by creation time, mapping one-to-one onto Hyperliquid cloids.

An id is 32 lowercase hex characters: 48 bits of milliseconds since the Unix epoch, then 80 bits
that are random for the first id of a millisecond and incremented for the following ones (so ids
made by one process in one millisecond are strictly increasing). The Hyperliquid ``cloid`` is
the same 16 bytes as ``0x`` + hex.

>>> cid = ClientOrderId.new(now_ns=1_700_000_000_000_000_000)
>>> cid.created_ms
1700000000000
>>> ClientOrderId.from_cloid(cid.cloid) == cid
True
"""

from __future__ import annotations

import os
import random
import time

_HEX = frozenset("0123456789abcdef")
# Seeded once from the OS (random.Random() uses os.urandom); per-id draws are then plain arithmetic.
# Calling os.urandom per id would release the GIL on the order path, letting any busy thread
# (the journal's SQLite writer) take the interpreter for milliseconds in the middle of buy().
_RNG = random.Random()
if hasattr(os, "register_at_fork"):  # a forked child must not replay its parent's sequence
    os.register_at_fork(after_in_child=_RNG.seed)
_RANDOM_BITS = 80
_RANDOM_MASK = (1 << _RANDOM_BITS) - 1
_MAX_MS = (1 << 48) - 1


class InvalidClientOrderId(ValueError):
    """A string is not a valid client order id or cloid (32 lowercase hex chars, or 0x + 32 hex)."""


class ClientOrderId(str):
    """A client order id (a ``str`` of 32 lowercase hex characters)."""

    __slots__ = ()

    _last_ms: int = -1
    _last_rand: int = 0

    @classmethod
    def new(cls, now_ns: int | None = None) -> ClientOrderId:
        """A fresh id stamped with ``now_ns`` (default: the wall clock), unique in this process."""
        ms = (time.time_ns() if now_ns is None else now_ns) // 1_000_000
        if ms > _MAX_MS or ms < 0:
            raise InvalidClientOrderId(f"timestamp {ms} ms does not fit the 48-bit id time field")
        if ms == cls._last_ms:
            # Same millisecond: count up so ids made by this process stay strictly increasing.
            rand = cls._last_rand + 1
            if rand > _RANDOM_MASK:
                ms, rand = ms + 1, _RNG.getrandbits(_RANDOM_BITS - 1)
        else:
            # Leave headroom (top bit clear) so increments within a millisecond never overflow.
            rand = _RNG.getrandbits(_RANDOM_BITS - 1)
        ClientOrderId._last_ms, ClientOrderId._last_rand = ms, rand
        return str.__new__(cls, f"{(ms << _RANDOM_BITS) | rand:032x}")

    @classmethod
    def parse(cls, text: str) -> ClientOrderId:
        """Validate ``text`` (32 lowercase hex chars) and return it as a ClientOrderId."""
        if len(text) != 32 or not _HEX.issuperset(text):
            raise InvalidClientOrderId(
                f"{text!r} is not a client order id: expected 32 lowercase hex characters"
            )
        return str.__new__(cls, text)

    @classmethod
    def from_cloid(cls, cloid: str) -> ClientOrderId:
        """The id whose Hyperliquid cloid is ``cloid`` (``0x`` + 32 hex chars, any case)."""
        if not cloid.startswith(("0x", "0X")):
            raise InvalidClientOrderId(f"{cloid!r} is not a cloid: expected '0x' + 32 hex chars")
        return cls.parse(cloid[2:].lower())

    @property
    def cloid(self) -> str:
        """The Hyperliquid client order id: ``0x`` followed by the 32 hex characters."""
        return "0x" + self

    @property
    def created_ms(self) -> int:
        """Creation time in milliseconds since the Unix epoch."""
        return int(self[:12], 16)


def order_stream(cid: str) -> str:
    """The event-store stream name of an order: ``order-<client order id>``."""
    return f"order-{cid}"


ORDER_STREAM_PREFIX = "order-"
