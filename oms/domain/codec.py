"""Events to and from the journal's JSON payloads, upcasting old schema versions on the way in.

``encode`` gives ``(type, data, version)`` ready for ``eventstore.NewEvent``; ``decode`` is its
inverse and upgrades payloads written by older code (see ``UPCASTERS``). An unknown type or a
version newer than this code raises: a replay never silently skips an event it does not understand.

>>> from oms.domain.events import OrderCanceled
>>> from oms.domain.ids import ClientOrderId
>>> ev = OrderCanceled(ClientOrderId("0" * 32), reason="user", at_ns=5)
>>> decode(*encode(ev)) == ev
True
"""

from __future__ import annotations

import sys
import typing
from collections.abc import Callable, Mapping
from dataclasses import fields
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any

from oms.domain.account_events import ACCOUNT_EVENT_CLASSES, AccountEvent
from oms.domain.events import EVENT_CLASSES, OrderEvent
from oms.domain.ids import ClientOrderId

JSONDict = dict[str, Any]
Upcaster = Callable[[JSONDict], JSONDict]


class EventDecodeError(ValueError):
    """An event payload from the journal cannot be turned into a domain event."""


class UnknownEventType(EventDecodeError):
    """The journal holds an event type this code does not know."""

    def __init__(self, type_: str, version: int) -> None:
        super().__init__(
            f"unknown event type {type_!r} (schema version {version}): the journal was written by"
            " newer or different code; upgrade this program before replaying"
        )
        self.type, self.version = type_, version


class UnsupportedEventVersion(EventDecodeError):
    """The journal holds a schema version of a known type that this code cannot read."""

    def __init__(self, type_: str, version: int, supported: int) -> None:
        super().__init__(
            f"event {type_!r} has schema version {version} but this code reads versions"
            f" 1..{supported}:"
            " upgrade this program before replaying"
        )
        self.type, self.version, self.supported = type_, version, supported


class MalformedEvent(EventDecodeError):
    """A payload of a known type and version lacks a field or holds a value of the wrong shape."""


def _created_v1_to_v2(data: JSONDict) -> JSONDict:
    # v1 predates multi-venue support: every order was on Hyperliquid's main account.
    return {**data, "venue": "hyperliquid", "account": "main"}


def _created_v2_to_v3(data: JSONDict) -> JSONDict:
    # v2 predates trigger orders and TP/SL groups: every order was a plain one, sent alone.
    return {**data, "trigger_price": None, "parent_id": None, "grouping": "na"}


def _filled_v1_to_v2(data: JSONDict) -> JSONDict:
    # v1 fees were always charged in USDC and the fill did not carry the exchange's order id.
    return {**data, "fee_asset": "USDC", "exchange_order_id": None}


def _filled_v2_to_v3(data: JSONDict) -> JSONDict:
    # v2 did not keep the PnL the exchange said the fill realized.
    return {**data, "closed_pnl": None}


UPCASTERS: Mapping[tuple[str, int], Upcaster] = {
    ("OrderCreated", 1): _created_v1_to_v2,
    ("OrderCreated", 2): _created_v2_to_v3,
    ("OrderFilled", 1): _filled_v1_to_v2,
    ("OrderFilled", 2): _filled_v2_to_v3,
}
"""``(type, version) -> function`` turning a payload of that version into the next version's."""


def _enum_reader(cls: type[Enum]) -> Callable[[Any], Any]:
    members = {m.value: m for m in cls}  # a dict lookup is ~10x cheaper than calling the enum

    def read(value: Any) -> Any:
        try:
            return members[value]
        except (KeyError, TypeError):
            raise MalformedEvent(f"{value!r} is not a valid {cls.__name__}") from None

    return read


def _cid(value: Any) -> ClientOrderId:
    if type(value) is not str:
        raise MalformedEvent(f"client_order_id must be a string, got {value!r}")
    return str.__new__(ClientOrderId, value)


