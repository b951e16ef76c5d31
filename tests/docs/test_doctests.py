"""Executable docs: every ``>>>`` example in the packages' docstrings runs with the tests.

The equivalent of ``pytest --doctest-modules oms eventstore connectors projections``, inside the
README's test command: one test per module that has examples (``+SKIP`` marks the few that need
a database or a network and only show a call).
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from types import ModuleType

import pytest

PACKAGES = ("oms", "eventstore", "connectors", "projections")


def _modules() -> list[str]:
    names: list[str] = []
    for package in PACKAGES:
        root = importlib.import_module(package)
        names.append(package)
        for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
            if not info.name.endswith("__main__"):
                names.append(info.name)
    return sorted(names)


def _with_examples(names: list[str]) -> list[str]:
    finder = doctest.DocTestFinder(exclude_empty=True)
    out = []
    for name in names:
        module: ModuleType = importlib.import_module(name)
        if any(test.examples for test in finder.find(module, name)):
            out.append(name)
    return out


MODULES = _with_examples(_modules())


def test_the_packages_have_runnable_examples() -> None:
    assert len(MODULES) >= 25  # so a broken discovery cannot pass by finding nothing


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, report=True, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
