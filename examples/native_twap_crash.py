"""Hyperliquid's native TWAP survives kill -9: the exchange runs the slices, the engine keeps the
parent, and a restarted engine journals what it missed, each slice fill exactly once.

Run: ``python examples/native_twap_crash.py`` (offline, ~30 s). The local exchange runs in this
process with ``twap_speedup=20`` (a 5-minute TWAP in 15 s, a slice every 1.5 s); the engine runs
in a child process (this file with ``--child``). The child starts a native TWAP buy of 0.11 ETH
over 5 minutes and is killed after 3 slice fills; the exchange keeps slicing meanwhile. The
restarted child is the same program: ``AlgoRunner.start`` reconciles the parent with
``twapHistory`` and ``userTwapSliceFills`` and follows it to its end.
"""

import asyncio
import os
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

from eth_account import Account

from connectors.hyperliquid import HyperliquidConnector
from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig
from oms.algos import AlgoRunner
from oms.demo.child import run_child
from oms.engine import EngineConfig, OrderManager

CONFIG = EngineConfig(expires_after_s=1.0, deadline_grace_s=0.3)


async def child(journal: str, exchange_url: str, nonce_file: str) -> None:
    """The engine: start the native TWAP (or reconcile it) and print its progress to the end."""
    connector = HyperliquidConnector(exchange_url, private_key=os.environ["HL_PRIVATE_KEY"],
                                     nonce_file=nonce_file)
    async with await OrderManager.open(journal, connector, config=CONFIG) as oms:
        algos = await AlgoRunner.start(oms, native_poll_s=0.1)
        if algos.parents():
            [parent_id] = algos.parents()
            state = algos.parent(parent_id)
            print(f"reconciled {parent_id[:8]}: executed {state.executed} in "
                  f"{len(state.children)} slice fills, status {state.status}", flush=True)
        else:
            parent_id = await algos.native_twap("ETH", "buy", Decimal("0.11"), minutes=5)
        while (state := algos.parent(parent_id)).status in ("working", "completing"):
            print(f"progress {state.executed} / 0.11 slice fills {len(state.children)}",
                  flush=True)
            await asyncio.sleep(0.1)
        await oms.settled()
        twap_id = algos.native.state(parent_id).twap_id
        print(f"finished {state.status}: {state.reason}; exchange TWAP id {twap_id}", flush=True)
        await algos.close()


async def main() -> None:
    work = Path(tempfile.mkdtemp())
    journal, nonces = f"sqlite+aiosqlite:///{work}/journal.db", str(work / "nonce")
    key = "0x" + bytes(Account.create().key).hex()
    config = SimulatorConfig(seed=5, tick_interval_s=0.05, twap_speedup=20)
    async with SimulatedExchange(config) as exchange:
        await exchange.step_market()
        args, env = [journal, exchange.base_url, nonces], {"HL_PRIVATE_KEY": key}
        await run_child(__file__, args, env, kill_after=3, moment="the native TWAP running")
        print("restarting the same program on the same journal")
        last = await run_child(__file__, args, env)
        account = str(Account.from_key(key).address).lower()
        sliced = exchange.engine.twaps.fills_of(account)
        filled = sum((Decimal(s["fill"]["sz"]) for s in sliced), Decimal(0))
        print(f"the exchange filled {filled} ETH in {len(sliced)} slices for this account")
        if not last.startswith("finished done") or filled != Decimal("0.11"):
            raise SystemExit(1)
        print("exact total: 0.11 of 0.11")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        asyncio.run(child(*sys.argv[2:5]))
    else:
        asyncio.run(main())
