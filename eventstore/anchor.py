"""The anchor: the journal's last known head, kept *outside* the database it describes.

Why: a hash chain proves every row follows from the one before it, but not that rows are missing
at the end. Delete a SQLite ``-wal`` file, restore an old backup, or cut the tail with SQL, and
what is left still verifies. The anchor closes that blind spot. The engine writes the head it
has seen (position and hash) to a small file beside the journal — at start-up once the journal
checked out, every ``every_s`` seconds while it runs, and on close — each time to a temporary
file, fsynced, renamed over the old one, and the directory fsynced. Start-up and
``oms audit verify`` compare the journal against it: a head *behind* the anchor means committed
events were lost (both positions are reported), a different hash at the anchored position means
the log was rewritten. The engine then refuses to start.

What it does not protect against: losses newer than the last anchor write (up to ``every_s``
seconds of events, when the engine is killed; a clean close anchors the final head), and anyone
who can rewrite both the journal and its anchor file (keep a copy of ``oms audit head`` elsewhere,
e.g. in another system's log, and pass it to ``oms audit verify --anchor`` for that). A missing
anchor file is not an error (a new journal, or a copy): nothing is compared.

The interface is small on purpose (sealed checkpoints and archives build on it):

>>> anchor = Anchor(position=42, hash="ab" * 32)
>>> Anchor.from_json(anchor.to_json()) == anchor
True
>>> # write_anchor(path, anchor); read_anchor(path); await compare_anchor(store, anchor)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import orjson
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore.archive_manifest import read_manifest
from eventstore.codec import GENESIS_HASH
from eventstore.errors import AnchorMismatch, EventStoreError
from eventstore.model import RecordedEvent
from eventstore.verify import verify_chain

log = logging.getLogger(__name__)

ANCHOR_SUFFIX = ".anchor"
FORMAT = 1
_HEX = frozenset("0123456789abcdef")


class AnchorUnreadable(EventStoreError):
    """The anchor file exists but is not a valid anchor (edited, truncated, not ours)."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        super().__init__(
            f"anchor file {path} is not valid ({reason}); restore it, or delete it to stop "
            "comparing the journal against it"
        )


@dataclass(frozen=True, slots=True)
class Anchor:
    """A head of the log: ``position`` (0 for an empty log) and the chain ``hash`` there."""

    position: int
    hash: str
    written_at_us: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.position, bool) or not isinstance(self.position, int):
            raise ValueError(f"anchor position must be an int, got {self.position!r}")
        if self.position < 0:
            raise ValueError(f"anchor position must be >= 0, got {self.position}")
        if not isinstance(self.hash, str) or len(self.hash) != 64 or not _HEX.issuperset(
            self.hash
        ):
            raise ValueError("anchor hash must be 64 lowercase hex characters")

    def to_json(self) -> bytes:
        """The file's bytes (one JSON object)."""
        return orjson.dumps({"format": FORMAT, "position": self.position, "hash": self.hash,
                             "written_at_us": self.written_at_us})

    @classmethod
    def from_json(cls, raw: bytes) -> Anchor:
        """Parse :meth:`to_json` bytes; raises ``ValueError`` on anything else."""
        try:
            value: Any = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"not JSON: {exc}") from None
        if not isinstance(value, dict) or value.get("format") != FORMAT:
            raise ValueError(f"not an anchor of format {FORMAT}")
        try:
            return cls(value["position"], value["hash"], int(value.get("written_at_us", 0)))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"missing or bad field {exc}") from None

    def __str__(self) -> str:
        return f"{self.position}:{self.hash}"


def default_anchor_path(url: str | URL) -> Path | None:
    """Where the anchor of a journal lives by default: ``<file>.anchor`` beside a SQLite file.

    ``None`` for PostgreSQL: a server has no "beside"; pass a path of your choosing instead.
    """
    sa_url = make_url(url)
    if sa_url.get_backend_name() != "sqlite" or not sa_url.database:
        return None
    return Path(sa_url.database + ANCHOR_SUFFIX)


def read_anchor(path: Path) -> Anchor | None:
    """The anchor stored at ``path``; ``None`` if there is no such file.

    Raises :class:`AnchorUnreadable` for a file that is not a valid anchor.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AnchorUnreadable(path, f"{type(exc).__name__}: {exc.strerror}") from None
    try:
        return Anchor.from_json(raw)
    except ValueError as exc:
        raise AnchorUnreadable(path, str(exc)) from None


def write_anchor(path: Path, anchor: Anchor) -> None:
    """Durably replace the anchor at ``path``: temporary file, fsync, rename, fsync the folder.

    A crash leaves either the old anchor or the new one, never a torn file.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, anchor.to_json())
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


