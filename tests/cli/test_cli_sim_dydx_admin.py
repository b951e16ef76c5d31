"""``oms sim --exchange dydx --admin``: oracle prices and faults changed at run time (loopback)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from cli_helpers import ROOT, oms


def _post(url: str, body: bytes) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_admin_moves_the_oracle_and_refuses_bad_requests() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "oms.cli", "sim", "--exchange", "dydx", "--port", "0",
         "--grpc-port", "0", "--admin", "--no-market-maker"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        rest = dict(p.split("=", 1) for p in line.split(": ", 1)[1].split())["rest"]
        status, body = _post(rest + "/admin", json.dumps(
            {"oracle": {"ETH-USD": "2500.5"}, "lag": 0.2, "funding_paused": True}).encode())
        assert status == 200 and body["applied"] == ["oracle", "lag", "funding_paused"], body
        with urllib.request.urlopen(rest + "/v4/perpetualMarkets?ticker=ETH-USD", timeout=10) as r:
            assert json.loads(r.read())["markets"]["ETH-USD"]["oraclePrice"] == "2500.5"
        status, body = _post(rest + "/admin", json.dumps(
            {"oracle": {"DOGE-USD": "1"}, "lag": 0.5}).encode())
        assert status == 400 and "unknown market 'DOGE-USD'" in body["error"]
        status, body = _post(rest + "/admin", json.dumps({"oracle": {"ETH-USD": -3}}).encode())
        assert status == 400 and "positive number" in body["error"]
        status, body = _post(rest + "/admin", b"{not json")
        assert status == 400 and body["error"] == "the body is not JSON"
        status, body = _post(rest + "/admin", json.dumps({"warp": 1}).encode())
        assert status == 400 and "unknown key(s) ['warp']" in body["error"]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_bad_state_file_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text('{"version": 99}')
    result = oms("sim", "--exchange", "dydx", "--port", "0", "--grpc-port", "0",
                 "--state-file", str(state), timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "not a state file of the local dYdX exchange" in last
