"""Parameter and result classes: pypet's built-in ones and the user's own subclasses.

`traj.f_add_result(pypet_sm.PickleResult, "x", obj)` chooses one of pypet's classes by passing
it first, as in pypet. Users store their own kind of data by subclassing `Parameter` or
`Result` (pypet's `dynamically_imported_classes`):

    class SpikeTrain(pypet_sm.Result):
        def _store(self):                       # values as written to the file
            return {"times": np.array([t for t, _ in self.spikes]), ...}
        def _load(self, values):                # and back
            self.values = {"spikes": list(zip(values["times"], ...))}

listed in config.yaml as `dynamically_imported_classes: [mysim.classes:SpikeTrain]`. The class
name is stored in the file (`SRVC_INIT_CLASS_NAME`), exactly like pypet's; what `_store`
returns is written the way pypet's `Parameter` or `Result` writes it, so pypet reads it with
a class of that name given in its `dynamic_imports`. Loading finds the class by name again,
so, as pypet demands, every class name must be unique.
"""

from __future__ import annotations

from typing import Any, TypeGuard

from pypet_sm.define.naming import Leaf
from pypet_sm.errors import ConfigError

BUILTIN_PARAMETERS = ("Parameter", "ArrayParameter", "PickleParameter")
BUILTIN_RESULTS = ("Result", "PickleResult")
FIELD = "dynamically_imported_classes"


class _Custom(Leaf):
    """Hooks of the user's own classes; the defaults store `values` unchanged.

    Instances made by the user with pypet's constructors (`Parameter('x', 1.0, 'comment')`,
    `Result('r', a=1)`) are handed to `f_add_parameter` / `f_add_result`; the trees make
    their own leaves with `make`, which bypasses those constructors."""

    @classmethod
    def make(
        cls,
        full_name: str,
        values: dict[str, Any],
        comment: str | None = "",
        class_name: str | None = None,
        explored: list | None = None,
    ) -> Leaf:
        leaf = cls.__new__(cls)
        Leaf.__init__(leaf, full_name, values, comment, class_name, explored)
        return leaf

    def _store(self) -> dict[str, Any]:
        """The values written to the file (pypet's `_store`); plain data only."""
        return dict(self.values)

    def _load(self, values: dict[str, Any]) -> None:
        """Restore the leaf from the values read back (pypet's `_load`)."""
        self.values = dict(values)


class Parameter(_Custom):
    """pypet's Parameter: `traj.f_add_parameter(Parameter, 'x', 1.0)` or
    `traj.f_add_parameter(Parameter('x', 1.0, 'comment'))`; subclass it for your own
    parameter classes (stored like a Parameter: one value of a supported type)."""

    def __init__(self, full_name: str, data: Any = None, comment: str = "") -> None:
        _check_name_argument(type(self), full_name)
        super().__init__(full_name, {"data": data}, comment, type(self).__name__)


class ArrayParameter(Parameter):
    """Marker for pypet's ArrayParameter (large arrays, explored ranges stored de-duplicated)."""


class PickleParameter(Parameter):
    """Marker for pypet's PickleParameter (any picklable value)."""


class Result(_Custom):
    """pypet's Result: `traj.f_add_result(Result, 'z', 1.0)` or
    `traj.f_add_result(Result('r', a=1, comment='...'))`; subclass it for your own result
    classes (stored like a Result: scalars, arrays, lists, tuples and flat dicts of those)."""

    def __init__(self, full_name: str, *args: Any, comment: str = "", **kwargs: Any) -> None:
        _check_name_argument(type(self), full_name)
        name = full_name.rpartition(".")[2]
        # pypet names positional values after the result: r, r_1, r_2, ...
        values = {name if i == 0 else f"{name}_{i}": value for i, value in enumerate(args)}
        twice = sorted(set(values) & set(kwargs))
        if twice:
            raise TypeError(f"{type(self).__name__} {full_name!r}: value {twice[0]!r} given twice")
        values.update(kwargs)
        super().__init__(full_name, values, comment, type(self).__name__)


def _check_name_argument(cls: type, full_name: Any) -> None:
    if not isinstance(full_name, str) or not full_name:
        raise TypeError(
            f"{cls.__name__}(name, ...) needs a name first, as in pypet: "
            f"{cls.__name__}('x', 1.0, 'comment'); got {full_name!r}"
        )


def as_class_first(
    args: tuple, kwargs: dict[str, Any], comment: str, kind: type
) -> tuple[tuple, dict[str, Any], str]:
    """pypet's instance form, `f_add_x(Parameter('x', 1.0, 'c'))`, as the class-first form
    `f_add_x(Parameter, 'x', 1.0, comment='c')`; other calls unchanged."""
    if not args or not isinstance(args[0], _Custom):
        return args, kwargs, comment
    instance = args[0]
    what = f"{type(instance).__name__}({instance.v_full_name!r}, ...)"
    if not isinstance(instance, kind):
        raise TypeError(f"{what} is not a {kind.__name__}")
    if len(args) > 1 or kwargs:
        raise TypeError(f"{what} holds its values already; pass no other values with it")
    comment = instance.v_comment or comment
    if kind is Parameter:
        return (type(instance), instance.v_full_name, instance.values["data"]), {}, comment
    return (type(instance), instance.v_full_name), dict(instance.values), comment


