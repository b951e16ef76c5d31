"""``approveBuilderFee`` (user-signed, by the account itself) and orders that carry ``builder``:
refused until approved or above the approved rate, charged to the user and paid to the builder on
fills once approved; ``setReferrer`` once. Signed with the official SDK's functions."""

from __future__ import annotations

from decimal import Decimal

from eth_account import Account
from eth_account.signers.local import LocalAccount
from hyperliquid.utils.signing import sign_approve_builder_fee
from sim_helpers import Api, fresh_nonce, order_wire

from connectors.hyperliquid.simulator import SimulatedExchange

ETH = 1


async def _approve(api: Api, user: LocalAccount, builder: str, rate: str) -> object:
    nonce = fresh_nonce()
    action = {"type": "approveBuilderFee", "maxFeeRate": rate, "builder": builder,
              "nonce": nonce}
    signature = sign_approve_builder_fee(user, action, False)
    status, reply = await api.post_raw({"action": action, "nonce": nonce, "signature": signature,
                                        "vaultAddress": None, "expiresAfter": None})
    assert status == 200, reply
    return reply


def _with_builder(builder: str, tenths: int, *wires: dict[str, object]) -> dict[str, object]:
    return {"type": "order", "orders": list(wires), "grouping": "na",
            "builder": {"b": builder, "f": tenths}}


async def test_builder_fee_needs_approval_and_is_charged(sim: SimulatedExchange, api: Api,
                                                         alice: LocalAccount,
                                                         bob: LocalAccount) -> None:
    builder = Account.create().address.lower()
    await api.order(bob, order_wire(ETH, False, "3000", "0.1"))  # something to buy from
    taker = _with_builder(builder, 10, order_wire(ETH, True, "3000", "0.1"))
    refused = await api.exchange(alice, taker)
    assert refused == {"status": "err", "response": "Builder fee has not been approved."}
    assert await _approve(api, alice, builder, "0.001%") == {"status": "ok",
                                                             "response": {"type": "default"}}
    over = await api.exchange(alice, taker)  # f=10 (0.01 %) is above the approved 0.001 %
    assert over["status"] == "err"
    assert (await _approve(api, alice, builder, "0.01%"))["status"] == "ok"
    reply = await api.exchange(alice, taker)
    assert "filled" in reply["response"]["data"]["statuses"][0], reply
    [fill] = sim.truth.fills(alice.address)
    notional = Decimal("300")
    taker_fee = notional * sim.config.taker_fee
    assert Decimal(fill["fee"]) == taker_fee + notional * Decimal("0.0001")
    assert sim.engine.accounts[builder].usdc == sim.config.initial_usdc + Decimal("0.03")


async def test_builder_approval_needs_an_existing_signer_and_a_sane_rate(
        sim: SimulatedExchange, api: Api, alice: LocalAccount) -> None:
    stranger = Account.create()
    builder = Account.create().address
    reply = await _approve(api, stranger, builder, "0.001%")
    assert reply == {"status": "err", "response": "Must deposit before performing actions. "
                                                  f"User: {stranger.address.lower()}"}
    assert (await _approve(api, alice, builder, "0.5%"))["status"] == "err"
    assert not sim.engine.has_account(stranger.address.lower())


async def test_set_referrer_once(api: Api, alice: LocalAccount) -> None:
    action = {"type": "setReferrer", "code": "FRIEND"}
    assert await api.exchange(alice, action) == {"status": "ok", "response": {"type": "default"}}
    assert await api.exchange(alice, action) == {"status": "err",
                                                 "response": "Referrer already set"}
