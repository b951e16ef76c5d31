"""HTTP reply values of the local exchange, in the live shapes.

``{"status":"ok","response":{…}}`` or ``{"status":"err","response":"<text>"}`` (HTTP 200), and
HTTP 422 text for bodies that do not deserialise.

Example::

    err("Action already expired")   # HTTP 200 {"status": "err", "response": "Action …"}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DESERIALIZE_ERROR = "Failed to deserialize the JSON body into the target type"


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP reply: status code and a JSON value, or text when ``text`` is set."""

    status: int
    body: Any = None
    text: str | None = None


def ok(response: dict[str, Any]) -> Reply:
    """HTTP 200 ``{"status":"ok","response":…}``."""
    return Reply(200, {"status": "ok", "response": response})


def err(message: str) -> Reply:
    """HTTP 200 ``{"status":"err","response":message}`` (whole-action failure)."""
    return Reply(200, {"status": "err", "response": message})


def unprocessable(detail: str) -> Reply:
    """HTTP 422 text, as the live deserialiser answers."""
    return Reply(422, text=f"{DESERIALIZE_ERROR}: {detail}")
