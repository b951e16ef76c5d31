"""``oms recover --venue dydx``: the engine's recovery against a dYdX network from the CLI.

A real engine trades on the local dYdX exchange (in this process), stops; the order is canceled on
the exchange meanwhile; ``oms recover --venue dydx`` (a real subprocess) reconciles the journal:
the correction is journaled. The mnemonic comes from ``$DYDX_MNEMONIC`` or an encrypted keystore
and is never printed; bad options are usage errors that say what to pass.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from decimal import Decimal
from pathlib import Path

from cli_helpers import ROOT, oms, one_error_line
from eth_account import Account

from connectors.dydx import DydxConnector
from connectors.dydx.signing import DydxKey
from connectors.dydx.simulator import DydxSimConfig, DydxSimulator
from eventstore import EventStore
from oms.domain.enums import OrderState, OrderType
from oms.engine import EngineConfig, OrderManager

WORDS = "legal winner thank year wave sausage worth useful legal winner thank yellow"
FAST = EngineConfig(expires_after_s=1.0, deadline_grace_s=0.3, poll_interval_s=0.5)


async def _oms(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    """``python -m oms.cli`` without blocking the loop the local exchange's Indexer runs on."""
    full_env = {k: v for k, v in os.environ.items() if k != "OMS_DATABASE_URL"}
    full_env.update(env)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "oms.cli", *args, cwd=ROOT, env=full_env,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def _connector(sim: DydxSimulator, ids: Path) -> DydxConnector:
    return DydxConnector(sim.node_url, sim.rest_url, sim.ws_url, mnemonic=WORDS,
                         chain_id=sim.config.chain_id, client_id_file=ids, block_time_s=0.1)


async def _wait(predicate, limit_s: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(limit_s / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_recover_on_dydx_reconciles_and_keeps_the_mnemonic_secret(
    tmp_path: Path, sqlite_url: str
) -> None:
    ids = tmp_path / "ids.jsonl"
    async with DydxSimulator(DydxSimConfig(seed=4, block_interval_s=0.1)) as sim:
        async with await OrderManager.open(sqlite_url, _connector(sim, ids), config=FAST) as m:
            cid = m.buy("ETH-USD", Decimal("0.02"), OrderType.LIMIT, price=Decimal("2000"))
            await _wait(lambda: m.get_order(cid).state is OrderState.OPEN)  # type: ignore[union-attr]
        other = _connector(sim, ids)  # someone cancels it while the engine is down
        await other.start()
        try:
            assert (await other.cancel_by_cloid("ETH-USD", cid.cloid, None)).reason is None
        finally:
            await other.close()
        record = other.ids.by_cloid(cid.cloid)
        assert record is not None
        await _wait(lambda: sim.truth_orders(other.address)[record.client_id]["status"]
                    == "CANCELED")
        args = ("recover", "--venue", "dydx", "--exchange", sim.rest_url, "--node",
                sim.node_url, "--client-ids", str(ids), "--url", sqlite_url)
        code, out, err = await _oms(*args, env={"DYDX_MNEMONIC": WORDS})
        assert code == 0, out + err
        assert other.address in out and "corrections" in out
        assert not any(word in (out + err).split() for word in ("legal", "sausage", "yellow"))
        # The keystore path: the same key, encrypted; a second recovery finds nothing to fix.
        keystore = tmp_path / "dydx-key.json"
        secret = DydxKey.from_mnemonic(WORDS).secret_bytes()
        keystore.write_text(json.dumps(Account.encrypt(secret, "pw", iterations=2)))
        code, out2, err2 = await _oms(*args, "--keystore", str(keystore),
                                      env={"DYDX_MNEMONIC": "", "OMS_KEYSTORE_PASSWORD": "pw"})
        assert code == 0, out2 + err2
        assert other.address in out2
    store = await EventStore.open(sqlite_url)
    try:
        types = [e.type async for e in store.read_stream(f"order-{cid}")]
    finally:
        await store.close()
    assert types[-1] == "OrderCanceled", types


def test_recover_on_dydx_bad_options_are_usage_errors(tmp_path: Path, sqlite_url: str) -> None:
    base = ("recover", "--venue", "dydx", "--exchange", "http://127.0.0.1:9", "--url",
            sqlite_url)
    no_node = oms(*base, env={"DYDX_MNEMONIC": WORDS})
    assert no_node.returncode == 2 and "--node HOST:PORT" in one_error_line(no_node)
    no_ids = oms(*base, "--node", "127.0.0.1:9", "--client-ids", str(tmp_path / "none.jsonl"),
                 env={"DYDX_MNEMONIC": WORDS})
    assert no_ids.returncode == 2 and "no such file" in one_error_line(no_ids)
    ids = tmp_path / "ids.jsonl"
    ids.write_text("")
    words = "legal winner thank year wave sausage worth useful legal winner thank thank"
    bad = oms(*base, "--node", "127.0.0.1:9", "--client-ids", str(ids),
              env={"DYDX_MNEMONIC": words})
    line = one_error_line(bad)
    assert bad.returncode == 2 and "DYDX_MNEMONIC" in line and "12 words" in line
    assert "sausage" not in bad.stdout + bad.stderr
    none = oms(*base, "--node", "127.0.0.1:9", "--client-ids", str(ids),
               env={"DYDX_MNEMONIC": ""})
    assert none.returncode == 2 and "set DYDX_MNEMONIC" in one_error_line(none)
    venue = oms(*base[:2], "kraken", *base[3:])
    assert venue.returncode == 2 and "expected hyperliquid or dydx" in one_error_line(venue)
