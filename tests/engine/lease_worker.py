"""An engine process for the one-engine-per-journal test (run as a subprocess).

Opens the engine on ``--url`` against the local exchange, prints ``TRADING <pid>``, then places a
small resting order every 0.1 s, printing ``PLACED <cloid>``, until ``--seconds`` have passed or
the engine stops trading; then prints ``STOPPED <reason>`` (once the reason names the engine
that took over, read from the journal just after the stop) or ``DONE``, and closes. The private
key comes from ``HL_PRIVATE_KEY``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from decimal import Decimal

from connectors.hyperliquid import HyperliquidConnector
from oms.domain.enums import OrderType
from oms.engine import EngineClosed, EngineConfig, OrderManager


async def main(url: str, base_url: str, nonce_file: str, seconds: float) -> None:
    connector = HyperliquidConnector(base_url, private_key=os.environ["HL_PRIVATE_KEY"],
                                     nonce_file=nonce_file, request_timeout_s=2.0)
    config = EngineConfig(expires_after_s=2.0, deadline_grace_s=0.5, poll_interval_s=0.5)
    async with await OrderManager.open(url, connector, config=config) as oms:
        print("TRADING", os.getpid(), flush=True)
        mids = await connector.rest.info({"type": "allMids"})
        price = (Decimal(mids["ETH"]) * Decimal("0.8")).quantize(Decimal("0.1"))
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while loop.time() < end:
            try:
                cid = oms.buy("ETH", Decimal("0.01"), OrderType.LIMIT, price=price)
            except EngineClosed as closed:
                reason = closed.reason
                for _ in range(50):  # the holder's name is read from the journal just after
                    if "pid" in reason:
                        break
                    await asyncio.sleep(0.1)
                    try:
                        oms.buy("ETH", Decimal("0.01"), OrderType.LIMIT, price=price)
                    except EngineClosed as again:
                        reason = again.reason
                print("STOPPED", reason, flush=True)
                return
            print("PLACED", cid.cloid, flush=True)
            await asyncio.sleep(0.1)
        print("DONE", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--nonce-file", required=True)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    asyncio.run(main(args.url, args.base_url, args.nonce_file, args.seconds))
