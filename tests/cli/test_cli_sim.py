"""``oms sim`` serves the local exchange on a free port and stops cleanly on Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request

from cli_helpers import ROOT


def test_sim_serves_info_and_stops_on_sigint(tmp_path: object) -> None:
    state = f"{tmp_path}/sim.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "oms.cli", "sim", "--port", "0", "--seed", "3",
         "--state-file", state],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("SIMULATOR LISTENING http://127.0.0.1:"), line
        url = line.split()[-1]
        request = urllib.request.Request(f"{url}/info", data=json.dumps({"type": "allMids"})
                                         .encode(), headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as reply:
            mids = json.loads(reply.read())
        assert "ETH" in mids
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
        assert os.path.exists(state)  # the exchange saved itself on the way out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_sim_refuses_amounts_that_are_not_finite_and_non_negative() -> None:
    from cli_helpers import oms, one_error_line

    for value in ("NaN", "Infinity", "-Infinity", "-5", "sNaN", "lots"):
        result = oms("sim", "--port", "0", "--initial-usdc", value, timeout=60)
        assert result.returncode == 2, (value, result.stderr)
        assert "--initial-usdc" in one_error_line(result), value


def test_standalone_simulator_refuses_a_bad_initial_usdc() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "connectors.hyperliquid.simulator", "--initial-usdc", "NaN"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2 and "initial_usdc" in result.stderr
    assert "Traceback" not in result.stderr


def test_sim_refuses_an_unknown_limits_mode() -> None:
    from cli_helpers import oms, one_error_line

    result = oms("sim", "--port", "0", "--limits", "sometimes", timeout=60)
    assert result.returncode == 2 and "limits" in one_error_line(result)


def test_sim_admin_and_tick_options() -> None:
    """``--admin`` serves POST /admin (a mark set at run time shows in allMids); ``--tick``."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "oms.cli", "sim", "--port", "0", "--seed", "3", "--admin",
         "--tick", "5", "--no-market-maker"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip().split()[-1]

        def post(path: str, body: object) -> object:
            request = urllib.request.Request(f"{url}{path}", data=json.dumps(body).encode(),
                                             headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=10) as reply:
                return json.loads(reply.read())

        assert post("/admin", {"mark": {"ETH": "1234.5"}}) == {
            "ok": True, "applied": ["mark"], "marks": post("/admin", {"reset_faults": True})[
                "marks"]}  # type: ignore[index]
        assert post("/info", {"type": "allMids"})["ETH"] in ("1234.5", "1234.50")  # type: ignore[index]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    bad = subprocess.run([sys.executable, "-m", "oms.cli", "sim", "--tick", "0"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2
