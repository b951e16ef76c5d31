"""Archive files: a run of the log, gzip-compressed JSON lines, that verifies itself.

Why JSON lines and not Parquet: the archive must outlive this software. A JSON-lines file is
read by ``zcat | jq`` on any machine, streams in constant memory, and needs no dependency
beyond the standard library (Parquet would add pyarrow, ~100 MB, for a file read only at
audits). Each row holds ``data``/``metadata`` as the exact canonical bytes that were hashed,
so the chain can be recomputed outside this software; gzip takes most of the redundancy out.

Layout: line 1 is the header ``{"kind": "oms-archive/1", "first_position", "last_position",
"previous_hash", "last_hash", "event_count", "seal": {...}}``; then one JSON array per event
``[position, stream_id, version, type, event_version, event_id, recorded_at_us, data,
metadata, hash]``, in position order. The chain from ``previous_hash`` through every row must
end at ``last_hash``, which the seal (signed, at ``last_position``) vouches for: so an edited,
dropped, added or reordered row, a swapped header or a truncated file is detected from the file
alone (with the seal's signer known). The gzip header carries no time, so archiving the same
range twice writes the same bytes.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from eventstore.codec import chain_hash
from eventstore.history_errors import ArchiveCorrupt
from eventstore.seals import Seal
from eventstore.verify import _id_text

ARCHIVE_KIND = "oms-archive/1"

ArchiveRow = tuple[int, str, int, str, int, str, bytes, bytes, int, str]
"""A row in ``schema.COLUMNS`` order (event id as canonical text): ``RowEvent(row)`` takes it."""


def archive_name(first: int, last: int) -> str:
    """The file name of the archive of positions ``first``..``last`` (sorts in log order)."""
    return f"events-{first:012d}-{last:012d}.jsonl.gz"


@dataclass(frozen=True, slots=True)
class ArchiveHeader:
    """The first line of an archive file."""

    first_position: int
    last_position: int
    previous_hash: str
    last_hash: str
    event_count: int
    seal: Seal

    def to_json(self) -> bytes:
        """The header line (without its newline)."""
        return orjson.dumps({
            "kind": ARCHIVE_KIND,
            "first_position": self.first_position,
            "last_position": self.last_position,
            "previous_hash": self.previous_hash,
            "last_hash": self.last_hash,
            "event_count": self.event_count,
            "seal": self.seal.as_dict(),
        })

    @classmethod
    def parse(cls, line: bytes, path: str) -> ArchiveHeader:
        """The header of ``line``; :class:`ArchiveCorrupt` if it is not one."""
        try:
            body = orjson.loads(line)
            if body.get("kind") != ARCHIVE_KIND:
                raise ValueError(f"kind is {body.get('kind')!r}, not {ARCHIVE_KIND!r}")
            return cls(
                first_position=int(body["first_position"]),
                last_position=int(body["last_position"]),
                previous_hash=str(body["previous_hash"]),
                last_hash=str(body["last_hash"]),
                event_count=int(body["event_count"]),
                seal=Seal.from_dict(body["seal"]),
            )
        except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError) as exc:
            raise ArchiveCorrupt(path, f"the header is not an archive header ({exc})") from None


def encode_row(row: tuple[Any, ...]) -> bytes:
    """One event line from a stored row in ``schema.COLUMNS`` order."""
    (position, stream_id, version, type_, event_version, event_id, data, meta,
     recorded_at_us, hash_) = row
    return orjson.dumps([
        position, stream_id, version, type_, event_version, _id_text(event_id), recorded_at_us,
        bytes(data).decode(), bytes(meta).decode(), hash_,
    ]) + b"\n"


class ArchiveWriter:
    """Writes one archive file atomically: to ``.part``, fsynced, then renamed into place."""

    def __init__(self, folder: Path, header: ArchiveHeader) -> None:
        self.path = folder / archive_name(header.first_position, header.last_position)
        self._part = self.path.with_name(self.path.name + ".part")
        self._raw: IO[bytes] = self._part.open("wb")
        self._gz = gzip.GzipFile(
            filename="", fileobj=self._raw, mode="wb", compresslevel=6, mtime=0
        )
        self._gz.write(header.to_json() + b"\n")

    def write(self, lines: list[bytes]) -> None:
        """Append encoded event lines."""
        self._gz.write(b"".join(lines))

    def finish(self) -> str:
        """Close, fsync and rename the file into place; return its SHA-256 (hex)."""
        self._gz.close()
        self._raw.flush()
        os.fsync(self._raw.fileno())
        self._raw.close()
        os.replace(self._part, self.path)
        fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)  # the rename itself survives a power loss
        finally:
            os.close(fd)
        return file_sha256(self.path)

    def abandon(self) -> None:
        """Drop the unfinished file."""
        self._gz.close()
        self._raw.close()
        self._part.unlink(missing_ok=True)


def file_sha256(path: Path) -> str:
    """The SHA-256 (hex) of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


