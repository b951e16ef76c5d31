"""``oms recover --venue dydx``: the engine's start-up against a dYdX v4 network, then stop.

The same recovery as on Hyperliquid (replay, verify the chain, ask the Indexer about every
unfinished order by its client id, fetch missed fills, sweep unknown open orders, reconcile the
account). dYdX needs two things Hyperliquid does not: the gRPC node (for the account number and
the latest height) and the client-id journal the trading engine wrote (cloid ↔ 32-bit client id):
without it no order of ours can be found again, so it must exist.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from connectors.dydx import DydxConnector
from connectors.dydx.signing import DydxKey
from oms.cli.errors import UsageError
from oms.engine import OrderManager

MAINNET_CHAIN_ID = "dydx-mainnet-1"


def ws_url_of(indexer: str) -> str:
    """The Indexer WebSocket beside a REST base: ``http://h:p`` → ``ws://h:p/v4/ws``.

    >>> ws_url_of("https://indexer.dydx.trade/v4")
    'wss://indexer.dydx.trade/v4/ws'
    >>> ws_url_of("http://127.0.0.1:3002")
    'ws://127.0.0.1:3002/v4/ws'
    """
    base = indexer.rstrip("/").removesuffix("/v4")
    if base.startswith("https://"):
        return "wss://" + base.removeprefix("https://") + "/v4/ws"
    return "ws://" + base.removeprefix("http://") + "/v4/ws"


def check_dydx_options(node: str | None, client_ids: Path | None) -> tuple[str, Path]:
    """Both are required on dYdX: a :class:`UsageError` that says which, and why."""
    if not node:
        raise UsageError("--venue dydx needs --node HOST:PORT (the gRPC node: account number"
                         " and block height come from it)")
    if client_ids is None:
        raise UsageError("--venue dydx needs --client-ids FILE: the client-id journal the"
                         " trading engine wrote (without it no order can be found again)")
    if not client_ids.is_file():
        raise UsageError(f"--client-ids {client_ids}: no such file; pass the journal the"
                         " engine trading this subaccount wrote")
    return node, client_ids


async def recover_dydx(url: str, indexer: str, node: str, key: DydxKey, chain_id: str,
                       client_ids: Path, subaccount: int, secure: bool) -> dict[str, Any]:
    """Open the engine on ``url`` over dYdX (recovery runs), close it, return its report."""
    connector = DydxConnector(node, indexer.rstrip("/").removesuffix("/v4"), ws_url_of(indexer),
                              key=key, subaccount=subaccount, chain_id=chain_id,
                              client_id_file=client_ids, secure=secure)
    manager = await OrderManager.open(url, connector)
    try:
        assert manager.recovery_report is not None
        report = manager.recovery_report.as_dict()
        report["account"] = connector.account
        return report
    finally:
        await manager.close()
