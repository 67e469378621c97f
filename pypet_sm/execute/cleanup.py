"""Temp files left by killed processes, removed when it is safe.

Every file is written to a temp name and renamed into place (`atomic`), so a process killed
in between leaves its temp file behind. They are removed by whoever knows that their writer
is gone:

- a run job clears its own temp folder once it holds the job's lock (`run._job_directory`);
- the planning snakemake, which holds the folder lock (`workflow_lock`), removes the temp
  files of processes that no longer exist (their pid is in the name) and the temp folders of
  jobs whose lock is free;
- the merge, the only writer of the trajectory file, removes its predecessors' temp files.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
from pathlib import Path

PID_TEMP = re.compile(r"^\..+\.(\d+)\.tmp$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def dead_writers_temps(directory: Path) -> list[Path]:
    """Temp files in `directory` (not below) whose writing process no longer exists."""
    found: list[Path] = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return found
    for entry in entries:
        match = PID_TEMP.match(entry.name)
        if match and entry.is_file() and not _alive(int(match.group(1))):
            found.append(Path(entry.path))
    return found


def state_temps(trajectory_state: Path) -> int:
    """Remove what killed processes left in a trajectory's state folder; the number removed."""
    state = Path(trajectory_state)
    removed = 0
    for sub in ("", "manifests", "plans", "environments", "failures", "fragments"):
        for path in dead_writers_temps(state / sub):
            path.unlink(missing_ok=True)
            removed += 1
    tmp = state / "tmp"
    for job_dir in tmp.glob("job_*") if tmp.is_dir() else ():
        if not job_dir.is_dir():
            continue
        with open(job_dir.with_suffix(".lock"), "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a job (perhaps orphaned by a kill) still works there
            shutil.rmtree(job_dir, ignore_errors=True)
            removed += 1
    return removed


def merge_temps(target: Path) -> int:
    """Remove temp files of earlier, killed merges into `target` (see `atomic.atomic_path`)."""
    removed = 0
    for path in Path(target).parent.glob(f".{Path(target).name}.*.tmp"):
        path.unlink(missing_ok=True)
        removed += 1
    return removed
