"""The rate-limit budget: weights as the exchange counts them, the token bucket (time passed in),
the address budget, and a connector that meets no 429 from a local exchange enforcing the same
limits over real HTTP."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from eth_account import Account

from connectors.hyperliquid import HyperliquidConnector
from connectors.hyperliquid.rate_limits import (
    BudgetConfigError,
    RateBudget,
    action_items,
    address_limit_message,
    exchange_weight,
    info_weight,
)
from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig


def test_weights_follow_the_exchange_table() -> None:
    assert [exchange_weight(n) for n in (1, 39, 40, 79, 80, 200)] == [1, 1, 2, 2, 3, 6]
    assert info_weight("l2Book") == 2 and info_weight("userRole") == 60
    assert info_weight("meta") == 20 and info_weight("userFills", 2000) == 120
    assert info_weight("candleSnapshot", 120) == 22
    assert action_items({"type": "order", "orders": [{}] * 7}) == 7
    assert action_items({"type": "cancelByCloid", "cancels": [{}] * 3}) == 3
    assert action_items({"type": "noop"}) == 1


def test_bucket_starts_full_and_refills_at_the_minute_rate() -> None:
    budget = RateBudget(ip_weight_per_minute=60, ip_headroom=0)  # 1 weight per second
    assert budget.ip_wait(60, now=0.0) == 0.0
    assert budget.ip_wait(2, now=0.0) == pytest.approx(2.0)   # reserved: the next waits longer
    assert budget.ip_wait(1, now=0.0) == pytest.approx(3.0)
    assert budget.ip_available(now=13.0) == pytest.approx(10.0)
    assert budget.ip_available(now=10_000.0) == 60.0          # never more than a minute's worth
    assert budget.weight_spent == 63
    kept = RateBudget(ip_weight_per_minute=60, ip_headroom=0.1)   # 6 of 60 never spent
    assert kept.ip_wait(54, now=0.0) == 0.0 and kept.ip_wait(1, now=0.0) == pytest.approx(1.0)


def test_address_budget_and_cancel_cap() -> None:
    budget = RateBudget(address_buffer=100)
    budget.spend_address(90)
    assert budget.address_room(is_cancel=False) == 10
    assert budget.address_room(is_cancel=True) == 110        # min(cap + 100000, 2 × cap)
    budget.traded(Decimal("50.7"))                           # 1 request per USDC traded
    assert budget.address_room(is_cancel=False) == 60
    budget.count_reply(5, "ok", {})
    assert budget.address_used == 95
    budget.count_reply(5, "err", address_limit_message(101, 100, Decimal(0)))
    assert budget.address_room(is_cancel=False) == 0          # the exchange said we are out
    assert not budget.sync_from({"unexpected": True}) and budget.address_used == 150
    assert budget.sync_from({"cumVlm": "12.5", "nRequestsUsed": 3, "nRequestsCap": 10012})
    assert (budget.address_used, budget.cum_volume) == (3, Decimal("12.5"))


@pytest.mark.parametrize("kwargs,field", [({"ip_weight_per_minute": 0}, "ip_weight_per_minute"),
                                          ({"address_buffer": -1}, "address_buffer"),
                                          ({"ip_headroom": 1.0}, "ip_headroom")])
def test_bad_budget_settings_name_the_fix(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(BudgetConfigError, match=field):
        RateBudget(**kwargs)


async def test_connector_meets_no_429_under_the_exchanges_own_limits() -> None:
    # 600 weight per minute (10 per second) on both sides: 300 requests of weight 2 (plus the
    # start-up queries) overrun the full bucket, so the budget must wait a few seconds instead of
    # letting the exchange refuse.
    config = SimulatorConfig(market_maker=False, limits="real", ip_weight_per_minute=600)
    wallet = Account.create()
    async with SimulatedExchange(config) as sim:
        sim.fund(wallet.address)
        budget = RateBudget(ip_weight_per_minute=600)
        async with HyperliquidConnector(sim.base_url, private_key=wallet.key.hex(),
                                        rate_budget=budget, rules_refresh_s=0) as conn:
            async with asyncio.timeout(30):
                for _ in range(300):
                    await conn.rest.info({"type": "allMids"})
            assert sim.limiter.refused_ip == 0 and conn.rest.stats.responses_429 == 0
            assert budget.waited_s > 0


async def test_without_a_budget_the_exchange_answers_429_null() -> None:
    config = SimulatorConfig(market_maker=False, limits="real", ip_weight_per_minute=60)
    async with SimulatedExchange(config) as sim:  # noqa: SIM117 (the URL exists once started)
        # perp_dexs=(): no perpDexs/meta(dex) at start — 60 weight a minute would not cover them.
        async with HyperliquidConnector(sim.base_url, account_address="0x" + "11" * 20,
                                        rate_budget="off", rules_refresh_s=0,
                                        perp_dexs=()) as conn:
            statuses = []
            for _ in range(40):
                status, text, _ = await conn.rest._post("/info", {"type": "allMids"})
                statuses.append((status, text))
            assert (429, "null") in statuses and sim.limiter.refused_ip > 0
