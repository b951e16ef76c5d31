"""REST client for ``/info`` and ``/exchange`` (aiohttp, one keep-alive session).

``/exchange`` replies are classified, never guessed:

- ``ok``: HTTP 200 with ``{"status": "ok", "response": ...}`` — per-order statuses follow;
- ``err``: HTTP 200 with ``{"status": "err", "response": "<text>"}`` — the exchange refused the
  action as a whole (the connector decides whether the text is a *definite* refusal);
- ``refused``: HTTP 429 on every attempt, or HTTP 422 (body not deserialisable) — refused before
  processing, so certainly not applied;
- ``unknown``: timeout, connection reset, 5xx, any other status, or a body we cannot parse — the
  action may or may not have been applied. The raw text is kept for the journal.

429 is retried with exponential backoff and full jitter (the same signed body: it was not applied,
so re-sending it cannot double-apply). ``/info`` is idempotent; its failures raise
:class:`ExchangeUnavailable`.

Example::

    async with HyperliquidRest("http://127.0.0.1:8080") as rest:
        meta = await rest.info({"type": "meta"})
        reply = await rest.exchange(signed_body)
        if reply.kind == "ok": ...
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

import aiohttp
import orjson

from connectors.base import ExchangeUnavailable
from connectors.hyperliquid import constants
from connectors.hyperliquid.errors import UnexpectedReply
from connectors.hyperliquid.rate_limits import (
    RateBudget,
    action_items,
    exchange_weight,
    info_weight,
)

log = logging.getLogger(__name__)

ReplyKind = Literal["ok", "err", "refused", "unknown"]
_RAW_LIMIT = 2_000


@dataclass(frozen=True, slots=True)
class ExchangeReply:
    """A classified ``/exchange`` reply.

    ``response`` is the parsed ``response`` member for ``ok`` and the error text for ``err``;
    ``reason`` says why an outcome is ``unknown``/``refused``; ``raw`` is the reply text.
    """

    kind: ReplyKind
    response: Any
    raw: str
    reason: str = ""
    http_status: int | None = None


@dataclass(slots=True)
class RestStats:
    """Counters for monitoring (requests sent, 429 retries, unknown outcomes)."""

    requests: int = 0
    retries_429: int = 0
    unknown: int = 0
    responses_429: int = 0


class HyperliquidRest:
    """One aiohttp session talking to ``{base_url}/info`` and ``{base_url}/exchange``."""

    def __init__(
        self,
        base_url: str,
        timeout_s: float = 5.0,
        max_429_retries: int = 3,
        backoff_base_s: float = 0.1,
        backoff_max_s: float = 5.0,
        budget: RateBudget | None = None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        #: The IP weight budget every request waits for (None: send without counting).
        self.budget = budget
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._max_429_retries = max_429_retries
        self._backoff_base_s = backoff_base_s
        self._backoff_max_s = backoff_max_s
        self._session: aiohttp.ClientSession | None = None
        self._random = random.Random()
        self.stats = RestStats()

    async def open(self) -> None:
        """Open the session (idempotent)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout,
                headers={"Content-Type": "application/json"},
                json_serialize=lambda obj: orjson.dumps(obj).decode(),
            )

    async def close(self) -> None:
        """Close the session (idempotent)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> HyperliquidRest:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _backoff_s(self, attempt: int, retry_after: str | None) -> float:
        if retry_after is not None:
            try:
                return min(float(retry_after), self._backoff_max_s)
            except ValueError:
                pass
        # Full jitter: concurrent clients throttled together do not retry together.
        cap = min(self._backoff_max_s, self._backoff_base_s * 2**attempt)
        return self._random.uniform(0, cap)

    async def _post(self, path: str, body: Any) -> tuple[int, str, str | None]:
        """POST with 429 retries; returns (status, text, retry-after); transport errors raise."""
        if self._session is None:
            raise RuntimeError("HyperliquidRest is not open; call open() or use 'async with'")
        data = orjson.dumps(body)
        attempt = 0
        while True:
            await self._take_weight(path, body)
            self.stats.requests += 1
            async with self._session.post(self._base_url + path, data=data) as resp:
                text = await resp.text()
                status = resp.status
                retry_after = resp.headers.get("Retry-After")
            if status == 429:
                self.stats.responses_429 += 1
            if status != 429 or attempt >= self._max_429_retries:
                return status, text, retry_after
            delay = self._backoff_s(attempt, retry_after)
            attempt += 1
            self.stats.retries_429 += 1
            log.warning("HTTP 429 on %s; retry %d in %.3f s", path, attempt, delay)
            await asyncio.sleep(delay)

    async def _take_weight(self, path: str, body: Any) -> None:
        """Wait until the IP weight of this request fits the budget (reference §10)."""
        if self.budget is None:
            return
        if path == constants.EXCHANGE_PATH:
            weight = exchange_weight(action_items(body.get("action")))
        else:
            weight = info_weight(str(body.get("type")))
        wait = self.budget.ip_wait(weight, asyncio.get_running_loop().time())
        if wait > 0:
            log.info("IP weight budget: waiting %.2f s before %s", wait, path)
            await asyncio.sleep(wait)

    async def info(self, body: dict[str, Any]) -> Any:
        """POST ``body`` to ``/info`` and return the parsed JSON.

        Raises :class:`ExchangeUnavailable` on transport failure or a non-200 status, and
        :class:`UnexpectedReply` on a body that is not JSON.
        """
        try:
            status, text, _ = await self._post(constants.INFO_PATH, body)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise ExchangeUnavailable(
                f"/info {body.get('type')!r} failed: {exc!r}; retry later"
            ) from exc
        if status != 200:
            raise ExchangeUnavailable(
                f"/info {body.get('type')!r} answered HTTP {status}: {text[:200]!r}; retry later"
            )
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise UnexpectedReply(
                f"/info {body.get('type')!r} reply is not JSON", text[:_RAW_LIMIT]
            ) from exc

    async def exchange(self, body: dict[str, Any]) -> ExchangeReply:
        """POST a signed action to ``/exchange`` and classify the reply (never raises on I/O)."""
        try:
            status, text, _ = await self._post(constants.EXCHANGE_PATH, body)
        except TimeoutError:
            return self._unknown("timeout", "")
        except aiohttp.ClientError as exc:
            return self._unknown(f"transport error: {exc!r}", "")
        return self._classify(status, text)

    def _unknown(self, reason: str, raw: str, status: int | None = None) -> ExchangeReply:
        self.stats.unknown += 1
        log.warning("/exchange outcome unknown: %s", reason)
        return ExchangeReply("unknown", None, raw[:_RAW_LIMIT], reason, status)

    def classify(self, status: int, text: str) -> ExchangeReply:
        """Classify an ``/exchange`` reply received another way (a WebSocket ``post``)."""
        return self._classify(status, text)

    def _classify(self, status: int, text: str) -> ExchangeReply:
        raw = text[:_RAW_LIMIT]
        if status == 429:
            return ExchangeReply("refused", None, raw, "HTTP 429 rate limited", status)
        if status == 422:
            return ExchangeReply("refused", None, raw, f"HTTP 422 unprocessable: {raw}", status)
        if status != 200:
            return self._unknown(f"HTTP {status}", raw, status)
        try:
            parsed = orjson.loads(text)
        except orjson.JSONDecodeError:
            return self._unknown("reply is not JSON", raw, status)
        if not isinstance(parsed, dict):
            return self._unknown("reply is not a JSON object", raw, status)
        if parsed.get("status") == "ok" and "response" in parsed:
            return ExchangeReply("ok", parsed["response"], raw, "", status)
        if parsed.get("status") == "err" and isinstance(parsed.get("response"), str):
            return ExchangeReply("err", parsed["response"], raw, parsed["response"], status)
        return self._unknown("reply has an unexpected shape", raw, status)
