"""Bad URLs, missing databases, schemas behind head, usage errors: one line, the right code."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from cli_helpers import oms, one_error_line

from eventstore.migration import alembic_config, revision_history


@pytest.mark.parametrize("url", ["not a url", "mysql://user@host/db", "sqlite+aiosqlite://"])
def test_bad_url_is_a_usage_error(url: str) -> None:
    result = oms("orders", "--url", url)
    assert result.returncode == 2
    assert "sqlite+aiosqlite:///" in one_error_line(result)


def test_missing_database_is_reported_and_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "nope.db"
    for args in (["orders"], ["audit", "verify"], ["replay", "--check"], ["db", "current"],
                 ["positions"], ["audit", "export"]):
        result = oms(*args, "--url", f"sqlite:///{missing}")
        assert result.returncode == 1, args
        assert "does not exist" in one_error_line(result)
    assert not missing.exists()


def test_url_comes_from_the_environment(tmp_path: Path) -> None:
    missing = tmp_path / "from-env.db"
    result = oms("orders", env={"OMS_DATABASE_URL": f"sqlite+aiosqlite:///{missing}"})
    assert str(missing) in one_error_line(result)


def test_database_behind_head_says_to_upgrade(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    oldest = revision_history()[0]
    command.upgrade(alembic_config(url=url), oldest)  # a real database at the first revision
    result = oms("orders", "--url", url)
    assert result.returncode == 1
    line = one_error_line(result)
    assert oldest in line and "oms db upgrade" in line
    current = oms("db", "current", "--url", url)
    assert current.returncode == 1 and "behind head" in current.stdout
    upgraded = oms("db", "upgrade", "--url", url)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"from {oldest} to {revision_history()[-1]}" in upgraded.stdout
    assert oms("db", "current", "--url", url).stdout.strip().endswith("(head)")
    listed = oms("orders", "--url", url, "--json")
    assert listed.returncode == 0 and listed.stdout.strip() == "[]"


def test_db_upgrade_creates_and_history_lists(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    assert oms("db", "upgrade", "--url", url).returncode == 0
    again = oms("db", "upgrade", "--url", url)
    assert "already at head" in again.stdout
    history = oms("db", "history", "--url", url).stdout.splitlines()
    assert [h.split()[0] for h in history] == revision_history()
    assert history[-1].endswith("(head, current)")


def test_not_a_database_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_text("this is not sqlite " * 100)
    result = oms("audit", "verify", "--url", f"sqlite:///{junk}")
    assert result.returncode == 1
    assert "not an SQLite database" in one_error_line(result)


def test_empty_database_is_not_an_event_store(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    result = oms("orders", "--url", f"sqlite:///{empty}")
    assert result.returncode == 1
    assert "oms db upgrade" in one_error_line(result)


@pytest.mark.parametrize("args", [["orders", "--bogus"], ["nosuchcommand"],
                                  ["orders", "--as-of", "yesterday"],
                                  ["history", "not-an-id"], ["sim", "--faults", "bad=1"],
                                  ["audit", "verify", "--anchor", "12"]])
def test_usage_errors_exit_2_with_one_line(args: list[str], tmp_path: Path) -> None:
    result = oms(*args, "--url", f"sqlite:///{tmp_path / 'x.db'}") if args[0] != "sim" \
        else oms(*args)
    assert result.returncode == 2, result.stderr
    one_error_line(result)


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_text("not sqlite " * 100)
    result = oms("--debug", "orders", "--url", f"sqlite:///{junk}")
    assert result.returncode == 1
    assert "Traceback" in result.stderr


READ_COMMANDS = [
    ["orders"], ["positions"], ["history", "0" * 32], ["audit", "verify"], ["audit", "head"],
    ["audit", "export"], ["replay", "--check"], ["db", "current"], ["db", "history"],
]
REFUSING_WRITERS = [
    ["replay"], ["recover", "--exchange", "http://127.0.0.1:9"], ["demo", "--orders", "2"],
]


def _make(kind: str, path: Path) -> None:
    import contextlib
    import sqlite3

    if kind == "zero-bytes":
        path.write_bytes(b"")
        return
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        if kind == "foreign":
            conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
            return
    # a real journal at the first revision, in rollback-journal mode as an old release left it
    command.upgrade(alembic_config(url=f"sqlite+aiosqlite:///{path}"), revision_history()[0])
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("PRAGMA journal_mode = DELETE")


def _state(path: Path) -> tuple[str, list[str]]:
    import hashlib

    return (hashlib.sha256(path.read_bytes()).hexdigest(),
            sorted(p.name for p in path.parent.iterdir()))


@pytest.mark.parametrize("kind", ["foreign", "behind-head", "zero-bytes"])
def test_commands_never_modify_a_file_they_refuse(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13 item 4: the old code switched each of these files to WAL before refusing it."""
    from oms.cli import _run

    if kind == "behind-head" and len(revision_history()) < 2:
        pytest.skip("one schema revision: nothing can be behind head")
    path = tmp_path / "db" / "x.db"
    path.parent.mkdir()
    _make(kind, path)
    monkeypatch.setenv("HL_PRIVATE_KEY", "0x" + "11" * 32)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))  # the demo's mkdtemp goes here
    before = _state(path)
    commands = READ_COMMANDS + (REFUSING_WRITERS if kind != "zero-bytes" else [])
    for args in commands:
        code = _run([*args, "--url", f"sqlite:///{path}"], debug=False)
        expected = 0 if args == ["db", "history"] else 1
        assert code == expected, args
        assert _state(path) == before, args
    assert sorted(p.name for p in tmp_path.iterdir()) == ["db"]  # demo left no temp folder
