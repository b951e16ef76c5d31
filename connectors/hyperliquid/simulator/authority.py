"""Who may act for whom on the local exchange, and when an account comes into being.

The live rules (reference §13.8, from the exchange's docs and recorded replies):

* An L1 action acts for the account that signed it, or — when an approved API wallet signed it —
  for that wallet's master. The signer's *own* account comes first: an address that is an account
  can never be captured as somebody else's API wallet.
* ``vaultAddress`` moves the action to a vault (only its leader, or the leader's API wallet, may
  trade it: ``Only leader can perform this vault action``) or to a sub-account (only its master).
  Any other address there — a plain user included — is ``Vault not registered: 0x…``.
* User-signed actions (``approveAgent``) always apply to the signer's own, existing account: an
  unknown signer (a random signature recovers a random address) gets ``Must deposit before
  performing actions. User: 0x…`` and nothing is created.

Accounts are funded on first use (``SimulatorConfig.auto_fund``, the default) by an /info query
or WebSocket subscription naming the user, or by an L1 action the user signs — so a never-seen
wallet can trade at once. That is also a door for unbounded growth and, since a tampered payload
recovers a random address, it hides signing bugs; hence: at most ``max_auto_accounts`` accounts
are created this way, API-wallet, vault and sub-account addresses are never auto-created, and
``auto_fund=False`` gives the live behaviour (``User or API Wallet 0x… does not exist.``) for
tests of signing code.

Example::

    actor = actor_of(engine, signer)                # None: unknown signer
    problem = vault_error(engine, actor, vault)     # None: ``actor`` may act for ``vault``
"""

from __future__ import annotations

from eth_hash.auto import keccak

from .accounts import ZERO
from .engine import ExchangeEngine

VAULT = "vault"
SUB_ACCOUNT = "subAccount"


def actor_of(engine: ExchangeEngine, signer: str) -> str | None:
    """The existing account an L1 action signed by ``signer`` acts for, or None."""
    if engine.has_account(signer):
        return signer
    return engine.agents.user_of(signer)


def may_auto_create(engine: ExchangeEngine, user: str) -> bool:
    """Whether first use may create ``user`` now (policy and cap; it does not create it)."""
    config = engine.config
    return (config.auto_fund and not engine.has_account(user)
            and engine.auto_created < config.max_auto_accounts
            and engine.agents.user_of(user) is None and user not in engine.links)


def touch(engine: ExchangeEngine, user: str) -> bool:
    """First use of ``user`` by a query: create it when the policy allows; True if it exists."""
    if engine.has_account(user):
        return True
    if not may_auto_create(engine, user):
        return False
    engine.account(user)
    engine.auto_created += 1
    return True


def vault_error(engine: ExchangeEngine, actor: str, vault: str) -> str | None:
    """The live refusal when ``actor`` may not act for ``vault``, else None."""
    link = engine.links.get(vault)
    if link is None:
        return f"Vault not registered: {vault}"
    owner, kind = link
    if owner == actor:
        return None
    if kind == VAULT:
        return "Only leader can perform this vault action"
    return f"Sub-account {vault} is not registered to {actor}"


def sub_account_address(master: str, name: str) -> str:
    """A deterministic address for ``master``'s sub-account ``name`` (the live derivation is not
    public; any collision-free function of both does)."""
    digest = keccak(bytes.fromhex(master[2:]) + b"subAccount:" + name.encode())
    return "0x" + bytes(digest)[-20:].hex()


def register(engine: ExchangeEngine, address: str, owner: str, kind: str) -> None:
    """Make ``address`` a vault (led by ``owner``) or a sub-account (of master ``owner``), funded
    with ``initial_usdc`` when accounts are funded on first use, empty otherwise."""
    if address in engine.links or engine.has_account(address):
        raise ValueError(f"{address} is already an account")
    engine.links[address] = (owner, kind)
    account = engine.account(address)
    if not engine.config.auto_fund:
        account.usdc = ZERO
        account.spot.clear()
    engine.changes += 1
