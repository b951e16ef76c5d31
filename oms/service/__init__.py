"""The service: ``oms run`` (strategies, operator control, metrics, alerts, the event feed).

Public pieces: :class:`Service`, :func:`load_config`, the strategy API
(:class:`BaseStrategy`, :class:`Strategy`, :class:`StrategyContext`) and :func:`send_command`
(what ``oms ctl`` uses).
"""

from oms.service.config import ServiceConfig, load_config
from oms.service.config_schema import ConfigError
from oms.service.context import StrategyContext, StrategyHalted
from oms.service.control import ControlRefused, ServiceNotRunning, send_command
from oms.service.service import Service
from oms.service.strategy import BaseStrategy, Strategy

__all__ = [
    "BaseStrategy",
    "ConfigError",
    "ControlRefused",
    "Service",
    "ServiceConfig",
    "ServiceNotRunning",
    "Strategy",
    "StrategyContext",
    "StrategyHalted",
    "load_config",
    "send_command",
]
