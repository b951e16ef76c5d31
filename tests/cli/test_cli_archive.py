"""``oms audit archive | restore`` and ``verify``/``export``/``history`` across an archive, on a
real SQLite journal with real seals, through the real command line."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import orjson
from cli_helpers import oms

from eventstore import NO_STREAM, EventStore, NewEvent, make_seal, write_seal
from eventstore.migration import head_revision
from oms.engine.seal_keys import Eip191SealKey

KEY = Eip191SealKey("0x" + "77" * 32)
CID = "0123456789abcdef0123456789abcdef"


async def _journal(url: str) -> None:
    async with await EventStore.open(url) as store:
        for i in range(12):
            await store.append(f"order-{i:032x}", [NewEvent("E", {"n": n}) for n in range(2)],
                               NO_STREAM)
        await store.append(f"order-{CID}", [NewEvent("E", {"n": 0})], NO_STREAM)
        for position in (10, 20):
            head_hash = await store.hash_at(position)
            assert head_hash is not None
            seal = make_seal(KEY, position=position, head_hash=head_hash, snapshot=b"{}",
                             schema_revision=head_revision(), sealed_at_us=time.time_ns() // 1000)
            async with store.engine.begin() as conn:
                await write_seal(conn, seal)


def test_archive_verify_export_history_and_restore(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'oms.db'}"
    asyncio.run(_journal(url))
    folder = tmp_path / "archive"
    before = oms("audit", "export", "--url", url)
    assert before.returncode == 0, before.stderr
    done = oms("audit", "archive", "--url", url, "--before", "25", "--archive-dir", str(folder),
               "--seal-signer", KEY.address)
    assert done.returncode == 0, done.stderr
    assert "archived positions 1-20 (20 events)" in done.stdout
    # Without the files the live part verifies and the command says what it did not read.
    live = oms("audit", "verify", "--url", url, "--seal-signer", KEY.address)
    assert live.returncode == 0, live.stderr
    assert "5 events verified; 1 archive(s) not read" in live.stdout
    everything = oms("audit", "verify", "--url", url, "--archive-dir", str(folder),
                     "--seal-signer", KEY.address)
    assert everything.returncode == 0, everything.stderr
    summary = "5 events verified and 20 archived in 1 file(s); 2 seal(s) signed by"
    assert summary in everything.stdout
    # Another signer pinned: the seals are not trusted.
    other = oms("audit", "verify", "--url", url, "--seal-signer", "0x" + "11" * 20)
    assert other.returncode == 1 and "seal at position 10 is not valid" in other.stderr
    # A reader behind the archive point is told where to read from.
    plain = oms("audit", "export", "--url", url)
    assert plain.returncode == 1 and "read them from the archive files" in plain.stderr
    across = oms("audit", "export", "--url", url, "--archive-dir", str(folder))
    assert across.returncode == 0, across.stderr
    assert across.stdout == before.stdout
    history = oms("history", CID, "--url", url, "--json", "--archive-dir", str(folder))
    assert history.returncode == 0, history.stderr
    assert [r["position"] for r in orjson.loads(history.stdout)] == [25]
    (archive_file,) = folder.glob("*.jsonl.gz")
    back = oms("audit", "restore", str(archive_file), "--url", url)
    assert back.returncode == 0, back.stderr
    again = oms("audit", "export", "--url", url)
    assert again.stdout == before.stdout


def test_archive_without_a_seal_in_range_changes_nothing(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'oms.db'}"
    asyncio.run(_journal(url))
    result = oms("audit", "archive", "--url", url, "--before", "5", "--archive-dir",
                 str(tmp_path / "a"))
    assert result.returncode == 1 and "no seal between position 1 and 4" in result.stderr
    verify = oms("audit", "verify", "--url", url)
    assert verify.returncode == 0 and "25 events verified" in verify.stdout
