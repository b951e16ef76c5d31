"""Errors of seals and archives: each names what was found and what to do about it."""

from __future__ import annotations

from uuid import UUID

from eventstore.errors import EventStoreError, IdempotencyConflict


class SealError(EventStoreError):
    """A seal does not hold: the live state it vouches for cannot be trusted."""


class SealForged(SealError):
    """A seal's signature is not the trusted signer's: it was forged, edited or mis-keyed."""

    def __init__(self, position: int, reason: str) -> None:
        self.position = position
        super().__init__(
            f"the seal at position {position} is not valid: {reason}; someone without the "
            "sealing key edited or forged it — do not trade: run `oms audit verify` and restore "
            "the journal from a backup (or configure the right seal signer)"
        )


class SealMismatch(SealError):
    """A seal is signed correctly but the journal or snapshot no longer matches it."""

    def __init__(self, position: int, reason: str) -> None:
        self.position = position
        super().__init__(
            f"the journal does not match its seal at position {position}: {reason}; do not "
            "trade: run `oms audit verify` and restore the journal from a backup"
        )


class SealedTailMissing(SealError):
    """The log ends before a sealed position: rows the seal vouches for were deleted."""

    def __init__(self, sealed: int, head: int) -> None:
        self.sealed, self.head = sealed, head
        super().__init__(
            f"the journal ends at position {head} but position {sealed} was sealed: events "
            "were deleted; do not trade: restore the journal from a backup"
        )


class ArchiveError(EventStoreError):
    """An archive file is missing, edited, out of order, or cannot be written or restored."""


class ArchiveCorrupt(ArchiveError):
    """An archive file's content does not verify."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        super().__init__(
            f"archive file {path} does not verify: {reason}; restore that file from its backup "
            "copy (archives are the only copy of that history)"
        )


class ArchiveMissing(ArchiveError):
    """An archive the journal's manifest lists is not where it was asked to be read from."""

    def __init__(self, path: str, first: int, last: int) -> None:
        self.path = path
        super().__init__(
            f"archive file {path} (positions {first}-{last}) is missing; pass the folder that "
            "holds it (--archive-dir) or restore it from its backup copy"
        )


class ArchiveOutOfOrder(ArchiveError):
    """Archive files were given, or would be restored, in an order that leaves a gap."""

    def __init__(self, path: str, expected_first: int, first: int) -> None:
        self.path = path
        super().__init__(
            f"archive file {path} starts at position {first} but position {expected_first} "
            "must come next: archives are read oldest first and restored newest first, "
            "each one adjoining the next with no gap or overlap"
        )


class ArchivedRange(ArchiveError):
    """A read or subscription asked for positions that were moved to an archive."""

    def __init__(self, requested: int, first_live: int) -> None:
        self.requested, self.first_live = requested, first_live
        super().__init__(
            f"positions before {first_live} are archived (asked from {requested}): read them "
            f"from the archive files (`oms audit export --archive-dir DIR`, "
            f"eventstore.read_history) and continue from position {first_live} in the live "
            "journal, or `oms audit restore` them"
        )


class EventArchived(IdempotencyConflict):
    """An append repeats an event id whose event was moved to an archive.

    A subclass of :class:`IdempotencyConflict`, so code that already handles conflicts never
    writes the event a second time. The original append's result cannot be returned (its rows
    are in an archive file, and their content cannot be compared with this retry's), so the
    retry is refused, naming where the original event lies.
    """

    def __init__(self, event_id: UUID | str, stream_id: str, version: int, position: int) -> None:
        self.stream_id, self.version, self.position = stream_id, version, position
        super().__init__(
            event_id,
            f"was archived (stream {stream_id!r} version {version}, position {position}): the "
            "original append succeeded and is not repeated; read it with `oms audit export "
            "--archive-dir DIR` or eventstore.read_history",
        )
