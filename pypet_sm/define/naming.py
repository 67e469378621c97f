"""Natural naming: `traj.parameters.neuron.tau`, `traj.neuron.tau`, `traj['neuron.tau']`.

A tree of `Group`s with `Leaf`s at the ends, shared by the single-run view a job function gets
and by loaded trajectory files. Attribute access returns a leaf's value directly when the leaf
holds one value (pypet's fast access); otherwise the `Leaf` itself.
"""

from __future__ import annotations

import keyword
import re
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

SHORTCUTS = {"par": "parameters", "dpar": "derived_parameters", "res": "results", "conf": "config"}
RESERVED = {*SHORTCUTS, "crun", "overview"}
NAME_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
MAX_NAME_LENGTH = 128  # pypet's overview tables hold names of up to 128 characters


class NamingError(AttributeError):
    """A name that is missing or ambiguous in a trajectory tree."""


# pypet calls and properties pypet_sm does not offer, with what to do instead; asking for
# one says so at the user's line rather than "no item named 'f_...'" or a TypeError later
NOT_OFFERED = {
    "f_add_link": "links are not stored by pypet_sm; refer to the node by its own name",
    "f_add_leaf": "add parameters with f_add_parameter, results with f_add_result",
    "v_annotations": "annotations are not stored by pypet_sm; put the text in the comment",
    "f_set_annotations": "annotations are not stored by pypet_sm; put the text in the comment",
    "f_get_annotations": "annotations are not stored by pypet_sm; put the text in the comment",
    "f_store": "the merge stores every run's items; there is nothing to call",
    "f_store_item": "the merge stores every run's items; there is nothing to call",
    "f_store_items": "the merge stores every run's items; there is nothing to call",
    "f_load": "load the merged file with pypet_sm.load_trajectory(path)",
    "f_load_item": "load the merged file with pypet_sm.load_trajectory(path)",
    "f_remove_child": "items are never removed from a trajectory in pypet_sm",
    "f_remove_item": "items are never removed from a trajectory in pypet_sm",
    "f_shrink": "edit the exploration in config.yaml or the build hook instead",
}


def not_offered(name: str) -> str:
    """The one-line message for pypet's call or property `name` that is not offered."""
    instead = NOT_OFFERED.get(name, "see README 'The job function' for the calls offered")
    return f"pypet's {name} is not offered by pypet_sm: {instead}"


def check_name(dotted: str) -> None:
    """Reject names pypet cannot store or natural naming cannot reach, saying why."""
    for part in dotted.split("."):
        if not NAME_PART.match(part):
            raise NamingError(
                f"{dotted!r}: each part needs letters, digits, '_' or '-' and must not start "
                f"with '_' or '-' (got {part!r})"
            )
        if part in RESERVED:
            raise NamingError(f"{dotted!r}: {part!r} is reserved by pypet's natural naming")
    if len(dotted.rpartition(".")[2]) >= MAX_NAME_LENGTH:
        raise NamingError(f"{dotted!r}: names must be shorter than {MAX_NAME_LENGTH} characters")


def check_natural_name(dotted: str) -> None:
    """Reject names a user adds that natural naming could not reach as `traj.a.b`.

    Each part must be a Python identifier (not `1x`, not a keyword) and must not be or shadow
    one of pypet's methods and properties (`f_...`, `v_...`) or of this tree's own methods.
    """
    for part in dotted.split("."):
        if not part.isidentifier() or keyword.iskeyword(part):
            raise NamingError(
                f"{part!r} cannot be reached as traj.{part}; each part of a name needs "
                "letters, digits and '_' and must start with a letter"
            )
        if part.startswith(("f_", "v_")) or part in _METHOD_NAMES:
            raise NamingError(
                f"{part!r} would hide pypet's method or property of that name (names starting "
                "with f_ or v_ are pypet's)"
            )