class ArchiveReader:
    """Reads an archive file and re-checks it while reading (chain, count, ends, seal match).

    >>> # for rows in ArchiveReader(path).batches(10_000): ...
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._shown = str(path)
        try:
            self._gz = gzip.open(path, "rb")  # noqa: SIM115 (closed by close())
            self.header = ArchiveHeader.parse(self._gz.readline(), self._shown)
        except (OSError, EOFError, zlib.error) as exc:
            raise ArchiveCorrupt(self._shown, f"it cannot be read ({exc})") from None
        h = self.header
        if h.seal.position != h.last_position or h.seal.head_hash != h.last_hash:
            raise ArchiveCorrupt(self._shown, "its seal does not cover its last position/hash")
        if h.event_count != h.last_position - h.first_position + 1:
            raise ArchiveCorrupt(self._shown, "its event count does not match its positions")

    def close(self) -> None:
        """Release the file."""
        self._gz.close()

    def batches(self, size: int = 10_000) -> Iterator[list[ArchiveRow]]:
        """Every row, ``size`` at a time, each checked against the chain before it is given."""
        h = self.header
        prev, expected = h.previous_hash, h.first_position
        batch: list[ArchiveRow] = []
        try:
            for line in self._gz:
                row = self._decode(line, expected)
                want = chain_hash(prev, row[0], row[1], row[2], row[3], row[4], row[5],
                                  row[8], row[6], row[7])
                if want != row[9]:
                    raise ArchiveCorrupt(
                        self._shown, f"the row at position {row[0]} does not match its hash "
                        "(edited, or the chain before it was)")
                prev, expected = row[9], expected + 1
                batch.append(row)
                if len(batch) >= size:
                    yield batch
                    batch = []
        except (OSError, EOFError, zlib.error) as exc:
            raise ArchiveCorrupt(self._shown, f"it is damaged or cut short ({exc})") from None
        if expected != h.last_position + 1:
            raise ArchiveCorrupt(
                self._shown, f"it ends at position {expected - 1}, not {h.last_position}")
        if prev != h.last_hash:
            raise ArchiveCorrupt(self._shown, "its last hash differs from the sealed one")
        if batch:
            yield batch

    def _decode(self, line: bytes, expected: int) -> ArchiveRow:
        try:
            (position, stream_id, version, type_, event_version, event_id, recorded_at_us,
             data, meta, hash_) = orjson.loads(line)
            row: ArchiveRow = (
                int(position), str(stream_id), int(version), str(type_), int(event_version),
                str(event_id), str(data).encode(), str(meta).encode(), int(recorded_at_us),
                str(hash_),
            )
        except (orjson.JSONDecodeError, TypeError, ValueError) as exc:
            raise ArchiveCorrupt(
                self._shown, f"the row after position {expected - 1} is malformed ({exc})"
            ) from None
        if row[0] != expected:
            raise ArchiveCorrupt(
                self._shown, f"position {expected} is missing or out of order (found {row[0]})")
        return row
