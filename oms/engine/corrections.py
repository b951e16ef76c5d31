"""Runtime reconciliation corrections: what a gap fill found that the streams had not said.

A gap fill runs after every stream reconnect, when the streams fall silent with orders active,
and on ``OrderManager.reconcile()`` (``Reconciler.refresh``). It runs inside
:meth:`Corrections.scope`, a context variable, so the events the report handler journals while
it runs — and in the follow-up tasks it spawns, which inherit the context — are counted by kind
(the event's type: ``OrderFilled`` for a fill the stream missed, ``OrderCanceled``, ...). Events
from the live streams run in other tasks and are never counted; an observation that changes
nothing journals nothing and counts nothing. Start-up recovery is counted apart
(``RecoveryReport.corrections``).

>>> corrections = Corrections()
>>> corrections.note(["not counted: no scope"])
>>> with corrections.scope("reconnect"):
...     corrections.note([3, 4])
>>> dict(corrections.by_kind), corrections.passes
({'int': 2}, 1)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

_SCOPE: ContextVar[str | None] = ContextVar("oms_reconcile_scope", default=None)


class Corrections:
    """Counts the events journaled by runtime reconciliation, by event type."""

    def __init__(self) -> None:
        self.by_kind: Counter[str] = Counter()
        """Events journaled by runtime gap fills, by event type (cumulative since start)."""
        self.passes = 0
        """Gap-fill passes run since start."""

    @contextmanager
    def scope(self, why: str) -> Iterator[None]:
        """Count what is journaled in this context (and the tasks it spawns) as corrections."""
        self.passes += 1
        token = _SCOPE.set(why)
        try:
            yield
        finally:
            _SCOPE.reset(token)

    def note(self, events: Sequence[object]) -> None:
        """Count ``events`` if a gap fill is running in this context."""
        if _SCOPE.get() is None:
            return
        for event in events:
            self.by_kind[str(getattr(event, "TYPE", type(event).__name__))] += 1
