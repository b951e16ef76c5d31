"""Turn what the engine queued into WebSocket messages, keyed by the subscription they serve.

Keys are ``(channel, coin-or-user)``: ``("l2Book", "ETH")``, ``("orderUpdates", "0xabc…")``,
``("allMids", "")``. Books are snapshotted once per drain, however many orders touched them.

Example::

    for key, message in build_pushes(engine, now_ms): hub.publish(key, message)
"""

from __future__ import annotations

from typing import Any

from .engine import ExchangeEngine
from .records import fmt

Push = tuple[tuple[str, str], dict[str, Any]]


def _level(px: Any, sz: Any, n: int) -> dict[str, Any]:
    return {"px": fmt(px), "sz": fmt(sz), "n": n}


def l2_book(engine: ExchangeEngine, coin: str, now: int) -> dict[str, Any]:
    """The ``l2Book`` payload of ``coin``: up to 20 levels per side, bids first."""
    book = engine.books[coin]
    return {"coin": coin, "time": now,
            "levels": [[_level(*lvl) for lvl in book.levels(True)],
                       [_level(*lvl) for lvl in book.levels(False)]]}


def bbo(engine: ExchangeEngine, coin: str, now: int) -> dict[str, Any]:
    """The ``bbo`` payload of ``coin``."""
    book = engine.books[coin]
    bid, ask = book.levels(True, 1), book.levels(False, 1)
    return {"coin": coin, "time": now,
            "bbo": [_level(*bid[0]) if bid else None, _level(*ask[0]) if ask else None]}


def build_pushes(engine: ExchangeEngine, now: int) -> list[Push]:
    """Drain the engine's queues into messages; the queues are empty afterwards."""
    out: list[Push] = []
    for user, updates in engine.pending_updates.items():
        out.append((("orderUpdates", user), {"channel": "orderUpdates", "data": updates}))
    for user, fills in engine.pending_fills.items():
        out.append((("userFills", user),
                    {"channel": "userFills", "data": {"user": user, "fills": fills}}))
        out.append((("user", user), {"channel": "user", "data": {"fills": fills}}))
    for user, cancels in engine.pending_non_user_cancels.items():
        out.append((("user", user), {"channel": "user", "data": {"nonUserCancel": cancels}}))
    for coin, trades in engine.pending_trades.items():
        out.append((("trades", coin), {"channel": "trades", "data": trades}))
    for coin in sorted(engine.dirty_books):
        out.append((("l2Book", coin), {"channel": "l2Book", "data": l2_book(engine, coin, now)}))
        payload = bbo(engine, coin, now)
        key = (repr(payload["bbo"][0]), repr(payload["bbo"][1]))
        if engine.last_bbo.get(coin) != key:
            engine.last_bbo[coin] = key
            out.append((("bbo", coin), {"channel": "bbo", "data": payload}))
    if engine.dirty_books or engine.mids_dirty:
        out.append((("allMids", ""), {"channel": "allMids", "data": {"mids": engine.all_mids()}}))
        for dex in engine.config.perp_dexs:  # HIP-3 dexes: their own allMids subscription
            out.append((("allMids", dex), {"channel": "allMids",
                                           "data": {"mids": engine.all_mids(dex)}}))
    out.extend(engine.history.drain())
    out.extend(engine.twaps.drain())
    engine.pending_updates.clear()
    engine.pending_fills.clear()
    engine.pending_trades.clear()
    engine.pending_non_user_cancels.clear()
    engine.dirty_books.clear()
    engine.mids_dirty = False
    return out
