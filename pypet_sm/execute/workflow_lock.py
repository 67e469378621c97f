"""One snakemake at a time in a project folder, and no stale lock after a crash.

The Snakefile takes an exclusive `flock` on `.snakemake/pypet_sm.lock` while it is parsed
and holds it until the process ends. The kernel releases the lock when the process dies,
even by `kill -9`, so:

- a second snakemake started in the folder while one runs is refused with a message naming
  the running one (Snakemake's own lock would suggest `--unlock`, which is unsafe then);
- a snakemake that gets the lock knows no other one runs here, so the lock files a killed
  snakemake left in `.snakemake/locks` are stale: they are removed, and resuming after a
  crash needs no `--unlock`.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sys
import time
from pathlib import Path
from typing import IO

from pypet_sm.errors import PypetSmError

LOCK_NAME = "pypet_sm.lock"


class WorkflowLocked(PypetSmError):
    """Another snakemake runs this workflow in the same folder."""


def acquire(workdir: str | os.PathLike = ".") -> IO[str]:
    """Lock the folder for this process (keep the returned file open) or raise WorkflowLocked."""
    directory = Path(workdir) / ".snakemake"
    directory.mkdir(parents=True, exist_ok=True)
    handle = open(directory / LOCK_NAME, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise WorkflowLocked(
            f"another snakemake is running this workflow in {Path(workdir).resolve()} "
            f"({holder}). Wait for it to finish, or stop it first (kill its process); "
            "do not use --unlock while it runs. Finished runs are kept either way."
        ) from None
    handle.seek(0)
    handle.truncate()
    command = " ".join(os.path.basename(arg) if i == 0 else arg for i, arg in enumerate(sys.argv))
    handle.write(
        f"pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}: {command[:300]}\n"
    )
    handle.flush()
    return handle


def remove_stale_snakemake_locks(workdir: str | os.PathLike = ".") -> bool:
    """Remove Snakemake's lock files; only call while holding `acquire`'s lock."""
    locks = Path(workdir) / ".snakemake" / "locks"
    if locks.is_dir() and any(locks.iterdir()):
        shutil.rmtree(locks, ignore_errors=True)
        return True
    return False
