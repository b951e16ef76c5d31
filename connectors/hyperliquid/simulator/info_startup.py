"""/info types that clients ask for at start-up or in passing, beyond orders and balances:
``perpDexs``, ``userAbstraction``, ``userDexAbstraction``, ``maxBuilderFee``,
``approvedBuilders``, ``extraAgents``, ``subAccounts``, ``referral`` (shapes from reference
§13.9/§13.12/§13.13), and the set of every type the local exchange answers — so an unknown type
gets ``unknown info type`` before any other check, not an unrelated complaint about ``user``.

Example::

    answer_startup(engine, "referral", user, body)   # the referral state of user
"""

from __future__ import annotations

from typing import Any

from .authority import SUB_ACCOUNT
from .engine import ExchangeEngine

#: Types that need no ``user``.
MARKET_TYPES = frozenset({"meta", "spotMeta", "metaAndAssetCtxs", "spotMetaAndAssetCtxs",
                          "allMids", "l2Book", "exchangeStatus", "perpDexs"})
#: Types answered for a ``user``.
USER_TYPES = frozenset({
    "openOrders", "frontendOpenOrders", "orderStatus", "historicalOrders", "userFills",
    "userFillsByTime", "clearinghouseState", "spotClearinghouseState", "userRateLimit",
    "userRole", "userAbstraction", "userDexAbstraction", "maxBuilderFee", "approvedBuilders",
    "extraAgents", "subAccounts", "referral", "activeAssetData", "userFunding",
    "userNonFundingLedgerUpdates", "twapHistory", "userTwapSliceFills",
    "userTwapSliceFillsByTime"})
STARTUP_USER_TYPES = frozenset({"userAbstraction", "userDexAbstraction", "maxBuilderFee",
                                "approvedBuilders", "extraAgents", "subAccounts", "referral"})


def answer_startup(engine: ExchangeEngine, kind: str, user: str, body: dict[str, Any]) -> Any:
    """The answer to one of :data:`STARTUP_USER_TYPES` for ``user``."""
    if kind == "userAbstraction":
        return "default"  # a standard account (no unified / portfolio margin)
    if kind == "userDexAbstraction":
        return None
    if kind == "maxBuilderFee":
        return 0  # no builder fee approved (``approveBuilderFee`` is not simulated)
    if kind == "approvedBuilders":
        return []
    if kind == "extraAgents":
        # Named agents only; the unnamed one is not listed (reference §13.8).
        return [{"name": name, "address": agent, "validUntil": None}
                for agent, (owner, name) in engine.agents.agents.items()
                if owner == user and name]
    if kind == "subAccounts":
        subs = [address for address, (owner, link) in engine.links.items()
                if owner == user and link == SUB_ACCOUNT]
        if not subs:
            return None  # live: null when there are none
        return [{"subAccountUser": sub, "master": user, "name": "",
                 "clearinghouseState": None} for sub in subs]
    return {"referredBy": None, "cumVlm": str(engine.view(user).cum_volume),
            "unclaimedRewards": "0.0", "claimedRewards": "0.0", "builderRewards": "0.0",
            "referrerState": {"stage": "needToTrade", "data": {"required": "10000.0"}},
            "rewardHistory": []}
