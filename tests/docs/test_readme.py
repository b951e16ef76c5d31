"""The README's promises: its embedding example runs; its test command is the one CI runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from eth_account import Account

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_readme_starts_with_exactly_two_setup_commands() -> None:
    first_block = re.search(r"```bash\n(.*?)```", README, re.S)
    assert first_block is not None
    commands = [line for line in first_block.group(1).splitlines() if line.strip()]
    assert len(commands) == 2
    assert commands[0].endswith("oms demo")
    assert commands[1].endswith("python -m pytest")
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[1] in ci, ".ci/run must call the README's test command"


def test_embedding_example_runs(tmp_path: Path) -> None:
    code = re.search(r"## Embedding it.*?```python\n(.*?)```", README, re.S)
    assert code is not None
    script = tmp_path / "embed.py"
    script.write_text(code.group(1))
    env = {**os.environ, "HL_PRIVATE_KEY": "0x" + bytes(Account.create().key).hex()}
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "pending_create" in done.stdout.lower()
    assert env["HL_PRIVATE_KEY"][2:] not in done.stdout + done.stderr  # the key is never printed
