"""Job manifests: the small JSON file a run job writes last (its Snakemake output).

It names the job's runs and the digest of the job's plan, and carries a CRC-32 of its own
content, so the merge can tell a manifest of this job from a damaged, empty or foreign one
(and then runs the job again, which skips the runs whose fragments are valid).
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

OTHER_PLAN = "belongs to another job or plan"


def path(trajectory_state: Path, job: int) -> Path:
    """Where the run rule puts job `job`'s manifest (its output)."""
    return Path(trajectory_state) / "manifests" / f"job_{job:06d}.json"


def _checksum(record: dict[str, Any]) -> int:
    return zlib.crc32(json.dumps(record, sort_keys=True).encode())


def dumps(record: dict[str, Any]) -> str:
    return json.dumps({**record, "checksum": _checksum(record)})


def problem(manifest: Path, digest: str, first_run: int, last_run: int) -> str | None:
    """Why `manifest` is not the valid manifest of the job described, or None when it is."""
    try:
        record = json.loads(Path(manifest).read_text())
    except FileNotFoundError:
        return "missing"
    except (OSError, ValueError) as error:
        return f"unreadable or damaged ({error})"
    if not isinstance(record, dict) or "checksum" not in record:
        return "not a manifest of this format"
    checksum = record.pop("checksum")
    if checksum != _checksum(record):
        return "checksum mismatch (changed after it was written)"
    if (record.get("plan"), record.get("first_run"), record.get("last_run")) != (
        digest,
        first_run,
        last_run,
    ):
        return OTHER_PLAN
    return None
