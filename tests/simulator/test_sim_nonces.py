"""Nonce rules per signer (unique, 100 highest kept, time window) and expiresAfter."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount
from sim_helpers import Api, now_ms, order_action, order_wire

from connectors.hyperliquid.simulator import SimulatedExchange

ETH = 1
DAY = 86_400_000


def _noop() -> dict[str, str]:
    return {"type": "noop"}


async def test_duplicate_nonce_refused(api: Api, alice: LocalAccount) -> None:
    nonce = now_ms()
    assert (await api.exchange(alice, _noop(), nonce=nonce))["status"] == "ok"
    reply = await api.exchange(alice, _noop(), nonce=nonce)
    assert reply == {"status": "err", "response": f"Invalid nonce: duplicate nonce {nonce}"}


async def test_nonces_are_per_signer(api: Api, alice: LocalAccount, bob: LocalAccount) -> None:
    nonce = now_ms()
    assert (await api.exchange(alice, _noop(), nonce=nonce))["status"] == "ok"
    assert (await api.exchange(bob, _noop(), nonce=nonce))["status"] == "ok"


async def test_nonce_below_the_100_kept_is_too_low(api: Api, alice: LocalAccount) -> None:
    base = now_ms()
    for i in range(100):
        assert (await api.exchange(alice, _noop(), nonce=base + 10 + i))["status"] == "ok"
    reply = await api.exchange(alice, _noop(), nonce=base)
    assert reply["response"] == f"Invalid nonce: nonce too low {base} < {base + 10}"
    # Out of order but above the smallest kept: still fine.
    assert (await api.exchange(alice, _noop(), nonce=base + 200))["status"] == "ok"
    assert (await api.exchange(alice, _noop(), nonce=base + 150))["status"] == "ok"


async def test_nonce_outside_time_window(api: Api, alice: LocalAccount) -> None:
    for nonce in (now_ms() - 2 * DAY - 1000, now_ms() + DAY + 60_000):
        reply = await api.exchange(alice, _noop(), nonce=nonce)
        assert reply["status"] == "err" and reply["response"].startswith("Invalid nonce")
    assert (await api.exchange(alice, _noop(), nonce=now_ms() - DAY))["status"] == "ok"


async def test_expired_action_is_not_applied(sim: SimulatedExchange, api: Api,
                                             alice: LocalAccount) -> None:
    wire = order_wire(ETH, True, "2900", "0.01", c="0x" + "01" * 16)
    reply = await api.exchange(alice, order_action(wire), expires_after=now_ms() - 1)
    assert reply == {"status": "err", "response": "Action already expired"}
    assert sim.truth.orders(alice.address) == {}
    status = await api.info({"type": "orderStatus", "user": alice.address,
                             "oid": "0x" + "01" * 16})
    assert status == {"status": "unknownOid"}


async def test_unexpired_action_is_applied(api: Api, alice: LocalAccount) -> None:
    wire = order_wire(ETH, True, "2900", "0.01")
    statuses = await api.order(alice, wire, expires_after=now_ms() + 5_000)
    assert "resting" in statuses[0]
