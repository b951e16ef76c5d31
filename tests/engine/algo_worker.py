"""The engine process of the algorithm crash tests (run as a subprocess, killed with SIGKILL).

``algo_worker.py JOURNAL EXCHANGE_URL NONCE_FILE AMOUNT SLICES DURATION_S``: opens the engine (which
recovers), starts the algorithm runner (which resumes every unfinished parent), starts one TWAP if
the journal has none, then prints ``progress <executed> <children> <status>`` lines until the parent
finishes (``finished <status> <executed>``). The private key comes from ``HL_PRIVATE_KEY``.
"""

from __future__ import annotations

import asyncio
import os
import sys
from decimal import Decimal

from algo_progress import report_until_finished

from connectors.hyperliquid import HyperliquidConnector
from oms.algos import AlgoRunner
from oms.engine import EngineConfig, OrderManager

CONFIG = EngineConfig(expires_after_s=1.0, deadline_grace_s=0.3, poll_interval_s=0.5)


async def main(journal: str, url: str, nonces: str, amount: str, slices: str, dur: str) -> None:
    """Run (or resume) one TWAP buy of ETH and report its progress."""
    connector = HyperliquidConnector(url, private_key=os.environ["HL_PRIVATE_KEY"],
                                     nonce_file=nonces)  # fmt: skip
    async with await OrderManager.open(journal, connector, config=CONFIG) as oms:
        algos = await AlgoRunner.start(oms, tick_s=0.05, min_interval_s=0.1)
        parents = algos.parents()
        if parents:
            parent_id = next(iter(parents))
        else:
            mids = await connector.rest.info({"type": "allMids"})
            price = connector.trading_rule("ETH").quantize_price(Decimal(mids["ETH"]) * 2)
            parent_id = algos.twap("ETH", "buy", Decimal(amount), price,
                                   duration_s=float(dur), slices=int(slices))  # fmt: skip
        await report_until_finished(oms, algos, parent_id)
        await algos.close()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:7]))
