"""What the three trajectories share: the one being built (`define.trajectory`), the single
run a job function gets (`execute.single_run`) and the one loaded from a file (`analysis.load`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pypet_sm.define.naming import Group, Leaf


class TrajectoryView(Group):
    """A trajectory's root: its name and comment, the current run (`v_idx` -1 and `v_crun`
    None outside a run, as in pypet), its parameters, and how an explored parameter shows the
    value of one run."""

    def __init__(
        self,
        name: str,
        comment: str = "",
        loader: Callable[[Group], dict[str, Group | Leaf]] | None = None,
    ) -> None:
        super().__init__("", loader=loader)
        object.__setattr__(self, "v_name", name)
        object.__setattr__(self, "v_comment", comment)
        self._set_current(-1, None)

    @property
    def v_fast_access(self) -> bool:
        """pypet's fast access, always on: `traj.x` is the value, `traj.f_get('x')` the
        parameter (turning it off is refused, see `define.trajectory`)."""
        return True

    def _set_current(self, idx: int, run_name: str | None) -> None:
        object.__setattr__(self, "v_idx", idx)
        object.__setattr__(self, "v_crun", run_name)

    @staticmethod
    def _show_value(leaf: Leaf, value: Any) -> None:
        """An explored parameter holds one run's value: a plain leaf as its data, the user's
        class through its `_load` (ranges hold what its `_store` gave)."""
        if type(leaf) is Leaf:
            leaf.values["data"] = value
        else:
            leaf._load({"data": value})

    def _explored_leaves(self) -> Iterable[Leaf]:
        """The explored parameters in exploration order."""
        raise NotImplementedError

    def f_get_parameters(self, fast_access: bool = False, copy: bool = True) -> dict[str, Any]:
        """Full name -> parameter (its value with `fast_access`), as pypet's. The dict is
        always a new one: `copy=False` (pypet's own dict) gives a copy too."""
        return _by_full_name(self.f_get("parameters").f_iter_leaves(), fast_access)

    def f_get_explored_parameters(
        self, fast_access: bool = False, copy: bool = True
    ) -> dict[str, Any]:
        """Full name -> explored parameter (or its current value), in exploration order."""
        return _by_full_name(self._explored_leaves(), fast_access)


def _by_full_name(leaves: Iterable[Leaf], fast_access: bool) -> dict[str, Any]:
    return {leaf.v_full_name: leaf.fast() if fast_access else leaf for leaf in leaves}
