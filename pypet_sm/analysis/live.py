"""The live view: the analysis API over the runs a sweep has finished so far, while
`snakemake` still runs or after it was killed.

    with pypet_sm.load_trajectory("path/to/project", live=True) as traj:  # or its config.yaml
        traj.v_live_finished, traj.v_live_failed, traj.v_live_missing
        traj.f_get_from_runs("z")     # the finished runs' values
        traj.runs_table()             # every planned run; unfinished ones: completed 0, no results

It plans the exploration as `pypet-sm status` does, reads the fragment store as the merge does
(`repair.check` over a scan, without its cache being written) and has the merge's own writer
build the trajectory file the merge would write from these runs -- in memory (HDF5's core
driver, no backing store) -- which the loader then opens. So the tree, the values and every
call are those of the merged file: no second reading of records, no second tree. Nothing is
written and no lock is taken: a record a running job is appending fails its checksums and its
run is simply not finished yet.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pypet_sm.analysis.load import LoadedTrajectory
from pypet_sm.analysis.tree import LoadError
from pypet_sm.errors import PypetSmError
from pypet_sm.hdf5.reader import TrajectoryFile

if TYPE_CHECKING:
    from pypet_sm.execute.plan import Plan

CONFIG = "config.yaml"


class LiveTrajectory(LoadedTrajectory):
    """A `LoadedTrajectory` of the runs finished so far (see the module's docstring). Its
    length and run names are the plan's, as in the merged file; runs not finished yet are
    in the runs table with `completed` 0 and hold no results, like failed runs."""

    v_live = True

    def __init__(
        self, file: TrajectoryFile, name: str, counts: dict[str, int], source: str, **kw: Any
    ) -> None:
        super().__init__(file, name, **kw)
        object.__setattr__(self, "v_live_finished", counts["finished"])
        object.__setattr__(self, "v_live_failed", counts["failed"])
        object.__setattr__(self, "v_live_missing", counts["missing"])
        object.__setattr__(self, "v_live_source", source)

    def f_get_finished_run_names(self) -> list[str]:
        """The names of the runs completed so far, in run order."""
        rows = self._runs()
        return [self._run_names[idx] for idx in rows["completed"].nonzero()[0]]

    def __repr__(self) -> str:
        return (
            f"<live trajectory {self.v_name}: {self.v_live_finished} finished, "
            f"{self.v_live_failed} failed, {self.v_live_missing} not finished of {len(self)} "
            f"runs, read from {self.v_live_source}>"
        )


def config_path(path: str | Path) -> Path:
    """The config of a project folder or config file; a LoadError naming it if there is none."""
    path = Path(path)
    found = path / CONFIG if path.is_dir() else path
    if not found.is_file():
        where = f"the project folder {path} has no {CONFIG}" if path.is_dir() else f"{path}"
        raise LoadError(
            f"live=True reads a project (its folder or its config file): {where}"
            + ("" if path.is_dir() else " does not exist")
        )
    if found.suffix not in (".yaml", ".yml"):
        raise LoadError(
            f"live=True reads a project (its folder or its config.yaml), not {found}; "
            "load a trajectory file without live=True"
        )
    return found


@contextlib.contextmanager
def _in_project(config: Path) -> Iterator[None]:
    """Plan and read as the Snakefile does (paths relative to the project folder), then
    give the caller's working directory and import path back and forget the project's own
    modules (the next project's `sim.py` must not find this one's); importing the job module
    writes no bytecode into the project."""
    cwd, path, bytecode = os.getcwd(), list(sys.path), sys.dont_write_bytecode
    project = config.resolve().parent
    elsewhere = _set_aside(project)
    before = set(sys.modules)
    sys.dont_write_bytecode = True
    try:
        yield
    finally:
        sys.dont_write_bytecode = bytecode
        os.chdir(cwd)
        sys.path[:] = path
        for name in set(sys.modules) - before:
            origin = getattr(sys.modules[name], "__file__", None)
            if origin and Path(origin).resolve().is_relative_to(project):
                del sys.modules[name]
        sys.modules.update(elsewhere)


def _set_aside(project: Path) -> dict[str, Any]:
    """Take out of `sys.modules` (to be put back) the modules the caller loaded from
    elsewhere under the names of the project's own modules (another project's `sim.py`), so
    that planning imports the project's, as snakemake in the project folder would."""
    own = {path.stem for path in project.glob("*.py")}
    own |= {path.parent.name for path in project.glob("*/__init__.py")}
    own -= set(sys.stdlib_module_names)  # a job module named like one is refused by name
    found = {}
    for name in [name for name in sys.modules if name.partition(".")[0] in own]:
        origin = getattr(sys.modules[name], "__file__", None)
        if not origin or not Path(origin).resolve().is_relative_to(project):
            found[name] = sys.modules.pop(name)
    return found


def _plan(config: Path) -> Plan:
    from pypet_sm.cli.status import load_plan
    from pypet_sm.cli.usage import UsageError

    try:
        return load_plan(config)
    except UsageError as error:
        raise LoadError(str(error)) from None


def load_live(
    path: str | Path,
    name: str | None = None,
    dynamic_imports: list[Any] | None = None,
    allow_pickle: bool = False,
) -> LiveTrajectory:
    """The live view of the project at `path` (its folder or config file)."""
    from pypet_sm.execute import repair, store
    from pypet_sm.hdf5.writer import trajectory_image
    from pypet_sm.merge.write import record_of

    config = config_path(path)
    project = config.resolve().parent  # planning changes into it
    with _in_project(config):
        plan = _plan(config)
        if name is not None and name != plan.settings.name:
            raise LoadError(f"{config} defines trajectory {plan.settings.name!r}, not {name!r}")
        state = plan.settings.trajectory_state
        index = store.scan(state)  # the cache only read: writing it is the merge's
        found = repair.check(plan, index, finished_only=False)
        record = record_of(plan, index, found, set(), live=True)
        # pypet's layout costs HDF5 nodes per run (a millisecond per result: minutes at
        # 10^5 runs); the stacked one a few arrays, and the loader answers the same for both.
        # Uncompressed: zlib took a fifth of the time, and the image is never stored.
        stacked = dataclasses.replace(
            record.settings, layout="stacked", complevel=0, shuffle=False, fletcher32=False
        )
        try:
            image = trajectory_image(dataclasses.replace(record, settings=stacked))
        except (OSError, PypetSmError) as error:
            raise LoadError(f"the live view of {config} cannot be built: {error}") from None
    present = [index.entry(key) for key in found.keys if key is not None]
    failed = sum(not entry.completed for entry in present if entry is not None)
    counts = {
        "finished": len(present) - failed,
        "failed": failed,
        "missing": len(plan) - len(present),
    }
    label = f"{config} (live)"
    file = TrajectoryFile.from_image(image, label)
    try:
        return LiveTrajectory(
            file,
            plan.settings.name,
            counts,
            str(project / store.store_dir(state)),
            dynamic_imports=dynamic_imports,
            allow_pickle=allow_pickle,
        )
    except BaseException:
        file.close()
        raise


__all__ = ["LiveTrajectory", "config_path", "load_live"]
