"""How the account keeper is plugged into the engine: built from the engine's parts, run as a
step of recovery (before trading), then periodically and on pushed funding payments.

Kept apart from the manager so the manager only names the hooks (``account_keeper(...)``,
``start_account(...)``) and the keeper never imports the manager.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from connectors.account import AccountReader
from connectors.base import UnknownPair
from oms.domain.account_events import account_stream
from oms.engine.account_reports import funding_event
from oms.engine.account_sync import AccountKeeper

if TYPE_CHECKING:
    from oms.engine.manager import OrderManager

log = logging.getLogger(__name__)


def account_keeper(manager: OrderManager) -> AccountKeeper | None:
    """The keeper of ``manager``'s account, or None when its connector cannot read accounts."""
    connector = manager.connector
    if not isinstance(connector, AccountReader):
        return None
    stream = account_stream(connector.venue, connector.account)

    def known(pair: str) -> bool:
        try:
            connector.trading_rule(pair)
        except (UnknownPair, KeyError):
            return False
        return True

    return AccountKeeper(
        submit=lambda events: manager.journal_account(stream, events),
        flush=manager.flush,
        account=lambda: manager.projector.account,
        reader=connector,
        fills_since=manager.connector.fills_since,
        apply_fill=manager.on_fill,
        known_pair=known,
        config=manager.config.account,
    )


def start_account(manager: OrderManager, keeper: AccountKeeper) -> None:
    """After the start-up reconciliation (a step of recovery): the background tasks — pushed
    funding payments, and a reconciliation every ``reconcile_interval_s``."""
    manager.spawn(_consume_funding(keeper, manager), service=True)
    interval = keeper.config.reconcile_interval_s
    if interval:
        manager.spawn(_reconcile_periodically(keeper, interval), service=True)


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


async def _consume_funding(keeper: AccountKeeper, manager: OrderManager) -> None:
    reader = manager.connector
    assert isinstance(reader, AccountReader)
    async for payment in reader.funding_stream():
        try:
            keeper.emit([funding_event(payment)])
        except Exception:
            log.exception("funding payment could not be journaled: %r", payment)
