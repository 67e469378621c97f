"""The fragment store's index: where the best record of each point key is, and the cached
scans of segment files it is built from (see pypet_sm/execute/store.py)."""

from __future__ import annotations

import itertools
import pickle
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from pypet_sm import atomic
from pypet_sm.execute import fragment, segment
from pypet_sm.execute.segment import DamagedRecord
from pypet_sm.hdf5.records import RunRecord

COMPLETED, FAILED = fragment.COMPLETED, fragment.FAILED
MISSING, DAMAGED, FOREIGN = fragment.MISSING, fragment.DAMAGED, fragment.FOREIGN
READ_INDEX = fragment.READ_INDEX
CACHE = "index.cache"
CACHE_FORMAT = 1


class DamagedFragment(Exception):
    """A run's record that fails its checks when read; the message says why."""


class Entry(NamedTuple):
    """Where a valid record of a point is: a segment (offset, length) or an old fragment
    file (offset -1). A tuple: an index holds one per run."""

    key: str
    completed: bool
    finish: float | None
    read_index: int | None
    environment: str
    source: Path
    offset: int = -1
    length: int = 0
    code: str = ""  # digest of the job module that computed it ("": not recorded)

    @property
    def status(self) -> str:
        return COMPLETED if self.completed else FAILED

    @property
    def header(self) -> dict[str, Any]:
        found: dict[str, Any] = {"key": self.key, "status": self.status}
        found["environment"] = self.environment
        found["finish"] = self.finish
        if self.read_index is not None:
            found[READ_INDEX] = self.read_index
        return found

    def reusable_at(self, idx: int) -> bool:
        """Records are keyed by point: one may have been computed under another index; that
        matters only if the run read it."""
        return self.read_index is None or self.read_index == idx


def _better(new: tuple, old: tuple) -> bool:
    """Of two records of a point (raw tuples: completed, finish, ...), whether `new` wins:
    a completed record over a failed one, the latest among equals."""
    if new[0] != old[0]:
        return bool(new[0])
    return (new[1] or 0.0) >= (old[1] or 0.0)


@dataclass
class Index:
    """The best record of each point key, and what was found damaged. Records are kept as
    plain tuples (completed, finish, read_index, source number, offset, length) and made
    `Entry`s when looked up: an index of 10^6 runs is built in a fraction of a second."""

    raw: dict[str, tuple] = field(default_factory=dict)
    sources: list[tuple[Path, dict[str, Any] | None]] = field(default_factory=list)
    damaged: dict[str, str] = field(default_factory=dict)  # key -> where and why
    unattributed: list[str] = field(default_factory=list)  # damage of no known key
    legacy: Path | None = None  # an old store's folder, when it has one-file-per-run files

    def add_source(self, path: Path, info: dict[str, Any] | None) -> int:
        self.sources.append((path, info))
        return len(self.sources) - 1

    def add_records(self, records: dict[str, tuple]) -> None:
        """Records of one source (key -> raw tuple), each kept where it beats the known one."""
        raw = self.raw
        for key in records.keys() & raw.keys():
            if not _better(records[key], raw[key]):
                records[key] = raw[key]
        raw.update(records)

    def add(self, entry: Entry) -> None:
        """A record found elsewhere (the strays of the parse-time scan)."""
        known = [n for n, (path, _) in enumerate(self.sources) if path == entry.source]
        source = known[0] if known else self.add_source(entry.source, read_info(entry.source))
        record = (
            entry.completed,
            entry.finish,
            entry.read_index,
            source,
            entry.offset,
            entry.length,
        )
        self.add_records({entry.key: record})

    def environment(self, source: int) -> str:
        """The environment that wrote the records of source `source`."""
        path, info = self.sources[source]
        if not info:
            return ""
        if "common" in info:  # a segment's header
            return str(info["common"].get("environment", ""))
        return str(info.get("environment", ""))  # an old fragment's header

    def entry(self, key: str) -> Entry | None:
        record = self.raw.get(key)
        if record is None:
            return self._legacy(key) if self.legacy is not None else None
        completed, finish, read_index, source, offset, length = record
        path = self.sources[source][0]
        environment = self.environment(source)
        code = str((self.sources[source][1] or {}).get("code", ""))
        return Entry(key, completed, finish, read_index, environment, path, offset, length, code)

    def entries(self) -> Iterator[Entry]:
        for key in self.raw:
            entry = self.entry(key)
            assert entry is not None
            yield entry

    def lookup(self, key: str, idx: int | None = None) -> tuple[str, str, Entry | None]:
        """(state, reason, entry): state COMPLETED, FAILED, MISSING, DAMAGED or FOREIGN."""
        entry = self.entry(key)
        if entry is not None:
            return entry.status, "", entry
        if key in self.damaged:
            return DAMAGED, self.damaged[key], None
        if self.legacy is not None:
            path = fragment.fragment_path(self.legacy, key)
            state, reason, _ = fragment.inspect(path, key)
            if state in (DAMAGED, FOREIGN):
                return state, f"{path}: {reason}", None
        return MISSING, "", None

    def _legacy(self, key: str) -> Entry | None:
        assert self.legacy is not None
        path = fragment.fragment_path(self.legacy, key)
        state, _, header = fragment.inspect(path, key)
        if header is None or state not in (COMPLETED, FAILED):
            return None
        source = self.add_source(path, header)
        self.raw[key] = (
            state == COMPLETED,
            header.get("finish"),
            header.get(READ_INDEX),
            source,
            -1,
            0,
        )
        return self.entry(key)

    def read(self, entry: Entry) -> dict[str, Any]:
        """The record's body (a run record's builtins); raises DamagedFragment."""
        if entry.offset < 0:
            try:
                return fragment.read(entry.source)[1]
            except (OSError, fragment.DamagedFragment) as error:
                raise DamagedFragment(f"{entry.source}: {error}") from None
        try:
            with open(entry.source, "rb") as handle:
                handle.seek(entry.offset)
                data = handle.read(entry.length)
            record = self.raw.get(entry.key)
            info = self.sources[record[3]][1] if record is not None else None
            return segment.decode(data, info or read_info(entry.source))
        except (OSError, DamagedRecord) as error:
            where = f"{entry.source} (byte {entry.offset})"
            raise DamagedFragment(f"{where}: {error}") from None

    def read_run(self, entry: Entry) -> RunRecord:
        body = self.read(entry)
        try:
            return RunRecord.from_builtins(body)
        except (KeyError, TypeError, ValueError) as error:
            raise DamagedFragment(
                f"{entry.source} holds no run record ({type(error).__name__}: {error})"
            ) from None


