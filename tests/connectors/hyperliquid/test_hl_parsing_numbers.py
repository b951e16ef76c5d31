"""Exchange numbers: decimal text to exact ``Decimal``; anything else is a clear error."""

from __future__ import annotations

from decimal import Decimal

import pytest

from connectors.hyperliquid.errors import UnexpectedReply
from connectors.hyperliquid.parsing import parse_decimal


@pytest.mark.parametrize(("raw", "expected"), [
    ("3000.5", Decimal("3000.5")), (42, Decimal(42)), (0.1, Decimal("0.1")),
    ("-0.001", Decimal("-0.001")),
])
def test_numbers_are_exact(raw: object, expected: Decimal) -> None:
    assert parse_decimal(raw) == expected


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-inf", "abc", "", None, "1,5"])
def test_non_numbers_and_non_finite_values_are_refused(raw: object) -> None:
    with pytest.raises(UnexpectedReply, match="number"):
        parse_decimal(raw)
