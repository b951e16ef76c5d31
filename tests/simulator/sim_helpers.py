"""Test-side client of the simulator: builds wire actions and signs them with the official SDK's
signing functions (an implementation independent from the simulator's own recovery code)."""

from __future__ import annotations

import itertools
import time
from typing import Any

import aiohttp
from eth_account.signers.local import LocalAccount
from hyperliquid.utils.signing import sign_l1_action

_counter = itertools.count()


def now_ms() -> int:
    """Unix milliseconds."""
    return time.time_ns() // 1_000_000


def fresh_nonce() -> int:
    """A nonce unique within this test process and close to now."""
    return now_ms() + next(_counter)


def cloid(n: int) -> str:
    """The n-th client order id, ``0x`` + 32 hex digits."""
    return f"{n:#034x}"


def order_wire(asset: int, is_buy: bool, px: str, sz: str, tif: str = "Gtc",
               reduce_only: bool = False, c: str | None = None) -> dict[str, Any]:
    """One order in wire form (key order as the SDK sends it)."""
    wire: dict[str, Any] = {"a": asset, "b": is_buy, "p": px, "s": sz, "r": reduce_only,
                            "t": {"limit": {"tif": tif}}}
    if c is not None:
        wire["c"] = c
    return wire


def order_action(*wires: dict[str, Any]) -> dict[str, Any]:
    """An ``order`` action carrying ``wires``."""
    return {"type": "order", "orders": list(wires), "grouping": "na"}


class Api:
    """Minimal async client: signed /exchange posts and /info queries."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self.session = session
        self.base_url = base_url

    async def info(self, body: dict[str, Any]) -> Any:
        async with self.session.post(self.base_url + "/info", json=body) as resp:
            assert resp.status == 200, await resp.text()
            return await resp.json()

    def envelope(self, wallet: LocalAccount, action: dict[str, Any], nonce: int | None = None,
                 vault: str | None = None, expires_after: int | None = None,
                 is_mainnet: bool = False) -> dict[str, Any]:
        nonce = fresh_nonce() if nonce is None else nonce
        signature = sign_l1_action(wallet, action, vault, nonce, expires_after, is_mainnet)
        return {"action": action, "nonce": nonce, "signature": signature,
                "vaultAddress": vault, "expiresAfter": expires_after}

    async def post_raw(self, body: Any) -> tuple[int, Any]:
        async with self.session.post(self.base_url + "/exchange", json=body) as resp:
            if resp.content_type == "application/json":
                return resp.status, await resp.json()
            return resp.status, await resp.text()

    async def exchange(self, wallet: LocalAccount, action: dict[str, Any], **kw: Any) -> Any:
        status, body = await self.post_raw(self.envelope(wallet, action, **kw))
        assert status == 200, body
        return body

    async def order(self, wallet: LocalAccount, *wires: dict[str, Any], **kw: Any) -> Any:
        """Place orders; returns the list of per-order statuses."""
        body = await self.exchange(wallet, order_action(*wires), **kw)
        assert body["status"] == "ok", body
        return body["response"]["data"]["statuses"]

    async def cancel(self, wallet: LocalAccount, asset: int, oid: int) -> Any:
        body = await self.exchange(wallet, {"type": "cancel", "cancels": [{"a": asset, "o": oid}]})
        return body["response"]["data"]["statuses"][0]
