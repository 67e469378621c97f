"""What a run reads of its parameters: the values of its own point, never another run's.

One single-run view serves all runs of a job, so a value a run changed in place would be seen
by the runs after it (results would depend on `runs_per_job` and on where a resume starts).
pypet refuses assignments to parameters in a run (`ParameterLockedException`), but hands out
its arrays and lists as they are. Here:

* assignments are refused as in pypet (`traj.x = 1`, `traj.par.model.label = "x"`,
  `traj['x'] = 1`, `del traj.x`, `leaf.f_set(...)`, `leaf.v_comment = ...`,
  `leaf.values['data'] = ...`), with pypet's message;
* numpy arrays are handed out as read-only views (no copy: `w += 1` raises numpy's
  "output array is read-only", which the run's failure message explains);
* other mutable values (lists, dicts, sets, pickled objects) are copied when a run first
  reads them, once per run (later reads in the same run give the same object); immutable
  values (numbers, strings, bytes, tuples of those) are handed out as they are.

Nothing is copied for parameters a run does not read.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any, NoReturn, Protocol

import numpy as np

from pypet_sm.define.naming import Group, Leaf, NamingError
from pypet_sm.errors import ParameterLockedException, TrajectoryError

IMMUTABLE = frozenset({bool, int, float, complex, str, bytes, type(None), range, slice})


def protect(value: Any) -> Any:
    """`value` as a run may see it: itself if immutable, a read-only view of an array, or a
    deep copy of anything that could be changed in place."""
    kind = type(value)
    if kind in IMMUTABLE:
        return value
    if isinstance(value, np.generic) and not isinstance(value, np.void):
        return value  # numpy scalars are immutable (a void scalar may view a record)
    if isinstance(value, np.ndarray) and not value.dtype.hasobject:
        if value.flags.writeable:
            # the array itself too, so that the view's flag cannot be switched back on
            value.flags.writeable = False
        view = value.view()
        view.flags.writeable = False
        return view
    if kind in (tuple, frozenset) and all(type(element) in IMMUTABLE for element in value):
        return value
    # containers of plain values (what config.yaml gives) are copied without deepcopy's
    # bookkeeping, which costs ~10 µs even for a short list
    if kind is list and all(type(element) in IMMUTABLE for element in value):
        return value.copy()
    if kind is dict and all(type(element) in IMMUTABLE for element in value.values()):
        return value.copy()
    return copy.deepcopy(value)


def locked(full_name: str) -> ParameterLockedException:
    """pypet's error for a change of a parameter in a run."""
    return ParameterLockedException(
        f"Parameter `{full_name}` is locked! A run cannot change its parameters (every run "
        "sees the values of its own point); store a new value with "
        "traj.f_add_derived_parameter or traj.f_add_result"
    )


class RunValues(Mapping[str, Any]):
    """A parameter's values as a run reads them (see the module docstring).

    `handed` is the single run's dict of what this run was handed so far, emptied when the
    next run starts, so a mutable value is copied at most once per run.
    """

    __slots__ = ("_raw", "_name", "_handed")

    def __init__(self, raw: dict[str, Any], name: str, handed: dict[tuple[str, str], Any]):
        self._raw = raw
        self._name = name
        self._handed = handed

    def __getitem__(self, key: str) -> Any:
        value = self._raw[key]
        if type(value) in IMMUTABLE:
            return value
        handed = self._handed
        try:
            return handed[self._name, key]
        except KeyError:
            handed[self._name, key] = protected = protect(value)
            return protected

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def __setitem__(self, key: str, value: Any) -> NoReturn:
        raise locked(self._name)

    def __delitem__(self, key: str) -> NoReturn:
        raise locked(self._name)

    def show(self, key: str, value: Any) -> None:
        """Set the value of the next run (the job driver's, not the job function's)."""
        self._raw[key] = value

    def arrays_handed_out(self) -> bool:
        return any(isinstance(self._handed.get((self._name, key)), np.ndarray) for key in self._raw)


