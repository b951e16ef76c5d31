"""Trading rules from the exchange metadata (``meta`` and ``spotMeta``) and a registry of them.

Perp asset ids are the index in ``meta.universe`` (delisted coins keep their slot); spot asset ids
are ``10000 + spotMeta.universe[i].index`` and spot sizes use the *base token's* szDecimals.
Spot pairs are named ``"PURR/USDC"`` or ``"@<index>"`` by the exchange; our name of a spot pair is
its ``"BASE/QUOTE"`` token names (``rule.pair``), and :class:`TradingRules` accepts both, while
:meth:`TradingRules.canonical` maps the exchange's name in a report back to ours.

Example::

    rules = TradingRules()
    rules.replace(parse_perp_meta(meta) + parse_spot_meta(spot_meta))
    rules.get("ETH").asset_id      # 1
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from connectors.base import TradingRule, UnknownPair
from connectors.hyperliquid import constants
from connectors.hyperliquid.errors import unexpected_shape


def parse_perp_meta(meta: Mapping[str, Any]) -> list[TradingRule]:
    """Rules of every perp in a ``{"type": "meta"}`` reply (including delisted ones)."""
    with unexpected_shape("meta reply", meta):
        universe = meta["universe"]
        rules = []
        for asset_id, coin in enumerate(universe):
            sz_decimals = int(coin["szDecimals"])
            rules.append(
                TradingRule(
                    pair=str(coin["name"]),
                    asset_id=asset_id,
                    amount_decimals=sz_decimals,
                    price_sig_figs=constants.PRICE_SIG_FIGS,
                    price_max_decimals=constants.PERP_MAX_DECIMALS - sz_decimals,
                    min_notional=constants.MIN_NOTIONAL,
                    max_leverage=int(coin.get("maxLeverage", 1)),
                    is_spot=False,
                )
            )
    return rules


def parse_spot_meta(spot_meta: Mapping[str, Any]) -> list[tuple[TradingRule, str]]:
    """Rules of every spot pair in a ``spotMeta`` reply (named BASE/QUOTE), each with the
    exchange's own name of the pair (``"@<index>"``, or ``"PURR/USDC"``) as its alias."""
    with unexpected_shape("spotMeta reply", spot_meta):
        tokens = {int(t["index"]): t for t in spot_meta["tokens"]}
        result = []
        for pair in spot_meta["universe"]:
            base_index, quote_index = (int(i) for i in pair["tokens"])
            base, quote = tokens[base_index], tokens[quote_index]
            sz_decimals = int(base["szDecimals"])
            # The pair is named BASE/QUOTE (what a user asks for, and what reports say); the
            # exchange's own name ("@107"; "PURR/USDC" for the first pair) is an alias of it.
            rule = TradingRule(
                pair=f"{base['name']}/{quote['name']}",
                asset_id=constants.SPOT_ASSET_OFFSET + int(pair["index"]),
                amount_decimals=sz_decimals,
                price_sig_figs=constants.PRICE_SIG_FIGS,
                price_max_decimals=constants.SPOT_MAX_DECIMALS - sz_decimals,
                min_notional=constants.MIN_NOTIONAL,
                max_leverage=1,
                is_spot=True,
            )
            result.append((rule, str(pair["name"])))
    return result


class TradingRules:
    """The current rules by pair name and by asset id; replaced wholesale on every refresh."""

    def __init__(self) -> None:
        self._by_pair: dict[str, TradingRule] = {}
        self._by_asset: dict[int, TradingRule] = {}
        self._canonical: dict[str, str] = {}

    def replace(
        self, perps: Iterable[TradingRule], spots: Iterable[tuple[TradingRule, str]] = ()
    ) -> None:
        """Swap in a fresh set of rules (atomic for readers: two dict assignments)."""
        by_pair: dict[str, TradingRule] = {}
        by_asset: dict[int, TradingRule] = {}
        for rule in perps:
            by_pair[rule.pair] = rule
            by_asset[rule.asset_id] = rule
        canonical: dict[str, str] = {}
        for rule, wire_name in spots:
            by_pair.setdefault(rule.pair, rule)
            by_pair[wire_name] = rule
            by_asset[rule.asset_id] = rule
            canonical[wire_name] = rule.pair
        self._by_pair, self._by_asset, self._canonical = by_pair, by_asset, canonical

    def get(self, pair: str) -> TradingRule:
        """The rule of ``pair``; raises :class:`UnknownPair`."""
        try:
            return self._by_pair[pair]
        except KeyError:
            raise UnknownPair(pair) from None

    def by_asset(self, asset_id: int) -> TradingRule:
        """The rule of an asset id; raises :class:`UnknownPair`."""
        try:
            return self._by_asset[asset_id]
        except KeyError:
            raise UnknownPair(f"asset {asset_id}") from None

    def canonical(self, coin: str) -> str:
        """Our name of the pair the exchange calls ``coin`` in a report: ``"@107"`` ->
        ``"HYPE/USDC"``; perps and unknown names are returned unchanged."""
        return self._canonical.get(coin, coin)

    def pairs(self) -> list[str]:
        """Every known pair name (aliases included)."""
        return list(self._by_pair)

    def __len__(self) -> int:
        return len(self._by_asset)
