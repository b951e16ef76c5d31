"""POST /exchange: authenticate (signature, nonce, expiry, agent/vault), then apply the action.

Replies follow the live shapes: ``{"status":"ok","response":{"type":"order"|"cancel"|"default",…}}``
or ``{"status":"err","response":"<text>"}`` (HTTP 200), and HTTP 422 text for bodies that do not
deserialise.

Example::

    status, body = handle_exchange(engine, raw_bytes, now_ms, config)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from .actions import ADDRESS_RE, USER_SIGNED_TYPES, ActionFormatError, parse_action
from .auth import (
    APPROVE_AGENT_FIELDS,
    SignatureError,
    parse_signature,
    recover_l1_signer,
    recover_user_signed,
)
from .engine import ExchangeEngine, OrderWire, Status
from .leverage import update_isolated_margin, update_leverage
from .rules import order_rule_error
from .triggers import place_group

DESERIALIZE_ERROR = "Failed to deserialize the JSON body into the target type"
MODIFY_MISSING = "Cannot modify canceled or filled order"
MIN_SCHEDULE_MS = 5_000


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP reply: status code and a JSON value, or text when ``text`` is set."""

    status: int
    body: Any = None
    text: str | None = None


def ok(response: dict[str, Any]) -> Reply:
    """HTTP 200 ``{"status":"ok","response":…}``."""
    return Reply(200, {"status": "ok", "response": response})


def err(message: str) -> Reply:
    """HTTP 200 ``{"status":"err","response":message}`` (whole-action failure)."""
    return Reply(200, {"status": "err", "response": message})


def unprocessable(detail: str) -> Reply:
    """HTTP 422 text, as the live deserialiser answers."""
    return Reply(422, text=f"{DESERIALIZE_ERROR}: {detail}")


def _envelope(body: Any) -> tuple[Any, int, tuple[int, int, int], str | None, int | None]:
    if not isinstance(body, dict):
        raise ActionFormatError("body must be an object")
    nonce = body.get("nonce")
    if not isinstance(nonce, int) or isinstance(nonce, bool) or nonce < 0:
        raise ActionFormatError("nonce must be a non-negative integer")
    try:
        vrs = parse_signature(body.get("signature"))
    except SignatureError as exc:
        raise ActionFormatError(str(exc)) from exc
    vault = body.get("vaultAddress")
    if vault is not None and not (isinstance(vault, str) and ADDRESS_RE.match(vault)):
        raise ActionFormatError("vaultAddress must be a 0x address or null")
    expires = body.get("expiresAfter")
    if expires is not None and (not isinstance(expires, int) or isinstance(expires, bool)
                                or expires < 0):
        raise ActionFormatError("expiresAfter must be a non-negative integer or null")
    return body.get("action"), nonce, vrs, vault.lower() if vault else None, expires


def handle_exchange(engine: ExchangeEngine, raw: bytes, now: int,
                    take_rejection: Callable[[], str | None] = lambda: None) -> Reply:
    """Authenticate and apply one /exchange request."""
    try:
        body = orjson.loads(raw)
        action, nonce, vrs, vault, expires = _envelope(body)
        kind, payload, canonical = parse_action(action)
    except (orjson.JSONDecodeError, ActionFormatError) as exc:
        return unprocessable(str(exc))
    config = engine.config
    try:
        if kind in USER_SIGNED_TYPES:
            signer = recover_user_signed(canonical, "HyperliquidTransaction:ApproveAgent",
                                         APPROVE_AGENT_FIELDS, vrs)
        else:
            signer = recover_l1_signer(canonical, vault, nonce, expires, vrs, config.is_mainnet)
    except SignatureError as exc:
        return err(str(exc))
    if kind in USER_SIGNED_TYPES:
        return _approve_agent(engine, signer, canonical, payload, nonce, vault, expires, now)
    user = engine.agents.user_of(signer)
    if user is None:
        if not engine.has_account(signer):
            return err(f"User or API Wallet {signer} does not exist.")
        user = signer
    if vault is not None:
        if not engine.has_account(vault):
            return err(f"Vault not registered: {vault}")
        user = vault
    if expires is not None and expires < now:
        return err("Action already expired")
    nonce_error = engine.nonces.check_and_use(signer, nonce, now)
    if nonce_error is not None:
        return err(nonce_error)
    engine.account(user).n_requests += 1
    return _apply(engine, user, kind, payload, now, take_rejection)


