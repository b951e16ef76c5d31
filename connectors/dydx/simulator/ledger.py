"""Accounts, sequences, USDC and perpetual positions of the local dYdX exchange (integers only)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Account:
    """A chain account: number, committed sequence, CheckTx sequence, public key once known."""

    address: str
    number: int
    sequence: int = 0
    check_sequence: int = 0
    public_key: bytes | None = None


@dataclass(slots=True)
class Position:
    """A perpetual position: signed base quantums and the quote quantums paid to open it."""

    quantums: int = 0
    open_cost: int = 0  # quote quantums of the open part (entry = open_cost / quantums)


@dataclass(slots=True)
class Subaccount:
    """USDC (quote quantums, 1e-6) and positions by clob pair id."""

    usdc: int = 0
    positions: dict[int, Position] = field(default_factory=dict)


class Ledger:
    """Accounts and subaccounts."""

    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.subaccounts: dict[tuple[str, int], Subaccount] = {}

    def fund(self, address: str, usdc_quantums: int) -> Account:
        """Create (or top up) ``address`` with subaccount 0 holding ``usdc_quantums``."""
        account = self.accounts.get(address)
        if account is None:
            account = Account(address, number=len(self.accounts) + 1)
            self.accounts[address] = account
        self.subaccount(address, 0).usdc += usdc_quantums
        return account

    def subaccount(self, owner: str, number: int) -> Subaccount:
        """The subaccount, created empty on first use."""
        return self.subaccounts.setdefault((owner, number), Subaccount())

    def apply_fill(
        self, owner: str, number: int, clob: int, signed_quantums: int, quote: int, fee: int
    ) -> Position:
        """Book a fill: ``signed_quantums`` (+ buy) for ``quote`` quote quantums plus ``fee``."""
        sub = self.subaccount(owner, number)
        pos = sub.positions.setdefault(clob, Position())
        sub.usdc -= fee + (quote if signed_quantums > 0 else -quote)
        before = pos.quantums
        after = before + signed_quantums
        if before == 0 or (before > 0) == (signed_quantums > 0):
            pos.open_cost += quote
        elif abs(signed_quantums) <= abs(before):
            pos.open_cost -= pos.open_cost * abs(signed_quantums) // abs(before)
        else:  # flipped: the new side opened with the excess
            excess = abs(after)
            pos.open_cost = quote * excess // abs(signed_quantums)
        pos.quantums = after
        if after == 0:
            pos.open_cost = 0
        return pos
