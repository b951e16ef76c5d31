"""The operator channel: a Unix domain socket next to the service, one JSON line each way.

Why a local socket: it needs no extra server, and access is the file system's: the socket is
created mode ``0600`` (owner only) and every connection's peer credentials (``SO_PEERCRED``) are
checked against the service's own uid (root is also let in), so a user without access to the
service's account cannot steer it. The peer's uid (not anything the client says) is what the
journal records as the operator.

Request: ``{"command": "pause", "args": {}}``; reply: ``{"ok": true, "result": ...}`` or
``{"ok": false, "error": "..."}``.

Example::

    reply = await send_command(Path("oms.sock"), "status")
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import struct
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from oms.service.operator import Peer

Handler = Callable[[str, dict[str, Any], Peer], Awaitable[Any]]
MAX_REQUEST = 64 * 1024


class ServiceNotRunning(RuntimeError):
    """No service answers on the control socket."""


class ControlRefused(RuntimeError):
    """The service answered with an error (bad command, not allowed, failed)."""


class ControlServer:
    """Serves operator commands on a Unix socket until closed."""

    def __init__(self, path: Path, handler: Handler) -> None:
        self.path = path
        self._handler = handler
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Bind the socket (owner-only); refuse if another live service holds it."""
        if self.path.exists():
            if await _answers(self.path):
                raise RuntimeError(f"another service is already listening on {self.path}")
            self.path.unlink()  # left by a killed service
        self.path.parent.mkdir(parents=True, exist_ok=True)
        old = os.umask(0o177)
        try:
            self._server = await asyncio.start_unix_server(self._serve, path=str(self.path))
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)

    async def close(self) -> None:
        """Stop serving and remove the socket file."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            peer = _peer(writer)
            if peer.uid not in (os.getuid(), 0):
                await _reply(writer, {"ok": False, "error": f"uid {peer.uid} may not control "
                                                            "this service"})
                return
            line = await asyncio.wait_for(reader.readline(), 10.0)
            try:
                request = json.loads(line[:MAX_REQUEST])
                command = request["command"]
                args = request.get("args") or {}
                if not isinstance(command, str) or not isinstance(args, dict):
                    raise TypeError
            except (ValueError, KeyError, TypeError):
                await _reply(writer, {"ok": False, "error": "bad request: send one JSON line "
                                                            "{\"command\": ..., \"args\": {...}}"})
                return
            try:
                result = await self._handler(command, args, peer)
            except Exception as exc:
                await _reply(writer, {"ok": False, "error": f"{type(exc).__name__}: {exc}"})
                return
            await _reply(writer, {"ok": True, "result": result})
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


def _peer(writer: asyncio.StreamWriter) -> Peer:
    sock = writer.get_extra_info("socket")
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, _gid = struct.unpack("3i", raw)
    return Peer(uid=uid, pid=pid)


async def _reply(writer: asyncio.StreamWriter, body: dict[str, Any]) -> None:
    writer.write(json.dumps(body, default=str).encode() + b"\n")
    await writer.drain()


async def _answers(path: Path) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_unix_connection(str(path)), 2.0)
    except (OSError, TimeoutError):
        return False
    writer.close()
    return True


async def send_command(path: Path, command: str, args: dict[str, Any] | None = None,
                       timeout_s: float = 30.0) -> Any:
    """Send one command to the service on ``path``; its result, or raise.

    Raises :class:`ServiceNotRunning` when nothing listens there and :class:`ControlRefused`
    when the service answers with an error.
    """
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_unix_connection(str(path)), timeout_s)
    except (FileNotFoundError, ConnectionRefusedError):
        raise ServiceNotRunning(f"no service is running on {path} (start it with `oms run "
                                "CONFIG.toml`, or pass the right --config/--socket)") from None
    except PermissionError:
        raise ControlRefused(f"permission denied on {path}: only the service's user may "
                             "control it") from None
    try:
        writer.write(json.dumps({"command": command, "args": args or {}}).encode() + b"\n")
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), timeout_s)
    finally:
        writer.close()
    if not line:
        raise ServiceNotRunning(f"the service on {path} closed the connection without a reply")
    reply = json.loads(line)
    if not reply.get("ok"):
        raise ControlRefused(str(reply.get("error")))
    return reply.get("result")
