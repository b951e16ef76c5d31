"""A TWAP survives kill -9: SIGKILL the engine mid-schedule, restart it, the TWAP carries on.

Run: ``python examples/twap_crash.py`` (offline, ~15 s). The exchange runs in this process; the
engine runs in a child process (this same file with ``--child``). The child starts a TWAP buy of
0.6 ETH in 12 slices over 10 s, printing the parent's progress, and is killed after 4 slices.
The restarted child is the same program: ``OrderManager.open`` replays and reconciles every
child order, ``AlgoRunner.start`` resumes the parent from its journaled state, and the schedule
completes with the exact total: no slice sent twice, none skipped.
With ``HL_PRIVATE_KEY`` set to an API wallet's key, ``--account 0x…`` (or ``HL_ACCOUNT_ADDRESS``)
names the account it trades; the engine processes get both.
"""

import asyncio
import os
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

from connectors.hyperliquid import HyperliquidConnector
from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig
from oms.algos import AlgoRunner
from oms.demo.child import run_child
from oms.demo.signer import ExampleSigner, example_signer
from oms.engine import EngineConfig, OrderManager

CONFIG = EngineConfig(expires_after_s=1.0, deadline_grace_s=0.3)


async def child(journal: str, exchange_url: str, nonce_file: str) -> None:
    """The engine: start the TWAP (or resume it) and print its progress until it finishes."""
    connector = HyperliquidConnector(exchange_url, private_key=os.environ["HL_PRIVATE_KEY"],
                                     account_address=os.environ.get("HL_ACCOUNT_ADDRESS") or None,
                                     nonce_file=nonce_file)
    async with await OrderManager.open(journal, connector, config=CONFIG) as oms:
        algos = await AlgoRunner.start(oms, tick_s=0.05, min_interval_s=0.1)
        if algos.parents():
            [parent_id] = algos.parents()
            state = algos.parent(parent_id)
            print(f"resumed {parent_id[:8]}: executed {state.executed} in "
                  f"{len(state.children)} children, status {state.status}", flush=True)
        else:
            mids = await connector.rest.info({"type": "allMids"})
            limit = connector.trading_rule("ETH").quantize_price(Decimal(mids["ETH"]) * 2)
            parent_id = algos.twap("ETH", "buy", Decimal("0.6"), limit, duration_s=10, slices=12)
        while (state := algos.parent(parent_id)).status in ("working", "paused", "completing"):
            print(f"progress {state.executed} / 0.6 children {len(state.children)}", flush=True)
            await asyncio.sleep(0.25)
        await oms.settled()
        print(f"finished {state.status}: {state.reason}", flush=True)
        await algos.close()


async def main(signer: ExampleSigner) -> None:
    work = Path(tempfile.mkdtemp())
    journal, nonces = f"sqlite+aiosqlite:///{work}/journal.db", str(work / "nonce")
    async with SimulatedExchange(SimulatorConfig(seed=5, tick_interval_s=0.1)) as exchange:
        await exchange.step_market()
        signer.register(exchange)  # offline: the account approves its API wallet, if any
        print("trading", signer.describe())
        args = [journal, exchange.base_url, nonces]
        await run_child(__file__, args, signer.env(), kill_after=4, moment="the TWAP mid-schedule")
        print("restarting the same program on the same journal")
        last = await run_child(__file__, args, signer.env())
        account = signer.account or signer.signer
        filled = sum(Decimal(str(o["filled_sz"])) for o in exchange.truth.orders(account).values())
        print(f"the exchange filled {filled} ETH for this account in total")
        if not last.startswith("finished done") or filled != Decimal("0.6"):
            raise SystemExit(1)
        print("exact total: 0.6 of 0.6")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        asyncio.run(child(*sys.argv[2:5]))
    else:
        asyncio.run(main(example_signer(__doc__)))
