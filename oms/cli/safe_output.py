"""Output files that can never destroy a command's own input.

``oms audit export -o FILE`` once opened FILE for writing before it opened the journal: pointed
at the journal itself, it truncated it. Two rules prevent that for every command that writes a
file: the output is refused when it is, or could become, one of the input's files (the SQLite
file, its ``-wal``, ``-shm`` and ``-journal`` companions and its anchor; compared by resolved
path and, for files that exist, by device and inode, so symlinks and hard links are caught
too), and the output is written to a temporary file beside it, renamed over the target only
when the command succeeded, so a failed run leaves the old file as it was.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> with atomic_output(folder / "out.txt") as sink:
...     _ = sink.write("done")
>>> (folder / "out.txt").read_text()
'done'
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from oms.cli.errors import UsageError

COMPANIONS = ("-wal", "-shm", "-journal", ".anchor")


def input_files(database: Path) -> list[Path]:
    """The files a SQLite journal consists of (existing or not): itself and its companions."""
    return [database, *(Path(f"{database}{suffix}") for suffix in COMPANIONS)]


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


def check_output(output: Path, inputs: list[Path]) -> None:
    """Raise :class:`UsageError` if writing ``output`` could touch any of ``inputs``."""
    target = output.resolve()
    if target.is_dir():
        raise UsageError(f"--output {output} is a directory: give a file name")
    target_id = _identity(target)
    for item in inputs:
        same_path = item.resolve() == target
        same_file = target_id is not None and _identity(item) == target_id
        if same_path or same_file:
            raise UsageError(
                f"--output {output} is {item.name}, part of the journal this command reads: "
                "writing it would destroy the journal; choose another file"
            )


@contextlib.contextmanager
def atomic_output(path: Path) -> Iterator[IO[str]]:
    """A text sink that becomes ``path`` only if the block succeeds (temp file, fsync, rename)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w", newline="", encoding="utf-8") as sink:
            yield sink
            sink.flush()
            os.fsync(sink.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
