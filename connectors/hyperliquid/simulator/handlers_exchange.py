"""POST /exchange: authenticate (signature, nonce, expiry, agent/vault), then apply the action.

Replies follow the live shapes: ``{"status":"ok","response":{"type":"order"|"cancel"|"default",…}}``
or ``{"status":"err","response":"<text>"}`` (HTTP 200), and HTTP 422 text for bodies that do not
deserialise.

Example::

    status, body = handle_exchange(engine, raw_bytes, now_ms, config)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

import orjson

from connectors.hyperliquid.rate_limits import action_items

from .actions import ADDRESS_RE, USER_SIGNED_TYPES, ActionFormatError, parse_action
from .auth import (
    APPROVE_AGENT_FIELDS,
    APPROVE_BUILDER_FEE_FIELDS,
    InvalidSignature,
    SignatureError,
    parse_signature,
    recover_l1_signer,
    recover_user_signed,
)
from .authority import actor_of, may_auto_create, vault_error
from .engine import ExchangeEngine, OrderWire, Status
from .leverage import update_isolated_margin, update_leverage
from .rate_limits import OPEN_ORDER_LIMIT_ERROR, ExchangeLimiter
from .replies import DESERIALIZE_ERROR, Reply, err, ok, unprocessable
from .request_guards import too_deep
from .rules import order_rule_error
from .sub_accounts import create_sub_account
from .triggers import place_group
from .user_signed import approve_agent, approve_builder_fee

__all__ = ["DESERIALIZE_ERROR", "Reply", "err", "handle_exchange", "ok", "unprocessable"]

MODIFY_MISSING = "Cannot modify canceled or filled order"
MIN_SCHEDULE_MS = 5_000
BUILDER_FEE_UNIT = Decimal(100_000)  # builder.f is in tenths of a basis point
NONCE_LIMIT = 2**64  # nonces are u64 on the wire; msgpack cannot pack more


def _envelope(body: Any) -> tuple[Any, int, tuple[int, int, int], str | None, int | None]:
    if not isinstance(body, dict):
        raise ActionFormatError("body must be an object")
    nonce = body.get("nonce")
    if not isinstance(nonce, int) or isinstance(nonce, bool) or not 0 <= nonce < NONCE_LIMIT:
        raise ActionFormatError("nonce must be a non-negative 64-bit integer")
    try:
        vrs = parse_signature(body.get("signature"))
    except InvalidSignature:
        raise
    except SignatureError as exc:
        raise ActionFormatError(str(exc)) from exc
    vault = body.get("vaultAddress")
    if vault is not None and not (isinstance(vault, str) and ADDRESS_RE.match(vault)):
        raise ActionFormatError("vaultAddress must be a 0x address or null")
    expires = body.get("expiresAfter")
    if expires is not None and (not isinstance(expires, int) or isinstance(expires, bool)
                                or not 0 <= expires < NONCE_LIMIT):
        raise ActionFormatError("expiresAfter must be a non-negative integer or null")
    return body.get("action"), nonce, vrs, vault.lower() if vault else None, expires


def handle_exchange(engine: ExchangeEngine, raw: bytes, now: int,
                    take_rejection: Callable[[], str | None] = lambda: None,
                    limiter: ExchangeLimiter | None = None) -> Reply:
    """Authenticate and apply one /exchange request (rate limits by ``limiter`` when given)."""
    try:
        body = orjson.loads(raw)
        if too_deep(body):
            raise ActionFormatError("recursion limit exceeded")
        action, nonce, vrs, vault, expires = _envelope(body)
        kind, payload, canonical = parse_action(action)
    except (orjson.JSONDecodeError, ActionFormatError) as exc:
        return unprocessable(str(exc))
    except InvalidSignature as exc:
        return err(str(exc))
    config = engine.config
    try:
        if kind == "approveAgent":
            signer = recover_user_signed(canonical, "HyperliquidTransaction:ApproveAgent",
                                         APPROVE_AGENT_FIELDS, vrs)
        elif kind in USER_SIGNED_TYPES:
            signer = recover_user_signed(canonical, "HyperliquidTransaction:ApproveBuilderFee",
                                         APPROVE_BUILDER_FEE_FIELDS, vrs)
        else:
            signer = recover_l1_signer(canonical, vault, nonce, expires, vrs, config.is_mainnet)
    except SignatureError as exc:
        return err(str(exc))
    if kind == "approveAgent":
        return approve_agent(engine, signer, canonical, payload, nonce, vault, expires, now)
    if kind in USER_SIGNED_TYPES:
        return approve_builder_fee(engine, signer, canonical, payload, nonce, vault, expires,
                                   now)
    actor = actor_of(engine, signer)
    new_account = actor is None and may_auto_create(engine, signer)
    if actor is None and not new_account:
        return err(f"User or API Wallet {signer} does not exist.")
    user = actor if actor is not None else signer
    if vault is not None:
        problem = vault_error(engine, user, vault)
        if problem is not None:
            return err(problem)
        user = vault
    if expires is not None and expires < now:
        return err("Action already expired")
    if limiter is not None:  # a refusal costs nothing: checked before the nonce is used
        problem = limiter.address_error(engine.view(user), canonical, now / 1000)
        if problem is not None:
            return err(problem)
    nonce_error = engine.nonces.check_and_use(signer, nonce, now)
    if nonce_error is not None:
        return err(nonce_error)
    if new_account:  # only a request that passed every check creates an account
        engine.account(signer)
        engine.auto_created += 1
    engine.account(user).n_requests += action_items(canonical)  # n orders count n (§10)
    if kind == "createSubAccount":
        return create_sub_account(engine, user, vault, payload)
    return _apply(engine, user, kind, payload, now, take_rejection, limiter)


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


def _place_all(engine: ExchangeEngine, user: str, wires: list[OrderWire], now: int,
               take_rejection: Callable[[], str | None],
               limiter: ExchangeLimiter | None) -> list[Status]:
    room = limiter.open_order_room(engine, user) if limiter is not None else None
    statuses: list[Status] = []
    for wire in wires:
        if room is not None and room <= 0:
            statuses.append({"error": f"{OPEN_ORDER_LIMIT_ERROR} asset={wire.asset}"})
            continue
        status = _place(engine, user, wire, now, take_rejection)
        if room is not None and isinstance(status, dict) and "resting" in status:
            room -= 1
        statuses.append(status)
    return statuses


def _apply(engine: ExchangeEngine, user: str, kind: str, payload: Any, now: int,
           take_rejection: Callable[[], str | None],
           limiter: ExchangeLimiter | None = None) -> Reply:
    if kind == "order":
        wires = payload["orders"]
        if payload["builder"] is not None:
            builder, tenths = payload["builder"]
            if engine.builder_approvals.get((user, builder), -1) < tenths:
                return err("Builder fee has not been approved.")
            rate = Decimal(tenths) / BUILDER_FEE_UNIT
            wires = [replace(w, builder_fee=(builder, rate)) for w in wires]
        if not wires:
            return err("Order list must not be empty.")
        if payload["grouping"] in ("normalTpsl", "positionTpsl"):
            statuses = place_group(engine, user, wires, payload["grouping"], now,
                                   lambda w: _place(engine, user, w, now, take_rejection))
        else:
            statuses = _place_all(engine, user, wires, now, take_rejection, limiter)
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
    if kind == "twapOrder":  # native TWAP (twap.py, reference §13.11)
        status = engine.twaps.place(engine, user, payload, now)
        return ok({"type": "twapOrder", "data": {"status": status}})
    if kind == "twapCancel":
        status = engine.twaps.cancel(engine, user, payload[0], payload[1], now)
        return ok({"type": "twapCancel", "data": {"status": status}})
    if kind == "setReferrer":
        if user in engine.referrers:
            return err("Referrer already set")
        engine.referrers[user] = payload
        engine.changes += 1
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
