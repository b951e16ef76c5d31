"""A real journal for the CLI tests: one ``oms demo`` run (SIGKILL and all) per session."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cli_helpers import copy_journal, oms


@pytest.fixture(scope="session")
def demo_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """The journal file written by ``oms demo --orders 16 --url ...`` and the demo's output."""
    path = tmp_path_factory.mktemp("demo") / "journal.db"
    scratch = path.parent / "tmp"  # the demo's TMPDIR: test_cli_demo checks it is left empty
    scratch.mkdir()
    result = oms("demo", "--seed", "11", "--orders", "16", "--url", f"sqlite:///{path}",
                 env={"TMPDIR": str(scratch)}, timeout=150)
    return path, result


@pytest.fixture
def journal(demo_run: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path) -> str:
    """A private copy of the demo's journal (tests may tamper with it); its URL."""
    path, result = demo_run
    assert result.returncode == 0, result.stdout + result.stderr
    return copy_journal(path, tmp_path / "copy.db")
