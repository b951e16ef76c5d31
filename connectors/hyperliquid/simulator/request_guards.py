"""Limits a server on a network needs before it parses anything: nesting depth, body size and
time, and WebSocket slots per client.

The exchange's deserialiser (serde_json) refuses JSON nested deeper than 128 levels with
"recursion limit exceeded"; we refuse at the same depth, before any code walks the value (a
1,000-deep ``type`` used to reach ``repr`` and end in ``RecursionError`` / HTTP 500, and a
255-deep WebSocket subscription broke ``orjson.dumps`` and dropped the connection).

Example::

    too_deep({"type": [[[]]]})            # False
    too_deep(orjson.loads("[" * 200 + "]" * 200))   # True
"""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 128  # serde_json's default recursion limit


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` (parsed JSON) nests lists/objects more than ``limit`` levels deep.

    Iterative, so any depth orjson accepts is measured without recursion.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, dict | list))
    return False


def body_too_large(content_length: int | None, max_bytes: int) -> bool:
    """Whether a declared ``Content-Length`` exceeds the body limit (answer 413 at once)."""
    return content_length is not None and content_length > max_bytes


class ClientSlots:
    """Counts WebSocket connections per client address, to cap what one client may hold."""

    def __init__(self, per_client: int) -> None:
        self.per_client = per_client
        self._held: dict[str, int] = {}

    def acquire(self, client: str) -> bool:
        """Take a slot for ``client``; False when it already holds ``per_client``."""
        held = self._held.get(client, 0)
        if held >= self.per_client:
            return False
        self._held[client] = held + 1
        return True

    def release(self, client: str) -> None:
        """Give back a slot taken with :meth:`acquire`."""
        held = self._held.get(client, 0) - 1
        if held > 0:
            self._held[client] = held
        else:
            self._held.pop(client, None)
