"""Asking the exchange what a canceled child really filled, before the next child is sized.

A fill can still be on its way when a child's cancel is confirmed (the WebSocket push comes after
the REST reply, or the stream is down). Sizing the next child from the journal's count alone
could then send more than the parent's amount. :func:`needs_check` says which child to ask
about; :func:`exchange_filled` asks (``orderStatus`` by cloid: original size minus what was left).
"""

from __future__ import annotations

from decimal import Decimal

from connectors.base import ExchangeConnector
from oms.domain.parent import Child


def needs_check(child: Child | None, confirmed: set[str]) -> bool:
    """Whether ``child`` (the last released) ended canceled short of its amount, unconfirmed."""
    return (
        child is not None
        and child.state == "canceled"
        and child.filled < child.amount
        and child.child_id not in confirmed
    )


async def exchange_filled(connector: ExchangeConnector, child: Child) -> Decimal | None:
    """What the exchange says ``child`` filled (None: it does not know the order).

    Raises what ``order_status`` raises when the answer is unknown (ask again later).
    """
    report = await connector.order_status("0x" + child.child_id)
    if report.amount is None or report.remaining is None:
        return None
    return report.amount - report.remaining
