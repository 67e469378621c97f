"""Which run a job's worker is computing: a small record in shared memory.

The worker (pypet_sm/execute/supervisor.py) writes it at the start and the end of every run;
the supervisor reads it when the worker died or a run may have timed out. It is a memory
map of `<state>/tmp/job_<first run>.run`, so writing it costs no system call (well under a
microsecond a run) and it outlives a `kill -9` of the whole job: the next attempt learns
which run was in flight then. A file system that cannot map files gets an anonymous map
(shared with the forked worker all the same, only not kept after a kill).

The record is written with one copy; a reader that catches it half-written sees the two
sequence numbers differ and reads again. After the worker is gone it is stable.
"""

from __future__ import annotations

import mmap
import os
import struct
import time
from dataclasses import dataclass
from pathlib import Path

# seq, worker pid, run idx (-1: none in flight), run start (wall clock, monotonic clock),
# todo entries done by this worker, completed runs, seconds in the job function, seq again
LAYOUT = struct.Struct("<qqqddqqdq")
NONE = -1


@dataclass(frozen=True)
class State:
    pid: int
    idx: int  # NONE: no run in flight
    start: float  # time.time() when the run started
    started: float  # time.monotonic() when the run started
    done: int
    completed: int
    in_function: float


class InFlight:
    """The record of one job; `path` None: anonymous (nothing kept on disk)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._map: mmap.mmap | None = None
        if path is not None:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
                try:
                    os.ftruncate(fd, LAYOUT.size)
                    self._map = mmap.mmap(fd, LAYOUT.size)
                finally:
                    os.close(fd)
            except OSError:
                self._map = None
        if self._map is None:
            self._map = mmap.mmap(-1, LAYOUT.size)
        self._seq = 0
        self._pid = 0
        self._done = self._completed = 0
        self._in_function = 0.0

    @staticmethod
    def previous(path: Path) -> State | None:
        """What a record left by an earlier attempt says (None: no such record)."""
        try:
            data = path.read_bytes()
        except OSError:
            return None
        if len(data) != LAYOUT.size:
            return None
        seq, pid, idx, start, started, done, completed, in_function, seq_end = LAYOUT.unpack(data)
        if seq != seq_end or pid <= 0:
            return None
        return State(pid, idx, start, started, done, completed, in_function)

    # the worker's side ----------------------------------------------------------------------
    def _write(self, idx: int, start: float, started: float) -> None:
        self._seq += 1
        assert self._map is not None
        LAYOUT.pack_into(
            self._map,
            0,
            self._seq,
            self._pid,
            idx,
            start,
            started,
            self._done,
            self._completed,
            self._in_function,
            self._seq,
        )

    def reset(self, pid: int) -> None:
        """A new worker: nothing in flight, nothing done yet."""
        self._pid = pid
        self._done = self._completed = 0
        self._in_function = 0.0
        self._write(NONE, 0.0, 0.0)

    def begin(self, idx: int, start: float, started: float) -> None:
        self._write(idx, start, started)

    def end(self, completed: bool, in_function: float) -> None:
        self._done += 1
        self._completed += completed
        self._in_function += in_function
        self._write(NONE, 0.0, 0.0)

    # the supervisor's side ------------------------------------------------------------------
    def read(self) -> State:
        assert self._map is not None
        for _ in range(1000):
            seq, pid, idx, start, started, done, completed, in_function, seq_end = (
                LAYOUT.unpack_from(self._map, 0)
            )
            if seq == seq_end:
                return State(pid, idx, start, started, done, completed, in_function)
            time.sleep(0)
        raise RuntimeError("the in-flight record keeps changing")  # pragma: no cover

    def close(self) -> None:
        if self._map is not None:
            self._map.close()
            self._map = None
