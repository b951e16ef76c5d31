"""Reference prices for market orders and marks for trigger orders.

Hyperliquid has no market order type: a "market" order is an IOC limit at a worst price (the
official SDK's ``market_open`` uses ``mid × (1 ± slippage)`` with a default slippage of 5 %,
reference §4.2 / §13.3). We start from the best opposite quote instead of the mid when the book
has one (a tighter, still-fillable bound); ``TradingRule.worst_price`` then applies the slippage
and rounds on the permissive side.

Example::

    ref = await reference_price(rest, None, "ETH", "buy")        # best ask of an l2Book snapshot
    rule.worst_price("buy", ref, DEFAULT_SLIPPAGE)
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from connectors.base import BookUpdate, Side
from connectors.hyperliquid.book import OrderBook
from connectors.hyperliquid.errors import UnexpectedReply, unexpected_shape
from connectors.hyperliquid.parsing import parse_decimal, parse_l2_book
from connectors.hyperliquid.rest import HyperliquidRest

DEFAULT_SLIPPAGE = Decimal("0.05")
"""The official SDK's default slippage for ``market_open``/``market_close`` (5 %)."""


def book_reference(book: BookUpdate, side: Side) -> Decimal | None:
    """Best ask for a buy, best bid for a sell; the other side's price when one side is empty."""
    near, far = (book.asks, book.bids) if side == "buy" else (book.bids, book.asks)
    if near:
        return near[0].price
    if far:
        return far[0].price
    return None


def parse_marks(meta_and_ctxs: Any) -> dict[str, Decimal]:
    """``metaAndAssetCtxs`` → mark price by coin (``universe[i]`` pairs with ``ctxs[i]``)."""
    with unexpected_shape("metaAndAssetCtxs", meta_and_ctxs):
        meta, ctxs = meta_and_ctxs
        out: dict[str, Decimal] = {}
        for asset, ctx in zip(meta["universe"], ctxs, strict=True):
            if isinstance(ctx, Mapping) and ctx.get("markPx") is not None:
                out[str(asset["name"])] = parse_decimal(ctx["markPx"])
        return out


def mid_of(all_mids: Any, pair: str) -> Decimal:
    """The mid of ``pair`` from an ``allMids`` reply; raises :class:`UnexpectedReply`."""
    if not isinstance(all_mids, Mapping) or pair not in all_mids:
        raise UnexpectedReply(f"allMids has no mid for {pair}", repr(all_mids)[:300])
    return parse_decimal(all_mids[pair])


def mark_of(meta_and_ctxs: Any, pair: str) -> Decimal:
    """The mark of ``pair`` from a ``metaAndAssetCtxs`` reply; raises :class:`UnexpectedReply`."""
    marks = parse_marks(meta_and_ctxs)
    if pair not in marks:
        raise UnexpectedReply(f"no mark price for {pair}", repr(meta_and_ctxs)[:300])
    return marks[pair]


async def reference_price(
    rest: HyperliquidRest, live: OrderBook | None, pair: str, side: Side
) -> Decimal:
    """Best opposite quote of ``live`` when fresh, else of an ``l2Book`` snapshot, else the mid."""
    if live is not None and not live.is_stale():
        near = live.best_ask() if side == "buy" else live.best_bid()
        if near is not None:
            return near.price
    found = book_reference(parse_l2_book(await rest.info({"type": "l2Book", "coin": pair})), side)
    if found is not None:
        return found
    dex = pair.split(":", 1)[0] if ":" in pair else ""  # HIP-3 mids come with their dex
    return mid_of(await rest.info({"type": "allMids", **({"dex": dex} if dex else {})}), pair)
