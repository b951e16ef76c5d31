"""User-signed actions (``approveAgent``, ``approveBuilderFee``): they always act on the
signer's own, existing account.

A random signature recovers a random address, so recovery alone proves nothing about who sent the
request: the recovered signer must already be an account (``Must deposit before performing
actions. User: 0x…`` otherwise, the live text — reference §5.3/§13.8), the chain fields must be
this exchange's, and an API wallet that belongs to another user, or an address that is itself an
account, a vault or a sub-account, is never (re)assigned.

Example::

    reply = approve_agent(engine, signer, canonical, ("0xagent…", ""), nonce, None, None, now)
"""

from __future__ import annotations

from typing import Any

from .auth import ZERO_ADDRESS
from .engine import ExchangeEngine
from .replies import Reply, err, ok

AGENT_USED = "Extra agent already used."
# Builder fees may reach 0.1 % on perps (reference §13.13): 100 tenths of a basis point.
MAX_BUILDER_TENTH_BPS = 100


def _common_error(engine: ExchangeEngine, signer: str, canonical: dict[str, Any], nonce: int,
                  vault: str | None, expires: int | None) -> Reply | None:
    """The checks every user-signed action passes: this chain, nonce equality, no vault or
    expiry, and a signer that is an existing account (never created from a signature)."""
    expected_chain = "Mainnet" if engine.config.is_mainnet else "Testnet"
    if canonical["hyperliquidChain"] != expected_chain:
        return err(f"Invalid hyperliquidChain: this exchange is {expected_chain}")
    if canonical["nonce"] != nonce:
        return err("Action nonce must equal the request nonce")
    if vault is not None or expires is not None:
        return err("vaultAddress and expiresAfter must be null for user-signed actions")
    if not engine.has_account(signer):
        # An unknown signer (or an API wallet: they have no account) — never create one here.
        return err(f"Must deposit before performing actions. User: {signer}")
    return None


def approve_builder_fee(engine: ExchangeEngine, signer: str, canonical: dict[str, Any],
                        payload: tuple[str, int], nonce: int, vault: str | None,
                        expires: int | None, now: int) -> Reply:
    """Apply a verified ``approveBuilderFee``: orders naming ``builder`` with ``f`` up to the
    approved rate are accepted, and the builder's fee is charged on their fills."""
    problem = _common_error(engine, signer, canonical, nonce, vault, expires)
    if problem is not None:
        return problem
    builder, tenths = payload
    if tenths > MAX_BUILDER_TENTH_BPS:
        return err("Builder fee too high: at most 0.1%.")
    nonce_error = engine.nonces.check_and_use(signer, nonce, now)
    if nonce_error is not None:
        return err(nonce_error)
    engine.builder_approvals[(signer, builder)] = tenths
    engine.changes += 1
    return ok({"type": "default"})


def approve_agent(engine: ExchangeEngine, signer: str, canonical: dict[str, Any],
                  payload: tuple[str, str], nonce: int, vault: str | None,
                  expires: int | None, now: int) -> Reply:
    """Apply a verified ``approveAgent`` signed by ``signer``."""
    problem = _common_error(engine, signer, canonical, nonce, vault, expires)
    if problem is not None:
        return problem
    agent, name = payload
    owner = engine.agents.user_of(agent)
    if agent != ZERO_ADDRESS and (
            agent == signer or engine.has_account(agent) or agent in engine.links
            or (owner is not None and owner != signer)):
        return err(AGENT_USED)
    nonce_error = engine.nonces.check_and_use(signer, nonce, now)
    if nonce_error is not None:
        return err(nonce_error)
    engine.agents.approve(signer, agent, name)
    engine.changes += 1
    return ok({"type": "default"})
