"""The bytes of the fragment store: segment files of checksummed run records.

A segment starts with its own header record (magic `PSMS`): the format, the job and token
that named it, what every record of its writer repeats (environment, host, cluster job,
attempt, node: `COMMON`, left out of the records) and a zlib preset dictionary (the first
run's record as builtins, capped), so each record's compressed body costs a few dozen bytes
for a single float instead of the ~1 KB of a one-file-per-run fragment and its block.

A run record (magic `PSMR`) is, as fragments were, a prefix of magic, lengths and CRC-32s
of its header and body, a small pickled header `(key, completed, finish, read_index)` and
the body: the run's `RunRecord` as builtins, pickled and compressed. Each record is checked
on its own: a truncated tail, a flipped byte, garbage appended or copied in is found by the
lengths and checksums; scanning then looks for the next record's magic, so one damaged
record costs only its own run (named, when its header still checks, by its point key).
"""

from __future__ import annotations

import pickle
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pypet_sm.hdf5.records import RunRecord

FORMAT = 4
RECORD = b"PSMR"
SEGMENT = b"PSMS"
PREFIX = struct.Struct("<4sIIII")  # magic, header length, header CRC, body length, body CRC
# body fields a writer repeats in every record: stored once in the segment's header
COMMON = ("environment", "host", "cluster_job_id", "attempt", "cluster_node")
ZDICT_LIMIT = 4096  # bytes of the preset dictionary; more gains nothing for small records


class DamagedRecord(Exception):
    """A record or segment that fails its checks; the message says why."""


@dataclass
class Scan:
    """What a segment's bytes hold: its header (None if damaged), the records whose prefix
    and header check (their bodies are checked when read) as columns, damage `(offset,
    reason, key or None)`, and `end`: the offset after the last valid record (a torn tail
    beyond it may still be being written). Columns of plain values, so that the scans of
    10^6 records are cached and loaded in a fraction of a second."""

    info: dict[str, Any] | None = None
    keys: list[str] = field(default_factory=list)
    completed: list[bool] = field(default_factory=list)
    finish: list[float | None] = field(default_factory=list)
    read_index: list[int | None] = field(default_factory=list)
    offset: list[int] = field(default_factory=list)
    length: list[int] = field(default_factory=list)
    damage: list[tuple[int, str, str | None]] = field(default_factory=list)
    end: int = 0

    COLUMNS: ClassVar[tuple[str, ...]] = (
        "keys",
        "completed",
        "finish",
        "read_index",
        "offset",
        "length",
    )

    def columns(self) -> tuple[list[Any], ...]:
        return tuple(getattr(self, name) for name in self.COLUMNS)

    def extend(self, tail: Scan, by: int) -> None:
        """Add the scan of the bytes from offset `by` on."""
        count = len(self.offset)
        for name in self.COLUMNS:
            getattr(self, name).extend(getattr(tail, name))
        self.offset[count:] = [offset + by for offset in tail.offset]
        self.damage = [d for d in self.damage if d[0] < by]
        self.damage += [(d[0] + by, d[1], d[2]) for d in tail.damage]
        self.end = by + tail.end


def _pack(magic: bytes, header: bytes, body: bytes) -> bytes:
    crcs = (len(header), zlib.crc32(header), len(body), zlib.crc32(body))
    return PREFIX.pack(magic, *crcs) + header + body


def _compressor(zdict: bytes) -> Any:
    if zdict:
        return zlib.compressobj(9, zlib.DEFLATED, 15, 9, zlib.Z_DEFAULT_STRATEGY, zdict)
    return zlib.compressobj(9)


def header_for(
    first_run: int, token: str, run: RunRecord, code: str = ""
) -> tuple[dict[str, Any], bytes]:
    """The segment header (info, bytes) for a writer whose first record is `run`; `code`:
    the digest of the job module computing the runs; raises what pickling `run` raises,
    before anything is written."""
    body = run.to_builtins()
    common = {name: body.pop(name) for name in COMMON}
    zdict = pickle.dumps(body, protocol=5)
    if len(zdict) > ZDICT_LIMIT:  # a big first run: its names and structure, not its values
        for branch in ("results", "derived_parameters"):
            body[branch] = [{**item, "values": {}} for item in body[branch][:50]]
        body["traceback"] = None
        zdict = pickle.dumps(body, protocol=5)[-ZDICT_LIMIT:]
    info = {"format": FORMAT, "first_run": first_run, "token": token, "common": common}
    if code:
        info["code"] = code
    return {**info, "zdict": zdict}, _pack(SEGMENT, pickle.dumps(info, protocol=5), zdict)


