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
