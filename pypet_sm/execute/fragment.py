"""Old fragment stores: one file per finished (or failed) single run, named by its point key.

pypet_sm before the segment store (pypet_sm/execute/store.py) wrote one fragment file per
run; such files are still read in place (looked up by key), never recomputed. `write` is
kept so that tests can make an old store.

A fragment is a fixed prefix (magic, lengths and CRC-32 checksums of both parts), a small
pickled header (format, key, status) and the pickled body: the run's `RunRecord` as builtins
(run metadata, results, derived parameters), so no class of ours is pickled. Fragments of
format 2 (pypet_sm before the run records) are migrated when read; other formats count as
damaged and their runs are computed again, never misread.

Reading checks the magic, both lengths and both checksums, so a truncated, empty,
byte-flipped or foreign file is detected, named and its run computed again, never merged. A
fragment is written to a temp file and renamed into place, so it is either complete or
absent. Fragments are not fsync'ed one by one (that would cost milliseconds per run): a file
damaged by a power cut fails its checksum and its run is simply computed again.
"""

from __future__ import annotations

import pickle
import struct
import zlib
from pathlib import Path
from typing import Any

from pypet_sm import atomic
from pypet_sm.hdf5.records import RunRecord

FORMAT = 3
READ_FORMATS = (2, 3)
MAGIC = b"PSMF"
PREFIX = struct.Struct("<4sIIII")  # magic, header length, header CRC, body length, body CRC
COMPLETED = "completed"
FAILED = "failed"
# check() results besides COMPLETED and FAILED
MISSING = "missing"
DAMAGED = "damaged"
FOREIGN = "foreign"
# header key: the run index a run computed with, when its job function read it
READ_INDEX = "read_index"
# header key: digest of the job function's module file the run was computed with
# (job_function.source_digest); absent in fragments of older pypet_sm
CODE = "code"


class DamagedFragment(Exception):
    """A fragment file that fails its checks; the message says why."""


def fragment_dir(trajectory_state: Path) -> Path:
    return trajectory_state / "fragments"


def fragment_path(directory: Path, key: str) -> Path:
    # 256 sub-directories keep directory listings short for millions of runs
    return directory / key[:2] / f"{key}.pkl"


def write(
    path: Path,
    key: str,
    run: RunRecord,
    tmp_dir: Path,
    read_index: bool = False,
    code: str = "",
) -> None:
    """Write run `run` of point `key` atomically; its values must pickle (else the
    pickling error propagates and nothing is written). `read_index`: the job function read
    the run's index or name, so the fragment is reused only at the same index. `code`: the
    digest of the job function's module file, for `pypet-sm status` and `forget`."""
    header: dict[str, Any] = {
        "format": FORMAT,
        "key": key,
        "status": COMPLETED if run.completed else FAILED,
        "environment": run.environment,
        # the run's finish time, so the merge learns when each environment finished from
        # the headers alone
        "finish": run.finish,
    }
    if read_index:  # absent (older fragments too): the run did not read its index
        header[READ_INDEX] = run.idx
    if code:
        header[CODE] = code
    header_bytes = pickle.dumps(header, protocol=5)
    body_bytes = pickle.dumps(run.to_builtins(), protocol=5)
    prefix = PREFIX.pack(
        MAGIC,
        len(header_bytes),
        zlib.crc32(header_bytes),
        len(body_bytes),
        zlib.crc32(body_bytes),
    )
    atomic.write_bytes(path, prefix + header_bytes + body_bytes, fsync=False, tmp_dir=tmp_dir)


