"""The `traj` a job function gets: one point of the exploration, pypet-style."""

from __future__ import annotations

import sys
from typing import Any

from pypet_sm.define import classes, value_types
from pypet_sm.define.naming import Leaf, NamingError, check_natural_name
from pypet_sm.define.values import check_parameter_value
from pypet_sm.define.view import TrajectoryView
from pypet_sm.errors import TrajectoryError
from pypet_sm.execute.plan import Plan, run_name
from pypet_sm.hdf5.records import Item


class SingleRun(TrajectoryView):
    """The `traj` a job function gets: one point of the exploration, pypet-style.

    Parameters read as values (`traj.x`, `traj.par.neuron.tau`, `traj['neuron.tau']`,
    unique short names), results and derived parameters are added with pypet's calls.
    """

    def __init__(self, plan: Plan) -> None:
        super().__init__(plan.settings.name, plan.settings.comment)
        object.__setattr__(self, "_exploration_order", list(plan.explored_names))
        object.__setattr__(self, "_explored", {})  # name without `parameters.` -> leaf
        object.__setattr__(self, "_added", {})  # full name -> (where added, comment)
        object.__setattr__(
            self,
            "_custom_classes",
            classes.import_classes(plan.settings.dynamically_imported_classes),
        )
        self.add_group("parameters")
        self.add_group("config")
        for spec in plan.parameters:
            # a parameter of the user's class is an instance of it, restored by its _load
            leaf = classes.make_leaf(
                f"parameters.{spec.name}",
                {"data": spec.value},
                spec.comment,
                spec.class_name,
                spec.explored,
                self._custom_classes,
            )
            self.add_leaf(leaf.v_full_name, leaf)
            if spec.explored is not None:
                self._explored[spec.name] = leaf
        for spec in plan.config_items:
            self.add_leaf(
                f"config.{spec.name}",
                Leaf(f"config.{spec.name}", {"data": spec.value}, spec.comment),
            )

    def __setattr__(self, name: str, value: Any) -> None:
        raise TrajectoryError(
            f"cannot set traj.{name} in a run; use traj.f_add_result({name!r}, value) "
            f"or traj.f_add_derived_parameter({name!r}, value)"
        )

    def __len__(self) -> int:
        return 1

    def _explored_leaves(self) -> list[Leaf]:
        return [self._explored[name] for name in self._exploration_order]

    def start_run(self, idx: int, explored_values: dict[str, Any]) -> None:
        """Point the view at run `idx`: explored values set, previous run's items removed."""
        self._set_current(idx, run_name(idx))
        for name, value in explored_values.items():
            self._show_value(self._explored[name], value)
        for branch in ("results", "derived_parameters"):
            self._children.pop(branch, None)
        self._added.clear()

    def _add_item(self, branch: str, args: tuple, comment: str, kwargs: dict) -> Leaf:
        if self.v_crun is None:
            raise TrajectoryError(f"f_add_{branch} is only possible inside a run")
        kind = classes.Result if branch == "results" else classes.Parameter
        args_list = list(args)
        cls = args_list[0] if args_list else None
        try:
            class_name = classes.class_name_for(cls, kind, self._custom_classes)
        except TypeError as error:
            raise TrajectoryError(f"{self.v_crun}: f_add_{branch[:-1]}: {error}") from None
        if class_name:
            args_list.pop(0)
        if not args_list or not isinstance(args_list[0], str):
            raise TrajectoryError(f"{self.v_crun}: f_add_{branch} needs a name as first argument")
        name = args_list.pop(0)
        for prefix in (f"{branch}.runs.{self.v_crun}.", f"{branch}.runs.$.", f"{branch}."):
            if name.startswith(prefix):
                name = name[len(prefix) :]
                break
        full_name = f"{branch}.runs.{self.v_crun}.{name}"
        caller = sys._getframe(2)
        where = f"{caller.f_code.co_filename}:{caller.f_lineno}"
        if full_name in self._added:
            first = self._added[full_name]
            raise TrajectoryError(
                f"{self.v_crun}: {branch[:-1].replace('_', ' ')} {name!r} added twice: "
                f"first at {first}, again at {where}"
            )
        if branch == "results":
            values = {
                name.rpartition(".")[2] if i == 0 else f"{name.rpartition('.')[2]}_{i}": v
                for i, v in enumerate(args_list)
            }
            values.update(kwargs)
            if not values:
                raise TrajectoryError(f"{self.v_crun}: result {name!r} has no value")
        else:
            if len(args_list) + len(kwargs) != 1:
                raise TrajectoryError(
                    f"{self.v_crun}: derived parameter {name!r} takes exactly one value"
                )
            value = args_list[0] if args_list else next(iter(kwargs.values()))
            if class_name != "PickleParameter" and not classes.is_custom(cls):
                try:
                    check_parameter_value(value)
                except ValueError as error:
                    raise TrajectoryError(
                        f"{self.v_crun}: derived parameter {name!r}: {error}; "
                        "use PickleParameter for other objects"
                    ) from None
            values = {"data": value}
        leaf: Leaf
        if classes.is_custom(cls):  # the job function gets an instance of the user's class
            leaf = cls(full_name, values, comment, class_name)
        else:
            # how the value will be stored, decided here once (the table's answer): the leaf's
            # v_class_name is the pypet class it gets (Result or PickleResult, Parameter,
            # ArrayParameter or PickleParameter), the fragment carries it to the merge
            leaf = Leaf(full_name, values, comment, _storage_class(branch, values, class_name))
        try:
            check_natural_name(name)
            self.add_leaf(full_name, leaf)
        except NamingError as error:
            raise TrajectoryError(f"{self.v_crun}: cannot add {name!r}: {error}") from None
        self._added[full_name] = where
        return leaf

    def f_add_result(self, *args: Any, comment: str = "", **kwargs: Any) -> Leaf:
        """`f_add_result(name, value)`, `f_add_result(name, a=..., b=...)`, pypet's signatures."""
        return self._add_item("results", args, comment, kwargs)

    def f_add_derived_parameter(self, *args: Any, comment: str = "", **kwargs: Any) -> Leaf:
        return self._add_item("derived_parameters", args, comment, kwargs)

    def collected(self, branch: str) -> list[Item]:
        """This run's items of `branch`, named below the run group; the user's classes give
        what their `_store()` returns (a TrajectoryError if unstorable)."""
        if branch not in self._children:
            return []
        prefix = len(f"{branch}.runs.{self.v_crun}.")
        found: list[Item] = []
        for leaf in self.f_get(branch).f_iter_leaves():
            values = leaf.values
            if type(leaf) is not Leaf:
                try:
                    values = classes.stored_values(leaf)
                    classes.check_storable(leaf.v_class_name, values, parameter=branch != "results")
                except TypeError as error:
                    raise TrajectoryError(f"{self.v_crun}: {error}") from None
            name = leaf.v_full_name[prefix:]
            found.append(Item(name, values, leaf.v_comment or "", leaf.v_class_name))
        return found


def _storage_class(branch: str, values: dict[str, Any], requested: str | None) -> str:
    """The pypet class a run's result or derived parameter is stored as (see value_types)."""
    if branch == "results":
        return value_types.result_class(values, requested)
    return value_types.parameter_class(values["data"], None, requested)
