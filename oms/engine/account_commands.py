"""Leverage and isolated margin: account commands, journaled before they leave, outcomes kept.

``set_leverage`` and ``update_isolated_margin`` append an ``AccountCommandRequested`` (durable)
to the account's stream, send the action with an ``expiresAfter`` deadline, and append the outcome:
confirmed, rejected with the exchange's reason, or unknown. An unknown leverage change is resolved
after its deadline by reading the exchange's leverage (``activeAssetData``): the action cannot
apply after the deadline, so what the exchange holds then says whether it did. An unknown
isolated-margin change cannot be told apart from other margin moves and stays unknown (reported,
never guessed).

At start-up :meth:`AccountCommands.recover` folds the stream, resolves what was left pending or
unknown, and reads the exchange's leverage of every pair the journal knows; a difference (a change
made elsewhere) is journaled as ``LeverageObserved``, so after a restart the journal's leverage per
pair equals the exchange's.

Example::

    result = await oms.set_leverage("ETH", 5, "isolated")
    result.outcome            # Outcome.CONFIRMED
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Literal
from uuid import uuid4

from connectors.base import ActionResult, ExchangeConnector, Outcome
from eventstore import EventStore, NewEvent, read_stream_history
from oms.domain.leverage import (
    ISOLATED_MARGIN,
    SET_LEVERAGE,
    AccountCommandConfirmed,
    AccountCommandRejected,
    AccountCommandRequested,
    AccountCommandUnknown,
    LeverageEvent,
    LeverageObserved,
    LeverageState,
    decode_leverage_event,
    encode_leverage_event,
    leverage_stream,
)
from oms.engine.config import EngineConfig
from oms.engine.order_kind_rules import check_leverage

MarginMode = Literal["cross", "isolated"]


@dataclass(frozen=True, slots=True)
class AccountCommandResult:
    """The outcome of one account command (``reason``: the exchange's text, or why unknown)."""

    request_id: str
    outcome: Outcome
    reason: str | None = None


class AccountCommands:
    """Journals and sends leverage and isolated-margin changes; keeps the leverage per pair."""

    def __init__(
        self,
        store: EventStore,
        connector: ExchangeConnector,
        config: EngineConfig,
        ensure_trading: Callable[[], None],
    ) -> None:
        self._store = store
        self._connector = connector
        self._config = config
        self._ensure = ensure_trading
        self._stream = leverage_stream(connector.venue, connector.account)
        self._state = LeverageState()
        self._lock = asyncio.Lock()  # one command at a time: outcomes land in request order

    @property
    def leverage(self) -> Mapping[str, tuple[int, bool]]:
        """``pair -> (leverage, is_cross)`` as the journal says the exchange holds it."""
        return dict(self._state.leverage)

    @property
    def unresolved(self) -> list[str]:
        """Request ids whose outcome is not known (pending or unknown)."""
        return sorted(self._state.pending)

    async def set_leverage(
        self, pair: str, leverage: int, margin: MarginMode = "cross"
    ) -> AccountCommandResult:
        """Set the leverage of ``pair`` (and cross or isolated margin) for later orders.

        Raises ``LeverageOutOfRange`` / ``ValueError`` before journaling on bad input.
        """
        self._ensure()
        if margin not in ("cross", "isolated"):
            raise ValueError(f"margin must be 'cross' or 'isolated', got {margin!r}")
        check_leverage(self._connector.trading_rule(pair), leverage)
        cross = margin == "cross"
        async with self._lock:
            request = await self._request(pair, SET_LEVERAGE, leverage, cross, None)
            result = await self._connector.update_leverage(
                pair, leverage, cross, request.expires_after_ms
            )
            return await self._settle(request, result)

    async def update_isolated_margin(self, pair: str, amount: Decimal) -> AccountCommandResult:
        """Add (``amount`` > 0) or remove (< 0) USDC margin of an isolated position.

        Raises ``ValueError`` before journaling when the journal says ``pair`` is on cross margin
        (the exchange would refuse: "Position does not use isolated margin.").
        """
        self._ensure()
        if not isinstance(amount, Decimal) or amount == 0:
            raise ValueError("amount must be a non-zero decimal.Decimal (USDC; negative removes)")
        setting = self._state.leverage.get(pair)
        if setting is not None and setting[1]:
            raise ValueError(
                f"{pair} uses cross margin: isolated margin cannot be added or removed; switch"
                " with set_leverage(pair, n, 'isolated') while flat first"
            )
        async with self._lock:
            request = await self._request(pair, ISOLATED_MARGIN, None, None, amount)
            result = await self._connector.update_isolated_margin(
                pair, amount, request.expires_after_ms
            )
            return await self._settle(request, result)

    async def recover(self) -> None:
        """Fold the journal, resolve pending/unknown leverage changes, adopt exchange truth."""
        self._state = LeverageState()
        folder = self._config.archive_dir
        # Across the archive files when the stream's first events were archived (else
        # ArchivedRange: recovery fails closed rather than forget a leverage setting).
        async for recorded in read_stream_history(
            self._store, self._stream, Path(folder) if folder else None
        ):
            self._state.apply(
                decode_leverage_event(recorded.type, recorded.data, recorded.event_version)
            )
        for request in list(self._state.pending.values()):
            await self._resolve(request)
        for pair, known in sorted(self._state.leverage.items()):
            truth = await self._connector.leverage(pair)
            if truth != known:
                await self._append(LeverageObserved(pair, truth[0], truth[1], time.time_ns()))

    # ------------------------------------------------------------------ internals

    async def _request(
        self, pair: str, command: str, leverage: int | None, cross: bool | None,
        amount: Decimal | None,
    ) -> AccountCommandRequested:
        now_ns = time.time_ns()
        deadline = now_ns // 1_000_000 + int(self._config.expires_after_s * 1000)
        request = AccountCommandRequested(
            uuid4().hex, pair, command, leverage, cross, amount, deadline, now_ns
        )
        await self._append(request)  # durable before anything leaves
        return request

    async def _settle(
        self, request: AccountCommandRequested, result: ActionResult
    ) -> AccountCommandResult:
        now_ns = time.time_ns()
        rid = request.request_id
        if result.outcome is Outcome.CONFIRMED:
            await self._append(AccountCommandConfirmed(rid, now_ns))
        elif result.outcome is Outcome.REJECTED:
            reason = result.reason or "rejected by the exchange"
            await self._append(AccountCommandRejected(rid, reason, now_ns))
        else:
            reason = result.reason or "no usable reply"
            await self._append(AccountCommandUnknown(rid, reason, now_ns))
            if request.command == SET_LEVERAGE:
                return await self._resolve(request)
        return AccountCommandResult(rid, result.outcome, result.reason)

    async def _resolve(self, request: AccountCommandRequested) -> AccountCommandResult:
        """After the deadline, the exchange's leverage says whether a leverage change applied."""
        rid = request.request_id
        if request.command != SET_LEVERAGE:
            why = "an isolated margin change cannot be verified after the fact: check the position"
            if rid not in self._state.unknown:
                await self._append(AccountCommandUnknown(rid, why, time.time_ns()))
            return AccountCommandResult(rid, Outcome.UNKNOWN, why)
        wait_ms = request.expires_after_ms + int(self._config.deadline_grace_s * 1000)
        delay = wait_ms / 1000 - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        truth = await self._connector.leverage(request.pair)
        if truth == (request.leverage, request.cross):
            await self._append(AccountCommandConfirmed(rid, time.time_ns()))
            return AccountCommandResult(rid, Outcome.CONFIRMED, "found applied on the exchange")
        reason = f"not applied: after its deadline the exchange holds {truth[0]}x" + (
            " cross" if truth[1] else " isolated"
        )
        await self._append(AccountCommandRejected(rid, reason, time.time_ns()))
        return AccountCommandResult(rid, Outcome.REJECTED, reason)

    async def _append(self, event: LeverageEvent) -> None:
        type_, data, version = encode_leverage_event(event)
        await self._store.append(self._stream, [NewEvent(type_, data, version=version)])
        self._state.apply(event)
