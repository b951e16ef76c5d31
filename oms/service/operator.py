"""Operator commands: journaled (who, when, what) before they take effect.

Every ``oms ctl`` action on a running service becomes one ``OperatorCommand`` event in the
stream ``operator-<account>`` of the same journal as the orders, appended durably *before* the
service acts on it, so the audit log shows every human action in order with the orders it
affected. The event's data: ``command``, ``args``, ``user`` (the name of the peer's uid, taken
from the socket's credentials, not from what the client claims), ``uid``, ``pid``, ``host`` and
``at_ns``. Order replays pass these streams over (they are not ``order-*`` streams).

Example::

    log = OperatorLog(store, "operator-0xabc")
    position = await log.record("kill-switch", {"on": True}, Peer(uid=1000, pid=42))
"""

from __future__ import annotations

import os
import pwd
import socket
import time
from dataclasses import dataclass
from typing import Any

from eventstore import ANY, EventStore, NewEvent
from oms.service.parent_controls import PARENT_COMMANDS

OPERATOR_EVENT = "OperatorCommand"
COMMANDS = ("status", "pause", "resume", "cancel-all", "kill-switch", "strategy-stop",
            *PARENT_COMMANDS)
READ_ONLY = frozenset({"status", "parents"})


@dataclass(frozen=True, slots=True)
class Peer:
    """Who is on the other end of the control socket (from ``SO_PEERCRED``)."""

    uid: int
    pid: int

    @property
    def user(self) -> str:
        """The login name of ``uid`` (the number when the system has no name for it)."""
        try:
            return pwd.getpwuid(self.uid).pw_name
        except KeyError:
            return str(self.uid)


class OperatorLog:
    """Appends operator commands to the journal."""

    def __init__(self, store: EventStore, stream: str) -> None:
        self._store = store
        self.stream = stream
        self._host = socket.gethostname()

    async def record(self, command: str, args: dict[str, Any], peer: Peer) -> int:
        """Journal one command durably; returns its global position."""
        event = NewEvent(OPERATOR_EVENT, {
            "command": command,
            "args": args,
            "user": peer.user,
            "uid": peer.uid,
            "pid": peer.pid,
            "host": self._host,
            "at_ns": time.time_ns(),
        }, metadata={"service_pid": os.getpid()})
        result = await self._store.append(self.stream, [event], expected_version=ANY)
        return int(result.last_position)
