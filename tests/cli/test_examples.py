"""Every script in ``examples/`` runs to completion offline (how fast is a benchmark's business:
these only bound the wait, generously, so a loaded machine cannot fail them)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from cli_helpers import ROOT

EXPECTED = {
    "embed_oms.py": "canceled executed 0",
    "replay_audit_log.py": "tampered copy: ok=False, first bad position",
    "crash_recovery.py": "0 differences",
    "property_test_state_machine.py": "OK",
    "twap_crash.py": "exact total: 0.6 of 0.6",
    "native_twap_crash.py": "exact total: 0.11 of 0.11",
    "order_kinds.py": "stop-loss canceled (siblingFilledCanceled)",
    "feed_subscriber.py": "ZeroMQ: 60 events, in order: True",
}


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_example_runs(script: str) -> None:
    result = subprocess.run([sys.executable, str(ROOT / "examples" / script)], cwd=ROOT,
                            capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert EXPECTED[script] in result.stdout + result.stderr


def test_every_example_is_tested() -> None:
    assert {p.name for p in (ROOT / "examples").glob("*.py")} == set(EXPECTED)
