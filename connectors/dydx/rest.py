"""Async client of the Indexer's REST API (``/v4/...``).

Why not the official ``IndexerClient``: it joins query strings without URL-encoding, sends Python
booleans as ``True``, and has a 3,000-second default timeout (reference §1.3). Here: aiohttp, one
session, bounded timeouts, and errors that say whether the answer is missing (404 → ``None``) or
unknown (timeouts, 429, 5xx → :class:`ExchangeUnavailable`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp

from connectors.base import ExchangeUnavailable
from connectors.dydx.errors import UnexpectedReply


class IndexerRest:
    """GET requests to one Indexer."""

    def __init__(self, base_url: str, timeout_s: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self.requests = 0

    async def open(self) -> None:
        """Open the HTTP session (idempotent)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def get(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        """JSON of ``GET path``; ``None`` on 404; raises when the answer is unknown or bad."""
        await self.open()
        assert self._session is not None
        self.requests += 1
        url = self.base_url + path
        try:
            async with self._session.get(url, params=dict(params or {})) as resp:
                text = await resp.text()
                status = resp.status
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise ExchangeUnavailable(f"GET {path}: {type(exc).__name__}: {exc}") from None
        if status == 404:
            return None
        if status == 429 or status >= 500:
            raise ExchangeUnavailable(f"GET {path}: HTTP {status} {text[:200]}")
        if status != 200:
            raise UnexpectedReply(f"GET {path}: HTTP {status} {text[:300]}", text)
        try:
            import orjson

            return orjson.loads(text)
        except ValueError:
            raise UnexpectedReply(f"GET {path}: the reply is not JSON", text) from None
