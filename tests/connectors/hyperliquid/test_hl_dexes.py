"""HIP-3 dexes in the connector: parsing ``perpDexs`` and ``meta(dex)``, which dexes are covered,
the errors that name the listed dexes, and the connector against the local exchange's ``xyz``."""

from __future__ import annotations

from decimal import Decimal

import pytest
from eth_account import Account

from connectors.account import AccountSnapshot, PositionView
from connectors.base import UnknownPair
from connectors.hyperliquid import HyperliquidConnector
from connectors.hyperliquid.dexes import (
    UnknownPerpDex,
    choose_dexes,
    dex_of,
    dex_rules,
    merge_snapshots,
    parse_perp_dexs,
    with_dex,
)
from connectors.hyperliquid.errors import UnexpectedReply
from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig

D = Decimal
META = {"universe": [{"name": "flx:CRCL", "szDecimals": 2, "maxLeverage": 10},
                     {"name": "flx:TSLA", "szDecimals": 3, "maxLeverage": 5}]}


def test_names_ids_and_the_dex_parameter() -> None:
    assert parse_perp_dexs([None, {"name": "xyz"}, {"name": "flx"}]) == ("", "xyz", "flx")
    assert dex_of("xyz:XYZ100") == "xyz" and dex_of("BTC") == "" and dex_of("PURR/USDC") == ""
    assert with_dex({"type": "openOrders"}, "") == {"type": "openOrders"}
    assert with_dex({"type": "openOrders"}, "flx") == {"type": "openOrders", "dex": "flx"}
    rules = dex_rules("flx", 2, META)
    assert [(r.pair, r.asset_id) for r in rules] == [("flx:CRCL", 120000), ("flx:TSLA", 120001)]
    assert rules[1].amount_decimals == 3 and rules[1].price_max_decimals == 3


@pytest.mark.parametrize("reply", [None, [], {"name": "xyz"}, [None, {"fullName": "x"}],
                                   [None, None], [None, {"name": "a"}, {"name": "a"}]])
def test_a_malformed_perp_dexs_reply_is_unexpected(reply: object) -> None:
    with pytest.raises(UnexpectedReply):
        parse_perp_dexs(reply)


def test_a_meta_whose_names_lack_the_dex_prefix_is_unexpected() -> None:
    with pytest.raises(UnexpectedReply, match="not 'flx:COIN'"):
        dex_rules("flx", 1, {"universe": [{"name": "CRCL", "szDecimals": 2}]})


def test_which_dexes_are_covered_and_the_errors_naming_the_listed_ones() -> None:
    listed = ("", "xyz", "flx")
    assert choose_dexes(listed, None) == ("xyz", "flx")
    assert choose_dexes(listed, ["flx", "", "flx"]) == ("flx",)
    with pytest.raises(UnknownPerpDex) as missing:
        choose_dexes(listed, ["abc"])
    assert isinstance(missing.value, UnknownPair)
    text = str(missing.value)
    assert "'abc' does not exist" in text and "'xyz', 'flx'" in text and "perp_dexs" in text
    left_out = str(UnknownPerpDex("flx", listed, ("xyz",)))
    assert "exists but this connector covers only ['xyz']" in left_out
    assert "perp_dexs=()" in str(UnknownPerpDex("xyz", (), ()))


def test_snapshots_of_several_dexes_add_up() -> None:
    def snap(value: str, pair: str) -> AccountSnapshot:
        pos = PositionView(pair=pair, size=D(1), entry_price=D(1), mark_price=D(1),
                           unrealized_pnl=D(2), margin_used=D(3), leverage=5,
                           leverage_type="isolated", liquidation_price=None)
        return AccountSnapshot(time_ms=7, account_value=D(value), withdrawable=D(1),
                               total_margin_used=D(3), total_notional=D(4),
                               positions={pair: pos})
    merged = merge_snapshots([snap("100", "BTC"), snap("10", "xyz:A")])
    assert merged.account_value == D(110) and merged.total_margin_used == D(6)
    assert set(merged.positions) == {"BTC", "xyz:A"} and merged.time_ms == 7
    assert merged.cash == D(106)


async def test_the_connector_against_the_local_builder_dex() -> None:
    key = "0x" + bytes(Account.create().key).hex()
    async with SimulatedExchange(SimulatorConfig(market_maker=False)) as sim:
        async with HyperliquidConnector(sim.base_url, private_key=key) as conn:
            assert conn.perp_dexs == ("xyz",)
            assert conn.trading_rule("xyz:GOLD").asset_id == 110001
            assert conn.trading_rule("ETH").asset_id == 1
            with pytest.raises(UnknownPerpDex, match="'abc' does not exist"):
                conn.trading_rule("abc:FOO")
            with pytest.raises(UnknownPair, match="xyz:NOPE"):
                conn.trading_rule("xyz:NOPE")
            assert await conn.mark_price("xyz:XYZ100") == D("25000")
            assert await conn.open_orders() == [] and await conn.positions() == []
        async with HyperliquidConnector(sim.base_url, private_key=key, perp_dexs=()) as only:
            assert only.perp_dexs == ()
            with pytest.raises(UnknownPerpDex, match=r"perp_dexs=\(\)"):
                only.trading_rule("xyz:XYZ100")
        picky = HyperliquidConnector(sim.base_url, private_key=key, perp_dexs=["xyz", "zz"])
        with pytest.raises(UnknownPerpDex, match=r"'zz' does not exist.*'xyz'"):
            await picky.start()
        await picky.close()
