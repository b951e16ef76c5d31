"""Run the real ``oms`` command in a subprocess; copy SQLite journals cleanly."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def oms(*args: str, env: dict[str, str] | None = None,
        timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    """``python -m oms.cli ARGS`` from the repository root; output captured as text."""
    full_env = {k: v for k, v in os.environ.items() if k != "OMS_DATABASE_URL"}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "oms.cli", *args], cwd=ROOT, env=full_env, capture_output=True,
        text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL,
    )


def copy_journal(source: Path, target: Path) -> str:
    """A consistent copy of a SQLite journal (WAL included) via SQLite's backup API; its URL."""
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    return f"sqlite+aiosqlite:///{target}"


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single ``error:`` line a failed command printed (asserts there is exactly one)."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]
