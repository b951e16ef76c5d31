"""The Indexer of the local dYdX exchange: what ``/v4`` REST and the WebSocket report.

It folds the chain's events into rows shaped as the real Indexer's (Indexer ``comlink`` /
``socks``, ``postgres/src/types``): orders (with the deterministic UUIDv5 ids), fills, positions,
height. Faithful quirks: a short-term order is ``BEST_EFFORT_OPENED`` until a block says more, and
one that expires unfilled is forgotten (REST 404) when ``forget_unfilled_short_term`` is on;
best-effort updates can be dropped (``drop_best_effort``); everything can lag the chain.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from connectors.dydx import constants as c
from connectors.dydx.simulator.book import BUY, TIF_IOC, TIF_POST_ONLY
from connectors.dydx.simulator.config import DydxSimConfig, MarketSpec

Push = Callable[[str, str, dict[str, Any]], None]  # (channel, id, contents)


def iso(epoch_s: float) -> str:
    """ISO-8601 UTC with milliseconds and a Z, as the Indexer writes times."""
    moment = dt.datetime.fromtimestamp(epoch_s, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _num(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return text


class IndexerDb:
    """Rows of the Indexer, updated from chain events."""

    def __init__(self, config: DydxSimConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed + 1)
        self.markets: dict[int, MarketSpec] = {m.clob_pair_id: m for m in config.markets}
        self.by_ticker = {m.ticker: m for m in config.markets}
        self.orders: dict[str, dict[str, Any]] = {}
        self.fills: dict[tuple[str, int], list[dict[str, Any]]] = {}
        self.positions: dict[tuple[str, int], dict[str, dict[str, Any]]] = {}
        self.trades: dict[str, list[dict[str, Any]]] = {}
        #: USDC (quote quantums) and (quantums, open cost) by clob, as of the last indexed event.
        self.usdc: dict[tuple[str, int], int] = {}
        self.open_costs: dict[tuple[str, int], dict[int, tuple[int, int]]] = {}
        self.funding: dict[tuple[str, int], list[dict[str, Any]]] = {}
        self.transfers: dict[tuple[str, int], list[dict[str, Any]]] = {}
        self.height = 1
        self.time = 0.0
        self.dropped = 0
        #: Probability a best-effort update is lost (``drop_best_effort``; the admin changes it).
        self.drop_best_effort = config.drop_best_effort

    def price(self, market: MarketSpec, subticks: int) -> Decimal:
        """Human price of ``subticks``."""
        exp = market.quantum_conversion_exponent - 6 - market.atomic_resolution
        return Decimal(subticks).scaleb(exp)

    def size(self, market: MarketSpec, quantums: int) -> Decimal:
        """Human size of ``quantums``."""
        return Decimal(quantums).scaleb(market.atomic_resolution)

    def apply(self, events: list[dict[str, Any]], push: Push) -> None:
        """Fold chain events in order, pushing WebSocket updates as they land."""
        for event in events:
            kind = event["kind"]
            if kind == "order":
                self._order(event, push)
            elif kind == "fill":
                self._fill(event, push)
            elif kind in ("funding", "transfer"):
                self._collateral(event)
            elif kind == "height":
                # The Indexer's block time: the commit's wall-clock time, so that every event
                # of block h (fills, funding, transfers) has createdAt ≤ the time of h.
                self.height, self.time = event["height"], float(event["wall"])
                push("v4_block_height", "v4_block_height",
                     {"blockHeight": str(self.height), "time": iso(self.time)})

    def _order(self, event: dict[str, Any], push: Push) -> None:
        status = event["status"]
        owner, number, client_id, flags, clob = event["key"]
        if status.startswith("BEST_EFFORT") and self.rng.random() < self.drop_best_effort:
            self.dropped += 1
            return
        market = self.markets[clob]
        row = {
            "id": event["uuid"], "subaccountId": c.subaccount_uuid(owner, number),
            "clientId": str(client_id), "clobPairId": str(clob),
            "side": "BUY" if event["side"] == BUY else "SELL",
            "size": _num(self.size(market, event["quantums"])),
            "totalFilled": _num(self.size(market, event["filled"])),
            "price": _num(self.price(market, event["subticks"])), "type": "LIMIT",
            "reduceOnly": event["reduce_only"], "orderFlags": str(flags),
            "clientMetadata": str(event["client_metadata"]),
            "timeInForce": "IOC" if event["tif"] == TIF_IOC else "GTT",
            "postOnly": event["tif"] == TIF_POST_ONLY, "status": status, "ticker": market.ticker,
            "updatedAt": iso(self.time or event.get("at", 0)),
            "updatedAtHeight": str(event["height"]),
            "subaccountNumber": number,
        }
        if flags == c.FLAG_CONDITIONAL:
            # Indexer ``protocol-translations.ts``: STOP_LOSS → STOP_LIMIT / STOP_MARKET (IOC),
            # TAKE_PROFIT → TAKE_PROFIT / TAKE_PROFIT_MARKET (IOC).
            kind = "STOP" if event["condition_type"] == 1 else "TAKE_PROFIT"
            market_kind = event["tif"] == TIF_IOC
            row["type"] = f"{kind}_MARKET" if market_kind else (
                "STOP_LIMIT" if kind == "STOP" else kind)
            row["triggerPrice"] = _num(self.price(market, event["trigger"]))
        if flags == c.FLAG_SHORT_TERM:
            row["goodTilBlock"] = str(event["gtb"])
        else:
            row["goodTilBlockTime"] = iso(event["gtbt"])
        if event["created_height"] is not None:
            row["createdAtHeight"] = str(event["created_height"])
        forget = event.get("untracked") or (
            self.config.forget_unfilled_short_term and flags == c.FLAG_SHORT_TERM
            and status == "CANCELED" and event["filled"] == 0)
        if forget:
            self.orders.pop(event["uuid"], None)
        else:
            self.orders[event["uuid"]] = row
        update = dict(row)
        if event["reason"]:
            update["removalReason"] = event["reason"]
        push("v4_subaccounts", f"{owner}/{number}", {"orders": [update]})

    def _collateral(self, event: dict[str, Any]) -> None:
        """A funding payment (``/v4/fundingPayments`` row) or a deposit (``/v4/transfers``)."""
        owner, number = event["key"]
        if event.get("untracked"):
            return
        self.usdc[(owner, number)] = event["usdc"]
        at, height = iso(event["at"]), str(event["height"])
        if event["kind"] == "transfer":
            n = len(self.transfers.setdefault((owner, number), []))
            self.transfers[(owner, number)].append({
                "id": f"{c.subaccount_uuid(owner, number)}-deposit-{n}",
                "sender": {"address": "dydx1localfaucet"},
                "recipient": {"address": owner, "subaccountNumber": number},
                "size": _num(Decimal(event["amount"]).scaleb(-6)), "createdAt": at,
                "createdAtHeight": height, "symbol": "USDC", "type": "DEPOSIT",
                "transactionHash": ""})
            return
        market = self.markets[event["clob"]]
        size = self.size(market, event["quantums"])
        payment = Decimal(event["payment"]).scaleb(-6)
        self.funding.setdefault((owner, number), []).append({
            "subaccountNumber": str(number), "createdAt": at, "createdAtHeight": height,
            "perpetualId": str(market.clob_pair_id), "ticker": market.ticker,
            "oraclePrice": event["oracle"], "size": _num(abs(size)),
            "side": "LONG" if size > 0 else "SHORT", "rate": event["rate"],
            "payment": _num(payment), "fundingIndex": "0"})
        row = self.positions.get((owner, number), {}).get(market.ticker)
        if row is not None:
            row["netFunding"] = _num(Decimal(row["netFunding"]) + payment)

    def _fill(self, event: dict[str, Any], push: Push) -> None:
        owner, number, _client_id, _flags, clob = event["key"]
        market = self.markets[clob]
        height = int(event["height"])
        event_id = (height.to_bytes(4, "big") + (2).to_bytes(4, "big")
                    + event["event_index"].to_bytes(4, "big"))
        price = self.price(market, event["subticks"])
        size = self.size(market, event["quantums"])
        fill = {
            "id": c.fill_uuid(event_id, event["liquidity"]),
            "side": "BUY" if event["side"] == BUY else "SELL", "liquidity": event["liquidity"],
            "type": event.get("type", "LIMIT"), "market": market.ticker, "marketType": "PERPETUAL",
            "price": _num(price), "size": _num(size), "fee": _num(Decimal(event["fee"]).scaleb(-6)),
            "affiliateRevShare": "0", "createdAt": iso(event["at"]),
            "createdAtHeight": str(height),
            "clientMetadata": str(event["client_metadata"]), "subaccountNumber": number,
        }
        if event["order"] is not None:  # a liquidation's taker side has no order
            fill["orderId"] = event["order"]
        if not event.get("untracked"):
            self.fills.setdefault((owner, number), []).append(fill)
        quantums, cost = event["position"]
        if not event.get("untracked"):
            self.usdc[(owner, number)] = event["usdc"]
            self.open_costs.setdefault((owner, number), {})[clob] = (quantums, cost)
        positions = self.positions.setdefault((owner, number), {})
        old = positions.get(market.ticker)
        if quantums == 0:
            positions.pop(market.ticker, None)
        else:
            size_now = self.size(market, quantums)
            entry = Decimal(cost).scaleb(-6) / abs(size_now)
            positions[market.ticker] = {
                "market": market.ticker, "status": "OPEN",
                "side": "LONG" if quantums > 0 else "SHORT", "size": _num(size_now),
                "maxSize": _num(abs(size_now)), "entryPrice": _num(entry), "realizedPnl": "0",
                "createdAt": iso(event["at"]), "createdAtHeight": str(height),
                "sumOpen": "0", "sumClose": "0",
                "netFunding": old["netFunding"] if old else "0", "unrealizedPnl": "0",
                "closedAt": None, "exitPrice": None, "subaccountNumber": number,
            }
        wire = {**fill, "subaccountId": c.subaccount_uuid(owner, number), "clobPairId": str(clob),
                "ticker": market.ticker, "eventId": event_id.hex()}
        push("v4_subaccounts", f"{owner}/{number}", {"fills": [wire]})
        if event["liquidity"] == "TAKER":
            trade = {"id": fill["id"], "side": fill["side"], "size": fill["size"],
                     "price": fill["price"], "type": fill["type"], "createdAt": fill["createdAt"],
                     "createdAtHeight": fill["createdAtHeight"]}
            trades = self.trades.setdefault(market.ticker, [])
            trades.append(trade)
            del trades[:-1000]  # the last 1,000 are what the Indexer serves
            push("v4_trades", market.ticker, {"trades": [trade]})

    # REST shapes -----------------------------------------------------------------------------

    def market_entry(self, market: MarketSpec, oracle: Decimal) -> dict[str, Any]:
        """One ``/v4/perpetualMarkets`` entry."""
        step = self.size(market, market.step_base_quantums)
        tick = self.price(market, market.subticks_per_tick)
        return {
            "clobPairId": str(market.clob_pair_id), "ticker": market.ticker, "status": "ACTIVE",
            "oraclePrice": _num(oracle), "priceChange24H": "0", "volume24H": "0",
            "trades24H": 0, "nextFundingRate": "0", "initialMarginFraction": "0.05",
            "maintenanceMarginFraction": "0.03", "openInterest": "0",
            "atomicResolution": market.atomic_resolution,
            "quantumConversionExponent": market.quantum_conversion_exponent,
            "tickSize": _num(tick), "stepSize": _num(step),
            "stepBaseQuantums": market.step_base_quantums,
            "subticksPerTick": market.subticks_per_tick, "marketType": "CROSS",
            "baseOpenInterest": "0",
        }

    def subaccount(self, owner: str, number: int, usdc_quantums: int,
                   oracle: Callable[[str], Decimal]) -> dict[str, Any]:
        """The body of ``/v4/addresses/{a}/subaccountNumber/{n}`` (``{"subaccount": …}``).

        ``equity`` = USDC + Σ size × oracle; a position's ``unrealizedPnl`` = size × oracle −
        its signed open cost (so equity − Σ unrealized = USDC + Σ signed cost, exactly);
        ``freeCollateral`` = equity − Σ |size| × oracle × the initial margin fraction (0.05).
        """
        usdc = Decimal(usdc_quantums).scaleb(-6)
        equity, initial = usdc, Decimal(0)
        positions = {k: dict(v) for k, v in self.positions.get((owner, number), {}).items()}
        for clob, (quantums, cost) in self.open_costs.get((owner, number), {}).items():
            market = self.markets[clob]
            if not quantums or market.ticker not in positions:
                continue
            value = self.size(market, quantums) * oracle(market.ticker)
            signed_cost = Decimal(cost if quantums > 0 else -cost).scaleb(-6)
            equity += value
            initial += abs(value) * Decimal("0.05")
            positions[market.ticker]["unrealizedPnl"] = _num(value - signed_cost)
        return {"subaccount": {
            "address": owner, "subaccountNumber": number, "equity": _num(equity),
            "freeCollateral": _num(equity - initial),
            "openPerpetualPositions": positions,
            "assetPositions": {"USDC": {"symbol": "USDC", "side": "LONG", "size": _num(usdc),
                                        "assetId": "0", "subaccountNumber": number}},
            "marginEnabled": True, "updatedAtHeight": str(self.height),
            "latestProcessedBlockHeight": str(self.height),
        }}

    def orders_of(self, owner: str, number: int) -> list[dict[str, Any]]:
        """Every order row of a subaccount, newest goodTilBlock/Time first."""
        sub = c.subaccount_uuid(owner, number)
        rows = [o for o in self.orders.values() if o["subaccountId"] == sub]
        rows.sort(key=lambda o: (int(o.get("goodTilBlock", 0)), o.get("goodTilBlockTime", "")),
                  reverse=True)
        return rows
