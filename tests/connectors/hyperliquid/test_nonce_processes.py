"""Two processes signing for one key never issue the same nonce (the shared nonce file).

Each process reserves blocks of nonces under an exclusive lock on the file's lock, so the blocks
never overlap; within a block a process issues ``max(now, last + 1)``. Tiny blocks here make the
processes reserve hundreds of times while they race.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import pytest

from connectors.hyperliquid.nonces import NonceFileError, NonceManager

REPO = Path(__file__).resolve().parents[3]
WORKER = """
import sys
from pathlib import Path
from connectors.hyperliquid.nonces import NonceManager
nonces = NonceManager(Path(sys.argv[1]), block_ms=int(sys.argv[2]))
print("\\n".join(str(nonces.next()) for _ in range(int(sys.argv[3]))))
"""


def test_two_processes_on_one_nonce_file_never_collide(tmp_path: Path) -> None:
    path = tmp_path / "nonce-0xabc"
    env_path = str(REPO)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(path), "3", "4000"],
            stdout=subprocess.PIPE, text=True, env={"PYTHONPATH": env_path, "PATH": ""},
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    issued = [[int(line) for line in out.split()] for out in outputs]
    for one in issued:
        assert len(one) == 4000 and all(a < b for a, b in itertools.pairwise(one))
    assert len(set(issued[0]) | set(issued[1])) == 8000, "two processes issued the same nonce"
    restarted = NonceManager(path, block_ms=3)
    assert restarted.next() > max(issued[0] + issued[1])  # and a restart starts after both


def test_an_unreadable_nonce_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "nonce"
    path.write_text("not a number")
    with pytest.raises(NonceFileError, match="does not hold an integer"):
        NonceManager(path)
