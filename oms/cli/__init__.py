"""The ``oms`` command: ``oms demo``, ``oms sim``, ``oms db``, ``oms orders``, ``oms audit`` ...

Run ``oms --help`` for the command list. Every failure is one ``error:`` line on stderr with exit
code 1 (a failed check or operation) or 2 (a usage error); ``--debug`` shows the traceback.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence

from oms.cli.errors import report


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``oms`` with ``argv`` (default ``sys.argv[1:]``); exit the process with its code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("OMS_DEBUG", "") not in ("", "0")
    code = _run(args, debug)
    sys.stdout.flush()
    raise SystemExit(code)


def _run(args: list[str], debug: bool) -> int:
    try:
        from typer.main import get_command

        from oms.cli.app import app

        result = get_command(app).main(args, prog_name="oms", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException as exc:  # every failure ends here as one line (or a traceback)
        if debug:
            traceback.print_exc()
        return report(exc)


__all__ = ["main"]
