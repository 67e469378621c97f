"""The `traj` a job function gets: one point of the exploration, pypet-style."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from pypet_sm.define import classes, value_types
from pypet_sm.define.naming import Group, Leaf, NamingError, check_natural_name
from pypet_sm.define.values import check_parameter_value
from pypet_sm.define.view import TrajectoryView
from pypet_sm.errors import TrajectoryError
from pypet_sm.execute import job_function, wildcards
from pypet_sm.execute.plan import Plan, run_name
from pypet_sm.execute.run_values import (
    AssignmentRefused,
    RunGroup,
    RunItem,
    RunParameter,
    RunValues,
    locked_class,
    protect,
    run_parameter,
    show_custom,
)
from pypet_sm.hdf5 import writable
from pypet_sm.hdf5.records import Item


class SingleRun(AssignmentRefused, TrajectoryView):
    """The `traj` a job function gets: one point of the exploration, pypet-style.

    Parameters read as values (`traj.x`, `traj.par.neuron.tau`, `traj['neuron.tau']`,
    unique short names), results and derived parameters are added with pypet's calls.
    Parameters are the run's own: locked as in pypet, arrays read-only, other mutable values
    copied when first read in a run (`run_values`).
    """

    def __init__(self, plan: Plan) -> None:
        super().__init__(plan.settings.name, plan.settings.comment)
        object.__setattr__(self, "_exploration_order", list(plan.explored_names))
        object.__setattr__(self, "_explored", {})  # name without `parameters.` -> leaf
        object.__setattr__(self, "_added", {})  # full name -> (where added, comment)
        # full name -> its group below the branch, wildcards kept, for items that are not
        # in the run's own group (`neuron.$.q`: results.neuron.run_00000003.q)
        object.__setattr__(self, "_placed", {})
        # what this run was handed of its parameters (copies, read-only views): per run
        object.__setattr__(self, "_handed", {})
        object.__setattr__(self, "_calling", False)  # inside the job function
        # what told this run its index or name: v_idx, v_crun, v_crun_, the full names of
        # its items, the children of results.runs; its fragment is reusable at that index only
        object.__setattr__(self, "_index_reads", set())
        found = classes.import_classes(plan.settings.dynamically_imported_classes)
        object.__setattr__(self, "_custom_classes", found)
        self.add_group("parameters")
        self.add_group("config")
        for spec in plan.parameters:
            leaf = self._parameter_leaf(
                f"parameters.{spec.name}", spec.value, spec.comment, spec.class_name, spec.explored
            )
            self.add_leaf(leaf.v_full_name, leaf)
            if spec.explored is not None:
                self._explored[spec.name] = leaf
        for spec in plan.config_items:
            full_name = f"config.{spec.name}"
            self.add_leaf(
                full_name,
                run_parameter(full_name, spec.value, spec.comment, None, None, self._handed),
            )

    def _parameter_leaf(
        self, full_name: str, value: Any, comment: str, class_name: str, explored: list | None
    ) -> Leaf:
        if class_name in self._custom_classes:
            # a parameter of the user's class is an instance of it, restored by its _load;
            # its values are read through RunValues like any other parameter's
            leaf = classes.make_leaf(
                full_name, {"data": value}, comment, class_name, explored, self._custom_classes
            )
            leaf.values = RunValues(dict(leaf.values), full_name, self._handed)  # type: ignore[assignment]
            object.__setattr__(leaf, "__class__", locked_class(type(leaf)))
            return leaf
        return run_parameter(full_name, value, comment, class_name or None, explored, self._handed)

    def _new_group(self, full_name: str) -> Group:
        return RunGroup(full_name, self)

    def __len__(self) -> int:
        return 1

    # the run's index: recorded when the job function reads it ------------------------------
    def _set_current(self, idx: int, run_name: str | None) -> None:
        object.__setattr__(self, "_idx", idx)
        object.__setattr__(self, "_crun", run_name)

    def _index_read(self, what: str) -> None:
        """The job function read `what`, which tells the run its index or name."""
        if self._calling:
            self._index_reads.add(what)

    @property
    def v_idx(self) -> int:
        self._index_read("v_idx")
        return self._idx

    @property
    def v_crun(self) -> Any:  # the run's name; None outside a run
        self._index_read("v_crun")
        return self._crun

    @property
    def v_crun_(self) -> str:
        """pypet's `v_crun_`: the run's name, `run_ALL` outside a run."""
        self._index_read("v_crun_")
        return self._crun or "run_ALL"

    @property
    def read_index(self) -> bool:
        """Whether the job function read the run's index or name in its last call."""
        return bool(self._index_reads)

    def _explored_leaves(self) -> list[Leaf]:
        return [self._explored[name] for name in self._exploration_order]

    def start_run(self, idx: int, explored_values: dict[str, Any]) -> None:
        """Point the view at run `idx`: explored values set, previous run's items removed."""
        self._set_current(idx, run_name(idx))
        self._handed.clear()
        for name, value in explored_values.items():
            leaf = self._explored[name]
            if type(leaf) is RunParameter:
                leaf.values.show("data", value)  # type: ignore[attr-defined]
            else:  # the user's class, through its own _load
                show_custom(leaf, value, self._handed)
        for branch in ("results", "derived_parameters"):
            self._children.pop(branch, None)
        self._added.clear()
        self._placed.clear()

    def call(self, function: Callable[..., Any], args: list, kwargs: dict[str, Any]) -> Any:
        """Call the job function for the current run, as `function(traj, *args, **kwargs)`.

        The run gets its own copies of mutable arguments; what tells it its index is
        recorded (`read_index`); a returned coroutine or generator fails the run (it would
        compute nothing); numpy's read-only error says which parameters are read-only.
        Returns what the function returned (kept in the fragment for post-processing); a
        value that cannot be pickled fails the run, named.
        """
        self._index_reads.clear()
        object.__setattr__(self, "_calling", True)
        try:
            if args or kwargs:
                args = [protect(a) for a in args]
                kwargs = {k: protect(v) for k, v in kwargs.items()}
            returned = function(self, *args, **kwargs)
        except ValueError as error:
            arrays = self._arrays_handed_out()
            try:
                shown = str(error)
            except Exception:  # a message that cannot be shown: the driver reports the error
                shown = ""
            if "read-only" not in shown or not arrays:
                raise
            raise TrajectoryError(
                f"{self._crun}: {shown}: parameters are read-only in a run, and this run read "
                f"the array(s) {', '.join(arrays)}; change a copy (w = traj.par.w.copy())"
            ) from error
        finally:
            object.__setattr__(self, "_calling", False)
        if returned is not None:
            job_function.check_returned(returned, self._crun)
            job_function.check_picklable(returned, self._crun)
        return returned

    def _arrays_handed_out(self) -> list[str]:
        import numpy as np

        return sorted({name for (name, _), v in self._handed.items() if isinstance(v, np.ndarray)})

    def _add_item(
        self, branch: str, args: tuple, comment: str, kwargs: dict, start: str = ""
    ) -> Leaf:
        call = f"f_add_{branch[:-1]}"
        if self._crun is None:
            raise TrajectoryError(f"{call} is only possible inside a run")
        kind = classes.Result if branch == "results" else classes.Parameter
        if comment is None:
            comment = ""
        try:
            args, kwargs, comment = classes.as_class_first(args, kwargs, comment, kind)
        except TypeError as error:
            raise TrajectoryError(f"{self._crun}: {call}: {error}") from None
        args_list = list(args)
        cls = args_list[0] if args_list else None
        try:
            class_name = classes.class_name_for(cls, kind, self._custom_classes)
        except TypeError as error:
            raise TrajectoryError(f"{self._crun}: {call}: {error}") from None
        if class_name:
            args_list.pop(0)
        if not args_list or not isinstance(args_list[0], str):
            raise TrajectoryError(f"{self._crun}: f_add_{branch} needs a name as first argument")
        given = args_list.pop(0)
        placement = wildcards.place(branch, start, given, self._idx, call)
        name = placement.name
        full_name = placement.full_name(branch, self._idx)
        caller = sys._getframe(2)  # the user's line, through f_add_result of traj or group
        where = f"{caller.f_code.co_filename}:{caller.f_lineno}"
        if full_name in self._added:
            first = self._added[full_name]
            raise TrajectoryError(
                f"{self._crun}: {branch[:-1].replace('_', ' ')} {name!r} added twice: "
                f"first at {first}, again at {where}"
            )
        if branch == "results":
            values = {
                name.rpartition(".")[2] if i == 0 else f"{name.rpartition('.')[2]}_{i}": v
                for i, v in enumerate(args_list)
            }
            given_twice = sorted(set(values) & set(kwargs))
            if given_twice:
                raise TrajectoryError(
                    f"{self._crun}: result {name!r}: value {given_twice[0]!r} given twice "
                    "(by position and by name)"
                )
            values.update(kwargs)
            if not values:
                raise TrajectoryError(f"{self._crun}: result {name!r} has no value")
        else:
            if len(args_list) + len(kwargs) != 1:
                raise TrajectoryError(
                    f"{self._crun}: derived parameter {name!r} takes exactly one value"
                )
            value = args_list[0] if args_list else next(iter(kwargs.values()))
            if class_name != "PickleParameter" and not classes.is_custom(cls):
                try:
                    check_parameter_value(value)
                except ValueError as error:
                    raise TrajectoryError(
                        f"{self._crun}: derived parameter {name!r}: {error}; "
                        "use PickleParameter for other objects"
                    ) from None
            values = {"data": value}
        leaf: Leaf
        if classes.is_custom(cls):  # the job function gets an instance of the user's class
            leaf = cls.make(full_name, values, comment, class_name)
        else:
            # how the value will be stored, decided here once (the table's answer): the leaf's
            # v_class_name is the pypet class it gets (Result or PickleResult, Parameter,
            # ArrayParameter or PickleParameter), the fragment carries it to the merge
            leaf = RunItem(
                self, full_name, values, comment, _storage_class(branch, values, class_name)
            )
            # checked here, so the failure points at the job function's line; collected()
            # checks again what the run may have changed since
            self._check_writable(branch, Item(name, values, comment, leaf.v_class_name))
        try:
            check_natural_name(name)
            for part in (placement.where or "").split("."):
                if part and part not in (wildcards.RUN, wildcards.RUN_SET):
                    check_natural_name(part)
            self.add_leaf(full_name, leaf)
        except NamingError as error:
            raise TrajectoryError(f"{self._crun}: cannot add {given!r}: {error}") from None
        self._added[full_name] = where
        if placement.where is not None:
            self._placed[full_name] = placement.where
        return leaf

    def _check_writable(self, branch: str, item: Item) -> None:
        """A TrajectoryError naming the run and item if the trajectory file cannot hold it."""
        try:
            writable.check_item(item, parameter=branch != "results")
        except writable.Unwritable as error:
            kind = branch[:-1].replace("_", " ")
            raise TrajectoryError(f"{self._crun}: {kind} {item.name!r}: {error}") from None

    def f_add_result(self, *args: Any, comment: str = "", **kwargs: Any) -> Leaf:
        """`f_add_result(name, value)`, `f_add_result(name, a=..., b=...)`, pypet's signatures."""
        return self._add_item("results", args, comment, kwargs)

    def f_add_derived_parameter(self, *args: Any, comment: str = "", **kwargs: Any) -> Leaf:
        return self._add_item("derived_parameters", args, comment, kwargs)

    def f_add_group(self, name: str, comment: str = "") -> Group:
        """pypet's f_add_group in a run: `traj.f_add_group('results.neuron.$')`."""
        return self._add_group("", name, comment)

    def _add_group(self, start: str, name: str, comment: str) -> Group:
        if self._crun is None:
            raise TrajectoryError("f_add_group is only possible inside a run")
        path = wildcards.group_path(start, name, self._idx)
        if path.partition(".")[0] not in ("results", "derived_parameters"):
            raise TrajectoryError(
                f"{self._crun}: f_add_group({name!r}): a run adds groups below results or "
                "derived_parameters"
            )
        if comment:
            raise TrajectoryError(
                f"{self._crun}: f_add_group({name!r}): group comments are not stored by "
                "pypet_sm; put the comment on the group's results"
            )
        try:
            for part in name.split("."):
                if part not in ("$", "crun", "$set", "crunset"):
                    check_natural_name(part)
            return self.add_group(path)
        except NamingError as error:
            raise TrajectoryError(f"{self._crun}: cannot add group {name!r}: {error}") from None

    def collected(self, branch: str) -> list[Item]:
        """This run's items of `branch`, named below the run group; the user's classes give
        what their `_store()` returns (a TrajectoryError if unstorable)."""
        if branch not in self._children:
            return []
        prefix = len(f"{branch}.runs.{self._crun}.")
        found: list[Item] = []
        for leaf in self.f_get(branch).f_iter_leaves():
            values = leaf.values
            if classes.is_custom(type(leaf)):
                try:
                    values = classes.stored_values(leaf)
                    classes.check_storable(leaf.v_class_name, values, parameter=branch != "results")
                except TypeError as error:
                    raise TrajectoryError(f"{self._crun}: {error}") from None
            full_name = leaf.v_full_name
            placed = self._placed.get(full_name)
            name = full_name.rpartition(".")[2] if placed else full_name[prefix:]
            comment = "" if leaf.v_comment is None else leaf.v_comment
            item = Item(name, values, comment, leaf.v_class_name, where=placed)
            self._check_writable(branch, item)
            found.append(item)
        return found


def _storage_class(branch: str, values: dict[str, Any], requested: str | None) -> str:
    """The pypet class a run's result or derived parameter is stored as (see value_types)."""
    if branch == "results":
        return value_types.result_class(values, requested)
    return value_types.parameter_class(values["data"], None, requested)
