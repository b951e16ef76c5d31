"""Service logging: one JSON object per line (for log shippers) or the human format, never a key.

Every record passes :class:`SecretFilter` first: the service's own private key (and anything
that looks like one, ``0x`` + 64 hex digits) is replaced by ``0x***`` in the message, its
arguments and exception text, whatever code logged it.

JSON fields: ``ts`` (ISO-8601 UTC), ``level``, ``logger``, ``msg``, plus ``alert`` and
``details`` for alerts and ``exc`` for exceptions.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

_KEY_LIKE = re.compile(r"0x[0-9a-fA-F]{64}(?![0-9a-fA-F])")
MASK = "0x***"


class SecretFilter(logging.Filter):
    """Masks the given secrets and anything shaped like a private key in every record."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        super().__init__()
        self._secrets = [s for s in (secrets or []) if s]

    def add(self, secret: str) -> None:
        """Mask ``secret`` too (and its form without ``0x``)."""
        if secret:
            self._secrets.append(secret)
            if secret.startswith("0x"):
                self._secrets.append(secret[2:])

    def mask(self, text: str) -> str:
        """``text`` with every secret masked."""
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return _KEY_LIKE.sub(MASK, text)

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the message once, masked, and drop the arguments."""
        record.msg = self.mask(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.mask(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for extra in ("alert", "details"):
            if hasattr(record, extra):
                out[extra] = getattr(record, extra)
        if record.exc_text:
            out["exc"] = record.exc_text
        elif record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def configure_logging(format_: str, level: str, secret_filter: SecretFilter) -> None:
    """Send every log record to stderr in ``format_`` (``json`` or ``human``), masked."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(secret_filter)
    if format_ == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # aiohttp's access log would print every scrape; keep it quiet.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
