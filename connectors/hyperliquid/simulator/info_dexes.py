"""The /info side of HIP-3 dexes: ``perpDexs``, the ``dex`` parameter and per-dex ``meta``.

Rules and shapes: see dexes.py (reference §8.1, §13.9).

Example::

    perp_dexs_answer(engine)                  # [None, {"name": "xyz", ...}]
    requested_dex(engine, {"dex": "xyz"})     # "xyz"; "nope" raises ActionFormatError
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .actions import ActionFormatError
from .dex_rules import markets_of

if TYPE_CHECKING:
    from .engine import ExchangeEngine

#: Deployer of every simulated builder dex (a fixed address nobody trades from).
DEPLOYER = "0x00000000000000000000000000000000000000d1"


def requested_dex(engine: ExchangeEngine, body: dict[str, Any]) -> str:
    """The ``dex`` of an /info body (absent or null: ``""``); raises for one not listed."""
    dex = body.get("dex")
    if dex is None or dex == "":
        return ""
    if not isinstance(dex, str):
        raise ActionFormatError("dex must be a string")
    if dex not in engine.config.perp_dexs:
        listed = ", ".join(repr(d) for d in ("", *engine.config.perp_dexs))
        raise ActionFormatError(f"unknown perp dex {dex[:20]!r}: perpDexs lists {listed}")
    return dex


def perp_dexs_answer(engine: ExchangeEngine) -> list[dict[str, Any] | None]:
    """``perpDexs``: ``null`` for the first dex, then one object per builder dex."""
    out: list[dict[str, Any] | None] = [None]
    for name in engine.config.perp_dexs:
        coins = [m.coin for m in markets_of(name, engine.config.markets)]
        out.append({
            "name": name, "fullName": f"{name} builder dex (local)", "deployer": DEPLOYER,
            "oracleUpdater": None, "feeRecipient": None,
            "assetToStreamingOiCap": [[coin, "1000000000.0"] for coin in coins],
            "subDeployers": [], "deployerFeeScale": "1.0",
            "lastDeployerFeeScaleChangeTime": "1970-01-01T00:00:00",
            "assetToFundingMultiplier": [[coin, "1.0"] for coin in coins],
            "assetToFundingInterestRate": [[coin, "0.0"] for coin in coins]})
    return out


def dex_universe(engine: ExchangeEngine, dex: str) -> list[dict[str, Any]]:
    """``meta.universe`` of ``dex`` (the first dex's entries are unchanged by HIP-3)."""
    universe = []
    for market in markets_of(dex, engine.config.markets):
        entry: dict[str, Any] = {"name": market.coin, "szDecimals": market.sz_decimals,
                                 "maxLeverage": market.max_leverage,
                                 "marginTableId": market.max_leverage}
        if dex:
            entry |= {"onlyIsolated": True, "marginMode": "strictIsolated"}
        universe.append(entry)
    return universe
