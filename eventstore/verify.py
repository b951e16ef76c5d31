"""Hash-chain verification over a stream of recorded events, oldest first."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

from eventstore.codec import GENESIS_HASH, chain_hash
from eventstore.model import RecordedEvent, VerifyReport


async def verify_chain(
    batches: AsyncIterator[list[RecordedEvent]],
    anchor: tuple[int, str] | None = None,
    first_position: int = 1,
    previous_hash: str = GENESIS_HASH,
) -> VerifyReport:
    """Recompute every hash; report the first position whose row was edited, deleted,
    inserted or moved. With ``anchor`` (a ``(position, hash)`` saved from :meth:`head`
    elsewhere) a truncated log or a rewritten chain is caught too.
    """
    expected_pos, prev, checked = first_position, previous_hash, 0
    anchor_pos, anchor_hash = anchor if anchor is not None else (-1, "")
    if anchor_pos == first_position - 1 and previous_hash != anchor_hash:
        # The anchor is the seed itself: position 0 (the empty log, GENESIS_HASH) or the row
        # before ``first_position``.
        return _bad(0, anchor_pos, "hash differs from the anchored head hash")
    for_hash = chain_hash
    async for batch in batches:
        for ev in batch:
            # The raw columns (schema.COLUMNS order), exactly as stored: no per-field decoding.
            (position, stream_id, version, type_, event_version, event_id, data, meta,
             recorded_at_us, stored) = ev._row
            if position != expected_pos:
                why = (
                    f"position {expected_pos} is missing (next row is {position})"
                    if position > expected_pos
                    else f"unexpected position {position}"
                )
                return _bad(checked, expected_pos, why)
            try:
                want = for_hash(
                    prev, position, stream_id, version, type_, event_version,
                    _id_text(event_id), recorded_at_us,
                    data if type(data) is bytes else bytes(data),  # hand-edited text: malformed
                    meta if type(meta) is bytes else bytes(meta),
                )
                if want != stored and type(event_id) is str:
                    # The fast spelling of the id assumed our own storage format; decide an
                    # unusual one exactly as the UUID parser reads it (or call it malformed).
                    want = for_hash(
                        prev, position, stream_id, version, type_, event_version,
                        str(UUID(event_id)), recorded_at_us, bytes(data), bytes(meta),
                    )
            except (TypeError, ValueError) as exc:
                return _bad(checked, position, f"row is malformed ({exc})")
            if want != stored:
                return _bad(checked, position, "stored hash does not match the event's content")
            if position == anchor_pos and stored != anchor_hash:
                return _bad(checked, position, "hash differs from the anchored head hash")
            prev = stored
            checked += 1
            expected_pos += 1
    if anchor is not None and expected_pos - 1 < anchor[0]:
        return _bad(checked, expected_pos, f"log ends before the anchored position {anchor[0]}")
    return VerifyReport(
        ok=True, checked=checked, first_bad_position=None, reason=None,
        head_position=expected_pos - 1, head_hash=prev if expected_pos > 1 else None,
    )


def _id_text(event_id: Any) -> str:
    """The canonical text of a stored event id, as it was hashed (``str(uuid)``).

    SQLite stores the 32 hex digits our writer produced: hyphenating them is what ``str(UUID(..))``
    returns for that spelling, at a tenth of the cost. PostgreSQL returns ``UUID`` objects.
    """
    if type(event_id) is str and len(event_id) == 32:
        h = event_id
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    return str(event_id if isinstance(event_id, UUID) else UUID(event_id))


def _bad(checked: int, position: int, reason: str) -> VerifyReport:
    return VerifyReport(ok=False, checked=checked, first_bad_position=position, reason=reason)