class Leaf:
    """A parameter, derived parameter or result: a comment and one or more named values.

    `v_class_name` is pypet's class (Parameter, ArrayParameter, Result, ...) when the user or
    the file named one; None lets the writer choose from the values.
    `main_key` names the value fast access returns (``"data"`` for parameters, the leaf's own
    name for a single-value result); None when the leaf holds several values.
    """

    __slots__ = ("v_full_name", "v_comment", "v_class_name", "values", "main_key", "explored")

    def __init__(
        self,
        full_name: str,
        values: dict[str, Any],
        comment: str | None = "",
        class_name: str | None = None,
        explored: list | None = None,
    ) -> None:
        self.v_full_name = full_name
        self.v_comment = comment
        self.v_class_name = class_name
        self.values = values
        self.explored = explored
        name = full_name.rpartition(".")[2]
        if "data" in values and len(values) == 1:
            self.main_key: str | None = "data"
        elif name in values and len(values) == 1:
            self.main_key = name
        else:
            self.main_key = None

    @property
    def v_name(self) -> str:
        return self.v_full_name.rpartition(".")[2]

    @property
    def v_explored(self) -> bool:
        return self.explored is not None

    def f_get(self, key: str | None = None) -> Any:
        """The value named `key`, or the single value when `key` is None."""
        if key is None:
            if self.main_key is None:
                if len(self.values) == 1:
                    return next(iter(self.values.values()))
                raise NamingError(
                    f"{self.v_full_name} holds several values ({', '.join(self.values)}); "
                    "name the one you want"
                )
            key = self.main_key
        try:
            return self.values[key]
        except KeyError:
            raise NamingError(f"{self.v_full_name} has no value named {key!r}") from None

    def f_get_range(self) -> list:
        """The explored range (one value per run) of an explored parameter."""
        if self.explored is None:
            raise NamingError(f"{self.v_full_name} is not explored")
        return self.explored

    def f_to_dict(self) -> dict[str, Any]:
        return dict(self.values)

    def fast(self) -> Any:
        return self.values[self.main_key] if self.main_key is not None else self

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self.values[name]
        except KeyError:
            if name.startswith(("f_", "v_")):
                raise NamingError(not_offered(name)) from None
            raise NamingError(f"{self.v_full_name} has no value named {name!r}") from None

    def __repr__(self) -> str:
        shown = self.values[self.main_key] if self.main_key else self.values
        return f"<{self.v_class_name or 'Leaf'} {self.v_full_name}: {shown!r}>"


