"""POST /info: market metadata, books, and per-user orders, fills and account state.

Naming a user here is "first use": the account is created and funded (see ``SimulatorConfig``).

Example::

    reply = handle_info(engine, b'{"type":"allMids"}', now_ms)   # Reply(200, {"BTC": "60000.0", …})
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson

from .account_ops import liquidation_px
from .actions import ADDRESS_RE, ActionFormatError, parse_oid_or_cloid
from .authority import SUB_ACCOUNT, touch
from .dex_rules import dex_of, markets_of
from .dexes import ensure_isolated, hip3_equity
from .engine import ExchangeEngine
from .info_account import NOT_HANDLED, account_info
from .info_dexes import dex_universe, perp_dexs_answer, requested_dex
from .info_startup import MARKET_TYPES, STARTUP_USER_TYPES, USER_TYPES, answer_startup
from .leverage import isolated_leverage_wire
from .pushes import l2_book
from .records import fmt
from .replies import Reply, unprocessable
from .request_guards import too_deep
from .triggers import nested_children

MAX_FILLS = 2000
ZERO = Decimal(0)


def meta(engine: ExchangeEngine, dex: str = "") -> dict[str, Any]:
    """``meta``: the perp universe of ``dex`` (index = asset id; HIP-3 ids: dexes.py)."""
    return {"universe": dex_universe(engine, dex), "marginTables": [], "collateralToken": 0}


def spot_meta(engine: ExchangeEngine) -> dict[str, Any]:
    """``spotMeta``: tokens (USDC first) and spot pairs (index = asset id - 10000)."""
    spots = [m for m in engine.config.markets if m.is_spot]
    names = ["USDC", *sorted({m.base for m in spots})]
    sz_dec = {m.base: m.sz_decimals for m in spots} | {"USDC": 8}
    tokens = [{"name": n, "szDecimals": sz_dec[n], "weiDecimals": 8, "index": i,
               "tokenId": "0x" + f"{i:032x}", "isCanonical": True, "evmContract": None,
               "fullName": None} for i, n in enumerate(names)]
    universe = [{"name": m.coin, "tokens": [names.index(m.base), names.index(m.quote)],
                 "index": m.asset - 10000, "isCanonical": True} for m in spots]
    return {"tokens": tokens, "universe": universe}


def _ctx(engine: ExchangeEngine, coin: str) -> dict[str, Any]:
    mid = fmt(engine.book_mid(coin))
    mark = fmt(engine.mids[coin])
    book = engine.books[coin]
    bid, ask = book.best_bid(), book.best_ask()
    # impactPxs is null on a thin book (reference §13.12); the best prices stand in otherwise.
    impact = [fmt(bid), fmt(ask)] if bid is not None and ask is not None else None
    return {"dayNtlVlm": "0.0", "funding": "0.0", "impactPxs": impact, "markPx": mark,
            "midPx": mid, "openInterest": "0.0", "oraclePx": mark, "premium": "0.0",
            "prevDayPx": mark, "dayBaseVlm": "0.0"}


def clearinghouse_state(engine: ExchangeEngine, user: str, now: int,
                        dex: str = "") -> dict[str, Any]:
    """``clearinghouseState`` of ``user`` on ``dex``: its positions and margin summary."""
    account = engine.view(user)
    marks = engine.marks()
    default_lev = engine.config.default_leverage
    positions = []
    total_ntl = ZERO
    for coin, pos in sorted(account.positions.items()):
        if dex_of(coin) != dex:
            continue
        mark = marks.get(coin, pos.entry_px)
        lev = account.leverage_of(coin, default_lev)
        value = abs(pos.szi) * mark
        upnl = (mark - pos.entry_px) * pos.szi
        margin = value / lev + account.isolated_extra.get(coin, ZERO)
        total_ntl += value
        max_lev = engine.config.market_by_coin(coin).max_leverage
        positions.append({"type": "oneWay", "position": {
            "coin": coin, "szi": fmt(pos.szi), "entryPx": fmt(pos.entry_px),
            "leverage": isolated_leverage_wire(account, coin, pos.szi, mark, lev, margin),
            "liquidationPx": _liq_px(account, coin, marks, default_lev),
            "marginUsed": fmt(margin.quantize(Decimal("1e-6"))),
            "maxLeverage": max_lev, "positionValue": fmt(value.quantize(Decimal("1e-6"))),
            "returnOnEquity": fmt((upnl / margin).quantize(Decimal("1e-6")) if margin else ZERO),
            "unrealizedPnl": fmt(upnl.quantize(Decimal("1e-6"))),
            "cumFunding": {"allTime": "0.0", "sinceChange": "0.0", "sinceOpen": "0.0"}}})
    value = account.account_value(marks)
    used = account.position_margin(marks, default_lev)
    hip3_value, hip3_margin = hip3_equity(engine, account)
    if dex:  # an isolated-only dex: the equity of its positions (dexes.py)
        value, used = hip3_value, hip3_margin
    else:
        value, used = value - hip3_value, used - hip3_margin
    summary = {"accountValue": fmt(value.quantize(Decimal("1e-6"))),
               "totalMarginUsed": fmt(used.quantize(Decimal("1e-6"))),
               "totalNtlPos": fmt(total_ntl.quantize(Decimal("1e-6"))),
               "totalRawUsd": fmt(account.usdc.quantize(Decimal("1e-6")))}
    withdrawable = ZERO if dex else max(ZERO, account.available_margin(marks, default_lev))
    return {"assetPositions": positions, "crossMaintenanceMarginUsed": fmt(used / 2),
            "crossMarginSummary": summary, "marginSummary": summary, "time": now,
            "withdrawable": fmt(withdrawable.quantize(Decimal("1e-6")))}


def user_role(engine: ExchangeEngine, user: str) -> dict[str, Any]:
    """``userRole``: agent (with its master), subAccount (master), vault, user, or missing."""
    master = engine.agents.user_of(user)
    if master is not None and not engine.has_account(user):
        return {"role": "agent", "data": {"user": master}}
    link = engine.links.get(user)
    if link is not None:
        owner, kind = link
        if kind == SUB_ACCOUNT:
            return {"role": "subAccount", "data": {"master": owner}}
        return {"role": "vault"}
    return {"role": "user"} if engine.has_account(user) else {"role": "missing"}


def _liq_px(account: Any, coin: str, marks: dict[str, Decimal], lev: int) -> str | None:
    price = liquidation_px(account, coin, marks, lev)
    return None if price is None else fmt(price.quantize(Decimal("1e-6")))


def _user(body: dict[str, Any]) -> str:
    user = body.get("user")
    if not isinstance(user, str) or not ADDRESS_RE.match(user):
        raise ActionFormatError("user must be a 0x address")
    return user.lower()


def _time(body: dict[str, Any], key: str, default: int | None) -> int | None:
    value = body.get(key, default)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise ActionFormatError(f"{key} must be an integer")
    return value


def _answer(engine: ExchangeEngine, body: dict[str, Any], now: int) -> Any:
    kind = body.get("type")
    if not isinstance(kind, str):
        raise ActionFormatError("type must be a string")
    if kind not in MARKET_TYPES and kind not in USER_TYPES:
        raise ActionFormatError(f"unknown info type {kind[:100]!r}")
    if kind == "perpDexs":
        return perp_dexs_answer(engine)
    dex = requested_dex(engine, body)
    if kind == "meta":
        return meta(engine, dex)
    if kind == "spotMeta":
        return spot_meta(engine)
    if kind == "metaAndAssetCtxs":
        return [meta(engine, dex), [_ctx(engine, m.coin)
                                    for m in markets_of(dex, engine.config.markets)]]
    if kind == "spotMetaAndAssetCtxs":
        ctxs = [{**_ctx(engine, m.coin), "coin": m.coin, "circulatingSupply": "0.0"}
                for m in engine.config.markets if m.is_spot]
        return [spot_meta(engine), ctxs]
    if kind == "allMids":
        return engine.all_mids(dex)
    if kind == "l2Book":
        coin = body.get("coin")
        if not isinstance(coin, str):
            raise ActionFormatError("coin must be a string")
        return l2_book(engine, coin, now) if coin in engine.books else None
    if kind == "exchangeStatus":
        return {"time": now, "specialStatuses": None}
    user = _user(body)
    if kind == "userRole":
        return user_role(engine, user)
    if kind in STARTUP_USER_TYPES:
        return answer_startup(engine, kind, user, body)
    touch(engine, user)  # first use funds the account (policy and cap: see authority.py)
    if kind == "openOrders":
        return [r.basic_wire() for r in engine.open_orders(user) if dex_of(r.coin) == dex]
    if kind == "frontendOpenOrders":
        return [r.frontend_wire(nested_children(engine, r)) for r in engine.open_orders(user)
                if dex_of(r.coin) == dex]
    if kind == "orderStatus":
        record = engine.find(user, parse_oid_or_cloid(body.get("oid")))
        if record is None:
            return {"status": "unknownOid"}
        return {"status": "order", "order": record.status_wire()}
    if kind == "historicalOrders":
        oids = engine.user_orders.get(user, [])[-MAX_FILLS:]
        return [engine.orders[oid].status_wire() for oid in reversed(oids)]
    if kind == "userFills":
        return list(reversed(engine.fills.get(user, [])[-MAX_FILLS:]))
    if kind == "userFillsByTime":
        start = _time(body, "startTime", None)
        if start is None:
            raise ActionFormatError("startTime is required")
        end = _time(body, "endTime", now) or now
        picked = [f for f in engine.fills.get(user, []) if start <= f["time"] <= end]
        return picked[:MAX_FILLS]
    if kind == "clearinghouseState":
        return clearinghouse_state(engine, user, now, dex)
    if kind == "spotClearinghouseState":
        account = engine.view(user)
        return {"balances": [{"coin": c, "token": i, "total": fmt(v), "hold": "0.0",
                              "entryNtl": "0.0"} for i, (c, v) in enumerate(
                                  sorted(account.spot.items()))]}
    if kind == "userRateLimit":
        account = engine.view(user)
        return {"cumVlm": fmt(account.cum_volume), "nRequestsUsed": account.n_requests,
                "nRequestsCap": engine.config.address_buffer + int(account.cum_volume),
                "nRequestsSurplus": 0}
    if kind == "activeAssetData":  # §13.5: the leverage setting even without a position
        coin = str(body.get("coin"))
        market = engine.config.market_by_coin(coin)
        account = engine.account(user)
        ensure_isolated(engine, account, market)
        lev, cross = account.leverage.get(coin, (engine.config.default_leverage, True))
        setting: dict[str, Any] = {"type": "cross" if cross else "isolated", "value": lev}
        if not cross:
            setting["rawUsd"] = fmt(account.isolated_extra.get(coin, ZERO))
        return {"user": user, "coin": market.coin, "leverage": setting,
                "markPx": fmt(engine.mids[coin])}
    if kind == "twapHistory":
        return engine.twaps.history(user)
    if kind == "userTwapSliceFills":
        return engine.twaps.fills_of(user)
    if kind == "userTwapSliceFillsByTime":
        start = _time(body, "startTime", None)
        if start is None:
            raise ActionFormatError("startTime is required")
        return engine.twaps.fills_of(user, start, _time(body, "endTime", None))
    answer = account_info(engine, kind, body, user, now)
    if answer is not NOT_HANDLED:
        return answer
    raise ActionFormatError(f"unknown info type {kind[:100]!r}")


def handle_info(engine: ExchangeEngine, raw: bytes, now: int) -> Reply:
    """Answer one /info request."""
    try:
        body = orjson.loads(raw)
        if too_deep(body):
            raise ActionFormatError("recursion limit exceeded")
        if not isinstance(body, dict):
            raise ActionFormatError("body must be an object")
        return Reply(200, _answer(engine, body, now))
    except (orjson.JSONDecodeError, ActionFormatError) as exc:
        return unprocessable(str(exc))
