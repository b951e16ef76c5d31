"""``oms orders``, ``oms history``, ``oms positions`` agree with the raw exported log."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from cli_helpers import oms, one_error_line


def _export(journal: str) -> list[dict[str, Any]]:
    result = oms("audit", "export", "--url", journal)
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_orders_lists_every_created_order(journal: str) -> None:
    events = _export(journal)
    created = {e["data"]["client_order_id"] for e in events if e["type"] == "OrderCreated"}
    listed = json.loads(oms("orders", "--url", journal, "--json", "--limit", "0").stdout)
    assert {o["client_order_id"] for o in listed} == created
    assert [o["client_order_id"] for o in listed] == sorted(created)
    open_only = json.loads(oms("orders", "--open", "--url", journal, "--json").stdout)
    assert all(o["state"] not in ("filled", "canceled", "failed") for o in open_only)
    assert {o["client_order_id"] for o in open_only} == {
        o["client_order_id"] for o in listed if o["state"] not in ("filled", "canceled", "failed")
    }
    table = oms("orders", "--url", journal, "--limit", "2")
    assert table.returncode == 0 and f"2 of {len(created)} orders" in table.stdout


def test_orders_as_of_a_position(journal: str) -> None:
    events = _export(journal)
    cut = len(events) // 2
    born = {e["data"]["client_order_id"] for e in events[:cut] if e["type"] == "OrderCreated"}
    then = json.loads(oms("orders", "--position", str(cut), "--url", journal, "--json",
                          "--limit", "0").stdout)
    assert {o["client_order_id"] for o in then} == born
    at = events[cut - 1]["recorded_at"]
    by_time = json.loads(oms("orders", "--as-of", at, "--url", journal, "--json",
                             "--limit", "0").stdout)
    assert born <= {o["client_order_id"] for o in by_time}
    both = oms("orders", "--position", "1", "--as-of", at, "--url", journal)
    assert both.returncode == 2 and "not both" in one_error_line(both)


def test_history_lists_one_orders_events_in_order(journal: str) -> None:
    events = _export(journal)
    cid = next(e["data"]["client_order_id"] for e in events if e["type"] == "OrderFilled")
    mine = [e for e in events if e["stream_id"] == f"order-{cid}"]
    shown = json.loads(oms("history", cid, "--url", journal, "--json").stdout)
    assert [(h["position"], h["type"]) for h in shown] == [(e["position"], e["type"])
                                                           for e in mine]
    as_cloid = json.loads(oms("history", "0x" + cid, "--url", journal, "--json").stdout)
    assert as_cloid == shown
    missing = oms("history", "0" * 32, "--url", journal)
    assert missing.returncode == 1 and "no order" in one_error_line(missing)


def test_positions_are_the_signed_sum_of_journaled_fills(journal: str) -> None:
    events = _export(journal)
    orders = {e["data"]["client_order_id"]: e["data"] for e in events
              if e["type"] == "OrderCreated"}
    net: dict[str, Decimal] = {}
    seen: set[tuple[str, str]] = set()
    for e in events:
        if e["type"] != "OrderFilled":
            continue
        key = (e["data"]["client_order_id"], e["data"]["trade_id"])
        assert key not in seen  # a trade is journaled once
        seen.add(key)
        order = orders[key[0]]
        sign = 1 if order["side"] == "buy" else -1
        amount = sign * Decimal(e["data"]["amount"])
        net[order["pair"]] = net.get(order["pair"], Decimal(0)) + amount
    assert seen, "the demo journal should hold fills"
    shown = json.loads(oms("positions", "--url", journal, "--json").stdout)
    # net_size: our own fills; pairs only others traded on the account show fills == 0.
    assert {p["pair"]: Decimal(p["net_size"]) for p in shown if p["fills"]} == net