class Group:
    """A group of the tree; children are loaded on first use when `loader` is given."""

    def __init__(
        self,
        full_name: str = "",
        loader: Callable[[Group], dict[str, Group | Leaf]] | None = None,
    ) -> None:
        object.__setattr__(self, "v_full_name", full_name)
        object.__setattr__(self, "v_name", full_name.rpartition(".")[2])
        object.__setattr__(self, "_loader", loader)
        object.__setattr__(self, "_children_dict", None if loader else {})

    @property
    def _children(self) -> dict[str, Group | Leaf]:
        children = self._children_dict
        if children is None:
            children = self._loader(self)
            object.__setattr__(self, "_children_dict", children)
        return children

    # building ---------------------------------------------------------------
    def _new_group(self, full_name: str) -> Group:
        """A group created below this one (the single run's groups refuse assignments)."""
        return Group(full_name)

    def child_name(self, name: str) -> str:
        return f"{self.v_full_name}.{name}" if self.v_full_name else name

    def add_group(self, path: str) -> Group:
        """The group at dotted `path` below this one, created where missing."""
        group = self
        for part in path.split(".") if path else ():
            child = group._children.get(part)
            if child is None:
                child = group._new_group(group.child_name(part))
                group._children[part] = child
            elif isinstance(child, Leaf):
                raise NamingError(
                    f"{child.v_full_name} is a leaf (parameter or result), so it cannot also be "
                    f"a group holding {self.child_name(path)!r}"
                )
            group = child
        return group

    def add_leaf(self, path: str, leaf: Leaf) -> Leaf:
        check_name(path)
        parent_path, _, name = path.rpartition(".")
        parent = self.add_group(parent_path)
        existing = parent._children.get(name)
        if isinstance(existing, Group):
            raise NamingError(
                f"{parent.child_name(name)} is a group already (holding "
                f"{', '.join(list(existing._children)[:3])}), so it cannot also be a leaf"
            )
        if existing is not None:
            raise NamingError(f"{parent.child_name(name)} exists already")
        parent._children[name] = leaf
        return leaf

    # lookup -----------------------------------------------------------------
    def f_get(self, name: str, fast_access: bool = False) -> Any:
        """The node at dotted `name`; each part may skip groups when it is unique below."""
        node: Group | Leaf = self
        for part in name.split("."):
            if not isinstance(node, Group):
                raise NamingError(f"{node.v_full_name} has no child {part!r}")
            node = node._child_or_search(part)
        return node.fast() if fast_access and isinstance(node, Leaf) else node

    def _child_or_search(self, name: str) -> Group | Leaf:
        if not self.v_full_name:
            name = SHORTCUTS.get(name, name)
        child = self._children.get(name)
        if child is not None:
            return child
        found = self._search(name)
        if not found:
            raise NamingError(f"{self.v_full_name or 'trajectory'} has no item named {name!r}")
        if len(found) > 1:
            names = ", ".join(sorted(node.v_full_name for node in found)[:5])
            raise NamingError(f"{name!r} is ambiguous: {names}; use a longer name")
        return found[0]

    def _search(self, name: str) -> list[Group | Leaf]:
        """All nodes called `name` at the shallowest depth where any exists (pypet's rule)."""
        level: deque[Group] = deque([self])
        while level:
            found = []
            next_level: deque[Group] = deque()
            for group in level:
                for child_name, child in group._children.items():
                    if child_name == name:
                        found.append(child)
                    if isinstance(child, Group) and child._searchable():
                        next_level.append(child)
            if found:
                return found
            level = next_level
        return []

    def _searchable(self) -> bool:
        """Lazy groups are not searched, so a short name never loads a whole file."""
        return self._children_dict is not None

    def f_contains(self, name: str) -> bool:
        try:
            self.f_get(name)
        except NamingError:
            return False
        return True

    __contains__ = f_contains

    def f_get_children(self) -> dict[str, Group | Leaf]:
        return dict(self._children)

    def f_iter_leaves(self) -> Iterator[Leaf]:
        for child in self._children.values():
            if isinstance(child, Leaf):
                yield child
            else:
                yield from child.f_iter_leaves()

    def f_to_dict(
        self,
        fast_access: bool = False,
        short_names: bool = False,
        nested: bool = False,
        with_links: bool = True,
    ) -> dict[str, Any]:
        """pypet's f_to_dict: the leaves below this group by full name (by name with
        `short_names`, which must then be unique; as nested dicts with `nested`)."""
        if nested and short_names:
            raise ValueError("You cannot use short_names and nested at the same time.")
        found: dict[str, Any] = {}
        for leaf in self.f_iter_leaves():
            key = leaf.v_name if short_names else leaf.v_full_name
            if key in found:
                raise ValueError(f"Your short names are not unique. Duplicate key `{key}`!")
            found[key] = leaf.fast() if fast_access else leaf
        if not nested:
            return found
        strip = len(self.v_full_name) + 1 if self.v_full_name else 0
        tree: dict[str, Any] = {}
        for key, value in found.items():
            *groups, last = key[strip:].split(".")
            level = tree
            for part in groups:
                level = level.setdefault(part, {})
            level[last] = value
        return tree

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            node = self._child_or_search(name)
        except NamingError:
            if name.startswith(("f_", "v_")):
                raise NamingError(not_offered(name)) from None
            raise
        return node.fast() if isinstance(node, Leaf) else node

    def __getitem__(self, name: str) -> Any:
        return self.f_get(name, fast_access=True)

    def __iter__(self) -> Iterator[str]:
        return iter(self._children)

    def __dir__(self) -> list[str]:
        return [*super().__dir__(), *self._children]

    def __repr__(self) -> str:
        return f"<Group {self.v_full_name or '/'}: {', '.join(list(self._children)[:10])}>"


_METHOD_NAMES = {name for name in dir(Group) if not name.startswith("_")} | {
    "f_get",
    "v_name",
}
