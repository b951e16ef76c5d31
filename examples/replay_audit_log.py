"""Audit a journal: verify the hash chain, replay it, look back in time, catch a tampered copy.

Run: ``python examples/replay_audit_log.py [DATABASE_URL]``. Without a URL it first writes a small
journal by trading on the local exchange (offline); with one (e.g. the file of ``oms demo --url``)
it audits that journal and never writes to it.
"""

import asyncio
import shutil
import sqlite3
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from eth_account import Account

from connectors.hyperliquid import HyperliquidConnector
from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig
from eventstore import EventStore
from oms.domain import decode, order_stream
from oms.domain.enums import OrderType
from oms.engine import OrderManager
from projections import Projector, order_as_of, orders_as_of, replay


async def write_sample_journal(url: str) -> None:
    """Trade a few orders so there is something to audit."""
    async with SimulatedExchange(SimulatorConfig(seed=2, market_maker=False)) as exchange:
        await exchange.step_market()
        key = "0x" + bytes(Account.create().key).hex()
        connector = HyperliquidConnector(exchange.base_url, private_key=key)
        async with await OrderManager.open(url, connector) as oms:
            for i in range(6):
                price = Decimal(3000) + Decimal(60 if i % 3 == 0 else -40)  # some cross, some rest
                oms.buy("ETH", Decimal("0.03"), OrderType.LIMIT, price=price)
            await oms.flush()
            await asyncio.sleep(0.3)
            await exchange.step_market()
            await oms.cancel_all()
            await oms.flush()
            await asyncio.sleep(0.3)


async def audit(url: str) -> None:
    async with await EventStore.open(url, create=False, read_only=True) as store:
        report = await store.verify()
        print(f"hash chain: {'OK' if report.ok else 'BROKEN'} over {report.checked} events; "
              f"anchor to keep elsewhere: {report.head_position}:{report.head_hash}")

        began = time.perf_counter()
        projector = Projector(completed_capacity=2**62)  # every order, however old
        count = await replay(store, projector)
        print(f"replayed {count} events from position 1 in {time.perf_counter() - began:.4f} s: "
              f"{len(projector.tracker)} orders, positions "
              f"{ {p.pair: str(p.net_size) for p in projector.positions} }")

        first = projector.tracker.records()[0].client_order_id
        print(f"history of order {first}:")
        async for recorded in store.read_stream(order_stream(first)):
            event = decode(recorded.type, recorded.data, recorded.event_version)
            print(f"  @{recorded.position:<4} {recorded.recorded_at:%H:%M:%S.%f} {event.TYPE}")

        middle = report.head_position // 2
        then = await orders_as_of(store, position=middle)
        states = sorted(o.state.value for o in then.values())
        print(f"as of position {middle}: {len(then)} orders, states {states}")
        was = await order_as_of(store, first, position=middle)
        print(f"order {first} at position {middle}: {was.state.value if was else 'not yet'}")


def tamper_copy(path: Path) -> Path:
    """Copy the journal and change one byte of one event's payload, as an attacker would."""
    copy = path.with_name("tampered.db")
    src, dst = sqlite3.connect(path), sqlite3.connect(copy)
    src.backup(dst)
    src.close()
    position, data = dst.execute("SELECT position, data FROM events WHERE type = 'OrderFilled'"
                                 " ORDER BY position LIMIT 1").fetchone()
    dst.execute("UPDATE events SET data = ? WHERE position = ?",
                (bytes(data).replace(b"0.03", b"0.04", 1), position))
    dst.commit()
    dst.close()
    return copy


async def main() -> None:
    if len(sys.argv) > 1:
        await audit(sys.argv[1])
        return
    work = Path(tempfile.mkdtemp())
    url = f"sqlite+aiosqlite:///{work}/journal.db"
    await write_sample_journal(url)
    await audit(url)
    tampered = tamper_copy(work / "journal.db")
    async with await EventStore.open(f"sqlite+aiosqlite:///{tampered}", read_only=True) as store:
        report = await store.verify()
    print(f"tampered copy: ok={report.ok}, first bad position {report.first_bad_position} "
          f"({report.reason})")
    shutil.rmtree(work)
    if report.ok:
        raise SystemExit("the tampered copy verified: that must never happen")


if __name__ == "__main__":
    asyncio.run(main())
