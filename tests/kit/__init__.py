"""Shared test builders and small fakes of external protocols (importable as ``kit``).

``pyproject.toml`` puts ``tests/`` on pytest's ``pythonpath``, so tests write ``from kit.orders
import created`` with no ``sys.path`` edits.

- ``kit.orders``: domain events of one order (the domain and projection tests' builders);
- ``kit.account``: another client on the engine's account (the official SDK through an API
  wallet), the account's journal stream, the account compared with the exchange's truth;
- ``kit.fake_exchange``: an in-memory fake of the connector protocol for unit tests of the
  report handler and the reconciler (the end-to-end tests use the local exchange);
- ``kit.crash_worker``: the engine in a worker subprocess that a crash test SIGKILLs and restarts.
"""
