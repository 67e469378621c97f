"""pypet 0.7's analysis API on loaded nodes, beyond natural naming: leaves' pypet calls
(`f_supports_fast_access`, `f_val`, `f_translate_key`, `in`, `v_annotations`, ...), and a
clear error for a pypet call pypet_sm does not offer (instead of "no item named ...")."""

from __future__ import annotations

from typing import Any

from pypet_sm.analysis.pypet_names import PYPET_NAMES
from pypet_sm.define.naming import Leaf, NamingError
from pypet_sm.errors import NotOfferedError

# what to use instead, for the calls analysis scripts use most
INSTEAD = {
    "f_store": "the merge writes the file; a loaded trajectory is read-only",
    "f_store_item": "the merge writes the file; a loaded trajectory is read-only",
    "f_store_items": "the merge writes the file; a loaded trajectory is read-only",
    "f_add_result": "results are added by the job function (traj in a run)",
    "f_add_parameter": "parameters are defined in config.yaml or the build hook",
    "f_explore": "the exploration is defined in config.yaml or the build hook",
    "f_merge": "run both explorations as one project, or load each file",
    "f_get_results": "f_iter_leaves() below traj.results, or f_get_from_runs(name)",
    "f_get_derived_parameters": "f_iter_leaves() below traj.derived_parameters",
}


class SeveralValuesError(NamingError, ValueError):
    """`f_get()` of a result holding several values (pypet raises a ValueError)."""


class Annotations:
    """pypet's `v_annotations`: the file's annotations of a node are not read, so it is
    empty, as it is for nodes pypet loads without annotations."""

    def __init__(self) -> None:
        self._dict: dict[str, Any] = {}

    def f_to_dict(self, copy: bool = True) -> dict[str, Any]:
        return dict(self._dict) if copy else self._dict

    def f_is_empty(self) -> bool:
        return not self._dict

    def f_get(self, *names: str) -> Any:
        try:
            found = [self._dict[name] for name in names]
        except KeyError as error:
            raise AttributeError(f"no annotation {error.args[0]!r}") from None
        return found[0] if len(found) == 1 else found

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._dict[name]
        except KeyError:
            raise AttributeError(f"no annotation {name!r}") from None


def not_offered(owner: str, name: str) -> NotOfferedError:
    """The error for pypet's `name`, missing on `owner` here."""
    hint = INSTEAD.get(name, "see README 'Loading a trajectory' for the calls offered")
    return NotOfferedError(f"{owner}.{name} is pypet API that pypet_sm does not offer: {hint}")


def missing(kind: str, name: str) -> bool:
    """Whether `name` is pypet's call on a node of `kind` (trajectory, group, leaf) that
    pypet_sm lacks (it was looked up and not found)."""
    return name in PYPET_NAMES[kind]


class PypetLeaf:
    """Mixed into every loaded leaf's class (`pypet_leaf`): pypet 0.7's leaf calls."""

    __slots__ = ()

    if False:  # what Leaf provides (for type checkers)
        values: dict[str, Any]
        main_key: str | None
        explored: list[Any] | None
        v_full_name: str
        v_class_name: str | None

    v_is_leaf = True
    v_is_group = False
    v_is_root = False

    @property
    def v_location(self) -> str:
        return self.v_full_name.rpartition(".")[0]

    @property
    def v_depth(self) -> int:
        return self.v_full_name.count(".") + 1

    @property
    def v_annotations(self) -> Annotations:
        return Annotations()

    @property
    def v_is_parameter(self) -> bool:
        return self.v_full_name.partition(".")[0] != "results"

    def f_get_class_name(self) -> str:
        return self.v_class_name or ("Parameter" if self.v_is_parameter else "Result")

    def f_supports_fast_access(self) -> bool:
        return self.main_key is not None

    def f_is_empty(self) -> bool:
        return not self.values

    def f_has_range(self) -> bool:
        return self.explored is not None

    def f_translate_key(self, key: Any) -> str:
        """pypet's: position 0 is the result's name, n its name + '_n'."""
        if isinstance(key, int):
            name = self.v_full_name.rpartition(".")[2]
            return name if key == 0 else f"{name}_{key}"
        return key

    def f_to_dict(self, copy: bool = True) -> dict[str, Any]:
        return dict(self.values)

    def __contains__(self, item: Any) -> bool:
        return self.f_translate_key(item) in self.values

    def f_get(self, *names: Any) -> Any:
        """pypet's: the value named (several names: a list); no name: the only value, or
        the one named like the leaf (a ValueError when it holds several)."""
        if not names and self.main_key is None and len(self.values) > 1:
            raise SeveralValuesError(
                f"{self.v_full_name} holds several values ({', '.join(self.values)}); "
                "name the one you want: f_get('name')"
            )
        if len(names) <= 1:
            key = self.f_translate_key(names[0]) if names else None
            return Leaf.f_get(self, key)  # type: ignore[arg-type]
        return [
            Leaf.f_get(self, self.f_translate_key(name))  # type: ignore[arg-type]
            for name in names
        ]

    def __getattr__(self, name: str) -> Any:
        try:
            return Leaf.__getattr__(self, name)  # type: ignore[arg-type]
        except NamingError:
            if missing("leaf", name):
                raise not_offered(self.f_get_class_name(), name) from None
            raise


_LEAF_CLASSES: dict[type, type] = {}


def base_class(leaf: Leaf) -> type:
    """The leaf's own class, without the `PypetLeaf` mixed in."""
    cls = type(leaf)
    return cls.__mro__[2] if cls in _LEAF_CLASSES.values() else cls


def pypet_leaf(leaf: Leaf, result: bool) -> Leaf:
    """`leaf` with pypet's leaf calls (pypet_sm's own classes get `PypetLeaf` mixed in) and
    pypet's fast-access rule: a parameter gives its value;
    a result only when it holds one entry named like the result
    (`f_add_result("rate", 2.0)`), not for `f_add_result("evolution", data=arr)`."""
    cls = type(leaf)
    # a user's own class keeps its identity (`type(leaf) is SpikeTrain`, as in pypet): it
    # gets no mixin, so it has the calls of pypet_sm's Leaf only
    if not isinstance(leaf, PypetLeaf) and cls.__module__.startswith("pypet_sm."):
        mixed = _LEAF_CLASSES.get(cls)
        if mixed is None:
            mixed = type(
                cls.__name__, (PypetLeaf, cls), {"__slots__": (), "__module__": cls.__module__}
            )
            _LEAF_CLASSES[cls] = mixed
        leaf.__class__ = mixed
    if leaf.v_comment is None:  # pypet keeps a repeated comment once and gives "" elsewhere
        leaf.v_comment = ""
    if result:
        name = leaf.v_full_name.rpartition(".")[2]
        pickled = isinstance(getattr(type(leaf), "stored", None), property)  # PickledLeaf
        values = leaf.stored if pickled else leaf.values
        leaf.main_key = name if list(values) == [name] else None
    return leaf
