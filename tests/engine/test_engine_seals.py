"""Sealed start-up against the local exchange: the tail only, and every way a seal can fail."""

from __future__ import annotations

import dataclasses
import sqlite3
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from engine_helpers import mid, wait_for

from connectors.hyperliquid import HyperliquidConnector
from connectors.hyperliquid.simulator import SimulatedExchange
from eventstore import (
    ArchivedRange,
    EventStore,
    SealedTailMissing,
    SealForged,
    SealMismatch,
    archive_before,
    make_seal,
    verify_history,
    write_seal,
)
from eventstore.migration import head_revision
from oms.domain.enums import OrderState, OrderType
from oms.engine import EngineConfig, OrderManager, RecoveryFailed
from oms.engine.seal_keys import Eip191SealKey, Eip191SealVerifier
from projections import orders_as_of

D = Decimal
KEY = Eip191SealKey("0x" + "5a" * 32)
SEALED = EngineConfig(expires_after_s=1.0, deadline_grace_s=0.3, poll_interval_s=0.5,
                      verify_on_start="since_seal", seal_key=KEY)
Factory = Callable[[], HyperliquidConnector]


async def _trade(url: str, make_connector: Factory, orders: int = 3,
                 config: EngineConfig = SEALED) -> list[str]:
    """Run the engine once: rest ``orders`` buys, then close (which seals)."""
    async with await OrderManager.open(url, make_connector(), config=config) as oms:
        px = (await mid(oms.connector, "ETH")) * D("0.9")
        cids = [oms.buy("ETH", D("0.01"), OrderType.LIMIT, price=px) for _ in range(orders)]
        for cid in cids:
            await wait_for(lambda c=cid: (o := oms.get_order(c)) is not None  # type: ignore[misc]
                           and o.state is OrderState.OPEN)
        await oms.flush()
    return cids


def _cause(failure: pytest.ExceptionInfo[RecoveryFailed]) -> BaseException | None:
    return failure.value.__cause__


async def test_sealed_start_checks_only_the_tail_and_keeps_the_state(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str, tmp_path: Path
) -> None:
    cids = await _trade(sqlite_url, make_connector)
    with sqlite3.connect(tmp_path / "oms.db") as raw:
        (sealed, signer) = raw.execute(
            "SELECT max(position), signer FROM seals").fetchone()
        (head,) = raw.execute("SELECT max(position) FROM events").fetchone()
    assert sealed == head and signer == KEY.address  # the close sealed the head
    # An edit *before* the seal: the live state stands on the signed snapshot, so the engine
    # opens with exactly the state it had; the scheduled full audit is what reports the edit.
    with sqlite3.connect(tmp_path / "oms.db") as raw:
        raw.execute("UPDATE events SET data = replace(data, '0.01', '0.02') WHERE position = 1")
    async with await OrderManager.open(sqlite_url, make_connector(), config=SEALED) as oms:
        report = oms.recovery_report
        assert report is not None and report.from_snapshot
        assert report.chain_verified == report.events_replayed  # the tail only
        for cid in cids:
            order = oms.get_order(cid)
            assert order is not None and order.amount == D("0.01")
    async with await EventStore.open(sqlite_url) as store:
        audit = await verify_history(store, verifier=Eip191SealVerifier(), trusted=KEY.address)
    assert not audit.ok and "position 1" in (audit.reason or "")


