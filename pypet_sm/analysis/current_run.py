"""The current run of a loaded trajectory, as pypet 0.7's: `traj.v_idx = 7` or
`traj.f_set_crun(7 | "run_00000007")` makes run 7 current (explored parameters show its
values, `crun` names its groups), `traj.v_idx = -1` / `f_restore_default()` go back to the
defaults, and `f_iter_runs(start, stop, step, yields)` walks the runs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from pypet_sm.analysis.pypet_api import base_class
from pypet_sm.analysis.tree import PickledLeaf, stored_range
from pypet_sm.define.naming import Group, Leaf, NamingError
from pypet_sm.hdf5 import layout

YIELDS = ("name", "idx", "self", "copy")
# attributes a script may set on a loaded trajectory, as on pypet's
SETTABLE = {"v_fast_access", "v_auto_load", "v_shortcuts", "v_max_depth", "v_with_links"}


class CurrentRun:
    """Mixed into `LoadedTrajectory` (see the module docstring)."""

    if TYPE_CHECKING:
        v_idx: int
        v_crun: str | None
        _explored: list[Leaf]
        _defaults: dict[int, Any]
        _default_values: dict[int, dict[str, Any]]

        def _index(self, name_or_idx: int | str) -> int: ...
        def _set_current(self, idx: int, run_name: str | None) -> None: ...
        def f_get_run_names(self) -> list[str]: ...
        def _run_group(self, branch: str, run: str) -> Group | None: ...
        def __len__(self) -> int: ...

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("v_idx", "v_crun"):
            self.f_set_crun(value)
        else:
            object.__setattr__(self, name, value)

    @staticmethod
    def _show_value(leaf: Leaf, value: Any) -> None:
        """`TrajectoryView._show_value` for leaves with pypet's calls mixed in."""
        if base_class(leaf) is Leaf:
            leaf.values["data"] = value
        else:
            leaf._load({"data": value})

    def f_set_crun(self, name_or_idx: int | str | None) -> None:
        """Make one run current (None or -1: the defaults), as pypet's f_set_crun."""
        if name_or_idx is None or (isinstance(name_or_idx, int) and name_or_idx == -1):
            self._set_current(-1, None)
            for leaf in self._explored:
                if isinstance(leaf, PickledLeaf):
                    leaf._load({"data": self._defaults[id(leaf)]})
                else:
                    leaf.values = dict(self._default_values[id(leaf)])
            return
        idx = self._index(name_or_idx)
        self._set_current(idx, self.f_get_run_names()[idx])
        for leaf in self._explored:
            self._show_value(leaf, (stored_range(leaf) or [])[idx])

    def f_restore_default(self) -> None:
        self.f_set_crun(None)

    def f_iter_runs(
        self, start: int = 0, stop: int | None = None, step: int = 1, yields: str = "name"
    ) -> Iterator[Any]:
        """pypet's f_iter_runs: each run in turn becomes current; `yields` the run's name,
        its index, or the trajectory itself ("self"; "copy" gives it too: the loaded
        trajectory is not copied). The defaults are restored at the end."""
        if yields not in YIELDS:
            raise ValueError(f"yields must be one of {', '.join(YIELDS)}, not {yields!r}")
        stop = len(self) if stop is None else min(stop, len(self))
        try:
            for idx in range(start, stop, step):
                self.f_set_crun(idx)
                if yields == "name":
                    yield self.f_get_run_names()[idx]
                elif yields == "idx":
                    yield idx
                else:
                    yield self
        finally:
            self.f_set_crun(None)

    def _current_run(self, branch: str) -> Group:
        """The current run's group in `branch` (load_trajectory's `traj.crun`)."""
        if self.v_crun is None:
            raise NamingError(
                "no current run: use traj.f_set_crun(idx), traj.v_idx = idx or traj.f_iter_runs()"
            )
        group = self._run_group(branch, self.v_crun)
        if group is None:
            raise NamingError(f"{branch} holds nothing of {self.v_crun}")
        return group


__all__ = ["CurrentRun", "layout"]
