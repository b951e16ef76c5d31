"""Every script in ``examples/`` runs to completion offline (how fast is a benchmark's business:
these only bound the wait, generously, so a loaded machine cannot fail them)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from cli_helpers import ROOT
from eth_account import Account

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


AGENT_RUNS = {  # example -> how the account is given: the option, or the environment
    "embed_oms.py": "option",
    "order_kinds.py": "environment",
    "crash_recovery.py": "option",
    # (twap_crash.py takes --account the same way; its 10 s schedule makes a second run of it
    # timing-sensitive on a loaded machine, so it runs once, above)
}


@pytest.mark.parametrize("script", sorted(AGENT_RUNS))
def test_example_trades_for_an_account_with_an_api_wallet(script: str) -> None:
    """``HL_PRIVATE_KEY`` is an API wallet's key; the account comes from ``--account`` or
    ``HL_ACCOUNT_ADDRESS``: the example trades that account, and the key is never printed."""
    master, agent = Account.create(), Account.create()
    key = "0x" + bytes(agent.key).hex()
    env = {**os.environ, "HL_PRIVATE_KEY": key, "HL_ACCOUNT_ADDRESS": ""}
    args = [sys.executable, str(ROOT / "examples" / script)]
    if AGENT_RUNS[script] == "option":
        args += ["--account", master.address]
    else:
        env["HL_ACCOUNT_ADDRESS"] = master.address
    result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=240,
                            check=False, env=env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert EXPECTED[script] in output
    assert (f"trading account {master.address.lower()} (signed by API wallet "
            f"{agent.address.lower()})") in output
    assert key[2:] not in output


def test_example_refuses_a_malformed_account() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "embed_oms.py"),
                             "--account", "0x123"], cwd=ROOT, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 2
    assert "must be 0x followed by 40 hex digits" in result.stderr


def test_every_example_is_tested() -> None:
    assert {p.name for p in (ROOT / "examples").glob("*.py")} == set(EXPECTED)