class _Store(Protocol):
    @property
    def engine(self) -> AsyncEngine: ...
    async def head(self) -> tuple[int, str]: ...
    async def archive_point(self) -> int: ...
    def read_all(
        self, from_position: int = 1, to_position: int | None = None, *, batch_size: int = ...
    ) -> Any: ...


async def _rows(store: _Store, first: int, last: int) -> list[RecordedEvent]:
    return [ev async for ev in store.read_all(first, last, batch_size=last - first + 1)]


async def _one_batch(rows: list[RecordedEvent]) -> AsyncIterator[list[RecordedEvent]]:
    yield rows


async def compare_anchor(store: _Store, anchor: Anchor) -> str | None:
    """Why the journal does not match ``anchor`` (lost events, rewritten log), or ``None``.

    Reads the head and the two rows ending at the anchored position, and recomputes the anchored
    row's hash from its content: cheap enough for every query.
    """
    head, _ = await store.head()
    if head < anchor.position:
        return (f"events lost: the journal ends at position {head} but its anchor recorded "
                f"position {anchor.position} ({anchor.position - head} committed events are "
                "missing, e.g. a deleted -wal file or an old backup)")
    if anchor.position == 0:
        return None if anchor.hash == GENESIS_HASH else "position 0 must have the genesis hash"
    if anchor.position <= await store.archive_point():
        return await _archived(store, anchor)
    first = max(1, anchor.position - 1)
    rows = await _rows(store, first, anchor.position)
    if not rows or rows[-1].position != anchor.position:
        return f"position {anchor.position} of the anchor is missing from the journal"
    stored = rows[-1].hash
    if stored != anchor.hash:
        return (f"the log was rewritten: the hash at position {anchor.position} is "
                f"{stored[:16]}… but the anchor recorded {anchor.hash[:16]}…")
    seed = rows[0].hash if len(rows) == 2 else GENESIS_HASH
    report = await verify_chain(_one_batch(rows[-1:]), None, anchor.position, seed)
    if not report.ok:
        return f"the anchored event at position {anchor.position} was edited ({report.reason})"
    return None


async def _archived(store: _Store, anchor: Anchor) -> str | None:
    """The anchored row was archived since it was anchored (an engine killed before its next
    anchor write, then ``oms audit archive``). Archiving re-checked every archived row's chain
    up to a signed seal, so the row is pinned by that signature and ``oms audit verify
    --archive-dir`` re-reads it; here, the hash is compared where an archive ends at it."""
    for entry in await read_manifest(store.engine):
        if entry.last_position == anchor.position and entry.last_hash != anchor.hash:
            return (f"the log was rewritten: the archive ending at position {anchor.position} "
                    f"holds hash {entry.last_hash[:16]}… but the anchor recorded "
                    f"{anchor.hash[:16]}…")
    return None


class AnchorKeeper:
    """The engine's side: check at start-up, then keep the anchor moving with the head.

    ``path`` is the anchor file; ``every_s`` how often a running engine writes it (the bound
    on what an unclean stop can lose without detection).
    """

    def __init__(self, path: Path, every_s: float = 5.0) -> None:
        if not every_s > 0:
            raise ValueError(f"every_s must be > 0, got {every_s!r}")
        self.path = path
        self.every_s = every_s
        self.last: Anchor | None = None
        self.armed = False
        """True once :meth:`check` found the journal matching: only then may an engine keep
        the anchor moving (a journal that lost events must never overwrite the evidence)."""

    async def check(self, store: _Store) -> Anchor | None:
        """Compare the journal with the stored anchor; raise :class:`AnchorMismatch` if it
        does not match. Returns the anchor compared (None when there was none)."""
        anchor = await asyncio.to_thread(read_anchor, self.path)
        if anchor is not None:
            problem = await compare_anchor(store, anchor)
            if problem is not None:
                raise AnchorMismatch(
                    f"{problem} (anchor file {self.path}; if this journal was restored on "
                    "purpose, delete that file)"
                )
        self.last = anchor
        self.armed = True
        return anchor

    async def update(self, store: _Store) -> Anchor:
        """Write the store's current head as the anchor, if it moved."""
        position, digest = await store.head()
        if self.last is not None and (self.last.position, self.last.hash) == (position, digest):
            return self.last
        anchor = Anchor(position, digest, time.time_ns() // 1000)
        await asyncio.to_thread(write_anchor, self.path, anchor)
        self.last = anchor
        return anchor

    async def run(self, store: _Store) -> None:
        """Write the anchor every ``every_s`` seconds until cancelled."""
        failing = False
        while True:
            await asyncio.sleep(self.every_s)
            try:
                await self.update(store)
                failing = False
            except (OSError, EventStoreError) as exc:  # retried next turn; said once a streak
                if not failing:
                    log.warning("could not write the journal anchor %s: %s", self.path, exc)
                failing = True
