"""Crash-safe file writing: a file is either absent, its old version or the complete new one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, fsync: bool = True) -> Iterator[Path]:
    """Yield a temp path beside `path`; when the block succeeds, rename it into place.

    The temp name is unique (several writers never share one) and lives in the target's
    directory, so `os.replace` is atomic. On error the temp file is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    # mkstemp makes the file private (0600); the result should get the usual permissions
    os.fchmod(fd, 0o666 & ~_UMASK)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if fsync:
            _fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes(
    path: str | os.PathLike, data: bytes, fsync: bool = True, tmp_dir: Path | None = None
) -> None:
    """Write `data` to `path` atomically.

    `tmp_dir` (same file system) holds the temp file instead of the target directory: a job
    that owns `tmp_dir` can clear it of temps left by a killed predecessor without touching
    files of writers running beside it.
    """
    path = Path(path)
    tmp = (tmp_dir or path.parent) / f".{path.name}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except FileNotFoundError:
        if tmp.parent.is_dir() and path.parent.is_dir():
            raise
        tmp.parent.mkdir(parents=True, exist_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(path, data, fsync, tmp_dir)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: str | os.PathLike, text: str, fsync: bool = True) -> None:
    """Write `text` (UTF-8) to `path` atomically."""
    write_bytes(path, text.encode("utf-8"), fsync=fsync)
