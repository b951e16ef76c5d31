"""Sub-accounts and vaults: accounts without keys that a master (or vault leader) trades by naming
them as ``vaultAddress`` (reference §13.8).

``createSubAccount {name}`` is the live L1 action (answer ``{"type":"createSubAccount","data":
"0x<sub>"}``); vaults are made by :meth:`SimulatedExchange.create_vault`. A sub-account starts
with ``initial_usdc`` when accounts are funded on first use, empty otherwise (the live volume
gate — $100k before the first sub-account — is not simulated).

Example::

    reply = create_sub_account(engine, master, None, "desk-1")
"""

from __future__ import annotations

from .authority import SUB_ACCOUNT, VAULT, register, sub_account_address
from .engine import ExchangeEngine
from .replies import Reply, err, ok

MAX_NAME = 16


def create_sub_account(engine: ExchangeEngine, master: str, vault: str | None,
                       name: str) -> Reply:
    """``createSubAccount`` signed for ``master`` (never through a vault or sub-account)."""
    if vault is not None or master in engine.links:
        return err("Sub-accounts cannot create sub-accounts.")
    if not 1 <= len(name) <= MAX_NAME:
        return err(f"Sub-account name must be 1 to {MAX_NAME} characters.")
    address = sub_account_address(master, name)
    if address in engine.links:
        return err("Sub-account name already used.")
    register(engine, address, master, SUB_ACCOUNT)
    return ok({"type": "createSubAccount", "data": address})


def create_vault(engine: ExchangeEngine, leader: str, name: str) -> str:
    """Create a vault led by ``leader`` (an existing account); returns its address."""
    if not engine.has_account(leader) or leader in engine.links:
        raise ValueError(f"vault leader {leader} must be an existing user account")
    address = sub_account_address(leader, "vault:" + name)
    register(engine, address, leader, VAULT)
    return address
