"""A deadline on request *headers*: a client that trickles its request head is cut off.

aiohttp bounds an idle connection (``keepalive_timeout``) and we bound the body
(``request_timeout_s`` around ``request.read()``), but nothing bounds the time between the first
byte of a request head and its blank line: a client sending one header byte a second would hold
a connection (and a handler slot) for as long as the idle timer allows, and on aiohttp versions
that restart that timer on every byte, forever. This is the "slowloris" attack that nginx's
``client_header_timeout`` (default 60 s, answering 408) exists for.

The guard sits *between* the transport and aiohttp's ``RequestHandler``: a thin protocol that
forwards every callback unchanged and watches the bytes go by with a tiny framing state machine:

- ``HEAD``: the deadline is armed by the first byte of a request head and disarmed by the blank
  line that ends it; if it fires, the client gets ``408 Request Timeout`` and the connection is
  closed.
- ``BODY``: ``Content-Length`` bytes are skipped (their time is bounded by the body timeout), then
  the next pipelined / keep-alive request head is watched again.
- ``OFF``: after an ``Upgrade`` (WebSocket) or a chunked body the guard stops watching; those have
  their own bounds (WebSocket idle timeout, body timeout).

Example::

    site = HeaderGuardedSite(runner, "127.0.0.1", 0, header_timeout_s=10.0)
    await site.start()
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import web

#: A head longer than this is aiohttp's to refuse (it answers 400 past 8190 bytes a line);
#: the guard stops buffering so a huge head cannot grow its memory.
MAX_HEAD_BYTES = 64 * 1024
_HEAD, _BODY, _OFF = "head", "body", "off"


def _timeout_reply() -> bytes:
    text = b"request headers not received in time; resend"
    return (b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: text/plain\r\n"
            b"Content-Length: " + str(len(text)).encode() + b"\r\n\r\n" + text)


class HeaderDeadline(asyncio.Protocol):
    """Forwards to ``inner`` and closes the connection when a request head takes too long."""

    def __init__(self, inner: asyncio.Protocol, timeout_s: float) -> None:
        self.inner = inner
        self.timeout_s = timeout_s
        self.timed_out = False
        self._transport: asyncio.Transport | None = None
        self._state = _HEAD
        self._head = bytearray()
        self._body_left = 0
        self._timer: asyncio.TimerHandle | None = None

    # -- forwarding ----------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Remember the transport and hand it to the wrapped handler."""
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self.inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        """Disarm the deadline and tell the wrapped handler."""
        self._disarm()
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        """Forwarded (flow control of the wrapped handler's writes)."""
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        """Forwarded (flow control of the wrapped handler's writes)."""
        self.inner.resume_writing()

    def eof_received(self) -> bool | None:
        """Forwarded."""
        return self.inner.eof_received()

    def data_received(self, data: bytes) -> None:
        """Watch the framing, then forward the bytes unchanged."""
        if self._state != _OFF and not self.timed_out:
            self._watch(memoryview(data))
        if not self.timed_out:
            self.inner.data_received(data)

    # -- the framing state machine -------------------------------------------------------------
    def _watch(self, data: memoryview) -> None:
        while data and self._state != _OFF:
            if self._state == _BODY:
                step = min(self._body_left, len(data))
                self._body_left -= step
                data = data[step:]
                if self._body_left == 0:
                    self._state = _HEAD
                continue
            if not self._head:
                # Stray CRLFs between keep-alive requests are not a head (RFC 9112 §2.2).
                while data and data[0] in (0x0D, 0x0A):
                    data = data[1:]
                if not data:
                    return
                self._arm()
            start = max(0, len(self._head) - 3)
            self._head += data
            end = self._head.find(b"\r\n\r\n", start)
            if end < 0:
                if len(self._head) > MAX_HEAD_BYTES:
                    self._stop_watching()
                return
            head, rest = bytes(self._head[: end + 4]), self._head[end + 4:]
            self._head = bytearray()
            self._disarm()
            self._after_head(head)
            data = memoryview(bytes(rest))

    def _after_head(self, head: bytes) -> None:
        fields = _header_fields(head)
        if "upgrade" in fields or "chunked" in fields.get("transfer-encoding", ""):
            self._stop_watching()
            return
        try:
            self._body_left = max(0, int(fields.get("content-length", "0") or "0"))
        except ValueError:  # aiohttp answers 400 to it; nothing more to frame
            self._stop_watching()
            return
        self._state = _BODY if self._body_left else _HEAD

    def _stop_watching(self) -> None:
        self._state = _OFF
        self._head = bytearray()
        self._disarm()

    def _arm(self) -> None:
        self._disarm()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self.timeout_s, self._expire)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self) -> None:
        self._timer = None
        self.timed_out = True
        transport = self._transport
        if transport is not None and not transport.is_closing():
            transport.write(_timeout_reply())
            transport.close()


def _header_fields(head: bytes) -> dict[str, str]:
    """Lower-cased header names -> lower-cased values of one request head (request line skipped)."""
    fields: dict[str, str] = {}
    for line in head.split(b"\r\n")[1:]:
        name, sep, value = line.partition(b":")
        if sep:
            fields[name.strip().decode("latin-1").lower()] = value.strip().decode(
                "latin-1").lower()
    return fields


class HeaderGuardedSite(web.BaseSite):
    """``web.TCPSite`` whose connections each get a :class:`HeaderDeadline` around the handler."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, *,
                 header_timeout_s: float) -> None:
        super().__init__(runner)
        self._host = host
        self._port = port
        self.header_timeout_s = header_timeout_s

    @property
    def name(self) -> str:
        """``http://host:port`` as aiohttp's sites name themselves."""
        return f"http://{self._host}:{self._port}"

    async def start(self) -> None:
        """Listen, wrapping every new connection's handler in a :class:`HeaderDeadline`."""
        await super().start()
        server = self._runner.server
        assert server is not None
        factory: Callable[[], Any] = server
        timeout = self.header_timeout_s
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: HeaderDeadline(factory(), timeout), self._host, self._port)
