"""``oms audit verify | head | export`` on a real journal, untouched and tampered."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sqlite3
from pathlib import Path

from cli_helpers import oms, one_error_line
from sqlalchemy.engine import make_url

from eventstore import EventStore


def _path(url: str) -> Path:
    return Path(make_url(url).database or "")


async def _stored(url: str) -> list[dict[str, object]]:
    async with await EventStore.open(url, create=False) as store:
        return [
            {"position": e.position, "stream_id": e.stream_id, "version": e.version,
             "type": e.type, "event_version": e.event_version, "event_id": str(e.event_id),
             "recorded_at_us": e.recorded_at_us, "data": e.data, "metadata": e.metadata,
             "hash": e.hash}
            async for e in store.read_all()
        ]


def test_verify_passes_and_head_matches(journal: str) -> None:
    verified = oms("audit", "verify", "--url", journal)
    assert verified.returncode == 0, verified.stderr
    head = oms("audit", "head", "--url", journal)
    position, digest = head.stdout.strip().split(":")
    assert f"{position} events verified" in verified.stdout
    assert digest in verified.stdout.replace("\n", "")
    anchored = oms("audit", "verify", "--url", journal, "--anchor", head.stdout.strip())
    assert anchored.returncode == 0, anchored.stderr


def test_verify_catches_an_edited_row_with_its_position(journal: str) -> None:
    stored = asyncio.run(_stored(journal))
    target = stored[len(stored) // 2]
    conn = sqlite3.connect(_path(journal))
    (data,) = conn.execute("SELECT data FROM events WHERE position = ?",
                           (target["position"],)).fetchone()
    edited = bytes(data).replace(b"1", b"2", 1)  # still valid JSON, different content
    assert edited != bytes(data)
    conn.execute("UPDATE events SET data = ? WHERE position = ?", (edited, target["position"]))
    conn.commit()
    conn.close()
    result = oms("audit", "verify", "--url", journal)
    assert result.returncode == 1
    line = one_error_line(result)
    assert f"FAILED at position {target['position']}" in line


def test_verify_with_a_wrong_anchor_fails(journal: str) -> None:
    position = oms("audit", "head", "--url", journal).stdout.split(":")[0]
    result = oms("audit", "verify", "--url", journal, "--anchor", f"{position}:{'0' * 64}")
    assert result.returncode == 1
    assert f"position {position}" in one_error_line(result)


def test_export_jsonl_round_trips_to_the_same_events(journal: str, tmp_path: Path) -> None:
    target = tmp_path / "log.jsonl"
    result = oms("audit", "export", "--url", journal, "--format", "jsonl", "-o", str(target))
    assert result.returncode == 0, result.stderr
    exported = [json.loads(line) for line in target.read_text().splitlines()]
    # Every event belongs to the journal's account (its first engine claim), named on each row.
    owners = {(row.pop("venue"), row.pop("account")) for row in exported}
    assert len(owners) == 1 and next(iter(owners))[0] == "hyperliquid", owners
    assert str(next(iter(owners))[1]).startswith("0x")
    for row in exported:
        del row["recorded_at"]  # the ISO form of recorded_at_us, compared below through it
    assert exported == asyncio.run(_stored(journal))


def test_export_ranges_and_streams(journal: str) -> None:
    stored = asyncio.run(_stored(journal))
    ranged = oms("audit", "export", "--url", journal, "--from", "3", "--to", "7")
    assert [json.loads(x)["position"] for x in ranged.stdout.splitlines()] == [3, 4, 5, 6, 7]
    stream = str(stored[0]["stream_id"])
    one = oms("audit", "export", "--url", journal, "--stream", stream)
    rows = [json.loads(x) for x in one.stdout.splitlines()]
    assert rows and {r["stream_id"] for r in rows} == {stream}
    assert [r["version"] for r in rows] == list(range(len(rows)))
    assert len(rows) == sum(1 for e in stored if e["stream_id"] == stream)


def test_export_csv_has_one_row_per_event(journal: str) -> None:
    stored = asyncio.run(_stored(journal))
    result = oms("audit", "export", "--url", journal, "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == len(stored)
    assert [json.loads(r["data"]) for r in rows] == [e["data"] for e in stored]
    assert [r["hash"] for r in rows] == [e["hash"] for e in stored]


def test_export_bad_range_is_a_usage_error(journal: str) -> None:
    result = oms("audit", "export", "--url", journal, "--from", "5", "--to", "2")
    assert result.returncode == 2
    one_error_line(result)


def _digest(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_export_never_writes_over_the_journal_it_reads(journal: str, tmp_path: Path) -> None:
    """Issue 13 item 1: ``-o`` the journal itself (or a link to it, or its companions)."""
    path = _path(journal)
    before, events = _digest(path), len(asyncio.run(_stored(journal)))
    link = tmp_path / "link.db"
    link.symlink_to(path)
    hard = tmp_path / "hard.db"
    hard.hardlink_to(path)
    for target in (path, link, hard, Path(f"{path}-wal"), Path(f"{path}-shm"),
                   Path(f"{path}.anchor")):
        result = oms("audit", "export", "--url", journal, "-o", str(target))
        assert result.returncode == 2, (target, result.stderr)
        assert "part of the journal" in one_error_line(result)
    assert _digest(path) == before
    assert len(asyncio.run(_stored(journal))) == events
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0


def test_a_failed_export_leaves_the_old_output_file_as_it_was(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_text("yesterday's export\n")
    result = oms("audit", "export", "--url", f"sqlite:///{tmp_path / 'missing.db'}",
                 "-o", str(target))
    assert result.returncode == 1
    assert target.read_text() == "yesterday's export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]  # no temp file left


def _lost_wal_copy(tmp_path: Path) -> tuple[str, int, int]:
    """A journal whose -wal (with the last 5 committed events) is gone, beside its anchor."""
    from eventstore import AnchorKeeper, NewEvent

    live, copy = tmp_path / "live", tmp_path / "copy"
    live.mkdir()
    copy.mkdir()
    url = f"sqlite+aiosqlite:///{live / 'oms.db'}"

    async def build() -> None:
        async with await EventStore.open(url) as store:
            for i in range(5):
                await store.append("s", [NewEvent("E", {"i": i})])
        async with await EventStore.open(url) as store:  # the close checkpointed: 5 in the file
            for i in range(5, 10):
                await store.append("s", [NewEvent("E", {"i": i})])
            await AnchorKeeper(live / "oms.db.anchor").update(store)
            # the 5 new events live only in oms.db-wal: copy everything but that file
            for name in ("oms.db", "oms.db.anchor"):
                (copy / name).write_bytes((live / name).read_bytes())

    asyncio.run(build())
    return f"sqlite:///{copy / 'oms.db'}", 5, 10


def test_verify_reports_events_lost_with_the_wal_by_default(tmp_path: Path) -> None:
    """Issue 13 item 2: the chain of what is left verifies; the anchor beside it does not."""
    url, left, anchored = _lost_wal_copy(tmp_path)
    result = oms("audit", "verify", "--url", url)
    assert result.returncode == 1, result.stdout
    line = one_error_line(result)
    assert "events lost" in line
    assert f"ends at position {left}" in line and f"recorded position {anchored}" in line
    elsewhere = tmp_path / "elsewhere.anchor"
    (tmp_path / "copy" / "oms.db.anchor").rename(elsewhere)
    assert oms("audit", "verify", "--url", url).returncode == 0  # no anchor: nothing to compare
    named = oms("audit", "verify", "--url", url, "--anchor-file", str(elsewhere))
    assert named.returncode == 1 and "events lost" in one_error_line(named)


def test_verify_compares_an_anchor_at_position_zero(journal: str) -> None:
    """Issue 13 item 14: position 0 is the empty log, whose hash is the genesis hash."""
    wrong = oms("audit", "verify", "--url", journal, "--anchor", f"0:{'a' * 64}")
    assert wrong.returncode == 1
    assert "position 0" in one_error_line(wrong)
    genesis = oms("audit", "verify", "--url", journal, "--anchor", f"0:{'0' * 64}")
    assert genesis.returncode == 0, genesis.stderr


def test_positions_beyond_64_bits_are_usage_errors(journal: str) -> None:
    """Issue 13 item 13: no OverflowError (exit 1), a usage error (exit 2)."""
    big = str(2**63)
    for args in (["audit", "export", "--from", big], ["audit", "export", "--to", big],
                 ["orders", "--position", big], ["orders", "--limit", big],
                 ["audit", "verify", "--anchor", f"{big}:{'0' * 64}"]):
        result = oms(*args, "--url", journal)
        assert result.returncode == 2, (args, result.stderr)
        one_error_line(result)
