"""Nonces strictly increasing per signer, even across restarts.

A nonce is ``max(now_ms, last + 1)``. That alone is not restart-safe: a burst of actions in one
millisecond runs ahead of the clock, and a quick restart could reissue those values. So, when a
``path`` is given, the manager persists a *lease* (a high-water mark ``LEASE_MS`` beyond the last
issued nonce, written atomically with fsync) and starts after the stored lease on restart. The file
is written only when the issued nonce passes the lease (about every ten seconds of trading), so
the event loop is practically never blocked by disk I/O. Without a path, only the in-process
guarantee holds.

Example::

    nonces = NonceManager(Path("state/nonce-0xabc"))
    nonces.next()   # 1700000000000
    nonces.next()   # 1700000000001 (same millisecond)
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

LEASE_MS = 10_000


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class NonceFileError(RuntimeError):
    """The nonce file is unreadable; fix it, or delete it once ten seconds have passed."""


class NonceManager:
    """Issue strictly increasing millisecond nonces for one signer."""

    def __init__(self, path: Path | None = None, clock: Callable[[], int] = _now_ms) -> None:
        self._path = path
        self._clock = clock
        self._last = 0
        self._lease = 0
        if path is not None and path.exists():
            text = path.read_text().strip()
            try:
                self._last = self._lease = int(text)
            except ValueError:
                raise NonceFileError(f"nonce file {path} does not hold an integer") from None

    @property
    def last(self) -> int:
        """The last nonce issued (or the stored lease right after a restart)."""
        return self._last

    def next(self) -> int:
        """The next nonce: ``max(now_ms, last + 1)``, lease persisted when needed."""
        nonce = max(self._clock(), self._last + 1)
        self._last = nonce
        if self._path is not None and nonce >= self._lease:
            self._lease = nonce + LEASE_MS
            self._persist(self._lease)
        return nonce

    def _persist(self, value: int) -> None:
        assert self._path is not None
        tmp = self._path.with_suffix(self._path.suffix + ".tmp")
        with open(tmp, "w") as handle:
            handle.write(str(value))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self._path)
