"""Parse /exchange actions into typed values AND their canonical form.

The canonical form is what gets hashed for the signature check: the live exchange re-serialises
the action from its own typed parse, so a client whose bytes differ (key order, trailing zeros,
upper-case hex, an optional key sent as null/false) recovers a different signer. We do the same.

Anything that does not fit the wire format raises :class:`ActionFormatError`, which the server
turns into HTTP 422 like the live exchange's deserialiser.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from .engine import OrderWire
from .twap import TwapWire

CLOID_RE = re.compile(r"^0x[0-9a-fA-F]{32}$")
ADDRESS_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")
PLAIN_DECIMAL = re.compile(r"^[0-9]+(?:\.[0-9]+)?\Z")
MAX_NUMBER_CHARS = 40
U64_LIMIT = 2**64
TIFS = ("Gtc", "Ioc", "Alo", "FrontendMarket")
L1_TYPES = frozenset({"order", "cancel", "cancelByCloid", "modify", "batchModify",
                      "scheduleCancel", "updateLeverage", "updateIsolatedMargin", "noop",
                      "createSubAccount", "setReferrer", "twapOrder", "twapCancel"})
USER_SIGNED_TYPES = frozenset({"approveAgent", "approveBuilderFee"})
MAX_REFERRAL_CODE = 20


class ActionFormatError(ValueError):
    """The body does not deserialise into a known action; answer 422."""


def _req(raw: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    value = raw.get(key)
    # bool is an int subclass; JSON true must not pass for an integer field.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ActionFormatError(f"field {key!r} missing or of the wrong type")
    # Wire integers are unsigned 64-bit, except the signed ones (``ntli`` of
    # updateIsolatedMargin: negative removes margin), which are i64.
    low, high = (-(U64_LIMIT // 2), U64_LIMIT // 2) if key in _SIGNED else (0, U64_LIMIT)
    if isinstance(value, int) and not low <= value < high:
        raise ActionFormatError(f"field {key!r} out of range")
    return value


_SIGNED = frozenset({"ntli"})


def _obj(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ActionFormatError(f"{what} must be an object")
    return value


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise ActionFormatError(f"{what} must be a list")
    return value


def canonical_number(text: str) -> tuple[Decimal, str]:
    """``"1670.10"`` -> ``(Decimal("1670.1"), "1670.1")``.

    Only ASCII digits with at most one decimal point: Python's ``Decimal`` alone would also take
    spaces, underscores (``"2_900"``), signs, exponents and non-ASCII digits (``"٢٩٠٠"``), none of
    which any client sends or the exchange's decimal parser takes.
    """
    if len(text) > MAX_NUMBER_CHARS or not PLAIN_DECIMAL.match(text):
        raise ActionFormatError(f"not a plain decimal number: {text[:40]!r}")
    try:
        value = Decimal(text)
    except InvalidOperation as exc:  # unreachable after the pattern; kept as a guard
        raise ActionFormatError(f"not a number: {text[:40]!r}") from exc
    rendered = f"{value.normalize():f}"
    return value, "0" if value == 0 else rendered


def percent_to_tenth_bps(rate: str) -> int:
    """``"0.001%"`` -> 1 (tenths of a basis point, the unit of an order's ``builder.f``)."""
    if not rate.endswith("%"):
        raise ActionFormatError("maxFeeRate must be a percentage like '0.001%'")
    value, _ = canonical_number(rate[:-1])
    tenths = value * 1000
    if tenths != tenths.to_integral_value():
        raise ActionFormatError("maxFeeRate must be a whole number of tenths of a basis point")
    return int(tenths)


def parse_cloid(value: Any) -> str:
    """A cloid string, lower-cased; 0x + 32 hex digits."""
    if not isinstance(value, str) or not CLOID_RE.match(value):
        raise ActionFormatError("cloid must be 0x followed by 32 hex digits")
    return value.lower()


def parse_oid_or_cloid(value: Any) -> int | str:
    """An int oid or a cloid string."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < U64_LIMIT:
        return value
    return parse_cloid(value)


def parse_order_wire(raw: Any) -> tuple[OrderWire, dict[str, Any]]:
    """One order of an ``order``/``modify`` action -> (typed, canonical)."""
    raw = _obj(raw, "order")
    asset = _req(raw, "a", int)
    is_buy = _req(raw, "b", bool)
    px, p_text = canonical_number(_req(raw, "p", str))
    sz, s_text = canonical_number(_req(raw, "s", str))
    reduce_only = _req(raw, "r", bool)
    order_type = _obj(raw.get("t"), "order type t")
    canonical: dict[str, Any] = {"a": asset, "b": is_buy, "p": p_text, "s": s_text,
                                 "r": reduce_only}
    tif: str | None = None
    trigger: tuple[Decimal, str, bool] | None = None
    if "limit" in order_type and len(order_type) == 1:
        tif = _req(_obj(order_type["limit"], "limit"), "tif", str)
        if tif not in TIFS:
            raise ActionFormatError(f"unknown tif {tif!r}")
        canonical["t"] = {"limit": {"tif": tif}}
    elif "trigger" in order_type and len(order_type) == 1:
        trig = _obj(order_type["trigger"], "trigger")
        trigger_value, trigger_px = canonical_number(_req(trig, "triggerPx", str))
        tpsl = _req(trig, "tpsl", str)
        if tpsl not in ("tp", "sl"):
            raise ActionFormatError("tpsl must be tp or sl")
        is_market = _req(trig, "isMarket", bool)
        canonical["t"] = {"trigger": {"isMarket": is_market,
                                      "triggerPx": trigger_px, "tpsl": tpsl}}
        trigger = (trigger_value, tpsl, is_market)
    else:
        raise ActionFormatError("order type must be {limit: …} or {trigger: …}")
    cloid = None
    if "c" in raw:
        cloid = parse_cloid(raw["c"])
        canonical["c"] = cloid
    if trigger is None:
        wire = OrderWire(asset, is_buy, px, sz, reduce_only, tif, cloid)
    else:
        wire = OrderWire(asset, is_buy, px, sz, reduce_only, None, cloid, True, *trigger)
    return wire, canonical


def _optional_flag(raw: dict[str, Any], key: str, canonical: dict[str, Any]) -> None:
    if key in raw:
        if raw[key] is not True:
            raise ActionFormatError(f"{key!r} must be omitted or true")
        canonical[key] = True


def parse_action(raw: Any) -> tuple[str, Any, dict[str, Any]]:
    """An action object -> ``(type, typed payload, canonical dict for hashing)``."""
    raw = _obj(raw, "action")
    kind = _req(raw, "type", str)
    canonical: dict[str, Any] = {"type": kind}
    payload: Any
    if kind == "order":
        pairs = [parse_order_wire(o) for o in _list(raw.get("orders"), "orders")]
        grouping = raw.get("grouping")
        priority = isinstance(grouping, dict) and isinstance(grouping.get("p"), int)
        if grouping not in ("na", "normalTpsl", "positionTpsl") and not priority:
            raise ActionFormatError("unknown grouping")
        canonical.update({"orders": [c for _, c in pairs], "grouping": grouping})
        if "builder" in raw:
            builder = _obj(raw["builder"], "builder")
            canonical["builder"] = {"b": str(_req(builder, "b", str)).lower(),
                                    "f": _req(builder, "f", int)}
        builder_fee = None
        if "builder" in raw:
            builder_fee = (canonical["builder"]["b"], canonical["builder"]["f"])
            if not ADDRESS_RE.match(builder_fee[0]):
                raise ActionFormatError("builder.b must be a 0x address")
        payload = {"orders": [w for w, _ in pairs], "builder": builder_fee,
                   "grouping": grouping}
    elif kind == "cancel":
        cancels = [(_req(_obj(c, "cancel"), "a", int), _req(c, "o", int))
                   for c in _list(raw.get("cancels"), "cancels")]
        canonical["cancels"] = [{"a": a, "o": o} for a, o in cancels]
        _optional_flag(raw, "f", canonical)
        payload = cancels
    elif kind == "cancelByCloid":
        cancels_c = [(_req(_obj(c, "cancel"), "asset", int), parse_cloid(c.get("cloid")))
                     for c in _list(raw.get("cancels"), "cancels")]
        canonical["cancels"] = [{"asset": a, "cloid": c} for a, c in cancels_c]
        _optional_flag(raw, "f", canonical)
        payload = cancels_c
    elif kind == "modify":
        oid = parse_oid_or_cloid(raw.get("oid"))
        wire, order_c = parse_order_wire(raw.get("order"))
        canonical.update({"oid": oid, "order": order_c})
        _optional_flag(raw, "a", canonical)
        payload = [(oid, wire)]
    elif kind == "batchModify":
        mods = []
        for m in _list(raw.get("modifies"), "modifies"):
            m = _obj(m, "modify")
            oid = parse_oid_or_cloid(m.get("oid"))
            wire, order_c = parse_order_wire(m.get("order"))
            mods.append((oid, wire, {"oid": oid, "order": order_c}))
        canonical["modifies"] = [c for _, _, c in mods]
        _optional_flag(raw, "a", canonical)
        payload = [(oid, wire) for oid, wire, _ in mods]
    elif kind == "scheduleCancel":
        payload = None
        if "time" in raw:
            payload = _req(raw, "time", int)
            canonical["time"] = payload
    elif kind == "updateLeverage":
        payload = (_req(raw, "asset", int), _req(raw, "isCross", bool),
                   _req(raw, "leverage", int))
        canonical.update({"asset": payload[0], "isCross": payload[1], "leverage": payload[2]})
    elif kind == "updateIsolatedMargin":
        payload = (_req(raw, "asset", int), _req(raw, "isBuy", bool), _req(raw, "ntli", int))
        canonical.update({"asset": payload[0], "isBuy": payload[1], "ntli": payload[2]})
    elif kind == "noop":
        payload = None
    elif kind in ("twapOrder", "twapCancel"):
        payload = parse_twap_action(kind, raw, canonical)
    elif kind == "setReferrer":
        payload = _req(raw, "code", str)
        if not 1 <= len(payload) <= MAX_REFERRAL_CODE:
            raise ActionFormatError(f"code must be 1 to {MAX_REFERRAL_CODE} characters")
        canonical["code"] = payload
    elif kind == "approveBuilderFee":
        builder = _req(raw, "builder", str)
        if not ADDRESS_RE.match(builder):
            raise ActionFormatError("builder must be a 0x address")
        rate = _req(raw, "maxFeeRate", str)
        canonical = {"type": kind, "signatureChainId": _req(raw, "signatureChainId", str),
                     "hyperliquidChain": _req(raw, "hyperliquidChain", str),
                     "maxFeeRate": rate, "builder": builder, "nonce": _req(raw, "nonce", int)}
        payload = (builder.lower(), percent_to_tenth_bps(rate))
    elif kind == "createSubAccount":
        payload = _req(raw, "name", str)
        canonical["name"] = payload
    elif kind == "approveAgent":
        agent = _req(raw, "agentAddress", str)
        if not ADDRESS_RE.match(agent):
            raise ActionFormatError("agentAddress must be a 0x address")
        name = raw.get("agentName", "")
        if not isinstance(name, str):
            raise ActionFormatError("agentName must be a string")
        canonical = {"type": kind, "signatureChainId": _req(raw, "signatureChainId", str),
                     "hyperliquidChain": _req(raw, "hyperliquidChain", str),
                     "agentAddress": agent, "agentName": name, "nonce": _req(raw, "nonce", int)}
        payload = (agent.lower(), name)
    else:
        raise ActionFormatError(f"unknown action type {kind!r}")
    return kind, payload, canonical


def parse_twap_action(kind: str, raw: dict[str, Any], canonical: dict[str, Any]) -> Any:
    """``twapOrder`` → :class:`TwapWire`; ``twapCancel`` → ``(asset, twap id)``.

    Canonical key order is the wire's (a, b, s, r, m, t; reference §13.11), so the signature
    recovers over the same msgpack bytes the client hashed.
    """
    if kind == "twapCancel":
        asset, twap_id = _req(raw, "a", int), _req(raw, "t", int)
        canonical.update({"a": asset, "t": twap_id})
        return asset, twap_id
    twap = _obj(raw.get("twap"), "twap")
    sz, s_text = canonical_number(_req(twap, "s", str))
    wire = TwapWire(_req(twap, "a", int), _req(twap, "b", bool), sz, _req(twap, "r", bool),
                    _req(twap, "m", int), _req(twap, "t", bool))
    canonical["twap"] = {"a": wire.asset, "b": wire.is_buy, "s": s_text, "r": wire.reduce_only,
                         "m": wire.minutes, "t": wire.randomize}
    return wire