def _approve_agent(engine: ExchangeEngine, signer: str, canonical: dict[str, Any],
                   payload: tuple[str, str], nonce: int, vault: str | None,
                   expires: int | None, now: int) -> Reply:
    expected_chain = "Mainnet" if engine.config.is_mainnet else "Testnet"
    if canonical["hyperliquidChain"] != expected_chain:
        return err(f"Invalid hyperliquidChain: this exchange is {expected_chain}")
    if canonical["nonce"] != nonce:
        return err("Action nonce must equal the request nonce")
    if vault is not None or expires is not None:
        return err("vaultAddress and expiresAfter must be null for user-signed actions")
    nonce_error = engine.nonces.check_and_use(signer, nonce, now)
    if nonce_error is not None:
        return err(nonce_error)
    engine.account(signer)  # a user signing for itself is a real account from now on
    agent, name = payload
    engine.agents.approve(signer, agent, name)
    engine.changes += 1
    return ok({"type": "default"})


def _place(engine: ExchangeEngine, user: str, wire: OrderWire, now: int,
           take_rejection: Callable[[], str | None]) -> Status:
    return engine.place(user, wire, now, take_rejection())


def _modify(engine: ExchangeEngine, user: str, target: int | str, wire: OrderWire, now: int,
            take_rejection: Callable[[], str | None]) -> Status:
    record = engine.find(user, target)
    if record is None or record.status != "open":
        return {"error": MODIFY_MISSING}
    market = engine.markets.get(wire.asset)
    if market is not None:
        # Rule breaks leave the old order alone: the replacement is refused before the cancel.
        rule = order_rule_error(market, wire.px, wire.sz)
        if rule is not None:
            return {"error": f"{rule[1]} asset={market.asset}"}
    engine.cancel(user, record.asset, record.oid, now)
    return _place(engine, user, wire, now, take_rejection)


def _apply(engine: ExchangeEngine, user: str, kind: str, payload: Any, now: int,
           take_rejection: Callable[[], str | None]) -> Reply:
    if kind == "order":
        if payload["builder"]:
            return err("Builder fee has not been approved.")
        if not payload["orders"]:
            return err("Order list must not be empty.")
        if payload["grouping"] in ("normalTpsl", "positionTpsl"):
            statuses = place_group(engine, user, payload["orders"], payload["grouping"], now,
                                   lambda w: _place(engine, user, w, now, take_rejection))
        else:
            statuses = [_place(engine, user, w, now, take_rejection) for w in payload["orders"]]
        return ok({"type": "order", "data": {"statuses": statuses}})
    if kind == "cancel":
        statuses = [engine.cancel(user, a, o, now) for a, o in payload]
        return ok({"type": "cancel", "data": {"statuses": statuses}})
    if kind == "cancelByCloid":
        statuses = [engine.cancel_by_cloid(user, a, c, now) for a, c in payload]
        return ok({"type": "cancel", "data": {"statuses": statuses}})
    if kind == "batchModify":
        statuses = [_modify(engine, user, t, w, now, take_rejection) for t, w in payload]
        return ok({"type": "order", "data": {"statuses": statuses}})
    if kind == "modify":
        status = _modify(engine, user, payload[0][0], payload[0][1], now, take_rejection)
        if isinstance(status, dict) and "error" in status:
            return err(str(status["error"]))
        return ok({"type": "default"})
    if kind == "scheduleCancel":
        if payload is None:
            engine.scheduled_cancels.pop(user, None)
        elif payload < now + MIN_SCHEDULE_MS:
            return err("Scheduled cancel time too early, must be at least 5 seconds from now.")
        else:
            engine.scheduled_cancels[user] = payload
        engine.changes += 1
        return ok({"type": "default"})
    if kind in ("updateLeverage", "updateIsolatedMargin"):
        asset, flag, value = payload
        problem = (update_leverage(engine, user, asset, flag, value) if kind == "updateLeverage"
                   else update_isolated_margin(engine, user, asset, value))
        return err(problem) if problem is not None else ok({"type": "default"})
    return ok({"type": "default"})  # noop: the nonce is burnt, nothing else happens
