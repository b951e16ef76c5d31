"""The durable cloid ↔ client id journal: sequential, fsynced, reloaded, and strict about damage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.dydx.client_ids import ClientIdJournal
from connectors.dydx.constants import MAX_CLIENT_ID, order_uuid
from connectors.dydx.errors import ClientIdFileCorrupt, ClientIdsExhausted

ADDR = "dydx14zzueazeh0hj67cghhf9jypslcf9sh2n5k6art"


def _cloid(n: int) -> str:
    return "0x" + f"{n:032x}"


def _alloc(ids: ClientIdJournal, n: int) -> int:
    return ids.allocate(_cloid(n), "ETH-USD", 1, 64, 0, 1_900_000_000, 100 + n).client_id


def test_ids_are_sequential_durable_and_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "ids.jsonl"
    ids = ClientIdJournal(path, ADDR, 0)
    assert [_alloc(ids, n) for n in range(5)] == [1, 2, 3, 4, 5]
    ids.ack(2, True)
    ids.ack(3, False)
    with pytest.raises(ValueError, match="already has client id 1"):
        _alloc(ids, 0)
    ids.close()
    again = ClientIdJournal(path, ADDR, 0)
    record = again.by_cloid(_cloid(1))
    assert record is not None and record.client_id == 2 and record.dead_after_height == 101
    assert record.order_id == order_uuid(ADDR, 0, 2, 1, 64)
    assert again.by_order_id(record.order_id) is record and again.by_client_id(2) is record
    assert (again.accepted(2), again.accepted(3), again.accepted(4)) == (True, False, None)
    assert _alloc(again, 9) == 6, "never reuses an id"


def test_a_torn_last_line_is_dropped_and_the_rest_kept(tmp_path: Path) -> None:
    path = tmp_path / "ids.jsonl"
    ids = ClientIdJournal(path, ADDR, 0)
    _alloc(ids, 1)
    ids.close()
    with path.open("a") as f:
        f.write('{"cloid":"0x00000000000000000000000000000002","client_id":2,"tick')
    again = ClientIdJournal(path, ADDR, 0)
    assert len(again) == 1 and again.by_cloid(_cloid(2)) is None
    assert _alloc(again, 2) == 2
    again.close()
    assert all(json.loads(line) for line in path.read_text().splitlines())


def test_damage_and_a_foreign_file_are_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "ids.jsonl"
    ids = ClientIdJournal(path, ADDR, 0)
    _alloc(ids, 1)
    _alloc(ids, 2)
    ids.close()
    with pytest.raises(ClientIdFileCorrupt, match="belongs to"):
        ClientIdJournal(path, ADDR, 1)
    lines = path.read_text().splitlines()
    lines[1] = lines[1].replace('"client_id":1', '"client_id":"one"')[:-5]
    damaged = "\n".join(lines) + "\n"
    path.write_text(damaged)
    with pytest.raises(ClientIdFileCorrupt, match="line 2"):
        ClientIdJournal(path, ADDR, 0)
    assert path.read_text() == damaged
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(ClientIdFileCorrupt, match="no header"):
        ClientIdJournal(empty, ADDR, 0)


def test_the_32_bit_space_ends_with_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "ids.jsonl"
    header = {"address": ADDR, "subaccount": 0, "version": 1}
    last = {"cloid": _cloid(1), "client_id": MAX_CLIENT_ID, "ticker": "ETH-USD",
            "clob_pair_id": 1, "flags": 64, "good_til_block": 0,
            "good_til_block_time": 1, "dead_after_height": 1}
    path.write_text(json.dumps(header) + "\n" + json.dumps(last) + "\n")
    ids = ClientIdJournal(path, ADDR, 0)
    with pytest.raises(ClientIdsExhausted):
        _alloc(ids, 2)
