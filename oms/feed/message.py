"""One journaled event as a feed message: its subject and its JSON body.

Body (UTF-8 JSON): ``position`` (global, gap-free: a subscriber that sees ``n + 2`` after ``n``
knows it missed one), ``event_id``, ``stream``, ``version`` (in the stream), ``type``,
``event_version``, ``recorded_at_us``, ``hash`` (the chain hash), ``data``.

Subject: ``<prefix>.<account>.<pair>.<type>`` — ``pair`` is the order's pair for ``order-*``
streams and ``_`` for everything else (operator commands, service events), so
``oms.0xabc.ETH.>`` follows one pair and ``oms.*.*.OrderFilled`` every fill. Characters that
NATS reserves in a token (``.``, ``*``, ``>``, spaces) become ``_`` (``PURR/USDC`` stays as is).

Example::

    namer = SubjectNamer("oms", "0xabc")
    subject = await namer.subject(recorded, store)
"""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import Any

import orjson

from eventstore import EventStore, RecordedEvent

_RESERVED = re.compile(r"[.*> \t\r\n]")
NO_PAIR = "_"


def token(text: str) -> str:
    """``text`` made safe as one NATS subject token."""
    return _RESERVED.sub("_", text) or NO_PAIR


def body(recorded: RecordedEvent) -> bytes:
    """The feed message body of ``recorded`` (JSON bytes)."""
    return orjson.dumps({
        "position": recorded.position,
        "event_id": str(recorded.event_id),
        "stream": recorded.stream_id,
        "version": recorded.version,
        "type": recorded.type,
        "event_version": recorded.event_version,
        "recorded_at_us": recorded.recorded_at_us,
        "hash": recorded.hash,
        "data": recorded.data,
    })


def parse(raw: bytes) -> dict[str, Any]:
    """A feed message body back as a dict (``position`` is an int)."""
    message: dict[str, Any] = orjson.loads(raw)
    return message


class SubjectNamer:
    """Names subjects; remembers each order's pair (reads the order's stream when it must)."""

    def __init__(self, prefix: str, account: str, capacity: int = 200_000) -> None:
        self.prefix = token(prefix)
        self.account = token(account or "unknown")
        self._pairs: OrderedDict[str, str] = OrderedDict()
        self._capacity = capacity

    @property
    def wildcard(self) -> str:
        """The subjects of this account: ``<prefix>.<account>.>``."""
        return f"{self.prefix}.{self.account}.>"

    async def subject(self, recorded: RecordedEvent, store: EventStore) -> str:
        """The subject of ``recorded``."""
        pair = await self._pair(recorded, store)
        return f"{self.prefix}.{self.account}.{pair}.{token(recorded.type)}"

    async def _pair(self, recorded: RecordedEvent, store: EventStore) -> str:
        stream = recorded.stream_id
        if not stream.startswith("order-"):
            return NO_PAIR
        pair = recorded.data.get("pair") if recorded.type == "OrderCreated" else None
        if pair is None:
            pair = self._pairs.get(stream)
            if pair is None:
                # Created before the relay started (or evicted): the stream's first event.
                events = store.read_stream(stream, batch_size=1)
                try:
                    first = await anext(events, None)
                finally:
                    close = getattr(events, "aclose", None)
                    if close is not None:
                        await close()
                if first is not None:
                    pair = first.data.get("pair")
        name = token(str(pair)) if pair else NO_PAIR
        self._pairs[stream] = name
        self._pairs.move_to_end(stream)
        if len(self._pairs) > self._capacity:
            self._pairs.popitem(last=False)
        return name
