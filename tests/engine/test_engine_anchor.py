"""The engine keeps the journal's anchor and refuses a journal that lost events (issue 13 item 2).

A lost tail (a deleted ``-wal``, an old backup put back) still verifies as a hash chain; only the
anchor outside the database shows that events are missing.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from engine_helpers import mid, wait_for

from connectors.hyperliquid import HyperliquidConnector
from connectors.hyperliquid.simulator import SimulatedExchange
from eventstore import read_anchor
from oms.domain.enums import OrderType
from oms.engine import EngineConfig, OrderManager, RecoveryFailed

D = Decimal
Factory = Callable[[], HyperliquidConnector]
CONFIG = EngineConfig(expires_after_s=1.0, deadline_grace_s=0.3, anchor_every_s=0.1)


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)


def _put_back(backup: Path, journal: Path) -> None:
    for suffix in ("-wal", "-shm"):
        _remove(Path(f"{journal}{suffix}"))
    shutil.copy(backup, journal)


async def _trade(url: str, make_connector: Factory, orders: int) -> int:
    async with await OrderManager.open(url, make_connector(), config=CONFIG) as oms:
        px = (await mid(oms.connector, "ETH")) * D("0.9")
        for _ in range(orders):
            oms.buy("ETH", D("0.05"), OrderType.LIMIT, price=px)
        await oms.flush()
        head, _ = await oms.store.head()
        anchor_file = Path(str(oms.store.engine.url.database) + ".anchor")
        # while running, the anchor follows the head within anchor_every_s
        await wait_for(lambda: (a := read_anchor(anchor_file)) is not None and a.position >= head)
        await oms.cancel_all()
        await oms.flush()
    return head


async def test_a_lost_tail_keeps_the_engine_closed_and_the_anchor_untouched(
    sim: SimulatedExchange, make_connector: Factory, tmp_path: Path
) -> None:
    journal = tmp_path / "oms.db"
    url = f"sqlite+aiosqlite:///{journal}"
    await _trade(url, make_connector, 2)
    shutil.copy(journal, tmp_path / "backup.db")  # a clean close left no -wal: a full copy
    await _trade(url, make_connector, 3)
    anchored = read_anchor(Path(f"{journal}.anchor"))
    assert anchored is not None
    _put_back(tmp_path / "backup.db", journal)  # the newer events are gone
    with pytest.raises(RecoveryFailed) as info:
        await OrderManager.open(url, make_connector(), config=CONFIG)
    message = str(info.value)
    assert "events lost" in message and f"position {anchored.position}" in message
    assert info.value.step == "anchor"  # checked before anything is written, even the lease
    assert read_anchor(Path(f"{journal}.anchor")) == anchored  # the evidence is kept
    # deleting the anchor (a restore on purpose) lets the engine start again
    _remove(Path(f"{journal}.anchor"))
    await _trade(url, make_connector, 1)


async def test_anchor_can_be_turned_off_or_put_elsewhere(
    sim: SimulatedExchange, make_connector: Factory, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"
    off = EngineConfig(anchor_path=None)
    async with await OrderManager.open(url, make_connector(), config=off):
        pass
    assert read_anchor(Path(f"{tmp_path / 'a.db'}.anchor")) is None
    elsewhere = tmp_path / "safe" / "journal.anchor"
    elsewhere.parent.mkdir()
    async with await OrderManager.open(
        url, make_connector(), config=EngineConfig(anchor_path=str(elsewhere))
    ) as oms:
        head = await oms.store.head()
    anchor = read_anchor(elsewhere)
    assert anchor is not None and (anchor.position, anchor.hash) == head
