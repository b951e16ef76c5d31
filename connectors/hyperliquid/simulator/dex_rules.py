"""Names and asset ids of HIP-3 (builder-deployed) perp dexes, as the local exchange lays them out.

Facts (reference §2.1, §13.9): ``perpDexs`` lists ``null`` (the first, validator-operated dex, name
``""``) then one object per builder dex; the dex at position ``i`` has ``perp_dex_index = i``. Its
markets are named ``"{dex}:{COIN}"`` and their asset id is ``100000 + i * 10000 + index_in_meta``.
Dex names are 2–4 lowercase characters (GB-HIP3 deployer actions). This module is pure: it is
imported by ``config.py`` to refuse a configuration that breaks those rules.

Example::

    dex_of("xyz:XYZ100")                      # "xyz"
    hip3_asset_id(1, 0)                       # 110000
    check_dex_markets(("xyz",), markets)      # None, or a message naming the bad market
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Protocol, TypeVar

DEX_NAME_RE = re.compile(r"^[a-z]{2,4}$")
HIP3_OFFSET = 100_000
DEX_STRIDE = 10_000


class _Market(Protocol):
    @property
    def coin(self) -> str: ...
    @property
    def asset(self) -> int: ...
    @property
    def is_spot(self) -> bool: ...


M = TypeVar("M", bound=_Market)


def dex_of(coin: str) -> str:
    """The dex of a perp coin name: ``"xyz"`` for ``"xyz:XYZ100"``, ``""`` for ``"BTC"``."""
    return coin.split(":", 1)[0] if ":" in coin else ""


def hip3_asset_id(dex_index: int, index_in_meta: int) -> int:
    """Wire asset id of the ``index_in_meta``-th market of the dex at ``perpDexs[dex_index]``."""
    return HIP3_OFFSET + dex_index * DEX_STRIDE + index_in_meta


def markets_of(dex: str, markets: Iterable[M]) -> list[M]:
    """The perp markets of ``dex`` (``""``: the first dex), in ``meta`` order."""
    return [m for m in markets if not m.is_spot and dex_of(m.coin) == dex]


def check_dex_markets(dexes: tuple[str, ...], markets: Iterable[_Market]) -> str | None:
    """``None`` if every HIP-3 market belongs to a listed dex with the right asset id, else why."""
    if len(set(dexes)) != len(dexes):
        return f"perp_dexs lists a dex twice: {list(dexes)}"
    for name in dexes:
        if not DEX_NAME_RE.match(name):
            return f"perp dex name {name!r} must be 2-4 lowercase letters (e.g. 'xyz')"
    market_list = list(markets)
    for market in market_list:
        dex = dex_of(market.coin)
        if dex and (market.is_spot or dex not in dexes):
            return (f"market {market.coin!r} names dex {dex!r}, which is not in perp_dexs "
                    f"{list(dexes)}: add it there or rename the market")
    for position, name in enumerate(dexes, start=1):
        for index, market in enumerate(markets_of(name, market_list)):
            expected = hip3_asset_id(position, index)
            if market.asset != expected:
                return (f"market {market.coin!r} must have asset id {expected} "
                        f"(100000 + {position} * 10000 + {index}), not {market.asset}")
    return None
