"""The fragment store: every finished (or failed) run's record, in a few files per job.

`<state>/fragments/job_<first run>.<token>.seg` is a segment (pypet_sm/execute/segment.py):
one per attempt of a run job that computed something, appended to by that attempt's worker
processes and its supervisor, one after the other (never two at once: the supervisor writes
only after its worker died). The token is new for every attempt, so a resubmitted job and
its still-running orphan never share a file. Records are appended with one write each and
not fsync'ed (that would cost milliseconds per run): a crash or power cut leaves at worst a
torn tail, which fails its checksum, and only those runs are computed again.

Readers take no lock: they scan segments and take, per point key, the best valid record (a
completed one over failed ones, the latest among equals). A damaged record is named in the
log and its run computed again, never merged. Segments are never compacted: no process can
tell that a writer on another node has ended, and a segment is written only by an attempt
that computed runs, so a job has one segment, plus one per attempt after a kill or with
failed runs. `discard` (callers hold the workflow lock) rewrites the segments that hold the
discarded keys under new names, atomically.

Scans are cached per segment (size, mtime -> what it holds; pypet_sm/execute/store_index.py)
in `index.cache`, written atomically at parse time and by the merge; a segment that grew is
scanned from where its last valid record ended. `strays.pkl`, written at parse time, says
where the records of keys that now belong to another job than the one that computed them
are (after an edit of the exploration), so a run job reads only its own segments and that
file.

Old stores (one file per run, `<key[:2]>/<key>.pkl`, pypet_sm/execute/fragment.py) are read
in place, looked up by key, never recomputed; new records go to segments.
"""

from __future__ import annotations

import logging
import os
import pickle
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from pypet_sm import atomic
from pypet_sm.execute import fragment, segment
from pypet_sm.execute.store_index import (
    CACHE,
    COMPLETED,
    DAMAGED,
    FAILED,
    FOREIGN,
    MISSING,
    READ_INDEX,
    DamagedFragment,
    Entry,
    Index,
    add_scan,
    changed,
    load_cache,
    read_info,
    save_cache,
    scan_file,
)
from pypet_sm.hdf5.records import RunRecord

__all__ = [
    "CACHE",
    "COMPLETED",
    "DAMAGED",
    "FAILED",
    "FOREIGN",
    "MISSING",
    "READ_INDEX",
    "DamagedFragment",
    "Entry",
    "Index",
    "Writer",
]
SUFFIX = ".seg"
STRAYS = "strays.pkl"


def store_dir(trajectory_state: Path) -> Path:
    return Path(trajectory_state) / "fragments"


def _prefix(first_run: int) -> str:
    return f"job_{first_run:08d}."