def read_info(path: Path) -> dict[str, Any] | None:
    with open(path, "rb") as handle:
        head = handle.read(segment.PREFIX.size)
        if len(head) < segment.PREFIX.size:
            return None
        _, header_length, _, body_length, _ = segment.PREFIX.unpack(head)
        data = head + handle.read(header_length + body_length)
    return segment.scan(data).info


def scan_file(path: Path, cached: tuple | None) -> tuple | None:
    """(size, mtime_ns, Scan) of a segment, from `cached` where it still holds (a segment
    that grew is scanned from where its last valid record ended)."""
    try:
        stat = path.stat()
        if cached is not None and cached[:2] == (stat.st_size, stat.st_mtime_ns):
            return cached
        with open(path, "rb") as handle:
            if cached is not None and cached[0] < stat.st_size and cached[2].info is not None:
                old: segment.Scan = cached[2]
                handle.seek(old.end)
                old.extend(segment.scan(handle.read(), 0, old.info), old.end)
                return stat.st_size, stat.st_mtime_ns, old
            data = handle.read()
    except FileNotFoundError:  # discarded meanwhile
        return None
    return stat.st_size, stat.st_mtime_ns, segment.scan(data)


def add_scan(index: Index, path: Path, scan: segment.Scan) -> None:
    source = index.add_source(path, scan.info)
    if scan.info is None:
        for key in scan.keys:
            index.damaged.setdefault(key, f"{path}: its segment's header is damaged")
    else:
        records = zip(
            scan.completed,
            scan.finish,
            scan.read_index,
            itertools.repeat(source),
            scan.offset,
            scan.length,
        )
        index.add_records(dict(zip(scan.keys, records, strict=False)))
    for _offset, reason, damaged_key in scan.damage:
        if damaged_key is None:
            index.unattributed.append(f"{path}: {reason}")
        else:
            index.damaged.setdefault(damaged_key, f"{path}: {reason}")


def load_cache(directory: Path) -> dict[str, tuple]:
    try:
        with open(directory / CACHE, "rb") as handle:
            cache = pickle.load(handle)
        if not isinstance(cache, dict) or cache.get("format") != CACHE_FORMAT:
            return {}
        found = {}
        for name, (size, mtime, info, columns, damage, end) in cache["segments"].items():
            scanned = segment.Scan(info, *columns, damage=damage, end=end)  # type: ignore[misc]
            found[name] = (size, mtime, scanned)
        return found
    except Exception:  # missing, damaged or of another version: a cache only, scan again
        return {}


def save_cache(directory: Path, scans: dict[str, tuple]) -> None:
    segments = {}
    for name, (size, mtime, scanned) in scans.items():
        segments[name] = (size, mtime, scanned.info, scanned.columns(), scanned.damage, scanned.end)
    data = pickle.dumps({"format": CACHE_FORMAT, "segments": segments}, protocol=5)
    atomic.write_bytes(directory / CACHE, data, fsync=False)


def changed(fresh: dict[str, tuple], cache: dict[str, tuple]) -> bool:
    if fresh.keys() != cache.keys():
        return True
    return any(fresh[name][:2] != cache[name][:2] for name in fresh)