class RunParameter(Leaf):
    """A parameter (or config item) of a single run: read-only, as pypet locks them."""

    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise locked(self.v_full_name)

    def __delattr__(self, name: str) -> NoReturn:
        raise locked(self.v_full_name)

    def f_set(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise locked(self.v_full_name)

    def f_empty(self) -> NoReturn:
        raise locked(self.v_full_name)

    @property
    def v_locked(self) -> bool:
        return True

    def f_get_range(self, copy: bool = True) -> list:
        """The explored range, as copies a run cannot change the other runs' values through."""
        return [protect(value) for value in Leaf.f_get_range(self)]


_LOCKED: dict[type, type] = {}


def locked_class(cls: type[Leaf]) -> type[Leaf]:
    """The user's parameter class, locked like RunParameter (same name and module, so its
    instances still are instances of the user's class)."""
    if cls in _LOCKED:
        return _LOCKED[cls]
    namespace = {
        name: RunParameter.__dict__[name]
        for name in ("__setattr__", "__delattr__", "f_set", "f_empty", "v_locked", "f_get_range")
    }
    namespace.update(__slots__=(), __module__=cls.__module__, __qualname__=cls.__qualname__)
    _LOCKED[cls] = locked = type(cls.__name__, (cls,), namespace)
    return locked


def show_custom(leaf: Leaf, value: Any, handed: dict[tuple[str, str], Any]) -> None:
    """Give a parameter of the user's (locked) class the value of the next run: through
    its own `_load`, unlocked meanwhile, then read through RunValues again."""
    locked_type = type(leaf)
    object.__setattr__(leaf, "__class__", locked_type.__mro__[1])
    try:
        leaf._load({"data": value})
        leaf.values = RunValues(dict(leaf.values), leaf.v_full_name, handed)  # type: ignore[assignment]
    finally:
        object.__setattr__(leaf, "__class__", locked_type)


def run_parameter(
    full_name: str, value: Any, comment: str | None, class_name: str | None, explored: list | None,
    handed: dict[tuple[str, str], Any],
) -> RunParameter:  # fmt: skip
    leaf = Leaf(full_name, {}, comment, class_name, explored)
    # RunValues reads like the dict it wraps; Leaf's annotation names the common case
    leaf.values = RunValues({"data": value}, full_name, handed)  # type: ignore[assignment]
    leaf.main_key = "data"
    leaf.__class__ = RunParameter  # a Leaf until here, so that its fields could be set
    return leaf  # type: ignore[return-value]


def refuse_assignment(group: Group, name: str) -> NoReturn:
    """`group.name = value` (or `group[name] = ...`, `del group.name`) in a run."""
    try:
        node = group.f_get(name)
    except (NamingError, TypeError):
        node = None
    if isinstance(node, Leaf) and node.v_full_name.startswith(("parameters.", "config.")):
        raise locked(node.v_full_name)
    where = f"traj.{group.v_full_name}.{name}" if group.v_full_name else f"traj.{name}"
    if name.startswith(("v_", "f_")):
        raise TrajectoryError(f"cannot set {where} in a run: it is pypet's and read-only")
    raise TrajectoryError(
        f"cannot set {where} in a run; use traj.f_add_result({name!r}, value) "
        f"or traj.f_add_derived_parameter({name!r}, value)"
    )


class AssignmentRefused:
    """Groups of a run (and the run itself): every assignment and deletion is refused, as
    pypet refuses changing a parameter in a run."""

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        refuse_assignment(self, name)  # type: ignore[arg-type]

    def __delattr__(self, name: str) -> NoReturn:
        refuse_assignment(self, name)  # type: ignore[arg-type]

    def __setitem__(self, name: str, value: Any) -> NoReturn:
        refuse_assignment(self, name)  # type: ignore[arg-type]

    def __delitem__(self, name: str) -> NoReturn:
        refuse_assignment(self, name)  # type: ignore[arg-type]


class IndexReader(Protocol):
    def _index_read(self, what: str) -> None: ...

    def _add_item(
        self, branch: str, args: tuple, comment: str, kwargs: dict, start: str = ""
    ) -> Leaf: ...

    def _add_group(self, start: str, name: str, comment: str) -> Group: ...


# groups whose children are named by the run (`results.runs.run_00000003`)
RUNS_GROUPS = ("results.runs", "derived_parameters.runs")


class RunGroup(AssignmentRefused, Group):
    """A group of a single run's tree: assignments are refused, as in pypet; listing the
    children of `results.runs` tells the run its name, so it counts as reading the index."""

    def __init__(self, full_name: str, run: IndexReader | None = None) -> None:
        super().__init__(full_name)
        object.__setattr__(self, "_run", run)

    def _new_group(self, full_name: str) -> Group:
        return RunGroup(full_name, self._run)

    # pypet's group-level adds: names are below this group (see execute.wildcards)
    def f_add_result(self, *args: Any, comment: str = "", **kwargs: Any) -> Leaf:
        return self._runner()._add_item("results", args, comment, kwargs, self.v_full_name)

    def f_add_derived_parameter(self, *args: Any, comment: str = "", **kwargs: Any) -> Leaf:
        run = self._runner()
        return run._add_item("derived_parameters", args, comment, kwargs, self.v_full_name)

    def f_add_group(self, name: str, comment: str = "") -> Group:
        return self._runner()._add_group(self.v_full_name, name, comment)

    def _runner(self) -> IndexReader:
        if self._run is None:
            raise TrajectoryError(f"traj.{self.v_full_name}: items are added inside a run")
        return self._run

    def _listed(self) -> None:
        if self._run is not None and self.v_full_name in RUNS_GROUPS:
            self._run._index_read(f"traj.{self.v_full_name}")

    def f_get_children(self) -> dict[str, Group | Leaf]:
        self._listed()
        return super().f_get_children()

    def __iter__(self) -> Iterator[str]:
        self._listed()
        return super().__iter__()

    def __dir__(self) -> list[str]:
        self._listed()
        return super().__dir__()

    def __repr__(self) -> str:
        self._listed()
        return super().__repr__()


_FULL_NAME = Leaf.__dict__["v_full_name"]  # the slot, under the property below


class RunItem(Leaf):
    """A result or derived parameter added in a run: its full name holds the run's name
    (`results.runs.run_00000003.z`), so reading it counts as reading the index."""

    __slots__ = ("_run",)

    def __init__(self, run: IndexReader, *args: Any) -> None:
        self._run = run
        super().__init__(*args)

    @property
    def v_full_name(self) -> str:
        self._run._index_read("the full name of an item added in the run")
        return _FULL_NAME.__get__(self)

    @v_full_name.setter
    def v_full_name(self, value: str) -> None:
        _FULL_NAME.__set__(self, value)

    @property
    def v_name(self) -> str:
        return _FULL_NAME.__get__(self).rpartition(".")[2]
