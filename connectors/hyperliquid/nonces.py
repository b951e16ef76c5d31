"""Nonces strictly increasing per signer, across restarts and across processes.

A nonce is ``max(now_ms, last + 1)``. That alone is neither restart-safe (a burst runs ahead of the
clock, and a quick restart could reissue those values) nor safe when two processes sign for the
same key (both would issue the same millisecond). So, when a ``path`` is given, nonces are issued
from *blocks* reserved in that file: under an exclusive lock (``fcntl.flock`` on ``<path>.lock``)
a process reads the high-water mark stored in the file, takes the block
``[max(now, mark), that + block_ms)`` and stores its end (written atomically, with fsync). Blocks
never overlap, so processes sharing the file never collide, and a restart starts after every block
ever reserved. The file is written once per block (about every ten seconds of trading), so the
event loop is practically never blocked by disk I/O. Without a path, only the in-process guarantee
holds. Hyperliquid accepts nonces up to a day ahead, so a block reserved by another process only
moves this one's nonces a few seconds into the future.

Example::

    nonces = NonceManager(Path("state/nonce-0xabc"))
    nonces.next()   # 1700000000000
    nonces.next()   # 1700000000001 (same millisecond)
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

LEASE_MS = 10_000


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class NonceFileError(RuntimeError):
    """The nonce file is unreadable; fix it, or delete it once ten seconds have passed."""


class NonceManager:
    """Issue strictly increasing millisecond nonces for one signer."""

    def __init__(
        self,
        path: Path | None = None,
        clock: Callable[[], int] = _now_ms,
        block_ms: int = LEASE_MS,
    ) -> None:
        self._path = path
        self._clock = clock
        self._block_ms = block_ms
        self._last = 0
        self._end = 0  # the end (exclusive) of the block this process issues from
        if path is not None and path.exists():
            self._last = self._read(path)  # a restart starts after every block reserved

    @property
    def path(self) -> Path | None:
        """The nonce file (None: nonces are only increasing within this process)."""
        return self._path

    @property
    def last(self) -> int:
        """The last nonce issued (or the stored high-water mark right after a restart)."""
        return self._last

    def next(self) -> int:
        """The next nonce: ``max(now_ms, last + 1)``, from a reserved block when a file is set."""
        nonce = max(self._clock(), self._last + 1)
        if self._path is not None and nonce >= self._end:
            nonce = self._reserve(nonce)
        self._last = nonce
        return nonce

    def _reserve(self, wanted: int) -> int:
        """Take the next block at or after ``wanted`` and after every block already reserved."""
        assert self._path is not None
        with self._locked(self._path):
            mark = self._read(self._path) if self._path.exists() else 0
            start = max(wanted, mark)
            self._end = start + self._block_ms
            self._persist(self._path, self._end)
        return start

    @staticmethod
    @contextlib.contextmanager
    def _locked(path: Path) -> Iterator[None]:
        with open(path.with_name(path.name + ".lock"), "a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    @staticmethod
    def _read(path: Path) -> int:
        text = path.read_text().strip()
        try:
            return int(text)
        except ValueError:
            raise NonceFileError(f"nonce file {path} does not hold an integer") from None

    @staticmethod
    def _persist(path: Path, value: int) -> None:
        tmp = path.with_suffix(path.suffix + ".tmp")
        with open(tmp, "w") as handle:
            handle.write(str(value))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
