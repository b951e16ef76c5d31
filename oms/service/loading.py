"""Loading a strategy class by import path (``pkg.module:Class``) or by entry point name.

The folder of the configuration file is put on ``sys.path`` first, so a strategy module kept
next to the config imports without being installed. Every failure is a :class:`ConfigError`
naming the strategy and what went wrong (module not found, no such class, bad parameters).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import sys
from pathlib import Path
from typing import Any

from oms.service.config import StrategySection
from oms.service.config_schema import ConfigError
from oms.service.strategy import CALLBACKS

ENTRY_POINT_GROUP = "oms.strategies"


def load_strategy(section: StrategySection, config_dir: Path) -> Any:
    """A new instance of the strategy ``section`` names, built with its ``params``."""
    cls = _find_class(section, config_dir)
    if not any(callable(getattr(cls, name, None)) for name in CALLBACKS):
        raise ConfigError(f"strategy {section.name!r}: {cls.__name__} has none of the strategy "
                          f"callbacks ({', '.join(CALLBACKS)})")
    try:
        inspect.signature(cls).bind(**section.params)
    except TypeError as exc:
        raise ConfigError(
            f"strategy {section.name!r}: bad params for {cls.__name__}: {exc}") from None
    try:
        return cls(**section.params)
    except Exception as exc:
        raise ConfigError(f"strategy {section.name!r}: {cls.__name__}(**params) raised "
                          f"{type(exc).__name__}: {exc}") from None


def _find_class(section: StrategySection, config_dir: Path) -> Any:
    if section.entry_point is not None:
        found = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP, name=section.entry_point)
        if not found:
            raise ConfigError(f"strategy {section.name!r}: no entry point "
                              f"{section.entry_point!r} in group {ENTRY_POINT_GROUP}")
        try:
            return next(iter(found)).load()
        except Exception as exc:
            raise ConfigError(f"strategy {section.name!r}: entry point {section.entry_point!r} "
                              f"cannot be loaded: {type(exc).__name__}: {exc}") from None
    assert section.path is not None
    module_name, _, attr = section.path.partition(":")
    folder = str(config_dir)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise ConfigError(f"strategy {section.name!r}: cannot import {module_name!r}: "
                          f"{type(exc).__name__}: {exc}") from None
    cls = getattr(module, attr, None)
    if cls is None or not inspect.isclass(cls):
        raise ConfigError(f"strategy {section.name!r}: module {module_name!r} has no class "
                          f"{attr!r}")
    return cls
