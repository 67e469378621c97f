"""The trajectory being defined: parameters and their exploration, as a pypet script builds it.

A build hook gets this object and calls `f_add_parameter`, `f_explore` (and `f_expand`,
`f_add_config`) exactly as the parameter section of a pypet script does; the config.yaml
sections are applied through the same calls.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pypet_sm.define import classes, value_types, values
from pypet_sm.define.classes import Parameter
from pypet_sm.define.exploration import MAX_RUNS
from pypet_sm.define.naming import Leaf, NamingError, check_natural_name
from pypet_sm.define.view import TrajectoryView
from pypet_sm.errors import TrajectoryError

PARAMETER_CLASSES = classes.BUILTIN_PARAMETERS


def _strip_branch(name: str, branch: str) -> str:
    return name[len(branch) + 1 :] if name.startswith(branch + ".") else name


def _class_name(candidate: Any, known: dict[str, type]) -> str | None:
    if isinstance(candidate, str) and candidate in PARAMETER_CLASSES:
        return candidate
    try:
        return classes.class_name_for(candidate, Parameter, known)
    except TypeError as error:
        raise TrajectoryError(f"f_add_parameter: {error}") from None


class Trajectory(TrajectoryView):
    """A trajectory under construction: `traj.par.neuron.tau` reads back the defaults."""

    def __new__(cls, *args: Any, filename: Any = None, **kwargs: Any) -> Any:
        # pypet's way into a file: Trajectory(filename=...) then f_load (analysis.pypet_entry)
        if filename is not None:
            from pypet_sm.analysis.pypet_entry import FileTrajectory

            kwargs["filename"] = filename
            return FileTrajectory(*args, **kwargs)
        return super().__new__(cls)

    def __init__(
        self, name: str, comment: str = "", custom_classes: dict[str, type] | None = None
    ) -> None:
        super().__init__(name, comment)
        object.__setattr__(self, "_custom_classes", custom_classes or {})
        object.__setattr__(self, "_explored", {})  # full name -> list, in exploration order
        self.add_group("parameters")
        self.add_group("config")

    def __setattr__(self, name: str, value: Any) -> None:
        raise TrajectoryError(
            f"cannot set traj.{name}; add parameters with traj.f_add_parameter({name!r}, value)"
        )

    # parameters -------------------------------------------------------------
    def f_add_parameter(self, *args: Any, comment: str = "", **kwargs: Any) -> Leaf:
        """pypet's `(name, value, comment=...)` or `(Class, name, value, comment=...)`."""
        args_list = list(args)
        cls = args_list[0] if args_list else None
        class_name = _class_name(cls, self._custom_classes) if args_list else None
        if class_name is not None:
            args_list.pop(0)
        if not args_list or not isinstance(args_list[0], str):
            raise TrajectoryError("f_add_parameter needs a name: f_add_parameter('x', 1.0)")
        name = _strip_branch(args_list.pop(0), "parameters")
        if args_list:
            value = args_list.pop(0)
        elif "data" in kwargs:
            value = kwargs.pop("data")
        else:
            raise TrajectoryError(f"parameter {name!r} needs a value")
        if args_list and not comment:
            comment = args_list.pop(0)
        if args_list or kwargs:
            raise TrajectoryError(f"parameter {name!r}: unexpected arguments {args_list} {kwargs}")
        if classes.is_custom(cls):  # the user's class: what its _store() gives is stored
            custom = cls(f"parameters.{name}", {"data": value}, comment, class_name)
            try:
                stored = classes.stored_values(custom)
                classes.check_storable(class_name or cls.__name__, stored, parameter=True)
            except TypeError as error:
                raise TrajectoryError(f"parameter {name!r}: {error}") from None
            value = stored["data"]
        if class_name != "PickleParameter":
            try:
                values.check_parameter_value(value)
            except ValueError as error:
                raise TrajectoryError(
                    f"parameter {name!r}: {error}; use PickleParameter for other objects"
                ) from None
        leaf = Leaf(f"parameters.{name}", {"data": value}, comment, class_name)
        try:
            check_natural_name(name)
            return self.add_leaf(leaf.v_full_name, leaf)
        except NamingError as error:
            raise TrajectoryError(f"cannot add parameter {name!r}: {error}") from None

    def f_add_config(self, name: str, value: Any, comment: str = "") -> Leaf:
        """A config item (stored under `config.` in the trajectory file, not explored)."""
        name = _strip_branch(name, "config")
        leaf = Leaf(f"config.{name}", {"data": value}, comment)
        try:
            check_natural_name(name)
            return self.add_leaf(leaf.v_full_name, leaf)
        except NamingError as error:
            raise TrajectoryError(f"cannot add config {name!r}: {error}") from None

    def parameter(self, name: str) -> Leaf:
        """The parameter leaf `name` (full, without `parameters.`, or a unique short name)."""
        try:
            node = self.parameters.f_get(_strip_branch(name, "parameters"))
        except NamingError as error:
            raise TrajectoryError(f"cannot explore {name!r}: {error}") from None
        if not isinstance(node, Leaf):
            raise TrajectoryError(f"cannot explore {name!r}: it is a group, not a parameter")
        return node

    # exploration ------------------------------------------------------------
    def f_explore(self, build_dict: dict[str, Any]) -> None:
        """Explore: one run per position of the equal-length value lists."""
        if self._explored:
            raise TrajectoryError("the trajectory is explored already; use f_expand to add runs")
        self._set_ranges(build_dict, expand=False)

    def f_expand(self, build_dict: dict[str, Any]) -> None:
        """Append runs to an exploration (the same parameters as f_explore)."""
        if not self._explored:
            self.f_explore(build_dict)
            return
        self._set_ranges(build_dict, expand=True)

    def _set_ranges(self, build_dict: dict[str, Any], expand: bool) -> None:
        ranges: dict[str, list[Any]] = {}
        for name, run_values in build_dict.items():
            leaf = self.parameter(name)
            if isinstance(run_values, np.ndarray):
                # an array of ranges: rows for array parameters, Python scalars otherwise
                is_array = isinstance(leaf.values["data"], np.ndarray)
                run_values = list(run_values) if is_array else run_values.tolist()
            if not isinstance(run_values, (list, tuple)):
                raise TrajectoryError(f"explored values of {name!r} must be a list")
            default = leaf.values["data"]
            if {type(value) for value in run_values} == {
                type(default)
            } and not value_types.needs_conversion(default):
                ranges[leaf.v_full_name] = list(run_values)  # all of the default's type already
            else:
                ranges[leaf.v_full_name] = [
                    self.coerce(leaf, position, value) for position, value in enumerate(run_values)
                ]
        lengths = {name: len(v) for name, v in ranges.items()}
        if len(set(lengths.values())) > 1:
            raise TrajectoryError(f"explored ranges need equal lengths, got {lengths}")
        if lengths and not next(iter(lengths.values())):
            raise TrajectoryError(f"explored ranges are empty: {list(lengths)}")
        if expand and set(ranges) != set(self._explored):
            raise TrajectoryError(
                f"f_expand must extend the explored parameters {list(self._explored)}, "
                f"got {list(ranges)}"
            )
        runs = (len(self) if expand else 0) + (next(iter(lengths.values())) if lengths else 0)
        if runs > MAX_RUNS:
            raise TrajectoryError(
                f"{runs:,} runs; an exploration has at most {MAX_RUNS:,} (pypet's run_%08d names)"
            )
        for full_name, run_values in ranges.items():
            leaf = self.f_get(full_name)
            if expand:
                self._explored[full_name].extend(run_values)
            else:
                self._explored[full_name] = run_values
            leaf.explored = self._explored[full_name]

    @staticmethod
    def coerce(leaf: Leaf, position: int, value: Any) -> Any:
        """`value` as the parameter's type (int to float, list to tuple or array), or an error."""
        default = leaf.values["data"]
        if leaf.v_class_name == "PickleParameter":
            return value
        value = value_types.as_type_of(default, value)
        if not value_types.same_kind(default, value):
            raise TrajectoryError(
                f"{leaf.v_full_name}: explored value {value!r} (position {position}) is a "
                f"{type(value).__name__}, but the parameter holds a {type(default).__name__}"
            )
        return value

    def _explored_leaves(self) -> list[Leaf]:
        return [self.f_get(name) for name in self._explored]

    @property
    def explored_ranges(self) -> dict[str, list[Any]]:
        return self._explored

    def __len__(self) -> int:
        return len(next(iter(self._explored.values()))) if self._explored else 1
