"""Every script in ``examples/`` runs to completion offline, in well under 30 seconds."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from cli_helpers import ROOT

EXPECTED = {
    "embed_oms.py": "canceled executed 0",
    "replay_audit_log.py": "tampered copy: ok=False, first bad position",
    "crash_recovery.py": "0 differences",
    "property_test_state_machine.py": "OK",
    "twap_crash.py": "exact total: 0.6 of 0.6",
}


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_example_runs(script: str) -> None:
    began = time.monotonic()
    result = subprocess.run([sys.executable, str(ROOT / "examples" / script)], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert EXPECTED[script] in result.stdout + result.stderr
    assert time.monotonic() - began < 30


def test_every_example_is_tested() -> None:
    assert {p.name for p in (ROOT / "examples").glob("*.py")} == set(EXPECTED)
