"""The engine process of the native TWAP crash tests (run as a subprocess, killed with SIGKILL).

``native_twap_worker.py JOURNAL EXCHANGE_URL NONCE_FILE AMOUNT MINUTES [kill-before-send]``: opens
the engine (which recovers), starts the algorithm runner (which reconciles every unfinished native
TWAP with the exchange), starts one native TWAP buy of ETH if the journal has none, then prints
``progress <executed> <slice fills> <status>`` lines until it ends (``finished <status>
<executed>``). ``kill-before-send``: SIGKILL itself right after the parent is journaled, before
the ``twapOrder`` leaves. The private key comes from ``HL_PRIVATE_KEY``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from decimal import Decimal

from algo_progress import report_until_finished

from connectors.hyperliquid import HyperliquidConnector
from oms.algos import AlgoRunner
from oms.engine import EngineConfig, OrderManager

CONFIG = EngineConfig(expires_after_s=1.0, deadline_grace_s=0.3, poll_interval_s=0.5)


async def main(journal: str, url: str, nonces: str, amount: str, minutes: str,
               mode: str = "") -> None:  # fmt: skip
    """Run (or resume) one native TWAP and report its progress."""
    connector = HyperliquidConnector(url, private_key=os.environ["HL_PRIVATE_KEY"],
                                     nonce_file=nonces, request_timeout_s=2.0)  # fmt: skip
    async with await OrderManager.open(journal, connector, config=CONFIG) as oms:
        algos = await AlgoRunner.start(oms, native_poll_s=0.1)
        parents = algos.parents()
        if parents:
            parent_id = next(iter(parents))
        else:
            parent_id = await algos.native_twap("ETH", "buy", Decimal(amount),
                                                minutes=int(minutes))  # fmt: skip
            if mode == "kill-before-send":  # the send task exists but has not run yet
                os.kill(os.getpid(), signal.SIGKILL)
        await report_until_finished(oms, algos, parent_id)
        await algos.close()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:7]))
