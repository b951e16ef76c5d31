"""Which account a signing key trades for: refuse an API-wallet key used without its account.

An agent (API wallet) signs for its master, but has no account of its own, so a connector that
queried the agent's address would see an empty account — no orders, no fills, no positions —
and reconcile against nothing. ``userRole`` (reference §13.8) tells: ``{"role": "agent",
"data": {"user": "0x<master>"}}``.

Example::

    await check_signer_role(rest, signer_address)   # raises AgentKeyWithoutAccount for an agent
"""

from __future__ import annotations

import logging
from typing import Any

from connectors.base import ExchangeUnavailable
from connectors.hyperliquid.errors import AgentKeyWithoutAccount
from connectors.hyperliquid.rest import HyperliquidRest

log = logging.getLogger(__name__)


def agent_master(user_role: Any) -> str | None:
    """The master's address when a ``userRole`` reply says "agent", else None."""
    if isinstance(user_role, dict) and user_role.get("role") == "agent":
        data = user_role.get("data")
        master = data.get("user") if isinstance(data, dict) else None
        return str(master).lower() if master else "unknown"
    return None


async def check_signer_role(rest: HyperliquidRest, signer: str) -> None:
    """Raise :class:`AgentKeyWithoutAccount` when ``signer`` is an API wallet.

    An exchange that cannot answer ``userRole`` (a partial stand-in) is not a reason to refuse
    to start: the check is skipped with a warning.
    """
    try:
        role = await rest.info({"type": "userRole", "user": signer})
    except ExchangeUnavailable as exc:
        log.warning("userRole unavailable (%s): cannot tell whether the key is an API wallet", exc)
        return
    master = agent_master(role)
    if master is not None:
        raise AgentKeyWithoutAccount(
            f"the private key is an API wallet (agent) of {master}: pass its account "
            f"(account_address={master}; CLI: --account {master} or HL_ACCOUNT_ADDRESS), since "
            "the agent's own address has no orders, fills or positions")
