"""``oms orders``, ``oms history``, ``oms positions`` agree with the raw exported log."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from cli_helpers import oms, one_error_line


def _export(journal: str) -> list[dict[str, Any]]:
    result = oms("audit", "export", "--url", journal)
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_orders_lists_every_created_order(journal: str) -> None:
    events = _export(journal)
    created = {e["data"]["client_order_id"] for e in events if e["type"] == "OrderCreated"}
    listed = json.loads(oms("orders", "--url", journal, "--json", "--limit", "0").stdout)
    assert {o["client_order_id"] for o in listed} == created
    assert [o["client_order_id"] for o in listed] == sorted(created)
    open_only = json.loads(oms("orders", "--open", "--url", journal, "--json").stdout)
    assert all(o["state"] not in ("filled", "canceled", "failed") for o in open_only)
    assert {o["client_order_id"] for o in open_only} == {
        o["client_order_id"] for o in listed if o["state"] not in ("filled", "canceled", "failed")
    }
    table = oms("orders", "--url", journal, "--limit", "2")
    assert table.returncode == 0 and f"2 of {len(created)} orders" in table.stdout


def test_orders_as_of_a_position(journal: str) -> None:
    events = _export(journal)
    cut = len(events) // 2
    born = {e["data"]["client_order_id"] for e in events[:cut] if e["type"] == "OrderCreated"}
    then = json.loads(oms("orders", "--position", str(cut), "--url", journal, "--json",
                          "--limit", "0").stdout)
    assert {o["client_order_id"] for o in then} == born
    at = events[cut - 1]["recorded_at"]
    by_time = json.loads(oms("orders", "--as-of", at, "--url", journal, "--json",
                             "--limit", "0").stdout)
    assert born <= {o["client_order_id"] for o in by_time}
    both = oms("orders", "--position", "1", "--as-of", at, "--url", journal)
    assert both.returncode == 2 and "not both" in one_error_line(both)


def test_history_lists_one_orders_events_in_order(journal: str) -> None:
    events = _export(journal)
    cid = next(e["data"]["client_order_id"] for e in events if e["type"] == "OrderFilled")
    mine = [e for e in events if e["stream_id"] == f"order-{cid}"]
    shown = json.loads(oms("history", cid, "--url", journal, "--json").stdout)
    assert [(h["position"], h["type"]) for h in shown] == [(e["position"], e["type"])
                                                           for e in mine]
    as_cloid = json.loads(oms("history", "0x" + cid, "--url", journal, "--json").stdout)
    assert as_cloid == shown
    missing = oms("history", "0" * 32, "--url", journal)
    assert missing.returncode == 1 and "no order" in one_error_line(missing)


def test_positions_are_the_signed_sum_of_journaled_fills(journal: str) -> None:
    events = _export(journal)
    orders = {e["data"]["client_order_id"]: e["data"] for e in events
              if e["type"] == "OrderCreated"}
    net: dict[str, Decimal] = {}
    seen: set[tuple[str, str]] = set()
    for e in events:
        if e["type"] != "OrderFilled":
            continue
        key = (e["data"]["client_order_id"], e["data"]["trade_id"])
        assert key not in seen  # a trade is journaled once
        seen.add(key)
        order = orders[key[0]]
        sign = 1 if order["side"] == "buy" else -1
        amount = sign * Decimal(e["data"]["amount"])
        net[order["pair"]] = net.get(order["pair"], Decimal(0)) + amount
    assert seen, "the demo journal should hold fills"
    shown = json.loads(oms("positions", "--url", journal, "--json").stdout)
    # net_size: our own fills; pairs only others traded on the account show fills == 0.
    assert {p["pair"]: Decimal(p["net_size"]) for p in shown if p["fills"]} == net


def _anchor_and_tamper(journal: str, how: str) -> dict[str, Any]:
    """Anchor the journal's head (as the engine does), then damage it; the event hit."""
    import contextlib
    import sqlite3
    from pathlib import Path

    from sqlalchemy.engine import make_url

    from eventstore import Anchor, write_anchor

    path = Path(make_url(journal).database or "")
    position, digest = oms("audit", "head", "--url", journal).stdout.strip().split(":")
    write_anchor(Path(f"{path}.anchor"), Anchor(int(position), digest))
    last = _export(journal)[-1]
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        if how == "edit":  # a value changed in place, hashes left alone
            (data,) = conn.execute("SELECT data FROM events WHERE position = ?",
                                   (int(position),)).fetchone()
            edited = bytes(data).replace(b"1", b"2", 1)
            conn.execute("UPDATE events SET data = ? WHERE position = ?", (edited, position))
        else:  # the tail cut off
            conn.execute("DELETE FROM events WHERE position > ?", (int(position) - 3,))
    return last


@pytest.mark.parametrize("how", ["edit", "truncate"])
def test_queries_fail_when_the_journal_does_not_match_its_anchor(journal: str, how: str) -> None:
    """Issue 13 item 18: tampered or lost events are not shown with exit 0."""
    last = _anchor_and_tamper(journal, how)
    cid = last["data"]["client_order_id"]
    expected = "was edited" if how == "edit" else "events lost"
    for args in (["orders"], ["positions"], ["history", cid], ["orders", "--json"]):
        result = oms(*args, "--url", journal)
        assert result.returncode == 1, (args, result.stdout)
        line = one_error_line(result)
        assert expected in line and "oms audit verify" in line
        assert result.stdout.strip()  # the output is still shown, then the failure
    check = oms("replay", "--check", "--url", journal)
    assert check.returncode == 1
    assert ("hash chain broken" if how == "edit" else "events lost") in check.stderr


def test_history_catches_an_edited_event_it_shows(journal: str) -> None:
    """No anchor at all: ``history`` still re-checks the chain link of every event it prints."""
    import contextlib
    import sqlite3
    from pathlib import Path

    from sqlalchemy.engine import make_url

    events = _export(journal)
    target = events[len(events) // 2]
    path = Path(make_url(journal).database or "")
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        (data,) = conn.execute("SELECT data FROM events WHERE position = ?",
                               (target["position"],)).fetchone()
        conn.execute("UPDATE events SET data = ? WHERE position = ?",
                     (bytes(data).replace(b"1", b"2", 1), target["position"]))
    result = oms("history", target["data"]["client_order_id"], "--url", journal)
    assert result.returncode == 1
    assert f"position {target['position']}" in one_error_line(result)


def test_queries_read_a_journal_in_a_read_only_directory(journal: str, tmp_path: Any) -> None:
    """Issue 13 item 17: WAL readers need a -shm file; a read-only folder still reads."""
    import shutil
    from pathlib import Path

    from fs_helpers import read_only_directory
    from sqlalchemy.engine import make_url

    folder = tmp_path / "archive"
    folder.mkdir()
    shutil.copy(make_url(journal).database or "", folder / "j.db")
    url = f"sqlite:///{folder / 'j.db'}"
    expected = oms("orders", "--url", url, "--json", "--limit", "0").stdout
    for suffix in ("-wal", "-shm"):
        Path(f"{folder / 'j.db'}{suffix}").unlink(missing_ok=True)
    with read_only_directory(folder):
        result = oms("orders", "--url", url, "--json", "--limit", "0")
        verify = oms("audit", "verify", "--url", url)
    assert result.returncode == 0, result.stderr
    assert result.stdout == expected
    assert verify.returncode == 0, verify.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["j.db"]
