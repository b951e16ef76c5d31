"""HIP-3 builder-deployed perp dexes: which exist, their trading rules, and the ``dex`` parameter.

Facts (reference §2.1, §8.1, §13.9): ``{"type": "perpDexs"}`` answers ``[null, {name, …}, …]``;
element ``i`` is the dex with ``perp_dex_index = i`` (``null``: the first, validator-operated dex,
name ``""``). A builder dex's markets are named ``"{dex}:{COIN}"`` everywhere (``meta``, orders,
fills, positions, WebSocket pushes) and their asset id is ``100000 + i * 10000 + index_in_meta``
— the official SDK (``hyperliquid/info.py``) computes the same ``110000 + j * 10000`` over
``perpDexs()[1:]``. ``meta``, ``metaAndAssetCtxs``, ``allMids``, ``clearinghouseState``,
``openOrders`` and ``frontendOpenOrders`` take a ``dex`` parameter (absent = the first dex);
``userFills``, ``historicalOrders`` and ``orderStatus`` cover every dex at once.

Example::

    names = parse_perp_dexs([None, {"name": "xyz"}])          # ("", "xyz")
    dex_of("xyz:XYZ100")                                      # "xyz"
    with_dex({"type": "openOrders", "user": u}, "xyz")        # {..., "dex": "xyz"}
    listed, rules = await load_dex_rules(rest, None)          # every listed dex
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from connectors.account import AccountSnapshot, PositionView
from connectors.base import TradingRule, UnknownPair
from connectors.hyperliquid.errors import UnexpectedReply
from connectors.hyperliquid.rules import parse_perp_meta

if TYPE_CHECKING:
    from connectors.hyperliquid.rest import HyperliquidRest

HIP3_ASSET_OFFSET = 100_000
DEX_ASSET_STRIDE = 10_000


class UnknownPerpDex(UnknownPair):
    """A ``dex:COIN`` pair or a configured dex that the exchange's ``perpDexs`` does not list
    (or that this connector was told not to cover). The message names the dexes that exist."""

    def __init__(self, dex: str, listed: Sequence[str], covered: Sequence[str] | None = None):
        super().__init__(dex)
        self.dex = dex
        self.listed = tuple(listed)
        self.covered = None if covered is None else tuple(covered)

    def __str__(self) -> str:
        if not self.listed:  # perp_dexs=(): perpDexs was never asked
            return (f"perp dex {self.dex!r} is not covered: this connector was started with "
                    f"perp_dexs=() (the first dex only); pass perp_dexs=None (every dex) or "
                    f"include {self.dex!r}")
        names = ", ".join(repr(d) for d in self.listed if d) or "none"
        if self.dex in self.listed and self.covered is not None:
            return (f"perp dex {self.dex!r} exists but this connector covers only "
                    f"{list(self.covered)}: add it to perp_dexs (--perp-dex) to trade it")
        return (f"perp dex {self.dex!r} does not exist: the exchange's perpDexs lists {names} "
                f"(and the first dex ''); check the dex part of the 'dex:COIN' name or "
                f"perp_dexs (--perp-dex)")


def dex_of(pair: str) -> str:
    """The dex of a perp pair: ``"xyz"`` for ``"xyz:XYZ100"``, ``""`` for ``"BTC"``/spot."""
    return pair.split(":", 1)[0] if ":" in pair else ""


def with_dex(body: dict[str, Any], dex: str) -> dict[str, Any]:
    """``body`` with ``"dex": dex`` when ``dex`` is a builder dex (the first dex's requests keep
    their historical shape, without the key)."""
    return {**body, "dex": dex} if dex else body


def parse_perp_dexs(reply: Any) -> tuple[str, ...]:
    """Dex names by ``perp_dex_index`` from a ``perpDexs`` reply (``""`` for the first dex)."""
    if not isinstance(reply, list) or not reply:
        raise UnexpectedReply("perpDexs reply is not a non-empty list", repr(reply)[:300])
    names: list[str] = []
    for index, entry in enumerate(reply):
        if entry is None and index == 0:
            names.append("")
        elif isinstance(entry, Mapping) and isinstance(entry.get("name"), str) and entry["name"]:
            names.append(str(entry["name"]))
        else:
            raise UnexpectedReply(f"perpDexs element {index} has no dex name", repr(entry)[:300])
    if len(set(names)) != len(names):
        raise UnexpectedReply("perpDexs lists a dex twice", repr(reply)[:300])
    return tuple(names)


def dex_rules(dex: str, dex_index: int, meta: Mapping[str, Any]) -> list[TradingRule]:
    """Rules of a builder dex from its ``meta(dex)``, with asset ids
    ``100000 + dex_index * 10000 + index_in_meta``; every name must carry the ``dex:`` prefix."""
    rules = []
    for rule in parse_perp_meta(meta):
        if dex_of(rule.pair) != dex:
            raise UnexpectedReply(f"meta of dex {dex!r} lists {rule.pair!r}, not '{dex}:COIN'",
                                  repr(meta)[:300])
        asset = HIP3_ASSET_OFFSET + dex_index * DEX_ASSET_STRIDE + rule.asset_id
        rules.append(dataclasses.replace(rule, asset_id=asset))
    return rules


def choose_dexes(listed: Sequence[str], wanted: Sequence[str] | None) -> tuple[str, ...]:
    """The builder dexes to cover: every listed one (``wanted=None``) or ``wanted``, each of
    which must be listed (raises :class:`UnknownPerpDex`); ``""`` (the first dex) is implicit."""
    builders = tuple(d for d in listed if d)
    if wanted is None:
        return builders
    chosen: list[str] = []
    for dex in wanted:
        if dex and dex not in builders:
            raise UnknownPerpDex(dex, listed)
        if dex and dex not in chosen:
            chosen.append(dex)
    return tuple(chosen)


async def load_dex_rules(
    rest: HyperliquidRest, wanted: Sequence[str] | None
) -> tuple[tuple[str, ...], tuple[str, ...], list[TradingRule]]:
    """``(listed, covered, rules)``: every dex ``perpDexs`` lists, the builder dexes covered
    (see :func:`choose_dexes`) and the trading rules of their markets (``meta`` per dex).
    ``wanted=()`` asks nothing (the first dex only; ``listed`` is then empty)."""
    if wanted is not None and not any(wanted):
        return (), (), []
    listed = parse_perp_dexs(await rest.info({"type": "perpDexs"}))
    covered = choose_dexes(listed, wanted)
    rules: list[TradingRule] = []
    for dex in covered:
        meta = await rest.info({"type": "meta", "dex": dex})
        if not isinstance(meta, Mapping):
            raise UnexpectedReply(f"meta of dex {dex!r} is not an object", repr(meta)[:300])
        rules.extend(dex_rules(dex, listed.index(dex), meta))
    return listed, covered, rules


def merge_snapshots(snapshots: Sequence[AccountSnapshot]) -> AccountSnapshot:
    """One account view from the per-dex ``clearinghouseState`` snapshots (first dex first):
    positions united, money fields summed — each dex holds its own collateral (§13.9), so the
    account's value is the sum; the time and raw answer are the first dex's."""
    first = snapshots[0]
    if len(snapshots) == 1:
        return first
    positions: dict[str, PositionView] = {}
    for snapshot in snapshots:
        positions.update(snapshot.positions)
    return AccountSnapshot(
        time_ms=first.time_ms,
        account_value=sum((s.account_value for s in snapshots), Decimal(0)),
        withdrawable=sum((s.withdrawable for s in snapshots), Decimal(0)),
        total_margin_used=sum((s.total_margin_used for s in snapshots), Decimal(0)),
        total_notional=sum((s.total_notional for s in snapshots), Decimal(0)),
        positions=positions,
        raw=first.raw,
    )
