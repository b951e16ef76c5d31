"""How the account keeper is plugged into the engine: built from the engine's collaborators
(the live orders for its journal and fold, the report handler for fills, the connector for the
exchange's account answers), reconciled as a step of recovery (before trading), then run in the
background: pushed funding payments and a reconciliation every ``reconcile_interval_s``.

The manager only calls :func:`build_account_keeper` and :func:`start_account_tasks`; the keeper
never imports the manager.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from decimal import Decimal

from connectors.account import AccountReader
from connectors.base import ExchangeConnector, UnknownPair
from oms.domain.account_events import AccountEvent, account_stream
from oms.engine.account_reports import funding_event
from oms.engine.account_risk import pre_trade
from oms.engine.account_sync import AccountKeeper
from oms.engine.commands import CommandHandler
from oms.engine.config import EngineConfig
from oms.engine.intake import ReportHandler
from oms.engine.live_orders import LiveOrders
from oms.engine.tasks import EngineTasks

log = logging.getLogger(__name__)


def build_account_keeper(
    live: LiveOrders,
    reports: ReportHandler,
    commands: CommandHandler,
    connector: ExchangeConnector,
    config: EngineConfig,
) -> AccountKeeper | None:
    """The keeper of the connector's account, wired in (None: the connector cannot read it)."""
    if not isinstance(connector, AccountReader):
        return None
    stream = account_stream(connector.venue, connector.account)
    keeper: AccountKeeper | None = None

    def submit(events: Sequence[AccountEvent]) -> None:
        def durable() -> None:
            if keeper is not None:
                for event in events:
                    keeper.on_durable(event)

        live.emit_account(stream, events, durable)

    def known(pair: str) -> bool:
        try:
            connector.trading_rule(pair)
        except (UnknownPair, KeyError):
            return False
        return True

    keeper = AccountKeeper(
        submit=submit,
        flush=live.flush,
        account=lambda: live.projector.account,
        reader=connector,
        fills_since=connector.fills_since,
        apply_fill=reports.on_fill,
        known_pair=known,
        config=config.account,
    )
    reports.outside_fills = keeper
    limits = config.account.risk

    def account_check(notional: Decimal, reduce_only: bool) -> str | None:
        return pre_trade(limits, live.projector.account, notional, reduce_only)

    commands.account_check = account_check
    return keeper


def start_account_tasks(
    keeper: AccountKeeper, connector: AccountReader, tasks: EngineTasks
) -> None:
    """After the start-up reconciliation: pushed funding payments, and a reconciliation every
    ``reconcile_interval_s`` (both services: ``settled()`` does not wait for them)."""
    tasks.spawn(_consume_funding(keeper, connector), service=True)
    interval = keeper.config.reconcile_interval_s
    if interval:
        tasks.spawn(_reconcile_periodically(keeper, interval), service=True)


async def _reconcile_periodically(keeper: AccountKeeper, interval_s: float) -> None:
    while True:
        await asyncio.sleep(interval_s)
        try:
            report = await keeper.reconcile("periodic")
        except Exception as exc:  # the next round retries; the anomaly, if any, is journaled
            log.warning("periodic account reconciliation failed: %s", exc)
            continue
        if report.corrections:
            log.warning("account reconciliation corrected %d value(s)", len(report.corrections))


async def _consume_funding(keeper: AccountKeeper, connector: AccountReader) -> None:
    async for payment in connector.funding_stream():
        try:
            keeper.emit([funding_event(payment)])
        except Exception:
            log.exception("funding payment could not be journaled: %r", payment)