async def test_forged_seal_keeps_the_engine_closed(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    await _trade(sqlite_url, make_connector)
    async with await EventStore.open(sqlite_url) as store:
        head, head_hash = await store.head()
        forger = Eip191SealKey("0x" + "66" * 32)  # someone with the database but not the key
        forged = make_seal(forger, position=head, head_hash=head_hash, snapshot=b"{}",
                           schema_revision=head_revision(), sealed_at_us=time.time_ns() // 1000)
        # ... who also claims to be the trusted signer in the seal's signer field
        forged = dataclasses.replace(forged, signer=KEY.address, position=head)
        async with store.engine.begin() as conn:
            await write_seal(conn, forged)
    with pytest.raises(RecoveryFailed) as failure:
        await OrderManager.open(sqlite_url, make_connector(), config=SEALED)
    assert failure.value.step == "replay"
    assert isinstance(_cause(failure), SealForged)


async def test_snapshot_that_differs_from_its_seal_keeps_the_engine_closed(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str, tmp_path: Path
) -> None:
    await _trade(sqlite_url, make_connector)
    with sqlite3.connect(tmp_path / "oms.db") as raw:
        (data,) = raw.execute("SELECT data FROM proj_snapshots WHERE name = 'sealed'").fetchone()
        edited = bytes(data).replace(b"0.01", b"0.50")  # a bigger position, still valid JSON
        assert edited != bytes(data)
        raw.execute("UPDATE proj_snapshots SET data = ? WHERE name = 'sealed'", (edited,))
    with pytest.raises(RecoveryFailed) as failure:
        await OrderManager.open(sqlite_url, make_connector(), config=SEALED)
    assert isinstance(_cause(failure), SealMismatch)
    assert "digest" in str(failure.value)


async def test_tail_truncated_below_the_seal_keeps_the_engine_closed(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str, tmp_path: Path
) -> None:
    await _trade(sqlite_url, make_connector)
    with sqlite3.connect(tmp_path / "oms.db") as raw:
        (sealed,) = raw.execute("SELECT max(position) FROM seals").fetchone()
        raw.execute("DELETE FROM events WHERE position > ?", (sealed - 3,))
    with pytest.raises(RecoveryFailed) as failure:
        await OrderManager.open(sqlite_url, make_connector(), config=SEALED)
    cause = _cause(failure)
    assert isinstance(cause, SealedTailMissing) and cause.sealed == sealed


async def test_edit_in_the_tail_after_the_seal_fails_the_chain_check(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str, tmp_path: Path
) -> None:
    await _trade(sqlite_url, make_connector)
    unsealed_close = dataclasses.replace(SEALED, snapshot_every=0)  # a crash: no seal at close
    await _trade(sqlite_url, make_connector, orders=1, config=unsealed_close)
    with sqlite3.connect(tmp_path / "oms.db") as raw:
        (sealed,) = raw.execute("SELECT max(position) FROM seals").fetchone()
        (head,) = raw.execute("SELECT max(position) FROM events").fetchone()
        assert head > sealed
        raw.execute("UPDATE events SET data = replace(data, '0.01', '0.03') WHERE position = ?",
                    (sealed + 1,))
    with pytest.raises(RecoveryFailed) as failure:
        await OrderManager.open(sqlite_url, make_connector(), config=SEALED)
    assert failure.value.step == "verify"
    assert f"position {sealed + 1}" in str(failure.value)


async def test_start_after_an_archive_from_the_seal_and_with_the_full_chain(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str, tmp_path: Path
) -> None:
    cids = await _trade(sqlite_url, make_connector)
    unsealed_close = dataclasses.replace(SEALED, snapshot_every=0)
    cids += await _trade(sqlite_url, make_connector, orders=2, config=unsealed_close)
    folder = tmp_path / "archive"
    folder.mkdir()
    async with await EventStore.open(sqlite_url) as store:
        head, _ = await store.head()
        before = await orders_as_of(store)
        middle = await orders_as_of(store, position=head // 2)
        entry = await archive_before(store, folder, before=head + 1)
        assert entry.last_position < head  # the newest seal, before the unsealed run
        # As-of queries read the archive files when asked, and say where to read otherwise.
        assert await orders_as_of(store, archive_dir=folder) == before
        assert await orders_as_of(store, position=head // 2, archive_dir=folder) == middle
        with pytest.raises(ArchivedRange):
            await orders_as_of(store)
    for mode in ("since_seal", "chain"):
        config = dataclasses.replace(SEALED, verify_on_start=mode)  # type: ignore[arg-type]
        async with await OrderManager.open(sqlite_url, make_connector(), config=config) as oms:
            assert all(oms.get_order(c) is not None for c in cids)
            report = oms.recovery_report
            assert report is not None and report.chain_verified > 0
