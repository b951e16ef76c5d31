"""Real processes for the service tests: ``oms sim`` and ``oms run`` subprocesses on loopback."""

from __future__ import annotations

import json
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


class Proc:
    """A subprocess whose stdout lines are collected by a thread (no blocking reads)."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None,
                 stderr_path: Path | None = None) -> None:
        full_env = {k: v for k, v in os.environ.items() if k not in ("OMS_DATABASE_URL",)}
        full_env.update(env or {})
        self.stderr_path = stderr_path
        self._stderr = open(stderr_path, "w") if stderr_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "oms.cli", *args], cwd=ROOT, env=full_env,
            stdout=subprocess.PIPE, stderr=self._stderr, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_line(self, prefix: str, timeout: float = 60.0) -> str:
        """The first stdout line starting with ``prefix`` (fails on exit or timeout)."""
        deadline = time.monotonic() + timeout
        for line in self.seen:
            if line.startswith(prefix):
                return line
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    raise AssertionError(f"process exited {self.proc.returncode} before "
                                         f"{prefix!r}; stderr: {self.stderr()[-3000:]}") from None
                continue
            self.seen.append(line)
            if line.startswith(prefix):
                return line
        raise AssertionError(f"no {prefix!r} line in {timeout} s; stderr: {self.stderr()[-3000:]}")

    def stderr(self) -> str:
        """What the process wrote to stderr so far."""
        return self.stderr_path.read_text() if self.stderr_path else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Send ``sig`` and wait for the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout=timeout)
        if self._stderr is not subprocess.DEVNULL:
            self._stderr.close()  # type: ignore[union-attr]
        return code

    def kill(self) -> None:
        """SIGKILL (no clean-up of any kind)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def start_sim(tmp: Path, seed: int = 5) -> tuple[Proc, str]:
    """``oms sim --port 0`` with its background market; (process, base URL)."""
    sim = Proc(["sim", "--port", "0", "--seed", str(seed)], stderr_path=tmp / "sim.err")
    url = sim.wait_line("SIMULATOR LISTENING").split()[-1]
    return sim, url


def write_config(path: Path, exchange_url: str, *, strategies: str = "", extra: str = "",
                 engine: str = "dead_man_switch = false") -> Path:
    """A service config in ``path`` (journal, socket and state next to it)."""
    path.write_text(f"""
[exchange]
url = "{exchange_url}"

[journal]
url = "sqlite+aiosqlite:///journal.db"

[risk]
max_order_notional = "5000"
max_open_orders = 20
max_position_default = "0.5"

[engine]
{engine}

[service]
control_socket = "oms.sock"
timer_interval_s = 0.5

[metrics]
port = 0

{extra}

{strategies}
""")
    return path


MARKET_MAKER = """
[[strategies]]
name = "mm"
path = "oms.strategies.market_maker:MarketMaker"
[strategies.params]
pair = "ETH"
size = "0.01"
half_spread_bps = 3
skew_bps = 10
max_position = "0.05"
"""


def ctl(config: Path, *args: str) -> Any:
    """``oms ctl --config CONFIG ARGS``; the parsed JSON reply (asserts success)."""
    result = subprocess.run([sys.executable, "-m", "oms.cli", "ctl", "--config", str(config),
                             *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def scrape(url: str) -> dict[str, float]:
    """The samples of a Prometheus text page: ``name{labels}`` → value."""
    with urllib.request.urlopen(url, timeout=10) as reply:
        text = reply.read().decode()
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def journal_rows(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of a read-only query on the SQLite journal (another process may be writing)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def wait_until(check: Callable[[], bool], timeout: float, what: str,
               interval: float = 0.1) -> None:
    """Poll ``check`` every ``interval`` seconds until it is true (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def exchange_open_orders(url: str, account: str) -> list[dict[str, Any]]:
    """The exchange's ``openOrders`` for ``account``.

    ``oms sim`` enforces the real IP weight (1,200 a minute; ``openOrders`` weighs 20), which this
    test client shares with the service under test on 127.0.0.1: like any polite client it backs
    off on HTTP 429 and asks again (bounded: 30 tries, one a second)."""
    body = json.dumps({"type": "openOrders", "user": account}).encode()
    for _ in range(30):
        request = urllib.request.Request(f"{url}/info", data=body,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as reply:
                result: list[dict[str, Any]] = json.loads(reply.read())
            return result
        except urllib.error.HTTPError as error:
            if error.code != 429:
                raise
            time.sleep(1.0)
    raise AssertionError("the exchange answered 429 to openOrders for 30 s")
