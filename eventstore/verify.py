"""Hash-chain verification over a stream of recorded events, oldest first."""

from __future__ import annotations

from collections.abc import AsyncIterator

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
    async for batch in batches:
        for ev in batch:
            if ev.position != expected_pos:
                why = (
                    f"position {expected_pos} is missing (next row is {ev.position})"
                    if ev.position > expected_pos
                    else f"unexpected position {ev.position}"
                )
                return _bad(checked, expected_pos, why)
            try:
                want = chain_hash(
                    prev, ev.position, ev.stream_id, ev.version, ev.type, ev.event_version,
                    str(ev.event_id), ev.recorded_at_us, ev.raw_data, ev.raw_metadata,
                )
            except (TypeError, ValueError) as exc:
                # A row edited by hand can hold the wrong column types (text for bytes...).
                return _bad(checked, ev.position, f"row is malformed ({exc})")
            if want != ev.hash:
                return _bad(checked, ev.position, "stored hash does not match the event's content")
            if anchor is not None and ev.position == anchor[0] and ev.hash != anchor[1]:
                return _bad(checked, ev.position, "hash differs from the anchored head hash")
            prev = ev.hash
            checked += 1
            expected_pos += 1
    if anchor is not None and expected_pos - 1 < anchor[0]:
        return _bad(checked, expected_pos, f"log ends before the anchored position {anchor[0]}")
    return VerifyReport(
        ok=True, checked=checked, first_bad_position=None, reason=None,
        head_position=expected_pos - 1, head_hash=prev if expected_pos > 1 else None,
    )


def _bad(checked: int, position: int, reason: str) -> VerifyReport:
    return VerifyReport(ok=False, checked=checked, first_bad_position=position, reason=reason)
