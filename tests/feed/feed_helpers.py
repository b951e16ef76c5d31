"""Real processes for the feed tests: a private nats-server and ``oms feed`` relays."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import sys
import uuid
from pathlib import Path

import pytest

from eventstore import ANY, EventStore, NewEvent

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "0x00000000000000000000000000000000000000f1"


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def nats_binary() -> str:
    """The nats-server binary, or skip the test with the reason."""
    found = shutil.which("nats-server") or ("/usr/sbin/nats-server"
                                            if os.path.exists("/usr/sbin/nats-server") else None)
    if found is None:
        pytest.skip("NATS tests skipped: no nats-server binary on this machine")
    return found


class NatsServer:
    """A private nats-server with JetStream (own port, own storage folder), restartable."""

    def __init__(self, folder: Path) -> None:
        self.binary = nats_binary()
        self.port = free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self.store_dir = folder / "nats"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        """Start and wait until it accepts connections (bounded)."""
        self.proc = await asyncio.create_subprocess_exec(
            self.binary, "-a", "127.0.0.1", "-p", str(self.port), "-js",
            "-sd", str(self.store_dir), stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL)
        for _ in range(100):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            except OSError:
                await asyncio.sleep(0.05)
        raise AssertionError("private nats-server did not start")

    async def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL after 10 s)."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        self.proc = None


def feed_config(folder: Path, journal: Path, *, nats_url: str | None = None,
                zmq_endpoint: str | None = None, stream: str = "OMSTEST") -> Path:
    """An ``oms feed`` config for ``journal`` (no exchange is contacted by the relay)."""
    lines = ["[exchange]", 'url = "http://127.0.0.1:9"', f'account = "{ACCOUNT}"', "",
             "[journal]", f'url = "sqlite+aiosqlite:///{journal}"', "", "[feed]",
             f'nats_stream = "{stream}"']
    if nats_url:
        lines.append(f'nats_url = "{nats_url}"')
    if zmq_endpoint:
        lines.append(f'zmq_endpoint = "{zmq_endpoint}"')
    path = folder / f"feed-{uuid.uuid4().hex[:6]}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


class Relay:
    """An ``oms feed CONFIG`` subprocess."""

    def __init__(self, config: Path, log: Path) -> None:
        self.config = config
        self.log = log
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        """Start and wait for its FEED RUNNING line."""
        with open(self.log, "a") as err:  # noqa: ASYNC230 - a local log file, once per start
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "oms.cli", "feed", str(self.config), cwd=ROOT,
                stdout=asyncio.subprocess.PIPE, stderr=err)
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), 60)
        assert line.startswith(b"FEED RUNNING"), (line, self.log.read_text()[-2000:])

    async def signal(self, sig: int) -> int:
        """Send ``sig``; the exit code."""
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        return await asyncio.wait_for(self.proc.wait(), 30)


async def append_orders(store: EventStore, count: int, pairs: tuple[str, ...] = ("ETH", "BTC")
                        ) -> None:
    """Journal ``count`` small order histories (created, accepted, filled: 3 events each)."""
    for i in range(count):
        cid = uuid.uuid4().hex
        pair = pairs[i % len(pairs)]
        await store.append(f"order-{cid}", [
            NewEvent("OrderCreated", {"client_order_id": cid, "pair": pair, "amount": "1"}),
            NewEvent("OrderAccepted", {"client_order_id": cid, "exchange_order_id": str(i)}),
            NewEvent("OrderFilled", {"client_order_id": cid, "trade_id": f"t{i}"}),
        ], expected_version=ANY)