# writing ----------------------------------------------------------------------------------
class Writer:
    """Appends the records of one job attempt to its own new segment, created at the first
    record; each process (worker, supervisor) opens it for itself."""

    def __init__(self, trajectory_state: Path, first_run: int) -> None:
        self.directory = store_dir(trajectory_state)
        self.first_run = first_run
        self.code = ""  # the job module's digest, for the segment header (set by the worker)
        self._new_path()

    def _new_path(self) -> None:
        self.token = uuid.uuid4().hex[:16]
        self.path = self.directory / f"{_prefix(self.first_run)}{self.token}{SUFFIX}"
        self._fd: int | None = None
        self._pid = 0
        self._info: dict[str, Any] | None = None

    def append(self, key: str, run: RunRecord, read_index: bool = False) -> None:
        """Append run `run` of point `key`; its values must pickle (else the pickling error
        propagates and nothing is written); OSError when it cannot be written."""
        if self._fd is None or self._pid != os.getpid():
            self._open(run)
        assert self._fd is not None and self._info is not None
        _write_all(self._fd, segment.encode(key, run, read_index, self._info))

    def _open(self, run: RunRecord) -> None:
        info, header = segment.header_for(self.first_run, self.token, run, self.code)
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        if os.fstat(fd).st_size == 0:
            _write_all(fd, header)
        else:  # another process of this attempt created it
            found = read_info(self.path)
            if found is None:  # its header is torn: a segment of our own instead
                os.close(fd)
                self._new_path()
                self._open(run)
                return
            info = found
        self._fd, self._pid, self._info = fd, os.getpid(), info

    def completed(self, key: str) -> bool:
        """Whether this attempt's segment holds a valid completed record of `key`."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return False
        scanned = segment.scan(data)
        return any(k == key and c for k, c in zip(scanned.keys, scanned.completed, strict=True))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


# reading ----------------------------------------------------------------------------------
def segment_files(trajectory_state: Path, first_run: int | None = None) -> list[Path]:
    directory = store_dir(trajectory_state)
    prefix = "job_" if first_run is None else _prefix(first_run)
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    return sorted(
        directory / name for name in names if name.startswith(prefix) and name.endswith(SUFFIX)
    )


def _legacy_dir(trajectory_state: Path) -> Path | None:
    directory = store_dir(trajectory_state)
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return None
    return directory if any(len(name) == 2 and "." not in name for name in names) else None


def scan(trajectory_state: Path, write_cache: bool = False) -> Index:
    """The whole store (every segment, and the old store's files when looked up)."""
    directory = store_dir(trajectory_state)
    cache = load_cache(directory)
    fresh: dict[str, tuple] = {}
    index = Index(legacy=_legacy_dir(trajectory_state))
    for path in segment_files(trajectory_state):
        scanned = scan_file(path, cache.get(path.name))
        if scanned is not None:
            fresh[path.name] = scanned
            add_scan(index, path, scanned[2])
    if write_cache and directory.is_dir() and changed(fresh, cache):
        save_cache(directory, fresh)
    return index


def forget_cache(trajectory_state: Path) -> None:
    """Damage was found in a record the cache called valid: scan everything next time."""
    (store_dir(trajectory_state) / CACHE).unlink(missing_ok=True)


def write_strays(
    trajectory_state: Path, index: Index, jobs: Iterable[tuple[int, list[str]]]
) -> None:
    """For each job (first run, its keys), the records of its keys that lie in segments of
    other jobs: what `job_index` cannot find in the job's own segments."""
    owner = [_first_run(path) for path, _ in index.sources]  # source -> its job's first run
    strays: dict[str, Entry] = {}
    raw = index.raw
    for first_run, keys in jobs:
        for key in keys:
            record = raw.get(key)
            if record is not None and record[4] >= 0 and owner[record[3]] != first_run:
                entry = index.entry(key)
                assert entry is not None
                strays[key] = entry
    path = store_dir(trajectory_state) / STRAYS
    if strays or path.exists():
        atomic.write_bytes(path, pickle.dumps(strays, protocol=5), fsync=False)


def _first_run(path: Path) -> int | None:
    try:
        return int(path.name[len("job_") :].partition(".")[0])
    except ValueError:
        return None


def job_index(trajectory_state: Path, first_run: int, keys: Iterable[str]) -> Index:
    """What a run job needs: its own segments, the strays of its keys, the old store."""
    index = Index(legacy=_legacy_dir(trajectory_state))
    for path in segment_files(trajectory_state, first_run):
        scanned = scan_file(path, None)
        if scanned is not None:
            add_scan(index, path, scanned[2])
    try:
        with open(store_dir(trajectory_state) / STRAYS, "rb") as handle:
            strays: dict[str, Entry] = pickle.load(handle)
    except FileNotFoundError:
        return index
    except Exception:  # damaged: a cache of the parse-time scan; scan everything instead
        return scan(trajectory_state)
    for key in keys:
        if key in strays and strays[key].source.exists():
            index.add(strays[key])
            index.damaged.pop(key, None)
    return index


def to_compute(
    runs: Iterable[int],
    key: Callable[[int], str],
    index: Index,
    name: Callable[[int], str],
    logger: logging.Logger,
) -> list[int]:
    """The runs (indices) without a valid completed record reusable at their index;
    damaged records are named in the log, runs computed again because they read an index
    that changed in one line per job."""
    todo = []
    moved: list[tuple[int, int | None]] = []  # (index now, index it was computed with)
    for idx in runs:
        state, reason, entry = index.lookup(key(idx))
        if state == COMPLETED:
            assert entry is not None
            if entry.reusable_at(idx):
                continue
            moved.append((idx, entry.read_index))
        todo.append(idx)
        if state in (DAMAGED, FOREIGN):
            logger.warning(
                "%s: its record is %s (%s); computing the run again", name(idx), state, reason
            )
    if len(moved) == 1:
        logger.warning(
            "%s computed again: it read its run index and now has index %d (its record was "
            "computed as run %d)",
            name(moved[0][0]),
            *moved[0],
        )
    elif moved:
        shown = ", ".join(f"{name(now)} (computed as run {then})" for now, then in moved[:10])
        more = f" and {len(moved) - 10} more" if len(moved) > 10 else ""
        logger.warning(
            "%d runs computed again: they read their run index and now have another: %s%s",
            len(moved),
            shown,
            more,
        )
    return todo


# discarding -------------------------------------------------------------------------------
def discard(trajectory_state: Path, keys: Iterable[str]) -> int:
    """Durably remove every record of the point keys `keys` (segments rewritten under new
    names, atomically; old fragment files removed); the number of records removed. The
    caller holds the workflow lock: no run job may be writing."""
    wanted = set(keys)
    removed = 0
    for path in segment_files(trajectory_state):
        data = path.read_bytes()
        scanned = segment.scan(data)
        gone = [
            (offset, length)
            for key, offset, length in zip(
                scanned.keys, scanned.offset, scanned.length, strict=True
            )
            if key in wanted
        ]
        if not gone:
            continue
        kept, start = [], 0
        for offset, length in gone:
            kept.append(data[start:offset])
            start = offset + length
        kept.append(data[start:])
        first, _, _ = path.name.partition(".")
        new = path.with_name(f"{first}.{uuid.uuid4().hex[:16]}{SUFFIX}")
        atomic.write_bytes(new, b"".join(kept))
        path.unlink()
        removed += len(gone)
    legacy = _legacy_dir(trajectory_state)
    for key in wanted if legacy is not None else ():
        assert legacy is not None
        try:
            fragment.fragment_path(legacy, key).unlink()
            removed += 1
        except FileNotFoundError:
            pass
    forget_cache(trajectory_state)
    return removed


def files(trajectory_state: Path) -> Iterator[Path]:
    """Every file of the store (segments, caches, old fragment files)."""
    directory = store_dir(trajectory_state)
    if directory.is_dir():
        yield from (path for path in directory.rglob("*") if path.is_file())
