"""Where a run's result or derived parameter goes: pypet's wildcards and prefix rule.

pypet replaces `$` and `crun` in a name by the run's name (`run_00000003`), `$set` and
`crunset` by its run set's (`run_set_00000`), and puts a name that names no run below
`runs.<run>`: `f_add_result('z')` is `results.runs.run_00000003.z`, `'runs.$.z'` the same,
`'$set.$.z'` is `results.run_set_00000.run_00000003.z`, `'neuron.$.q'` is
`results.neuron.run_00000003.q`.

A placement keeps the wildcards (`Placement.where`), not the run's name: the merge resolves
them with the index the run has in the file, so a fragment stays reusable at any index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pypet_sm.errors import TrajectoryError
from pypet_sm.hdf5.layout import (
    RUN_SET_WILDCARD,
    RUN_WILDCARD,
    resolve_wildcards,
    run_name,
    run_set_name,
)

RUN, RUN_SET = RUN_WILDCARD, RUN_SET_WILDCARD
_ALIASES = {"$": RUN, "crun": RUN, "$set": RUN_SET, "crunset": RUN_SET}
_SHORTCUTS = {"res": "results", "dpar": "derived_parameters"}
_ANY_RUN = re.compile(r"^run_(\d{8}|ALL)$")


@dataclass(frozen=True)
class Placement:
    """`name` relative to its group; `where` None: the run's own group (`runs.<run>`),
    else the dotted group path below the branch, with `$` and `$set` kept."""

    name: str
    where: str | None

    def full_name(self, branch: str, idx: int) -> str:
        """The name in this run's tree, the wildcards resolved for run `idx`."""
        if self.where is None:
            return f"{branch}.runs.{run_name(idx)}.{self.name}"
        return f"{branch}.{resolve(self.where, idx)}.{self.name}"


def resolve(where: str, idx: int) -> str:
    """`where` with `$` and `$set` replaced for run `idx`."""
    return ".".join(resolve_wildcards(where, idx))


def place(branch: str, start: str, name: str, idx: int, call: str) -> Placement:
    """Where `name`, given to `call` on the group `start` ('' for the trajectory), goes in
    run `idx`, following pypet's rule; a TrajectoryError for a place outside any run."""
    own = {run_name(idx): RUN, run_set_name(idx): RUN_SET}
    parts = [*start.split("."), *name.split(".")] if start else name.split(".")
    parts = [_ALIASES.get(part, own.get(part, part)) for part in parts]
    if not start:
        parts[0] = _SHORTCUTS.get(parts[0], parts[0])
    if parts[0] == branch:
        parts = parts[1:]
    elif start:
        raise TrajectoryError(
            f"{run_name(idx)}: {call}({name!r}) on traj.{start}: not a {branch} group"
        )
    for part in parts:
        if _ANY_RUN.match(part):
            raise TrajectoryError(
                f"{run_name(idx)}: {call}({name!r}) names another run ({part}); a run adds its "
                "own items: use '$' for its name"
            )
    if not parts:
        raise TrajectoryError(f"{run_name(idx)}: {call} needs a name below {branch}")
    if RUN not in parts:
        depth = len(start.split(".")) if start else 0
        if depth <= 1:  # pypet's prefix: the run's own group
            parts = ["runs", RUN, *parts]
        elif depth == 2 and start.endswith(".runs"):
            parts = ["runs", RUN, *parts[1:]]
        else:
            raise TrajectoryError(
                f"{run_name(idx)}: {call}({name!r}) on traj.{start} names no run: every run "
                f"would write the same {branch[:-1].replace('_', ' ')}; put '$' in the name "
                f"(for example {name + '.$'!r} or 'runs.$.{name}')"
            )
    if parts[:2] == ["runs", RUN] and len(parts) > 2:
        return Placement(".".join(parts[2:]), None)
    if len(parts) < 2:
        raise TrajectoryError(f"{run_name(idx)}: {call}({name!r}): a name is needed after '$'")
    return Placement(parts[-1], ".".join(parts[:-1]))


def group_path(start: str, name: str, idx: int) -> str:
    """The full name of a group `name` added on `start` in run `idx`, wildcards resolved
    (pypet adds no prefix to groups)."""
    parts = [*start.split("."), *name.split(".")] if start else name.split(".")
    if not start:
        parts[0] = _SHORTCUTS.get(parts[0], parts[0])
    names = {RUN: run_name(idx), RUN_SET: run_set_name(idx)}
    return ".".join(names.get(_ALIASES.get(part, part), part) for part in parts)