def _optional(read: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else read(value)


def _reader(hint: Any) -> Callable[[Any], Any] | None:
    """How to turn a JSON value into a field value (None: use the JSON value as it is)."""
    args = typing.get_args(hint)
    if type(None) in args:
        inner = _reader(next(a for a in args if a is not type(None)))
        return None if inner is None else _optional(inner)
    if hint is Decimal:
        return Decimal
    if hint is ClientOrderId:
        return _cid
    if isinstance(hint, type) and issubclass(hint, Enum):
        return _enum_reader(hint)
    if typing.get_origin(hint) in (Mapping, dict):
        return dict
    return None


def _writer(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, ClientOrderId):
        return str(value)
    if isinstance(value, Mapping):
        return dict(value)
    return value


class _Spec:
    """What the codec knows about one event class: its field names and per-field readers."""

    __slots__ = ("cls", "decode", "names", "version")

    def __init__(self, cls: type[Any]) -> None:
        hints = typing.get_type_hints(cls, vars(sys.modules[cls.__module__]))
        self.cls = cls
        self.version: int = cls.VERSION
        self.names = tuple(f.name for f in fields(cls))
        readers = [_reader(hints[n]) for n in self.names]
        # One positional call per event keeps decoding cheap on multi-million-event replays.
        pairs = tuple(zip(self.names, readers, strict=True))

        def decode(data: Mapping[str, Any]) -> Any:
            return cls(*[data[n] if r is None else r(data[n]) for n, r in pairs])

        self.decode = decode


_SPECS: dict[str, _Spec] = {c.TYPE: _Spec(c) for c in EVENT_CLASSES}
# The account's events (``account-*`` streams): the same codec, kept apart so that ``decode``
# stays typed to order events and ``decode_account`` to account events.
_ACCOUNT_SPECS: dict[str, _Spec] = {c.TYPE: _Spec(c) for c in ACCOUNT_EVENT_CLASSES}

DomainEvent = OrderEvent | AccountEvent
"""Anything the engine journals: an order's event or the account's."""


def encode(event: DomainEvent) -> tuple[str, JSONDict, int]:
    """``(type, data, version)`` of ``event``: JSON-ready, Decimals as strings, enums as values."""
    spec = _SPECS.get(event.TYPE) or _ACCOUNT_SPECS[event.TYPE]
    return spec.cls.TYPE, {n: _writer(getattr(event, n)) for n in spec.names}, spec.version


def decode(type_: str, data: Mapping[str, Any], version: int) -> OrderEvent:
    """The domain event of a journal payload, upcast to the current schema version.

    Raises :class:`UnknownEventType`, :class:`UnsupportedEventVersion` or :class:`MalformedEvent`.
    """
    spec = _SPECS.get(type_)
    if spec is None:
        raise UnknownEventType(type_, version)
    if version != spec.version:
        data = upcast(type_, data, version)
    try:
        event: OrderEvent = spec.decode(data)
        return event
    except KeyError as exc:
        raise MalformedEvent(
            f"event {type_!r} v{version} lacks field {exc.args[0]!r}: the row is corrupt"
        ) from None
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise MalformedEvent(f"event {type_!r} v{version} has a malformed field: {exc}") from None


def decode_account(type_: str, data: Mapping[str, Any], version: int) -> AccountEvent:
    """The account event of a journal payload (``account-*`` streams); raises like :func:`decode`.

    >>> from oms.domain.account_events import KillSwitchReset
    >>> decode_account(*encode(KillSwitchReset("operator", 1)))
    KillSwitchReset(reason='operator', at_ns=1)
    """
    spec = _ACCOUNT_SPECS.get(type_)
    if spec is None:
        raise UnknownEventType(type_, version)
    if version != spec.version:  # no older versions yet: every one is refused with a clear error
        raise UnsupportedEventVersion(type_, version, spec.version)
    try:
        event: AccountEvent = spec.decode(data)
    except KeyError as exc:
        raise MalformedEvent(
            f"event {type_!r} v{version} lacks field {exc.args[0]!r}: the row is corrupt"
        ) from None
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise MalformedEvent(f"event {type_!r} v{version} has a malformed field: {exc}") from None
    return event


def decode_any(type_: str, data: Mapping[str, Any], version: int) -> DomainEvent:
    """An order's or the account's event, whichever ``type_`` names."""
    if type_ in _ACCOUNT_SPECS:
        return decode_account(type_, data, version)
    return decode(type_, data, version)


def upcast(type_: str, data: Mapping[str, Any], version: int) -> JSONDict:
    """Upgrade a payload of ``type_`` from ``version`` to the current version, step by step."""
    spec = _SPECS.get(type_)
    if spec is None:
        raise UnknownEventType(type_, version)
    if version > spec.version or version < 1:
        raise UnsupportedEventVersion(type_, version, spec.version)
    out = dict(data)
    for v in range(version, spec.version):
        step = UPCASTERS.get((type_, v))
        if step is None:
            raise UnsupportedEventVersion(type_, version, spec.version)
        out = step(out)
    return out


def current_version(type_: str) -> int:
    """The schema version this code writes for ``type_`` (raises :class:`UnknownEventType`)."""
    spec = _SPECS.get(type_)
    if spec is None:
        raise UnknownEventType(type_, 0)
    return spec.version