class PickleResult(Result):
    """Marker for pypet's PickleResult (any picklable value)."""


BUILTIN = {cls.__name__: cls for cls in (Parameter, ArrayParameter, PickleParameter, Result,
                                        PickleResult)}  # fmt: skip


def is_custom(cls: Any) -> TypeGuard[type[_Custom]]:
    """A user's subclass of Parameter or Result (not one of pypet's own classes)."""
    return (
        isinstance(cls, type)
        and issubclass(cls, (Parameter, Result))
        and BUILTIN.get(cls.__name__) is not cls
    )


def _import(spec: Any, field: str) -> Any:
    from pypet_sm.define.config import import_object

    if isinstance(spec, type):
        return spec
    if not isinstance(spec, str):
        raise ConfigError(field, f"expected 'module:Class', got {spec!r}")
    if ":" not in spec and "." in spec:  # pypet's spelling 'package.module.Class'
        module, _, name = spec.rpartition(".")
        spec = f"{module}:{name}"
    return import_object(spec, field)


def import_classes(specs: list[Any], field: str = FIELD) -> dict[str, type]:
    """Class name -> class of `module:Class` specs (or classes); names must be unique."""
    found: dict[str, type] = {}
    for position, spec in enumerate(specs):
        where = f"{field}[{position}]"
        cls = _import(spec, where)
        if not is_custom(cls):
            raise ConfigError(
                where,
                f"{spec!r} is not a subclass of pypet_sm.Parameter or pypet_sm.Result "
                "(or it is one of pypet's own classes, which need no listing)",
            )
        name = cls.__name__
        if name in BUILTIN:
            raise ConfigError(where, f"{spec!r}: the name {name!r} is one of pypet's classes")
        other = found.get(name)
        if other is not None and other is not cls:
            raise ConfigError(
                where,
                f"two classes are named {name!r}: {other.__module__}.{name} and "
                f"{cls.__module__}.{name}; classes are found by name only, so every class name "
                "must be unique",
            )
        found[name] = cls
    return found


def class_name_for(candidate: Any, kind: type, known: dict[str, type]) -> str | None:
    """The class name to store when `candidate` (the first argument of f_add_*) is a class of
    `kind` (Parameter or Result); None when it is not a class at all."""
    if not isinstance(candidate, type):
        return None
    name = candidate.__name__
    builtin = BUILTIN.get(name)
    if builtin is not None and builtin is candidate:
        if not issubclass(builtin, kind):
            raise TypeError(f"{name} is not a {kind.__name__} class")
        return name
    if not is_custom(candidate) or not issubclass(candidate, kind):
        raise TypeError(f"{candidate.__module__}.{name} is not a subclass of {kind.__name__}")
    if known.get(name) is not candidate:
        listed = ", ".join(known) or "none"
        raise TypeError(
            f"{candidate.__module__}.{name} is not listed in {FIELD} (listed: {listed}); "
            f"list it as '{candidate.__module__}:{name}' in config.yaml so that it is "
            "found again when the trajectory is loaded"
        )
    return name


def stored_values(leaf: Leaf) -> dict[str, Any]:
    """What is written for `leaf`: its `_store()` for the user's classes, else its values."""
    if type(leaf) is Leaf:
        return leaf.values
    values = leaf._store()
    if not isinstance(values, dict) or not values or not all(isinstance(k, str) for k in values):
        raise TypeError(
            f"{type(leaf).__name__}._store() of {leaf.v_full_name} must return a non-empty "
            f"dict of names to values, got {values!r}"
        )
    return values


def check_storable(class_name: str, values: dict[str, Any], parameter: bool) -> None:
    """The user's classes are written like pypet's Parameter or Result, never pickled: their
    values must fit (pypet could not load a pickle into the user's class)."""
    from pypet_sm.define import value_types

    if parameter:
        if set(values) != {"data"}:
            raise TypeError(
                f"{class_name}: a parameter class stores one value under 'data', "
                f"got {sorted(values)}"
            )
        plain = value_types.parameter_class(values["data"], None, None) == "Parameter"
    else:
        plain = value_types.result_class(values, None) == "Result"
    if not plain:
        base = "Parameter" if parameter else "Result"
        raise TypeError(
            f"{class_name} holds values pypet's {base} cannot store ({values!r}); "
            "convert them to plain data in _store()"
        )


def make_leaf(
    full_name: str,
    values: dict[str, Any],
    comment: str | None,
    class_name: str,
    explored: list[Any] | None,
    known: dict[str, type],
) -> Leaf:
    """A loaded leaf: an instance of the user's class when `class_name` is known, restored
    by its `_load`; otherwise a plain Leaf that keeps the class name."""
    cls = known.get(class_name)
    if cls is None or not is_custom(cls):  # known holds only the user's classes
        return Leaf(full_name, values, comment, class_name or None, explored)
    leaf = cls.make(full_name, {}, comment, class_name, explored)
    leaf._load(values)
    if not isinstance(leaf.values, dict):
        raise TypeError(f"{class_name}._load must set self.values to a dict")
    leaf.main_key = Leaf(full_name, leaf.values).main_key
    return leaf
