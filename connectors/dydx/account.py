"""The dYdX subaccount's truth for the engine's account reconciliation (``connectors.account``).

Sources (Indexer ``comlink``; reference §1.3): ``/v4/addresses/{a}/subaccountNumber/{n}``
(``equity``, ``freeCollateral``, ``openPerpetualPositions`` with ``size``, ``side``,
``entryPrice``, ``unrealizedPnl``), ``/v4/fundingPayments?address&subaccountNumber&afterOrAt``
(``funding-payments-controller.ts``: ``{fundingPayments: [{ticker, createdAt, size, side, rate,
payment, oraclePrice, …}]}``, ``payment`` signed from the subaccount's side) and
``/v4/transfers`` (deposits, withdrawals, transfers between subaccounts).

Mapped onto the generic types as Hyperliquid's ``clearinghouseState`` is: account value =
``equity``; withdrawable = ``freeCollateral``; margin used = equity − free collateral (cross
margin: spread over positions by notional); mark price = the oracle price (what dYdX marks and
liquidates at). dYdX has no per-market leverage (``leverage`` None, ``leverage_type`` "cross") and
no spot balances. Its Indexer pushes no funding payment, so :meth:`funding_stream` never yields:
the engine's reconciliations (start-up and periodic) fetch them. A row that cannot be read is a
:class:`BadElement` (journaled as an anomaly), never a crash.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from decimal import Decimal
from typing import Any

from connectors.account import (
    AccountSnapshot,
    BadElement,
    FundingReport,
    LedgerReport,
    PositionView,
)
from connectors.dydx.errors import UnexpectedReply
from connectors.dydx.markets import Markets
from connectors.dydx.parsing import decimal, iso_ms
from connectors.dydx.rest import IndexerRest

_PAGE = 1000
_SNAPSHOT_TRIES = 3
_IN = frozenset({"TRANSFER_IN", "DEPOSIT"})
_OUT = frozenset({"TRANSFER_OUT", "WITHDRAWAL"})


def _iso(ms: int) -> str:
    import datetime as dt

    moment = dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_snapshot(body: Any, oracle: Mapping[str, Decimal | None], now_ms: int
                   ) -> AccountSnapshot:
    """The generic snapshot of a subaccount body; raises :class:`UnexpectedReply`."""
    try:
        sub = body["subaccount"]
        equity = decimal(sub["equity"], "equity")
        free = decimal(sub["freeCollateral"], "freeCollateral")
        rows = sub["openPerpetualPositions"]
        sized: list[tuple[str, Decimal, Mapping[str, Any]]] = []
        for ticker, row in rows.items():
            size = decimal(row["size"], "position size")
            if row.get("side") == "SHORT" and size > 0:  # sign convention not documented
                size = -size
            sized.append((str(ticker), size, row))
    except (KeyError, TypeError, AttributeError) as exc:
        raise UnexpectedReply(f"subaccount body: {exc!r}", repr(body)[:2000]) from None
    notional = {t: abs(s) * (oracle.get(t) or Decimal(0)) for t, s, _ in sized}
    total_notional = sum(notional.values(), Decimal(0))
    margin = max(equity - free, Decimal(0))
    positions = {}
    for ticker, size, row in sized:
        entry = row.get("entryPrice")
        share = margin * notional[ticker] / total_notional if total_notional else Decimal(0)
        positions[ticker] = PositionView(
            pair=ticker, size=size,
            entry_price=decimal(entry, "entryPrice") if entry not in (None, "") else None,
            mark_price=oracle.get(ticker),
            unrealized_pnl=decimal(row.get("unrealizedPnl") or "0", "unrealizedPnl"),
            margin_used=share, leverage=None, leverage_type="cross", liquidation_price=None,
        )
    return AccountSnapshot(time_ms=now_ms, account_value=equity, withdrawable=free,
                           total_margin_used=margin, total_notional=total_notional,
                           positions=positions, raw=dict(body))


def parse_funding(row: Any) -> FundingReport:
    """One ``/v4/fundingPayments`` row; raises :class:`UnexpectedReply`."""
    try:
        size = decimal(row["size"], "funding size")
        if row.get("side") == "SHORT" and size > 0:
            size = -size
        return FundingReport(pair=str(row["ticker"]), time_ms=iso_ms(row["createdAt"]),
                             usdc=decimal(row["payment"], "payment"), size=size,
                             rate=decimal(row["rate"], "rate"))
    except (KeyError, TypeError) as exc:
        raise UnexpectedReply(f"funding payment row without {exc}", repr(row)) from None


def parse_transfer(row: Any, address: str, subaccount: int) -> LedgerReport | None:
    """One ``/v4/transfers`` row as a collateral change of this subaccount (None: not ours)."""
    try:
        kind, size = str(row["type"]), decimal(row["size"], "transfer size")
        recipient = row.get("recipient") or {}
        inbound = kind in _IN or (recipient.get("address") == address and recipient.get(
            "subaccountNumber") == subaccount and kind not in _OUT)
        if row.get("symbol", "USDC") != "USDC":
            return None
        return LedgerReport(kind=kind.lower(), time_ms=iso_ms(row["createdAt"]),
                            usdc=size if inbound else -size, key=f"transfer:{row['id']}",
                            raw=dict(row))
    except (KeyError, TypeError, AttributeError) as exc:
        raise UnexpectedReply(f"transfer row without {exc}", repr(row)) from None


class DydxAccountMixin:
    """:class:`connectors.account.AccountReader` of ``DydxConnector`` (uses its REST client)."""

    rest: IndexerRest
    markets: Markets
    address: str
    subaccount: int

    async def refresh_markets(self) -> None:  # provided by the connector
        raise NotImplementedError

    async def account_snapshot(self) -> AccountSnapshot:
        """The subaccount now: equity, free collateral, positions (oracle as the mark)."""
        await self.refresh_markets()
        body, time_ms = await self._consistent_body()
        if body is None:
            # The Indexer creates a subaccount with its first transfer in: until then it holds
            # nothing (a deposit it has not indexed yet arrives later as a ledger update).
            body = {"subaccount": {"equity": "0", "freeCollateral": "0",
                                   "openPerpetualPositions": {}}}
        oracle = {m: self.markets.get(m).oracle_price for m in body.get("subaccount", {}).get(
            "openPerpetualPositions", {}) if _known(self.markets, m)}
        return parse_snapshot(body, oracle, time_ms)

    async def _consistent_body(self) -> tuple[Any, int]:
        """The subaccount body and the time it reflects: the time of its
        ``latestProcessedBlockHeight`` (read from ``/v4/height`` just before, again if a block
        was indexed in between), so the engine can tell which of its events the answer already
        holds (fills, funding and transfers are dated with their block's time)."""
        body: Any = None
        time_ms = time.time_ns() // 1_000_000
        for _ in range(_SNAPSHOT_TRIES):
            height = await self.rest.get("/v4/height")
            body = await self.rest.get(f"/v4/addresses/{self.address}/subaccountNumber/"
                                       f"{self.subaccount}")
            try:
                time_ms = iso_ms(height["time"])
                latest = (body or {}).get("subaccount", {}).get("latestProcessedBlockHeight")
                if latest is None or int(latest) <= int(height["height"]):
                    break
            except (KeyError, TypeError, ValueError, AttributeError):
                raise UnexpectedReply("/v4/height or the subaccount body is malformed",
                                      repr((height, body))[:2000]) from None
        return body, time_ms

    async def spot_snapshot(self) -> dict[str, Decimal]:
        """dYdX v4 has no spot balances: always empty."""
        return {}

    async def _rows(self, path: str, name: str, start_ms: int) -> list[Any]:
        params: dict[str, str | int] = {"address": self.address,
                                        "subaccountNumber": self.subaccount, "limit": _PAGE,
                                        "afterOrAt": _iso(max(start_ms, 0))}
        reply = await self.rest.get(path, params)
        rows = reply.get(name) if isinstance(reply, dict) else None
        if not isinstance(rows, list):
            raise UnexpectedReply(f"{path} reply has no {name!r} list", repr(reply)[:2000])
        return rows

    async def funding_since(self, start_ms: int) -> tuple[list[FundingReport], list[BadElement]]:
        """Funding payments at or after ``start_ms``, oldest first."""
        good, bad = [], []
        for row in await self._rows("/v4/fundingPayments", "fundingPayments", start_ms):
            try:
                report = parse_funding(row)
            except UnexpectedReply as exc:
                bad.append(BadElement("funding payment", str(exc), row))
                continue
            if report.time_ms >= start_ms:
                good.append(report)
        return sorted(good, key=lambda r: (r.time_ms, r.pair)), bad

    async def ledger_since(self, start_ms: int) -> tuple[list[LedgerReport], list[BadElement]]:
        """Deposits, withdrawals and transfers at or after ``start_ms``, oldest first."""
        good, bad = [], []
        for row in await self._rows("/v4/transfers", "transfers", start_ms):
            try:
                report = parse_transfer(row, self.address, self.subaccount)
            except UnexpectedReply as exc:
                bad.append(BadElement("transfer", str(exc), row))
                continue
            if report is not None and report.time_ms >= start_ms:
                good.append(report)
        return sorted(good, key=lambda r: (r.time_ms, r.key)), bad

    async def funding_stream(self) -> AsyncIterator[FundingReport]:
        """Never yields: the Indexer pushes no funding payment (see the module docstring)."""
        await asyncio.Event().wait()
        return
        yield  # an async generator that ends only when cancelled


def _known(markets: Markets, ticker: str) -> bool:
    try:
        markets.get(ticker)
    except Exception:
        return False
    return True
