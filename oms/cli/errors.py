"""How a failure becomes one line on stderr and an exit code.

Exit codes: 0 success, 1 a failed check or an operational error (missing database, schema behind,
tampered log, mismatch with the exchange), 2 a usage error (bad option, bad URL), 130 interrupted.
A traceback is shown only with ``--debug`` (or ``OMS_DEBUG=1``).
"""

from __future__ import annotations

import re
import sqlite3
import sys

import sqlalchemy as sa
from typer._click.exceptions import ClickException

from eventstore import EventStoreError
from oms.domain.codec import EventDecodeError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """A failure with a message for the user and an exit code (1 by default)."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class UsageError(CliError):
    """The command line itself is wrong (exit code 2)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_USAGE)


def _one_line(text: str) -> str:
    # Driver errors span several lines (SQL, hints); the first line says what went wrong.
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first[:400]


def describe(exc: BaseException) -> tuple[str, int]:
    """The one-line message and exit code for ``exc``."""
    if isinstance(exc, CliError):
        return str(exc), exc.exit_code
    if isinstance(exc, ClickException):
        return f"{exc.format_message()} (see `oms --help`)", exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted", EXIT_INTERRUPTED
    if isinstance(exc, (EventStoreError, EventDecodeError)):
        return _one_line(str(exc)), EXIT_FAILED
    if isinstance(exc, sa.exc.ArgumentError):
        return f"bad database URL: {_one_line(str(exc))}", EXIT_USAGE
    if isinstance(exc, (sa.exc.OperationalError, sa.exc.InterfaceError)):
        return f"cannot use the database: {_one_line(str(exc.orig or exc))}", EXIT_FAILED
    if isinstance(exc, (OSError, sqlite3.Error)):
        return _one_line(str(exc)) or type(exc).__name__, EXIT_FAILED
    name = type(exc).__name__
    detail = _one_line(str(exc))
    return f"{name}: {detail} (run with --debug for the traceback)", EXIT_FAILED


_USERINFO = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*):[^@\s/]*@")


def redact_urls(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@host`` URL hidden.

    >>> redact_urls("cannot reach http://me:s3cret@host:8080/info")
    'cannot reach http://me:***@host:8080/info'
    """
    return _USERINFO.sub(r"\g<head>:***@", text)


def report(exc: BaseException) -> int:
    """Print ``exc`` as one ``error:`` line on stderr; return the exit code to use.

    Passwords in URLs are hidden, whatever part of the stack put the URL in the message.
    """
    message, code = describe(exc)
    message = redact_urls(message)
    print(f"error: {message}", file=sys.stderr, flush=True)
    return code
