"""`pypet-sm show` (a trajectory file at a glance) and `pypet-sm table` (its runs table,
printed or written as CSV)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pypet_sm import atomic
from pypet_sm.cli.usage import UsageError

if TYPE_CHECKING:  # the loader (PyTables) is imported only when a file is opened
    from pypet_sm.analysis.load import LoadedTrajectory

TABLE_ROWS = 60  # rows printed before the table is truncated (head and tail)


def _open(path: Path, name: str | None, live: bool = False) -> LoadedTrajectory:
    """The trajectory, loaded without ever unpickling: the CLI shows what a file holds
    without running code from it (a pickle shows its class and size). `live`: `path` is a
    project whose finished runs are read (pypet_sm/analysis/live.py)."""
    from pypet_sm.analysis.load import AmbiguousTrajectory, LoadError, load_trajectory
    from pypet_sm.hdf5.reader import is_hdf5_file

    if live:
        try:
            return load_trajectory(path, name, allow_pickle=False, live=True)
        except LoadError as error:
            raise UsageError(str(error)) from None
    if path.is_file():
        try:
            is_hdf5 = is_hdf5_file(path)
        except OSError as error:  # HDF5Error: one line naming the file and what is wrong
            raise UsageError(str(error)) from None
        if not is_hdf5:
            raise UsageError(f"{path} is not an HDF5 trajectory file")
    try:
        return load_trajectory(path, name, allow_pickle=False)
    except AmbiguousTrajectory as error:
        raise UsageError(
            f"{path} holds trajectories {', '.join(error.names)}: choose one with --name "
            f"(e.g. --name {error.names[0]})"
        ) from None
    except LoadError as error:
        raise UsageError(str(error)) from None
    except Exception as error:  # a file that is HDF5 but not a trajectory
        raise UsageError(f"{path}: not a readable trajectory file: {error}") from None


def _describe_value(value: Any) -> str:
    import numpy as np

    from pypet_sm.hdf5.codec import Pickled

    if isinstance(value, Pickled):  # never unpickled here
        return f"pickle of {value.size} bytes"
    if isinstance(value, np.ndarray):
        return f"ndarray {value.dtype} {value.shape}"
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__} of {len(value)}"
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return f"{type(value).__name__} {value.shape}"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 30 else text[:27] + '...'}"


def _range(values: list[Any]) -> str:
    try:
        low, high = min(values), max(values)
    except (TypeError, ValueError):
        return f"{len(values)} values"
    distinct = len({repr(v) for v in values})
    return f"{low!r}..{high!r} ({len(values)} runs, {distinct} distinct)"


def show(path: Path, name: str | None = None, live: bool = False) -> int:
    from pypet_sm.analysis.tree import stored_range, stored_values

    with _open(path, name, live) as traj:
        rows = traj._runs() if traj.has_runs_table() else None
        total = len(traj)
        completed = int(rows["completed"].sum()) if rows is not None else total
        where = f"the fragment store {traj.v_live_source} (live)" if live else f"{path}"
        print(f"trajectory {traj.v_name} in {where}")
        if traj.v_comment:
            print(f"  comment: {traj.v_comment}")
        if live:
            print(
                f"  runs: {completed} completed of {total} so far ({traj.v_live_failed} "
                f"failed, {traj.v_live_missing} not finished)"
            )
        else:
            print(f"  runs: {completed} completed of {total}")
        print("parameters:")
        for leaf in traj.f_iter_leaves_of("parameters"):
            short = leaf.v_full_name.partition(".")[2]
            default = traj._defaults.get(id(leaf), stored_values(leaf).get("data"))
            line = f"  {short} = {default!r}"
            explored = stored_range(leaf)
            if explored is not None:
                line += f"  explored {_range(list(explored))}"
            if leaf.v_comment:
                line += f"  # {leaf.v_comment}"
            print(line)
        first = None
        if rows is not None:
            done = rows["completed"].nonzero()[0]
            first = int(done[0]) if len(done) else None
        print(
            "results"
            + (f" (of {traj.f_get_run_names()[first]}):" if first is not None else ": none")
        )
        if first is not None:
            run = traj.f_get_run_names()[first]
            for branch in ("results", "derived_parameters"):
                for item, leaf in traj.run_leaves(branch, run):
                    shown = ", ".join(
                        f"{key}: {_describe_value(value)}"
                        for key, value in stored_values(leaf).items()
                    )
                    kind = "" if branch == "results" else " (derived parameter)"
                    comment = f"  # {leaf.v_comment}" if leaf.v_comment else ""
                    print(f"  {item}{kind}: {leaf.v_class_name} {{{shown}}}{comment}")
        print("environments:")
        environments = traj.f_get_environments()
        for env_name, items in environments.items():
            line = f"  {env_name}"
            if items.get("git_repository") and items.get("hexsha"):
                line += f"  git commit {items['hexsha']}"
            if items.get("runtime"):
                line += f"  ran {items['runtime']}"
            print(line)
        if not environments:
            print("  none recorded")
    return 0


# table -------------------------------------------------------------------------------------
def table(path: Path, csv: Path | None, name: str | None = None, live: bool = False) -> int:
    with _open(path, name, live) as traj:
        frame = traj.runs_table(provenance=traj._read_provenance() is not None)
        if not hasattr(frame, "to_csv"):
            raise UsageError("pypet-sm table needs pandas: pip install pandas")
        if csv is not None:
            _write_csv(csv, frame.to_csv(index=False))
            print(f"wrote {len(frame)} runs to {csv}")
            return 0
        if len(frame) > TABLE_ROWS:
            half = TABLE_ROWS // 2
            text = frame.head(half).to_string(index=False)
            tail = frame.tail(half).to_string(index=False).splitlines()[1:]
            print(text)
            print(f"... {len(frame) - 2 * half} more runs (--csv FILE writes them all) ...")
            print("\n".join(tail))
        else:
            print(frame.to_string(index=False))
    return 0


def _write_csv(csv: Path, text: str) -> None:
    if csv.is_dir():
        raise UsageError(f"--csv {csv} is a folder; give a file name")
    try:
        atomic.write_text(csv, text)
    except OSError as error:
        reason = error.strerror or str(error)
        raise UsageError(f"cannot write --csv {csv}: {reason}") from None
