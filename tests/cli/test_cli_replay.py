"""``oms replay`` rebuilds the projections; ``--check`` compares and catches edited tables."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from cli_helpers import oms, one_error_line
from sqlalchemy.engine import make_url


def _db(url: str) -> Path:
    return Path(make_url(url).database or "")


def test_check_compares_the_snapshot_the_engine_wrote_on_close(journal: str) -> None:
    result = oms("replay", "--check", "--url", journal)
    assert result.returncode == 0, result.stderr
    assert "equals the stored projections: snapshot @" in result.stdout


def test_check_without_projections_has_nothing_to_compare(journal: str) -> None:
    conn = sqlite3.connect(_db(journal))
    conn.execute("DELETE FROM proj_snapshots")
    conn.commit()
    conn.close()
    result = oms("replay", "--check", "--url", journal)
    assert result.returncode == 1
    assert "nothing to check" in one_error_line(result)


def test_replay_then_check_passes(journal: str) -> None:
    rebuilt = oms("replay", "--url", journal)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "rebuilt from zero" in rebuilt.stdout
    checked = oms("replay", "--check", "--url", journal)
    assert checked.returncode == 0, checked.stderr
    assert "equals the stored projections: SQL read models @" in checked.stdout
    assert "snapshot @" in checked.stdout


def test_check_reports_an_edited_read_model(journal: str) -> None:
    assert oms("replay", "--url", journal).returncode == 0
    conn = sqlite3.connect(_db(journal))
    pair, size = conn.execute("SELECT pair, net_size FROM proj_positions LIMIT 1").fetchone()
    conn.execute("UPDATE proj_positions SET net_size = ? WHERE pair = ?", (size + "1", pair))
    (cid,) = conn.execute("SELECT client_order_id FROM proj_orders LIMIT 1").fetchone()
    conn.execute("DELETE FROM proj_orders WHERE client_order_id = ?", (cid,))
    conn.commit()
    conn.close()
    result = oms("replay", "--check", "--url", journal)
    assert result.returncode == 1
    assert f"position {pair} net_size" in result.stderr
    assert f"order {cid} is missing" in result.stderr
    assert "error: replay --check FAILED: 2 differences" in result.stderr


def test_check_compares_the_account_read_model(journal: str) -> None:
    assert oms("replay", "--url", journal).returncode == 0
    conn = sqlite3.connect(_db(journal))
    stream, cash = conn.execute("SELECT stream, cash FROM proj_account").fetchone()
    assert conn.execute("SELECT count(*) FROM proj_account_positions").fetchone()[0] > 0
    clean = oms("replay", "--check", "--url", journal)
    assert clean.returncode == 0, clean.stderr
    conn.execute("UPDATE proj_account SET cash = ? WHERE stream = ?", (cash + "7", stream))
    pair, size = conn.execute("SELECT pair, size FROM proj_account_positions LIMIT 1").fetchone()
    conn.execute("UPDATE proj_account_positions SET size = ? WHERE pair = ?", (size + "1", pair))
    conn.commit()
    conn.close()
    result = oms("replay", "--check", "--url", journal)
    assert result.returncode == 1
    said = " ".join(result.stderr.split())  # the console wraps long lines
    assert f"account {stream}: cash {cash}7 vs replay {cash}" in said, said
    assert f"account position {pair} size {size}1 vs replay {size}" in said, said
    assert "FAILED: 2 differences" in said
