"""POST /info types about an account's funding and ledger: ``userFunding`` and
``userNonFundingLedgerUpdates`` (both ``{user, startTime, endTime?}``, oldest first, capped at 500
rows per answer like the live time-range endpoints — reference §8.2, §13.6).

Example::

    answer = account_info(engine, "userFunding", {"startTime": 0}, user, now)
"""

from __future__ import annotations

from typing import Any

from .account_ops import rows_between
from .actions import ActionFormatError

NOT_HANDLED = object()
"""Returned for an info type this module does not answer."""


def _time(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise ActionFormatError(f"{key} must be an integer")
    return value


def account_info(engine: Any, kind: Any, body: dict[str, Any], user: str, now: int) -> Any:
    """The answer to ``kind`` for ``user``, or :data:`NOT_HANDLED`."""
    if kind == "userFunding":
        rows = engine.history.fundings.get(user, [])
    elif kind == "userNonFundingLedgerUpdates":
        rows = engine.history.ledger.get(user, [])
    else:
        return NOT_HANDLED
    start = _time(body, "startTime")
    if start is None:
        raise ActionFormatError("startTime is required")
    return rows_between(rows, start, _time(body, "endTime"))
