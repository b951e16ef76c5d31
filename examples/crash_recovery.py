"""Kill the engine with SIGKILL mid-trading, rebuild it from the journal, compare with the exchange.

Run: ``python examples/crash_recovery.py`` (offline, ~5 s). The exchange runs in this process; the
engine runs in a child process (this same file with ``--child``) that trades until it is killed.
Restarting is just ``OrderManager.open`` again: replay the journal, verify its hash chain, ask the
exchange about every unfinished order, fetch the fills missed while down, then trade.
With ``HL_PRIVATE_KEY`` set to an API wallet's key, ``--account 0x…`` (or ``HL_ACCOUNT_ADDRESS``)
names the account it trades; the engine processes get both.
"""

import asyncio
import os
import signal
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

from connectors.hyperliquid import HyperliquidConnector
from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig
from oms.demo import compare
from oms.demo.signer import ExampleSigner, example_signer
from oms.demo.worker import engine_view
from oms.domain.enums import OrderType
from oms.engine import EngineConfig, OrderManager

CONFIG = EngineConfig(expires_after_s=1.5, deadline_grace_s=0.5)


async def child(journal: str, exchange_url: str, nonce_file: str) -> None:
    """The engine that will be killed: quote both sides of ETH forever."""
    connector = HyperliquidConnector(exchange_url, private_key=os.environ["HL_PRIVATE_KEY"],
                                     account_address=os.environ.get("HL_ACCOUNT_ADDRESS") or None,
                                     nonce_file=nonce_file)
    oms = await OrderManager.open(journal, connector, config=CONFIG)
    for i in range(10_000):
        price = Decimal(3000) + Decimal(i % 7 - 3) * 2
        (oms.buy if i % 2 else oms.sell)("ETH", Decimal("0.02"), OrderType.LIMIT, price=price)
        print("placed", i + 1, flush=True)
        await asyncio.sleep(0.03)


async def main(signer: ExampleSigner) -> None:
    work = Path(tempfile.mkdtemp())
    journal, nonces = f"sqlite+aiosqlite:///{work}/journal.db", str(work / "nonce")
    async with SimulatedExchange(SimulatorConfig(seed=5, market_maker=False)) as exchange:
        await exchange.step_market()
        signer.register(exchange)  # offline: the account approves its API wallet, if any
        print("trading", signer.describe())
        proc = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--child", journal, exchange.base_url, nonces,
            stdout=asyncio.subprocess.PIPE, env={**os.environ, **signer.env()})
        assert proc.stdout is not None
        placed = 0
        while placed < 12:  # let it trade for a while (bounded by the child's output)
            line = await asyncio.wait_for(proc.stdout.readline(), 60)
            if not line:
                raise SystemExit("the engine process died on its own")
            placed = int(line.split()[1])
            await exchange.step_market()  # the market trades against the engine's quotes
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        print(f"SIGKILL after {placed} orders; the exchange keeps trading while we are down")
        for _ in range(5):
            await exchange.step_market()

        connector = signer.connector(exchange.base_url, nonce_file=nonces)
        async with await OrderManager.open(journal, connector, config=CONFIG) as oms:
            report = oms.recovery_report.as_dict()
            print(f"rebuilt from {report['events_replayed']} journaled events in "
                  f"{report['durations_s']['replay']:.4f} s; recovery took {report['total_s']} s")
            print(f"fills fetched: {report['fills_fetched']}, "
                  f"corrections journaled: {report['corrections']}")
            result = compare(engine_view(oms, 0.0), exchange)
            for pos in result.positions:
                print(f"{pos.pair}: engine {pos.engine} exchange {pos.exchange}")
            print(f"{len(result.orders)} orders compared, {result.differences} differences")
            if result.differences:
                raise SystemExit(1)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        asyncio.run(child(*sys.argv[2:5]))
    else:
        asyncio.run(main(example_signer(__doc__)))
