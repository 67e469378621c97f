"""Checks of user input made before anything runs, each answered by one message naming the
field, function or file (a `ConfigError`), never by a traceback.

- `schema()`: the config against `workflow/schemas/config.schema.yaml`, reported as
  `config field 'a.b': ...` instead of jsonschema's dump of the schema;
- `job_signature()`: the job function can be called as `func(traj, *args, **kwargs)`;
- `output_paths()`: the trajectory file's folder can be written, and a file already at the
  target path holds this trajectory (a different one, or no trajectory at all, is never
  silently replaced).
"""

from __future__ import annotations

import inspect
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pypet_sm.errors import ConfigError, PypetSmError

if TYPE_CHECKING:
    from pypet_sm.define.config import Settings


def _field(path: Iterable[str | int]) -> str:
    parts = []
    for part in path:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(("." if parts else "") + str(part))
    return "".join(parts) or "(top level)"


def schema(config: dict[str, Any], schema_path: str | os.PathLike) -> None:
    """Raise ConfigError for the first schema violation, naming the field."""
    import jsonschema
    import yaml

    with open(schema_path, encoding="utf-8") as handle:
        spec = yaml.safe_load(handle)
    validator = jsonschema.Draft202012Validator(spec)
    errors = sorted(validator.iter_errors(config), key=lambda e: (list(e.path), e.message))
    if not errors:
        return
    error = jsonschema.exceptions.best_match(errors)
    where = list(error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        name = _field([*where, unknown[0]]) if unknown else _field(where)
        raise ConfigError(name, f"unknown key; known keys here: {', '.join(allowed)}")
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        raise ConfigError(_field([*where, missing]), "is required")
    description = error.schema.get("description") if isinstance(error.schema, dict) else None
    detail = f" ({' '.join(description.split())})" if description else ""
    raise ConfigError(_field(where), f"{_short(error.message)}{detail}")


def _short(message: str, width: int = 300) -> str:
    return message if len(message) <= width else message[: width - 3] + "..."


def job_signature(function: Any, spec: str, args: list[Any], kwargs: dict[str, Any]) -> None:
    """The job function accepts `(traj, *args, **kwargs)`."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return  # builtins without a signature: trust them
    try:
        signature.bind(object(), *args, **kwargs)
    except TypeError as error:
        raise ConfigError(
            "job",
            f"{spec}{signature} cannot be called as {spec.partition(':')[2]}(traj"
            + "".join(f", {arg!r}" for arg in args)
            + "".join(f", {key}={value!r}" for key, value in kwargs.items())
            + f"): {error}; a job function takes the trajectory first, then args and kwargs",
        ) from None


def _writable_directory(directory: Path, field: str) -> None:
    existing = directory
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(field, f"{existing} is a file, not a folder")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory, prefix=".pypet_sm_probe_"):
            pass
    except OSError as error:
        raise ConfigError(
            field, f"cannot write to the folder {directory}: {error.strerror or error}"
        ) from None


WRITTEN = "merged.json"


def merge_record(trajectory_state: Path) -> Path:
    """The merge rule's output: a record of the trajectory file the merge wrote.

    The trajectory file itself is not a Snakemake output: Snakemake deletes a job's outputs
    before it runs the job, so a merge that is killed or fails (full disk) would leave no
    trajectory file at all. The merge replaces the file atomically and then writes this.
    """
    return Path(trajectory_state) / WRITTEN


def record_written(trajectory_state: Path, path: Path) -> None:
    """Note the file the merge just wrote (the merge rule's output)."""
    from pypet_sm import atomic

    stat = path.stat()
    record = {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    atomic.write_text(merge_record(trajectory_state), json.dumps(record))


def written_by_us(trajectory_state: Path, path: Path) -> bool:
    """Whether `path` is, unchanged, the file the last merge wrote (`pypet-sm forget` moves
    the record aside, so Snakemake merges again: the moved record counts too)."""
    record_path = merge_record(trajectory_state)
    if not record_path.exists():
        record_path = record_path.with_name(f"{WRITTEN}.forgotten")
    try:
        record = json.loads(record_path.read_text())
        stat = path.stat()
    except (OSError, ValueError):
        return False
    return record == {
        "path": str(path.resolve()),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
    }


def forget_missing_trajectory(trajectory_state: Path, path: Path) -> bool:
    """Remove the merge record when the trajectory file is gone, so Snakemake merges again;
    True when it did. A file changed since (say, analysis results stored into it with pypet)
    is left alone: it is only replaced when a merge is due anyway."""
    record = merge_record(trajectory_state)
    if record.exists() and not path.exists():
        record.unlink()
        return True
    return False


def existing_trajectory(path: Path, name: str, trajectory_state: Path | None = None) -> None:
    """Raise PypetSmError unless `path` is absent or an HDF5 file holding trajectory `name`."""
    if not path.exists():
        return
    if trajectory_state is not None and written_by_us(trajectory_state, path):
        return
    if path.is_dir():
        raise PypetSmError(f"the trajectory file {path} is a folder; choose another filename")
    from pypet_sm.hdf5.reader import TrajectoryFile, is_hdf5_file

    what = None
    try:
        if not is_hdf5_file(path):
            what = "is not an HDF5 file"
        else:
            with TrajectoryFile(path) as stored:
                found = sorted(stored.names)
                others = sorted(set(stored.trajectory_names) - {name})
            # groups a user stored beside the trajectory are fine: the merge carries them over
            if name not in found or others:
                holds = ", ".join(repr(n) for n in (others or found)) or "no trajectory"
                what = f"holds {holds}, not trajectory {name!r}"
    except OSError as error:  # HDF5Error included: one line, the file's kind of trouble
        if getattr(error, "kind", "") == "locked":  # only open elsewhere: nothing to move
            raise PypetSmError(f"{error} (the merge reads it before replacing it)") from None
        what = getattr(error, "reason", "") or f"cannot be read ({error})"
    if what:
        raise PypetSmError(
            f"{path} {what}. pypet_sm never replaces such a file: move it away, or set "
            "trajectory.filename to another file (two explorations cannot share a file)"
        )


def output_paths(settings: Settings) -> None:
    """The folders pypet_sm writes to are writable; a file at the target path is ours."""
    target = Path(settings.filename)
    _writable_directory(target.parent, "trajectory.filename")
    _writable_directory(Path(settings.state_dir), "state_dir")
    _writable_directory(Path(settings.log_folder), "log_folder")
    try:
        existing_trajectory(target, settings.name, settings.trajectory_state)
    except PypetSmError as error:
        raise ConfigError("trajectory.filename", str(error)) from None