def _parts(data: bytes) -> tuple[memoryview, memoryview]:
    """Header and body bytes of a fragment file's content, or DamagedFragment."""
    if len(data) < PREFIX.size:
        raise DamagedFragment(f"truncated ({len(data)} bytes)" if data else "empty")
    magic, header_length, header_crc, body_length, body_crc = PREFIX.unpack_from(data)
    if magic != MAGIC:
        raise DamagedFragment("not a pypet_sm fragment of this format")
    if len(data) != PREFIX.size + header_length + body_length:
        raise DamagedFragment(
            f"{len(data)} bytes, expected {PREFIX.size + header_length + body_length} (truncated "
            "or extended)"
        )
    view = memoryview(data)
    header = view[PREFIX.size : PREFIX.size + header_length]
    body = view[PREFIX.size + header_length :]
    if zlib.crc32(header) != header_crc or zlib.crc32(body) != body_crc:
        raise DamagedFragment("checksum mismatch (the file was changed after it was written)")
    return header, body


def _load(path: Path, with_body: bool) -> tuple[dict[str, Any], dict[str, Any] | None]:
    with open(path, "rb") as handle:
        data = handle.read()
    header_bytes, body_bytes = _parts(data)
    try:
        header = pickle.loads(header_bytes)
        body = pickle.loads(body_bytes) if with_body else None
    except Exception as error:  # checksums matched, so this is not damage but a foreign file
        raise DamagedFragment(f"cannot be unpickled: {error}") from None
    if not isinstance(header, dict) or header.get("format") not in READ_FORMATS:
        found = header.get("format") if isinstance(header, dict) else None
        raise DamagedFragment(
            f"fragment format {found!r}, but this pypet_sm reads formats "
            f"{', '.join(map(str, READ_FORMATS))} (written by another version)"
        )
    if body is not None and header["format"] == 2:
        body = _from_format_2(header, body)
    return header, body


def _from_format_2(header: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """A format 2 body (items as (name, values, comment, class name) tuples) as format 3's."""

    def items(entries: list[tuple]) -> list[dict[str, Any]]:
        keys = ("name", "values", "comment", "class_name")
        return [dict(zip(keys, entry, strict=True)) for entry in entries]

    return {
        "idx": body["idx"],
        "name": body["run_name"],
        "start": body["start"],
        "finish": body["finish"],
        "completed": header["status"] == COMPLETED,
        "parameters": body.get("parameters", {}),
        "results": items(body.get("results", [])),
        "derived_parameters": items(body.get("derived_parameters", [])),
        "environment": header["environment"],
        "host": body.get("host", ""),
        "pid": body.get("pid", 0),
        "cluster_job_id": body.get("cluster_job_id", ""),
        "attempt": body.get("attempt", 0),
        "cluster_node": body.get("cluster_node", ""),
        "exception": body.get("exception"),
        "traceback": body.get("traceback"),
    }


def inspect(path: Path, key: str) -> tuple[str, str, dict[str, Any] | None]:
    """(state, reason, header); state is COMPLETED, FAILED, MISSING, DAMAGED or FOREIGN
    (a valid fragment of another point)."""
    try:
        header, _ = _load(path, with_body=False)
    except FileNotFoundError:
        return MISSING, "", None
    except DamagedFragment as error:
        return DAMAGED, str(error), None
    except OSError as error:
        return DAMAGED, f"unreadable: {error}", None
    if header.get("key") != key:
        return FOREIGN, f"holds the run of another point ({header.get('key')})", None
    return (COMPLETED if header.get("status") == COMPLETED else FAILED), "", header


def check(path: Path, key: str) -> tuple[str, str]:
    """(state, reason) of `inspect`."""
    return inspect(path, key)[:2]


def read_header(path: Path) -> dict[str, Any] | None:
    """The checked header, or None when the file is missing or fails its checks."""
    try:
        return _load(path, with_body=False)[0]
    except (OSError, DamagedFragment):
        return None


def read(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Checked header and body (the run record's builtins, in this format); raises OSError
    or DamagedFragment."""
    header, body = _load(path, with_body=True)
    assert body is not None  # with_body
    return header, body


def read_run(path: Path) -> RunRecord:
    """The checked run record; raises OSError or DamagedFragment."""
    _, body = read(path)
    try:
        return RunRecord.from_builtins(body)
    except (KeyError, TypeError, ValueError) as error:
        raise DamagedFragment(f"holds no run record ({type(error).__name__}: {error})") from None
