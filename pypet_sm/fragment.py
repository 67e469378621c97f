"""Fragments: one file per finished (or failed) single run, named by its point key.

A fragment is two pickles in one file: a small header (format, key, status) that the skip
check reads alone, then the body (run metadata, results, derived parameters). It is written
to a temp file and renamed into place, so it is either complete or absent. Fragments are not
fsync'ed one by one (that would cost milliseconds per run): a file damaged by a power cut
fails to load and its run is simply computed again.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from . import atomic

FORMAT = 1
COMPLETED = "completed"
FAILED = "failed"


def fragment_dir(trajectory_state: Path) -> Path:
    return trajectory_state / "fragments"


def fragment_path(directory: Path, key: str) -> Path:
    # 256 sub-directories keep directory listings short for millions of runs
    return directory / key[:2] / f"{key}.pkl"


def write(
    path: Path, key: str, status: str, environment: str, body: dict[str, Any], tmp_dir: Path
) -> None:
    header = {
        "format": FORMAT,
        "key": key,
        "status": status,
        "environment": environment,
        # the run's finish time, so the merge learns when each environment finished from
        # the headers alone (older fragments lack it)
        "finish": body.get("finish"),
    }
    data = pickle.dumps(header, protocol=5) + pickle.dumps(body, protocol=5)
    atomic.write_bytes(path, data, fsync=False, tmp_dir=tmp_dir)


def read_header(path: Path) -> dict[str, Any] | None:
    """The header, or None when the file is missing or not a fragment of this format."""
    try:
        with open(path, "rb") as handle:
            header = pickle.load(handle)
    except FileNotFoundError:
        return None
    except Exception:  # a damaged file is as good as a missing one: the run is recomputed
        return None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        return None
    return header


def is_completed(path: Path, key: str) -> bool:
    header = read_header(path)
    return header is not None and header["key"] == key and header["status"] == COMPLETED


def read(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and body; raises OSError or pickle errors when the file is damaged."""
    with open(path, "rb") as handle:
        header = pickle.load(handle)
        body = pickle.load(handle)
    return header, body
