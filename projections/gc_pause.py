"""Pausing Python's cyclic garbage collector while a fold or a snapshot restore allocates.

A replay allocates millions of short-lived rows and dicts and keeps a few hundred thousand
records; a snapshot restore creates some 40 objects per order (a 10,000-order snapshot: about
400,000). None of them is in a reference cycle, so the cyclic collector would walk them over
and over (every 700 allocations the young ones, and the whole heap several times over) and
free nothing. Reference counting still frees every row and dict at once; the collector is back
on when the block ends (unless it was off before).

>>> import gc
>>> with cyclic_gc_paused():
...     gc.isenabled()
False
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Disable the cyclic collector for the block; restore its previous state after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
