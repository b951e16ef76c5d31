"""``oms demo``: kills the engine mid-trading, restarts it, and everything equals the exchange."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from cli_helpers import oms, one_error_line


def test_demo_exits_zero_and_every_order_matches(
    demo_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    path, result = demo_run
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "SIGKILL sent to engine #1" in out
    assert "Restart: recovery report of engine #2" in out
    assert out.count("equal the exchange's truth") == 2
    assert "✗" not in out
    # The table names every order of the account; there were orders, and fills.
    checked = re.search(r"after the restart: all (\d+) orders", out)
    assert checked is not None and int(checked.group(1)) > 0
    assert re.search(r"replay\s+│\s+[\d.]+\s+│\s+\d+ events folded", out)
    assert path.is_file()


def test_demo_never_prints_the_private_key(
    demo_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    _, result = demo_run
    # A private key is 0x + 64 hex characters; the demo prints addresses (40) and ids (32) only.
    assert not re.search(r"0x[0-9a-fA-F]{64}", result.stdout + result.stderr)


def test_demo_refuses_a_journal_that_is_not_new(journal: str, tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    result = oms("demo", "--orders", "4", "--url", journal, env={"TMPDIR": str(scratch)})
    assert result.returncode == 1
    assert "needs a new journal" in one_error_line(result)
    assert list(scratch.iterdir()) == []  # issue 13 item 17: not even an empty folder


def test_demo_removes_its_temporary_folder(
    demo_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    """Issue 13 item 17: the engine's log, view and nonce file go when the demo succeeds."""
    path, result = demo_run
    assert result.returncode == 0, result.stderr
    assert list((path.parent / "tmp").iterdir()) == []
    assert sorted(p.name for p in path.parent.iterdir() if p.name != "tmp") == [
        "journal.db", "journal.db.anchor"]  # the journal named by --url stays, with its anchor
