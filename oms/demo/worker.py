"""The demo's engine process: ``python -m oms.demo.worker`` (the demo kills it with SIGKILL).

It opens the real engine on the journal at ``--url`` against the exchange at ``--exchange``
(start-up is recovery: replay, verify, reconcile), writes what it believes (every order, every
position, the recovery report) to ``--dump`` and prints ``RECOVERED``. It then obeys stdin:
``trade FIRST COUNT`` runs the strategy (printing ``PLACED n`` and finally ``DONE``), ``dump``
writes the state again (printing ``DUMPED``), ``stop`` closes the engine cleanly.
The private key comes from ``HL_PRIVATE_KEY`` only; with ``--venue dydx`` (then ``--exchange``
is the Indexer's REST URL, with ``--node`` and ``--ws``) the mnemonic comes from ``DYDX_MNEMONIC``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from connectors.hyperliquid import HyperliquidConnector
from oms.demo.strategy import run_strategy
from oms.engine import EngineConfig, OrderManager

#: Short deadlines: an order lost in the crash is declared never-placed within seconds.
DEMO_ENGINE_CONFIG = EngineConfig(expires_after_s=1.5, deadline_grace_s=0.5, poll_interval_s=1.0)


def engine_view(manager: OrderManager, started_s: float) -> dict[str, Any]:
    """What the engine believes: every order, every position, the recovery report."""
    orders = {
        o.cloid: {
            "client_order_id": str(o.client_order_id),
            "account": o.account,
            "pair": o.pair,
            "side": o.side.value,
            "amount": str(o.amount),
            "price": None if o.price is None else str(o.price),
            "state": o.state.value,
            "executed": str(o.executed_base),
            "trade_ids": sorted(o.trade_ids),
        }
        for o in manager.orders.values()
    }
    positions = {pair: str(p.net_size) for pair, p in manager.positions.as_dict().items()}
    report = manager.recovery_report.as_dict() if manager.recovery_report else {}
    acct = manager.account
    perps = acct.positions.values()
    return {
        "account": manager.connector.account,
        "orders": orders,
        "positions": positions,
        "account_positions": {p.pair: str(p.size) for p in perps if p.size},
        "account_summary": {
            "cash": str(acct.cash),
            "realized_trading": str(sum((p.realized_trading for p in perps), Decimal(0))),
            "fees": str(sum((p.fees for p in perps), Decimal(0))),
            "funding": str(sum((p.funding for p in perps), Decimal(0))),
            "outside_fills": sum(p.outside_fills for p in perps),
            "corrections": acct.corrections,
        },
        "recovery": report,
        "open_seconds": started_s,
    }


def write_dump(path: Path, view: dict[str, Any]) -> None:
    """Write ``view`` atomically (the parent never reads half a file)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(view))
    tmp.replace(path)


async def _commands(manager: OrderManager, connector: Any, args: Any,
                    opened_s: float) -> None:
    loop = asyncio.get_running_loop()
    while True:
        line = (await loop.run_in_executor(None, sys.stdin.readline)).split()
        if not line or line[0] == "stop":
            return
        if line[0] == "trade":
            await run_strategy(manager, connector, args.seed, int(line[1]), int(line[2]))
            print("DONE", flush=True)
        elif line[0] == "dump":
            await manager.flush()
            write_dump(args.dump, engine_view(manager, opened_s))
            print("DUMPED", flush=True)


async def main() -> None:
    """Recover, report, then obey stdin until ``stop`` (or until killed)."""
    parser = argparse.ArgumentParser(prog="python -m oms.demo.worker")
    parser.add_argument("--url", required=True)
    parser.add_argument("--exchange", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dump", type=Path, required=True)
    parser.add_argument("--nonce-file", type=Path, required=True)
    parser.add_argument("--venue", choices=("hyperliquid", "dydx"), default="hyperliquid")
    parser.add_argument("--node", help="dYdX: the node's gRPC host:port")
    parser.add_argument("--ws", help="dYdX: the Indexer WebSocket URL")
    args = parser.parse_args()
    connector: Any
    if args.venue == "dydx":
        from connectors.dydx import DydxConnector

        connector = DydxConnector(args.node, args.exchange, args.ws,
                                  mnemonic=os.environ["DYDX_MNEMONIC"],
                                  client_id_file=args.nonce_file, block_time_s=0.1,
                                  request_timeout_s=2.0)
    else:
        connector = HyperliquidConnector(
            args.exchange, private_key=os.environ["HL_PRIVATE_KEY"],
            nonce_file=args.nonce_file, request_timeout_s=2.0,
        )
    began = time.perf_counter()
    manager = await OrderManager.open(args.url, connector, config=DEMO_ENGINE_CONFIG)
    opened_s = time.perf_counter() - began
    try:
        write_dump(args.dump, engine_view(manager, opened_s))
        print("RECOVERED", flush=True)
        await _commands(manager, connector, args, opened_s)
    finally:
        await manager.close()


if __name__ == "__main__":
    asyncio.run(main())
