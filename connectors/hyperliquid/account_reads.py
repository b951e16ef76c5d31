"""The Hyperliquid connector's account reads (``connectors.account.AccountReader``).

``clearinghouseState``, ``spotClearinghouseState``, ``userFunding`` and
``userNonFundingLedgerUpdates`` by REST; time ranges are paginated with the last row's time as
the next ``startTime`` (answers are capped, reference §8.3) and de-duplicated.

Example::

    snapshot = await connector.account_snapshot()
    payments, bad = await connector.funding_since(start_ms)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from connectors.account import AccountSnapshot, BadElement, FundingReport, LedgerReport
from connectors.hyperliquid import account_parsing as parse
from connectors.hyperliquid.dexes import merge_snapshots, with_dex

if TYPE_CHECKING:
    from connectors.hyperliquid.rest import HyperliquidRest
    from connectors.hyperliquid.streams import Subscription
    from connectors.hyperliquid.user_events import UserEvent

_PAGE_CAP = 500
_MAX_PAGES = 50
T = TypeVar("T", FundingReport, LedgerReport)


class AccountReads:
    """Mixin of :class:`HyperliquidConnector`: the account's truth, read by REST."""

    if TYPE_CHECKING:
        account: str
        perp_dexs: tuple[str, ...]
        _rest: HyperliquidRest

        def user_events(self) -> Subscription[UserEvent]: ...

    async def account_snapshot(self) -> AccountSnapshot:
        """The perp account now (``clearinghouseState`` of the first dex and of every covered
        HIP-3 dex, summed); raises ``UnexpectedReply`` if an answer lacks a field the
        reconciliation needs."""
        snapshots = []
        for dex in ("", *self.perp_dexs):  # HIP-3: one clearinghouse per dex (dexes.py)
            body = with_dex({"type": "clearinghouseState", "user": self.account}, dex)
            snapshots.append(parse.parse_clearinghouse(await self._rest.info(body)))
        return merge_snapshots(snapshots)

    async def spot_snapshot(self) -> dict[str, Decimal]:
        """Spot balances by token (``spotClearinghouseState``)."""
        reply = await self._rest.info({"type": "spotClearinghouseState", "user": self.account})
        return parse.parse_spot_clearinghouse(reply)

    async def funding_since(self, start_ms: int) -> tuple[list[FundingReport], list[BadElement]]:
        """Funding payments at or after ``start_ms``, oldest first, and the rows that failed."""
        return await self._paged(
            "userFunding", start_ms, parse.parse_funding_rows, lambda f: (f.pair, f.time_ms)
        )

    async def ledger_since(self, start_ms: int) -> tuple[list[LedgerReport], list[BadElement]]:
        """Collateral movements at or after ``start_ms``, oldest first, and the rows that failed."""
        return await self._paged(
            "userNonFundingLedgerUpdates", start_ms, parse.parse_ledger_rows, lambda r: r.key
        )

    async def funding_stream(self) -> AsyncIterator[FundingReport]:
        """Funding payments pushed on ``userEvents`` from now on (the rest is informational)."""
        from connectors.hyperliquid.user_events import FundingPayment

        async for event in self.user_events():
            if isinstance(event, FundingPayment):
                yield FundingReport(
                    pair=event.pair,
                    time_ms=event.timestamp_ms,
                    usdc=event.usdc,
                    size=event.size,
                    rate=event.funding_rate,
                )

    async def _paged(
        self,
        kind: str,
        start_ms: int,
        parse_page: Callable[[Any], tuple[list[T], list[BadElement]]],
        key: Callable[[T], object],
    ) -> tuple[list[T], list[BadElement]]:
        seen: dict[object, T] = {}
        bad: list[BadElement] = []
        start = start_ms
        for _ in range(_MAX_PAGES):
            reply = await self._rest.info({"type": kind, "user": self.account, "startTime": start})
            good, failed = parse_page(reply)
            bad.extend(failed)
            fresh = [r for r in good if key(r) not in seen]
            for r in fresh:
                seen[key(r)] = r
            if len(reply) < _PAGE_CAP or not fresh:
                break
            start = max(r.time_ms for r in good)
        return sorted(seen.values(), key=lambda r: r.time_ms), bad
