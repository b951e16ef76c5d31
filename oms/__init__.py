"""hl-oms: an event-sourced order management system for Hyperliquid.

The domain (``oms.domain``) is pure; the engine (``oms.engine``) wires the event store, the
projections and a connector together. This module stays free of imports so that importing the pure
domain never drags in SQL or network code.
"""
