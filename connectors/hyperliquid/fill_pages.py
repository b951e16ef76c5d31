"""``userFillsByTime`` pagination: every fill since a time, oldest first, deduplicated.

The exchange caps a time-range reply (500 to 2000 rows), so we page by the newest timestamp seen
and stop on a short page or a page with nothing new.
"""

from __future__ import annotations

from connectors.base import FillReport
from connectors.hyperliquid import parsing
from connectors.hyperliquid.errors import UnexpectedReply
from connectors.hyperliquid.rest import HyperliquidRest

_FILL_PAGE_HINT = 500  # the exchange caps time-range replies (500 to 2000 rows)
_MAX_FILL_PAGES = 20


async def fills_since(rest: HyperliquidRest, account: str, start_ms: int) -> list[FillReport]:
    """Every fill of ``account`` at or after ``start_ms``, oldest first (deduped by tid, oid)."""
    seen: dict[tuple[str, str], FillReport] = {}
    start = start_ms
    for _ in range(_MAX_FILL_PAGES):
        page = await rest.info({"type": "userFillsByTime", "user": account, "startTime": start})
        if not isinstance(page, list):
            raise UnexpectedReply("userFillsByTime reply is not a list", repr(page))
        fresh = 0
        for raw in page:
            fill = parsing.parse_fill(raw)
            key = (fill.trade_id, fill.exchange_order_id)
            if key not in seen:
                seen[key] = fill
                fresh += 1
        if len(page) < _FILL_PAGE_HINT or fresh == 0:
            break
        start = max(f.timestamp_ms for f in seen.values())
    return sorted(seen.values(), key=lambda f: (f.timestamp_ms, f.trade_id))
