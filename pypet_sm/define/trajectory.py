"""The trajectory being defined: parameters and their exploration, as a pypet script builds it.

A build hook gets this object and calls `f_add_parameter`, `f_explore` (and `f_expand`,
`f_add_config`) exactly as the parameter section of a pypet script does; the config.yaml
sections are applied through the same calls.
"""

from __future__ import annotations

from typing import Any, NoReturn

import numpy as np

from pypet_sm.define import classes, value_types, values
from pypet_sm.define.classes import Parameter
from pypet_sm.define.exploration import MAX_RUNS
from pypet_sm.define.naming import Group, Leaf, NamingError, check_natural_name
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


_TRAJECTORY_LEVEL = (
    "{call} in the build hook: trajectory-level results and derived parameters are not "
    "stored by pypet_sm; add a parameter (f_add_parameter) or a config item (f_add_config), "
    "or add it in the job function"
)


class BuildGroup(Group):
    """A group of the trajectory being built: pypet's group-level calls add below it, and
    assigning to it adds (`traj.par.x = Parameter('x', 1.0)`) or sets a default, never a
    plain attribute that would be lost."""

    def __init__(self, full_name: str, traj: Trajectory) -> None:
        super().__init__(full_name)
        object.__setattr__(self, "_traj", traj)

    def _new_group(self, full_name: str) -> Group:
        return BuildGroup(full_name, self._traj)

    def f_add_parameter(self, *args: Any, comment: str = "", **kwargs: Any) -> Leaf:
        """pypet's group-level f_add_parameter: the name is below this group."""
        return self._traj._add_parameter(self, args, comment, kwargs)

    def f_add_parameter_group(self, name: str, comment: str = "") -> Group:
        return self._traj._add_group(self, name, comment, "parameters")

    def f_add_config(self, name: str, value: Any, comment: str = "") -> Leaf:
        return self._traj.f_add_config(f"{self.v_full_name}.{name}", value, comment)

    def f_add_config_group(self, name: str, comment: str = "") -> Group:
        return self._traj._add_group(self, name, comment, "config")

    def f_add_group(self, name: str, comment: str = "") -> Group:
        branch = self.v_full_name.partition(".")[0]
        return self._traj._add_group(self, name, comment, branch)

    def __setattr__(self, name: str, value: Any) -> None:
        self._traj._assign(self, name, value)


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
        object.__setattr__(self, "_presets", {})  # full name -> (args, kwargs)
        self.add_group("parameters")
        self.add_group("config")

    def _new_group(self, full_name: str) -> Group:
        return BuildGroup(full_name, self)

    def __setattr__(self, name: str, value: Any) -> None:
        self._assign(self, name, value)

    def _assign(self, group: Group, name: str, value: Any) -> None:
        """`group.name = value`: a Parameter object is added there (pypet's form); a plain
        value sets the default of the existing parameter `name` (pypet's f_set)."""
        where = f"traj.{group.child_name(name)}"
        if name == "v_fast_access" and group is self:
            if value:
                return
            raise TrajectoryError(
                "traj.v_fast_access = False is not offered by pypet_sm: natural naming "
                "gives values; traj.f_get(name) gives the parameter object"
            )
        if name.startswith(("f_", "v_")):
            raise TrajectoryError(f"cannot set {where}: it is pypet's and read-only")
        if isinstance(value, classes.Parameter):
            given = value.v_full_name
            if given != name and not given.startswith(name + "."):
                raise TrajectoryError(
                    f"{where} = {type(value).__name__}({given!r}, ...): the names differ "
                    f"(pypet requires {given!r} to be or to start with {name!r})"
                )
            self._add_parameter(group, (value,), "", {})
            return
        if isinstance(value, classes.Result):
            raise TrajectoryError(
                f"{where} = {type(value).__name__}(...): results are added in the job "
                "function (traj.f_add_result), not in the build hook"
            )
        try:
            node = group.f_get(name) if group.f_contains(name) else None
        except NamingError:
            node = None
        if not isinstance(node, Leaf) or not node.v_full_name.startswith("parameters."):
            raise TrajectoryError(
                f"cannot set {where}: add a parameter with "
                f"traj.f_add_parameter({group.child_name(name)!r}, value) or "
                f"{where} = Parameter({name!r}, value, 'comment')"
            )
        if node.explored is not None:
            raise TrajectoryError(
                f"cannot set {where}: {node.v_full_name} is explored; change its range "
                "with f_explore / f_expand"
            )
        self._check_value(node.v_full_name[len("parameters.") :], value, node.v_class_name)
        node.values["data"] = value

    # parameters -------------------------------------------------------------
    def f_add_parameter(self, *args: Any, comment: str = "", **kwargs: Any) -> Leaf:
        """pypet's `(name, value, comment=...)`, `(Class, name, value, comment=...)` or
        `(Parameter(name, value, comment))`."""
        return self._add_parameter(self, args, comment, kwargs)

    def f_add_parameter_group(self, name: str, comment: str = "") -> Group:
        """pypet's f_add_parameter_group: a group below `parameters`."""
        return self._add_group(self, _strip_branch(name, "parameters"), comment, "parameters")

    def f_add_config_group(self, name: str, comment: str = "") -> Group:
        return self._add_group(self, _strip_branch(name, "config"), comment, "config")

    def _add_group(self, start: Group, name: str, comment: str, branch: str) -> Group:
        call = "f_add_parameter_group" if branch == "parameters" else f"f_add_group ({branch})"
        if branch not in ("parameters", "config"):
            raise TrajectoryError(
                f"{call} {name!r}: the build hook defines parameters and config only; "
                "results and derived parameters are added in the job function"
            )
        if comment:
            raise TrajectoryError(
                f"{call} {name!r}: group comments are not stored by pypet_sm; put the "
                "comment on the group's parameters"
            )
        path = start.child_name(name) if start is not self else f"{branch}.{name}"
        try:
            check_natural_name(name)
            return self.add_group(path)
        except NamingError as error:
            raise TrajectoryError(f"{call} {name!r}: {error}") from None

    def f_preset_parameter(self, param_name: str, *args: Any, **kwargs: Any) -> None:
        """pypet's f_preset_parameter: the value the parameter gets when it is added later."""
        full_name = f"parameters.{_strip_branch(param_name, 'parameters')}"
        if self.f_contains(full_name):
            raise TrajectoryError(
                f"f_preset_parameter({param_name!r}): {full_name} exists already; set it "
                f"with traj.{full_name} = value"
            )
        if len(args) + len(kwargs) != 1 or set(kwargs) - {"data"}:
            raise TrajectoryError(
                f"f_preset_parameter({param_name!r}, ...) takes one value (or data=value)"
            )
        self._presets[full_name] = args[0] if args else kwargs["data"]

    def f_add_result(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TrajectoryError(_TRAJECTORY_LEVEL.format(call="f_add_result"))

    def f_add_derived_parameter(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TrajectoryError(_TRAJECTORY_LEVEL.format(call="f_add_derived_parameter"))

    def check_presets(self) -> None:
        """pypet's check before the runs: every preset parameter was added."""
        if self._presets:
            raise TrajectoryError(
                f"f_preset_parameter: {', '.join(self._presets)} preset but never added "
                "(with f_add_parameter)"
            )

    def _check_value(self, name: str, value: Any, class_name: str | None) -> None:
        if class_name != "PickleParameter":
            try:
                values.check_parameter_value(value)
            except ValueError as error:
                raise TrajectoryError(
                    f"parameter {name!r}: {error}; use PickleParameter for other objects"
                ) from None

    def _add_parameter(self, start: Group, args: Any, comment: str, kwargs: Any) -> Leaf:
        try:
            args, kwargs, comment = classes.as_class_first(args, kwargs, comment, Parameter)
        except TypeError as error:
            raise TrajectoryError(f"f_add_parameter: {error}") from None
        args_list = list(args)
        cls = args_list[0] if args_list else None
        class_name = _class_name(cls, self._custom_classes) if args_list else None
        if class_name is not None:
            args_list.pop(0)
        if not args_list or not isinstance(args_list[0], str):
            raise TrajectoryError("f_add_parameter needs a name: f_add_parameter('x', 1.0)")
        name = args_list.pop(0)
        if start is self:
            name = _strip_branch(name, "parameters")
        elif start.v_full_name.startswith("parameters"):
            name = start.child_name(name)[len("parameters.") :]
        else:
            raise TrajectoryError(
                f"f_add_parameter {name!r}: traj.{start.v_full_name} is not a parameter group"
            )
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
        value = self._presets.pop(f"parameters.{name}", value)
        if classes.is_custom(cls):  # the user's class: what its _store() gives is stored
            custom = cls.make(f"parameters.{name}", {"data": value}, comment, class_name)
            try:
                stored = classes.stored_values(custom)
                classes.check_storable(class_name or cls.__name__, stored, parameter=True)
            except TypeError as error:
                raise TrajectoryError(f"parameter {name!r}: {error}") from None
            value = stored["data"]
        self._check_value(name, value, class_name)
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
            kinds = set(map(type, run_values))
            if kinds == {type(default)} and not value_types.needs_conversion(default):
                ranges[leaf.v_full_name] = list(run_values)  # all of the default's type already
            elif type(default) is float and kinds <= {int, float}:
                # pypet's int to float, as `coerce` does it, without a call per value
                ranges[leaf.v_full_name] = [float(value) for value in run_values]
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
