"""Property-test the order state machine: random exchange reports, the rules must always hold.

Run: ``python examples/property_test_state_machine.py`` or ``python -m pytest
examples/property_test_state_machine.py``. Hypothesis drives one order through random commands and
exchange reports (acks, fills in any order, duplicates, cancels, rejects, late fills), each passed
through ``decide`` (what to journal) and ``evolve`` (the fold), exactly as the engine does. After
every step it checks the rules the journal relies on.
"""

import unittest
from decimal import Decimal

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from oms.domain import (
    CancelRejected,
    CancelRequested,
    ClientOrderId,
    OrderAccepted,
    OrderAnomaly,
    OrderCanceled,
    OrderCreated,
    OrderFilled,
    OrderRejected,
    OrderState,
    OrderSubmitted,
    decide,
    decode,
    encode,
    evolve,
    fold,
)
from oms.domain.enums import OrderType, PositionAction, TimeInForce, TradeSide

AMOUNT = Decimal("1")
FILL_SIZES = st.sampled_from([Decimal("0.1"), Decimal("0.25"), Decimal("0.5"), Decimal("1")])


class OrderLife(RuleBasedStateMachine):
    """One order; the journal is the list of events ``decide`` returned."""

    @initialize()
    def create(self) -> None:
        self.cid = ClientOrderId.new()
        self.journal = []
        self.order = None
        self.trades = 0
        self.was_terminal_as = None
        self.feed(OrderCreated(self.cid, "ETH", TradeSide.BUY, OrderType.LIMIT, AMOUNT,
                               Decimal("3000"), TimeInForce.GTC, False, PositionAction.OPEN,
                               None, 0, "hyperliquid", "0xabc"))
        self.feed(OrderSubmitted(self.cid, 1, 10_000, 1))

    def feed(self, candidate) -> None:
        """What the engine does with every command and report: decide, journal, fold."""
        before = self.order
        for event in decide(self.order, candidate):
            self.journal.append(event)
            self.order = evolve(self.order, event)
        if before is not None and before.is_terminal:
            self.was_terminal_as = before.state

    @rule(oid=st.sampled_from(["7", "8"]))
    def ack(self, oid: str) -> None:
        self.feed(OrderAccepted(self.cid, oid, 2))

    @rule(size=FILL_SIZES, repeat_trade=st.booleans())
    def fill(self, size: Decimal, repeat_trade: bool) -> None:
        if not repeat_trade or self.trades == 0:
            self.trades += 1
        self.feed(OrderFilled(self.cid, f"t{self.trades}", Decimal("3000"), size,
                              Decimal("0.01"), "USDC", True, 3, None))

    @rule()
    def request_cancel(self) -> None:
        self.feed(CancelRequested(self.cid, 1, 20_000, 4))

    @rule()
    def canceled(self) -> None:
        self.feed(OrderCanceled(self.cid, "user", 5))

    @rule()
    def cancel_rejected(self) -> None:
        self.feed(CancelRejected(self.cid, "already gone", 6))

    @rule()
    def rejected(self) -> None:
        self.feed(OrderRejected(self.cid, "insufficient margin", "exchange", 7))

    @invariant()
    def never_overfilled(self) -> None:
        assert self.order is not None
        assert Decimal(0) <= self.order.executed_base <= self.order.amount

    @invariant()
    def terminal_is_final_except_a_late_fill(self) -> None:
        # A terminal order stays terminal; only a late fill may complete a canceled one.
        if self.was_terminal_as is not None:
            assert self.order.is_terminal
            if self.was_terminal_as is not OrderState.CANCELED:
                assert self.order.state is self.was_terminal_as

    @invariant()
    def each_trade_applied_once(self) -> None:
        fills = [e for e in self.journal if isinstance(e, OrderFilled)]
        assert len({f.trade_id for f in fills}) == len(fills)
        assert self.order.executed_base == sum((f.amount for f in fills), Decimal(0))

    @invariant()
    def replaying_the_journal_gives_the_same_order(self) -> None:
        # What recovery does: decode the stored payloads and fold them from nothing.
        stored = [decode(*encode(e)) for e in self.journal]
        assert stored == self.journal
        assert fold(stored) == self.order

    @invariant()
    def anomalies_are_kept_not_applied(self) -> None:
        assert self.order.anomalies == sum(isinstance(e, OrderAnomaly) for e in self.journal)


OrderLife.TestCase.settings = settings(max_examples=150, stateful_step_count=25, deadline=None)
TestOrderLife = OrderLife.TestCase  # what pytest collects

if __name__ == "__main__":
    unittest.main(argv=["property_test_state_machine", "-v"])
