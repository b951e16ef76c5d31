"""Example strategies shipped with the service (load them by import path from a config):

- ``oms.strategies.market_maker:MarketMaker`` — quotes around the mid with an inventory skew and
  a max position;
- ``oms.strategies.bracket_on_entry:BracketOnEntry`` — enters, then protects every entry with a
  take-profit and a stop-loss (one cancels the other).
"""
