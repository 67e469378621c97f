"""The trajectory post-processing sees: the loader's over the merged file, writable at
trajectory level.

Reading is the loader's (`f_get_from_runs`, `crun`, `runs_table`, natural naming, ...).
`f_add_result` and `f_add_derived_parameter` collect trajectory-level items, stored in
pypet's place for them (`results.<name>`, `derived_parameters.<name>` outside `runs`) once
the function returned; `f_expand` appends points to the define-side trajectory at once, so a
bad parameter or value fails at the user's call, as in pypet.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pypet_sm.analysis.load import LoadedTrajectory
from pypet_sm.define.trajectory import Trajectory
from pypet_sm.errors import TrajectoryError
from pypet_sm.hdf5.records import Item
from pypet_sm.hdf5.writable import Unwritable, check_item

BRANCHES = {"results": "f_add_result", "derived_parameters": "f_add_derived_parameter"}


class PostprocTrajectory:
    """`traj` of `postproc(traj, result_list, *args, **kwargs)`."""

    def __init__(
        self, loaded: LoadedTrajectory, definition: Trajectory, number: int, seed: int
    ) -> None:
        self._loaded = loaded
        self._definition = definition
        self._before = len(definition)
        self.added: dict[str, list[Item]] = {branch: [] for branch in BRANCHES}
        # a resumed search makes the same decisions: the round and an RNG seeded by it
        self.v_postproc_round = number
        self.v_postproc_rng = np.random.default_rng([seed, number])

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loaded, name)

    def __len__(self) -> int:
        return len(self._loaded)

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *dir(self._loaded)})

    # writing at trajectory level ------------------------------------------------------------
    def f_add_result(self, name: str, *values: Any, comment: str = "", **named: Any) -> None:
        """pypet's `traj.f_add_result('summary.rates', table)` or `(..., a=1, b=2)`."""
        leaf = self._name("results", name)
        stored = {
            leaf.rpartition(".")[2] if i == 0 else f"{leaf.rpartition('.')[2]}_{i}": v
            for i, v in enumerate(values)
        }
        twice = sorted(set(stored) & set(named))
        if twice:
            raise TrajectoryError(f"f_add_result({name!r}): value {twice[0]!r} given twice")
        stored.update(named)
        if not stored:
            raise TrajectoryError(f"f_add_result({name!r}): the result has no value")
        self._add("results", Item(leaf, stored, comment or ""))

    def f_add_derived_parameter(self, name: str, value: Any, comment: str = "") -> None:
        """pypet's trajectory-level derived parameter (`derived_parameters.<name>`)."""
        self._add(
            "derived_parameters",
            Item(self._name("derived_parameters", name), {"data": value}, comment or ""),
        )

    def f_expand(self, build_dict: dict[str, Any]) -> None:
        """Append points (pypet's f_expand): they run in the next round."""
        if not isinstance(build_dict, dict):
            raise TrajectoryError(f"f_expand needs a dict of parameter ranges, got {build_dict!r}")
        self._definition.f_expand(build_dict)

    def f_store(self, *args: Any, **kwargs: Any) -> None:
        """pypet's f_store in post-processing: what was added is stored when the function
        returns (in one atomic replacement of the file), so there is nothing to do now."""

    def f_explore(self, build_dict: dict[str, Any]) -> None:
        raise TrajectoryError(
            "f_explore after the runs: post-processing adds points with f_expand (pypet too "
            "refuses to explore a trajectory that has run)"
        )

    # what the round added ---------------------------------------------------------------------
    def expansion(self) -> dict[str, list[Any]]:
        """Explored name (without `parameters.`) -> the values of the points added."""
        ranges = self._definition.explored_ranges
        if len(self._definition) == self._before:
            return {}
        return {
            name.partition(".")[2]: list(values[self._before :]) for name, values in ranges.items()
        }

    def _name(self, branch: str, name: Any) -> str:
        call = BRANCHES[branch]
        if not isinstance(name, str) or not name:
            raise TrajectoryError(f"{call} needs a name as first argument, got {name!r}")
        name = name.removeprefix(f"{branch}.")
        parts = name.split(".")
        if not all(part.isidentifier() for part in parts) or any(
            part.startswith(("run_", "$")) for part in parts
        ):
            raise TrajectoryError(
                f"{call}({name!r}): post-processing adds trajectory-level items with dotted "
                "names of identifiers, outside the single runs"
            )
        return name

    def _add(self, branch: str, item: Item) -> None:
        call = BRANCHES[branch]
        if any(added.name == item.name for added in self.added[branch]):
            raise TrajectoryError(f"{call}({item.name!r}): added twice in this round")
        if self._loaded.f_contains(f"{branch}.{item.name}"):
            raise TrajectoryError(
                f"{call}({item.name!r}): the trajectory holds {branch}.{item.name} already "
                "(from an earlier round?): give each round's item a name of its own"
            )
        try:
            check_item(item, parameter=branch != "results")
        except Unwritable as error:
            raise TrajectoryError(f"{call}({item.name!r}): {error}") from None
        self.added[branch].append(item)
