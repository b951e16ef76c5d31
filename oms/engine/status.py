"""Whether the engine is open for trading, and if not, why (one small shared flag).

Every collaborator that must refuse work when the engine is closed asks this object; the journal
failure handler and ``close`` are the only ones that close it.

>>> status = TradingStatus()
>>> status.is_trading, status.reason
(False, 'not started')
>>> status.open(); status.is_trading
True
>>> status.stop("closed"); status.reason
'closed'
"""

from __future__ import annotations

from oms.engine.errors import EngineClosed


class TradingStatus:
    """Open (trading) or closed with a reason; ``ensure()`` raises :class:`EngineClosed`."""

    __slots__ = ("_reason",)

    def __init__(self) -> None:
        self._reason: str | None = "not started"

    @property
    def is_trading(self) -> bool:
        """True between ``open()`` and the first ``stop()``."""
        return self._reason is None

    @property
    def reason(self) -> str | None:
        """Why the engine is closed (None while trading)."""
        return self._reason

    def open(self) -> None:
        """Open for trading (recovery completed)."""
        self._reason = None

    def stop(self, reason: str, *, keep_first: bool = True) -> None:
        """Close with ``reason``; the first reason is kept unless ``keep_first`` is False."""
        if self._reason is None or not keep_first:
            self._reason = reason

    def ensure(self) -> None:
        """Raise :class:`EngineClosed` (with the reason) unless trading."""
        if self._reason is not None:
            raise EngineClosed(self._reason)
