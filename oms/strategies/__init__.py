"""Example strategies shipped with the service (load them by import path from a config):

- ``oms.strategies.market_maker:MarketMaker`` — quotes around the mid with an inventory skew and
  a max position;
- ``oms.strategies.bracket_on_entry:BracketOnEntry`` — sends every entry with the exchange's native
  take-profit and stop-loss legs (one action; one cancels the other).
"""
