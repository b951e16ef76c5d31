"""Alerts reach a webhook with retries and never block; logs never carry a private key."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time

from aiohttp import web
from eth_account import Account

from oms.service.alerts import Alerter
from oms.service.logs import MASK, JsonFormatter, SecretFilter


async def test_webhook_is_retried_until_delivered() -> None:
    received: list[dict[str, object]] = []
    calls = 0

    async def hook(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        if calls <= 2:
            return web.Response(status=503)
        received.append(await request.json())
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    alerter = Alerter(f"http://127.0.0.1:{port}/hook", service="t", account="0xabc", retries=5)
    await alerter.start()
    try:
        alerter.alert("anomaly", "overfill on order 1", position=7)
        for _ in range(100):
            if received:
                break
            await asyncio.sleep(0.05)
        assert calls == 3 and alerter.delivered == 1 and alerter.failed == 0
        body = received[0]
        assert body["kind"] == "anomaly" and body["details"] == {"position": 7}
        assert body["account"] == "0xabc" and body["message"] == "overfill on order 1"
    finally:
        await alerter.close()
        await runner.cleanup()


async def test_alert_never_blocks_on_a_dead_webhook() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    alerter = Alerter(f"http://127.0.0.1:{port}/x", retries=1, max_queued=10)
    await alerter.start()
    began = time.perf_counter()
    for i in range(50):
        alerter.alert("stream_silence", f"silent {i}")
    assert time.perf_counter() - began < 1.0  # queued, not sent inline
    assert alerter.counts["stream_silence"] == 50
    assert alerter.dropped >= 39  # bounded queue: the oldest are dropped, the log has them all
    await alerter.close(drain_s=0.5)


def test_secret_filter_masks_the_key_everywhere() -> None:
    key = "0x" + bytes(Account.create().key).hex()
    other = "0x" + bytes(Account.create().key).hex()
    secrets = SecretFilter()
    secrets.add(key)
    logger = logging.getLogger("test.secret")
    record = logger.makeRecord("test.secret", logging.ERROR, __file__, 1,
                               "key %s and bare %s and other %s", (key, key[2:], other), None)
    try:
        raise ValueError(f"bad key {key}")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    assert secrets.filter(record)
    line = JsonFormatter().format(record)
    assert key[2:] not in line and other[2:] not in line
    parsed = json.loads(line)
    assert parsed["msg"] == f"key {MASK} and bare {MASK} and other {MASK}"
    assert MASK in parsed["exc"] and parsed["level"] == "ERROR"