def encode(key: str, run: RunRecord, read_index: bool, info: dict[str, Any]) -> bytes:
    """The record of run `run` at point `key`; raises what pickling its values raises."""
    body = run.to_builtins()
    for name in COMMON:
        if body[name] == info["common"].get(name):
            del body[name]
    compressor = _compressor(info["zdict"])
    data = compressor.compress(pickle.dumps(body, protocol=5)) + compressor.flush()
    header = (key, bool(run.completed), run.finish, run.idx if read_index else None)
    return _pack(RECORD, pickle.dumps(header, protocol=5), data)


def _check(data: bytes | memoryview, offset: int) -> tuple[bytes, int, int]:
    """(magic, header end, record end) of the record at `offset`, or DamagedRecord."""
    size = len(data)
    if size - offset < PREFIX.size:
        raise DamagedRecord(f"truncated ({size - offset} bytes)")
    magic, header_length, header_crc, body_length, body_crc = PREFIX.unpack_from(data, offset)
    if magic not in (RECORD, SEGMENT):
        raise DamagedRecord("not a pypet_sm record")
    header_end = offset + PREFIX.size + header_length
    end = header_end + body_length
    if header_end > size or zlib.crc32(data[offset + PREFIX.size : header_end]) != header_crc:
        raise DamagedRecord("header truncated or changed (checksum mismatch)")
    if end > size:
        raise DamagedRecord(f"truncated ({size - offset} of {end - offset} bytes)")
    if zlib.crc32(data[header_end:end]) != body_crc:
        raise DamagedRecord("checksum mismatch (changed after it was written)")
    return magic, header_end, end


def _header_key(data: bytes | memoryview, offset: int) -> str | None:
    """The key of a damaged record whose header still checks, else None."""
    try:
        magic, header_length, header_crc, _, _ = PREFIX.unpack_from(data, offset)
        header = bytes(data[offset + PREFIX.size : offset + PREFIX.size + header_length])
        if magic != RECORD or len(header) != header_length or zlib.crc32(header) != header_crc:
            return None
        key = pickle.loads(header)[0]
    except Exception:  # damaged: any unpickling error only means "no key known"
        return None
    return key if isinstance(key, str) else None


def scan(data: bytes, start: int = 0, info: dict[str, Any] | None = None) -> Scan:
    """Every record of a segment's content from `start` (0: the whole segment, its header
    first; else `info` is the header already read)."""
    result = Scan(info=info, end=start)
    view = memoryview(data)
    offset = start
    while offset < len(data):
        try:
            magic, header_end, end = _check(view, offset)
            header = pickle.loads(view[offset + PREFIX.size : header_end])
            if magic == SEGMENT:
                if offset != 0 or not isinstance(header, dict) or header.get("format") != FORMAT:
                    raise DamagedRecord("a segment header of another format or place")
                result.info = {**header, "zdict": bytes(view[header_end:end])}
            else:
                key, completed, finish, read_index = header
                result.keys.append(key)
                result.completed.append(bool(completed))
                result.finish.append(finish)
                result.read_index.append(read_index)
                result.offset.append(offset)
                result.length.append(end - offset)
        except Exception as error:  # checksums matched a foreign pickle, or damage
            reason = str(error) if isinstance(error, DamagedRecord) else f"unreadable: {error}"
            where = "its segment's header" if offset == 0 else f"the record at byte {offset}"
            result.damage.append((offset, f"{where}: {reason}", _header_key(view, offset)))
            following = data.find(RECORD, offset + 1)
            offset = following if following >= 0 else len(data)
            continue
        offset = result.end = end
    if info is None and result.info is None and not any(d[0] == 0 for d in result.damage):
        result.damage.insert(0, (0, "its segment's header is missing", None))
    return result


def decode(data: bytes, info: dict[str, Any] | None) -> dict[str, Any]:
    """The run record's builtins from one record's bytes; raises DamagedRecord."""
    if info is None:
        raise DamagedRecord("its segment's header is damaged, so its records cannot be read")
    _, header_end, end = _check(data, 0)
    if end != len(data):
        raise DamagedRecord("the record's length changed")
    try:
        body = pickle.loads(zlib.decompressobj(zdict=info["zdict"]).decompress(data[header_end:]))
    except Exception as error:  # checksums matched, so this was written so: not ours
        raise DamagedRecord(f"cannot be read: {error}") from None
    for name in COMMON:
        body.setdefault(name, info["common"].get(name))
    return body
