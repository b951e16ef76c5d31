"""HIP-3 builder-deployed perp dexes on the local exchange: ``perpDexs``, the ``dex`` parameter,
per-dex ``meta`` and account state, and the isolated-only margin rule.

Shapes follow the reference (§8.1, §13.9): ``perpDexs`` → ``[null, {name, fullName, deployer,
oracleUpdater, feeRecipient, assetToStreamingOiCap, subDeployers, deployerFeeScale,
lastDeployerFeeScaleChangeTime, assetToFundingMultiplier, assetToFundingInterestRate}, …]``; the
``dex`` parameter (default ``""``, the first dex) scopes ``meta``, ``metaAndAssetCtxs``,
``allMids``, ``clearinghouseState``, ``openOrders`` and ``frontendOpenOrders``; ``userFills``,
``historicalOrders`` and ``orderStatus`` are not dex-scoped. HIP-3 ``meta.universe`` entries carry
``onlyIsolated`` and ``marginMode: "strictIsolated"``: every simulated HIP-3 market is
isolated-only, so a position there starts isolated and ``updateLeverage`` with ``isCross: true``
gets ``Cross margin is not allowed for this asset.`` (reference §13.5).

Simplification (documented in the README): the live exchange keeps a separate collateral balance
per dex for standard accounts (``sendAsset`` moves USDC in, §13.9); here every dex draws on the one
USDC balance, like a unified account. Each dex's ``clearinghouseState`` still reports only its own
positions, and the HIP-3 dex's ``accountValue`` is the equity of its isolated positions (margin +
unrealised PnL), taken out of the first dex's summary, so the per-dex summaries add up to the
account. An unknown ``dex`` is answered 422 naming the listed dexes: the live text for this case is
not recorded [unverified].

The /info side (``perpDexs``, the ``dex`` parameter, per-dex ``meta``) is in info_dexes.py.

Example::

    ensure_isolated(engine, account, market)  # xyz:XYZ100 → (20, False) until updateLeverage
    leverage_refusal(market, is_cross=True)   # "Cross margin is not allowed for this asset."
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from .dex_rules import dex_of

if TYPE_CHECKING:
    from .accounts import Account
    from .config import MarketSpec
    from .engine import ExchangeEngine

CROSS_NOT_ALLOWED = "Cross margin is not allowed for this asset."
_ZERO = Decimal(0)

def is_hip3(market: MarketSpec) -> bool:
    """Whether ``market`` is on a builder-deployed dex (isolated-only here)."""
    return not market.is_spot and dex_of(market.coin) != ""


def ensure_isolated(engine: ExchangeEngine, account: Account, market: MarketSpec) -> None:
    """Give a HIP-3 market its isolated leverage setting before first use (isolated-only)."""
    if is_hip3(market) and market.coin not in account.leverage and not account.house:
        account.leverage[market.coin] = (
            min(engine.config.default_leverage, market.max_leverage), False)


def leverage_refusal(market: MarketSpec, is_cross: bool) -> str | None:
    """The whole-action error of ``updateLeverage`` to cross margin on an isolated-only asset."""
    return CROSS_NOT_ALLOWED if is_cross and is_hip3(market) else None


def hip3_equity(engine: ExchangeEngine, account: Account) -> tuple[Decimal, Decimal]:
    """``(equity, margin)`` of the account's HIP-3 positions: margin + unrealised PnL, margin."""
    marks, default = engine.marks(), engine.config.default_leverage
    equity = margin = _ZERO
    for coin, pos in account.positions.items():
        if dex_of(coin) == "" or pos.szi == _ZERO:
            continue
        mark = marks.get(coin, pos.entry_px)
        held = abs(pos.szi) * mark / account.leverage_of(coin, default)
        held += account.isolated_extra.get(coin, _ZERO)
        margin += held
        equity += held + (mark - pos.entry_px) * pos.szi
    return equity, margin
