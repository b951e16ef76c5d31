"""``oms sim --exchange dydx`` and ``oms demo --exchange dydx``: the CLI on the second exchange."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request

from cli_helpers import ROOT, oms, one_error_line


def test_sim_dydx_serves_the_indexer_and_node_and_stops_on_sigint() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "oms.cli", "sim", "--exchange", "dydx", "--port", "0",
         "--grpc-port", "0", "--seed", "3"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("local dYdX exchange listening: rest=http://127.0.0.1:"), line
        fields = dict(part.split("=", 1) for part in line.split(": ", 1)[1].split())
        assert fields["chain_id"] == "localdydxprotocol" and ":" in fields["node"]
        with urllib.request.urlopen(fields["rest"] + "/v4/perpetualMarkets", timeout=10) as r:
            markets = json.loads(r.read())["markets"]
        assert markets["ETH-USD"]["stepBaseQuantums"] == 1_000_000
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_sim_dydx_refuses_bad_options() -> None:
    result = oms("sim", "--exchange", "dydx", "--faults", "lag=-1")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "lag=-1 is out of range" in one_error_line(result)
    result = oms("sim", "--exchange", "kraken")
    assert "expected hyperliquid or dydx" in one_error_line(result)


def test_demo_on_dydx_matches_the_exchange_and_keeps_the_mnemonic_secret() -> None:
    result = oms("demo", "--exchange", "dydx", "--seed", "5", "--orders", "12", timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "SIGKILL sent to engine #1" in out
    assert out.count("equal the exchange's truth") == 2
    assert "✗" not in out
    # The mnemonic (24 lowercase words) is never printed; addresses and ids are.
    assert not re.search(r"(?:\b[a-z]{3,8} ){11,}[a-z]{3,8}\b", out + result.stderr)
