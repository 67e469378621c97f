"""pypet's way into a file: `pypet_sm.Trajectory(filename=...)` then `traj.f_load(...)`.

    traj = pypet_sm.Trajectory(filename="hdf5/sweep.hdf5")
    traj.f_load(index=-1, load_parameters=2, load_results=1, force=True)

The trajectory behaves exactly as pypet 0.7's on the same file (README "Loading a
trajectory", the differential suite in tests/test_pypet_loader.py): also where
`load_trajectory` keeps its own conveniences (f_get_from_runs gives the items unless
fast_access=True; `traj.crun` is searched like any name).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pypet_sm.analysis.files import open_file, pick_name
from pypet_sm.analysis.load import LoadedTrajectory
from pypet_sm.analysis.pypet_api import not_offered
from pypet_sm.analysis.tree import LoadError
from pypet_sm.hdf5 import layout

LEVELS = {
    "load_parameters": layout.PARAMETERS,
    "load_derived_parameters": layout.DERIVED_PARAMETERS,
    "load_results": layout.RESULTS,
    "load_other_data": None,
}


class FileTrajectory(LoadedTrajectory):
    """A trajectory file opened the pypet way; nothing is read before `f_load`."""

    _pypet_style = True

    def __init__(
        self,
        name: str | None = None,
        add_time: bool = False,
        comment: str = "",
        dynamic_imports: list[Any] | None = None,
        filename: str | Path | None = None,
        allow_pickle: bool = False,
        **pypet_options: Any,
    ) -> None:
        object.__setattr__(self, "_path", Path(filename) if filename is not None else None)
        object.__setattr__(self, "_wanted", name)
        object.__setattr__(self, "_imports", dynamic_imports)
        object.__setattr__(self, "_allow_pickle", allow_pickle)
        object.__setattr__(self, "_loaded", False)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or self.__dict__.get("_loaded"):
            return super().__getattr__(name)
        raise LoadError(
            f"traj.{name}: nothing is loaded yet; call traj.f_load(...) first "
            f"(the file is {self._path})"
        )

    # pypet's Trajectory.f_load differs from its groups' f_load in the same way
    def f_load(  # type: ignore[override]
        self,
        name: str | None = None,
        index: int | None = None,
        as_new: bool = False,
        load_parameters: int = 2,
        load_derived_parameters: int = 2,
        load_results: int = 2,
        load_other_data: int = 2,
        recursive: bool = True,
        load_data: int | None = None,
        max_depth: int | None = None,
        force: bool = False,
        dynamic_imports: list[Any] | None = None,
        with_run_information: bool = True,
        with_meta_data: bool = True,
        storage_service: Any = None,
        **kwargs: Any,
    ) -> None:
        """pypet's f_load. `name` or `index` (into the file's trajectories; -1 the last)
        picks the trajectory; `load_*` of 0 leaves that branch out, as pypet does, 1 and 2
        are alike here (items are read when first touched). `force` is accepted: pypet
        needs it for a file of another pypet or Python version; pypet_sm reads such files
        as they are."""
        if as_new:
            raise not_offered("Trajectory", "f_load(as_new=True)")
        if self._path is None:
            raise LoadError("pypet_sm.Trajectory(filename=...) needs the file's name")
        if self.__dict__.get("_loaded"):
            self.f_close()
        file = open_file(self._path)
        try:
            names = file.trajectory_names or file.names
            if name is None and index is not None:
                if not names:
                    raise LoadError(f"{self._path} holds no trajectory")
                try:
                    name = names[index]
                except IndexError:
                    raise LoadError(
                        f"{self._path} holds {len(names)} trajectories, no index {index}"
                    ) from None
            name = pick_name(self._path, file, name or self._wanted)
            imports = [*(self._imports or []), *(dynamic_imports or [])]
            LoadedTrajectory.__init__(self, file, name, imports, self._allow_pickle)
        except BaseException:
            file.close()
            raise
        object.__setattr__(self, "_loaded", True)
        levels = {key: load_data if load_data is not None else value for key, value in (
            ("load_parameters", load_parameters),
            ("load_derived_parameters", load_derived_parameters),
            ("load_results", load_results),
            ("load_other_data", load_other_data),
        )}  # fmt: skip
        for option, branch in LEVELS.items():
            if levels[option] == 0 and branch is not None:
                self._children.pop(branch, None)

    def f_load_skeleton(self) -> None:
        """Nothing to do: groups and leaves are read when first touched."""

    def f_load_item(self, item: Any, *args: Any, **kwargs: Any) -> None:
        """Read `item` (a node or a name) now."""
        self.f_load_items([item])

    def f_load_items(self, iterator: Any, *args: Any, **kwargs: Any) -> None:
        for item in iterator if isinstance(iterator, (list, tuple)) else [iterator]:
            if isinstance(item, str):
                self.f_get(item)


__all__ = ["FileTrajectory"]
