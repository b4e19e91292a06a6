"""Write a file atomically: a reader, or a build killed midway, sees the old file or the
new one, never part of one. The content goes to a temporary file in the same folder
(``.<name>.<random>.tmp``), which is renamed over the file once complete."""
from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


@contextlib.contextmanager
def replacing(path: Path, mode: int = 0o644, durable: bool = False) -> Iterator[BinaryIO]:
    """A binary file for ``path``'s new content, put in place when the block ends (on disk
    first when ``durable``: fsync), removed when the block raises."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            if durable:
                os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_bytes(path: Path, data: bytes, mode: int = 0o644, durable: bool = False) -> None:
    with replacing(path, mode, durable) as out:
        out.write(data)


def write_text(path: Path, text: str, mode: int = 0o644, durable: bool = False) -> None:
    write_bytes(path, text.encode("utf-8"), mode, durable)


def leftovers(path: Path) -> list[Path]:
    """The temporary files of writes to ``path`` that a killed process left behind."""
    return list(path.parent.glob(f".{path.name}.*.tmp"))
