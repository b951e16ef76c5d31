"""Operator controls of parent orders (TWAP, iceberg: ``oms.algos``) in a running service.

``oms ctl parent list|pause|resume|cancel|amend`` arrive here as the commands ``parents``,
``parent-pause``, ``parent-resume``, ``parent-cancel`` and ``parent-amend``. Each is checked
*before* the service journals the operator command (:func:`check_parent_command`: an unknown
parent, a finished one, a malformed number or an amend the parent's rules refuse is an error
and nothing is journaled), then carried out by the service's :class:`~oms.algos.AlgoRunner`,
which journals the parent's own event (``ParentControl``, ``ParentAmended``) before it acts.

Example reply of ``parents``::

    {"parents": [{"parent_id": "…", "algo": "iceberg", "status": "working",
                  "executed": "0.1", "amount": "0.4", "children": 2, ...}]}
"""

from __future__ import annotations

import time
from decimal import Decimal, InvalidOperation
from typing import Any

from oms.algos import AlgoRunner, ParentNotActive, UnknownParent
from oms.algos.amend import amend_spec
from oms.domain.parent import ACTIVE, ParentState

PARENT_COMMANDS = ("parents", "parent-pause", "parent-resume", "parent-cancel", "parent-amend")
_AMEND_DECIMALS = ("amount", "price", "display")


def parent_summary(state: ParentState) -> dict[str, Any]:
    """One parent as ``oms ctl parent list`` shows it (decimals as strings)."""
    spec = state.spec
    working = state.working
    return {
        "parent_id": state.parent_id,
        "algo": spec.kind,
        "pair": spec.pair,
        "side": spec.side,
        "amount": str(spec.amount),
        "price": str(spec.price),
        "display": str(spec.display) if spec.kind == "iceberg" else None,
        "end_ns": spec.end_ns if spec.kind == "twap" else None,
        "status": state.status,
        "executed": str(state.executed),
        "children": len(state.children),
        "working_child": working.child_id if working is not None else None,
        "reason": state.reason,
        "anomalies": list(state.anomalies),
    }


def _parent(algos: AlgoRunner, args: dict[str, Any]) -> ParentState:
    parent_id = args.get("parent_id")
    if not isinstance(parent_id, str):
        raise ValueError("give args {\"parent_id\": \"<32 hex>\"} (oms ctl parent list shows them)")
    try:
        return algos.parent(parent_id.removeprefix("0x").lower())
    except UnknownParent:
        raise ValueError(f"no parent order {parent_id} in this service "
                         "(oms ctl parent list shows them)") from None


def _amend_args(args: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in _AMEND_DECIMALS:
        if args.get(name) is not None:
            try:
                values[name] = Decimal(str(args[name]))
            except InvalidOperation:
                raise ValueError(f"{name} must be a decimal number, got {args[name]!r}") from None
    if args.get("duration_s") is not None:
        try:
            values["duration_s"] = float(args["duration_s"])
        except (TypeError, ValueError):
            raise ValueError(f"duration_s must be a number of seconds, got "
                             f"{args['duration_s']!r}") from None
    return values


def check_parent_command(algos: AlgoRunner, command: str, args: dict[str, Any]) -> None:
    """Refuse a parent command that cannot work, before anything is journaled."""
    if command == "parents":
        return
    state = _parent(algos, args)
    if state.status not in ACTIVE or state.cancel_requested:
        raise ParentNotActive(f"parent {state.parent_id} is {state.status}"
                              f"{' (cancel requested)' if state.cancel_requested else ''}: "
                              "nothing to do")
    if command == "parent-amend":
        rule = algos.trading_rule(state.spec.pair)
        amend_spec(rule, state.spec, state.executed, time.time_ns(), **_amend_args(args),
                   min_interval_s=algos.min_interval_s)  # fmt: skip


async def run_parent_command(
    algos: AlgoRunner, command: str, args: dict[str, Any]
) -> dict[str, Any]:
    """Carry out a parent command (already checked and journaled as an operator command)."""
    if command == "parents":
        return {"parents": [parent_summary(s) for s in algos.parents().values()]}
    parent_id = _parent(algos, args).parent_id
    if command == "parent-pause":
        await algos.pause(parent_id)
    elif command == "parent-resume":
        await algos.resume(parent_id)
    elif command == "parent-cancel":
        await algos.cancel(parent_id)
    elif command == "parent-amend":
        await algos.amend(parent_id, **_amend_args(args))
    else:
        raise ValueError(f"unknown parent command {command!r}")
    return {"parent": parent_summary(algos.parent(parent_id))}
