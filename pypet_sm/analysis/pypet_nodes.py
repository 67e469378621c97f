"""Groups of a loaded trajectory with pypet 0.7's group API and its name resolution.

pypet's rules (naturalnaming.py `_get`, `_search`): a dotted name is first tried as an exact
path below the node; otherwise each part is searched below the node reached so far, level by
level, and the shallowest match wins; two matches at that depth are a NotUniqueNodeError.
Shortcuts are translated first: par/dpar/res/conf, run_N and r_N (run_%08d), rts_N and
runtoset_N (run set of run N), crun/$ (the current run, run_ALL outside one) and
crunset/$set.

The search never opens run groups it was not asked for: the groups outside runs are in memory,
run groups are listed by name, and what lies inside runs is known from the file's summary
tables (every item name once, pypet's `results_summary`); a name inside runs is then looked
up run by run in the file until a second run has it (that is NotUniqueNodeError already), so
the answer depends only on the file, never on what was read before.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from pypet_sm.analysis.pypet_api import Annotations, PypetLeaf, missing, not_offered
from pypet_sm.define.naming import SHORTCUTS, Group, Leaf, NamingError
from pypet_sm.errors import DataNotInStorageError, NotUniqueNodeError
from pypet_sm.hdf5 import layout

if TYPE_CHECKING:
    from pypet_sm.analysis.load import LoadedTrajectory

Node = Group | Leaf
RUN_ALL = "run_ALL"
RUN_SET_ALL = "run_set_ALL"


def translate(traj: LoadedTrajectory, part: str) -> str:
    """pypet's `_translate_shortcut` and wildcards for one part of a name."""
    part = SHORTCUTS.get(part, part)
    head, _, index = part.partition("_")
    if head in ("run", "r") and "_" not in index and index:
        if index.isdigit():
            return layout.run_name(int(index))
        if index == "A":
            return RUN_ALL
    if head in ("rts", "runtoset") and "_" not in index and index:
        if index.isdigit():
            return layout.run_set_name(int(index))
        if index == "A":
            return RUN_SET_ALL
    if part in ("crun", "$"):
        return traj.v_crun if traj.v_crun is not None else RUN_ALL
    if part in ("crunset", "$set"):
        return layout.run_set_name(traj.v_idx) if traj.v_idx >= 0 else RUN_SET_ALL
    return part


class PypetGroupAPI:
    """pypet's NNGroupNode calls, mixed into the loaded trajectory and its groups."""

    if TYPE_CHECKING:
        v_full_name: str
        v_name: str
        _children: dict[str, Node]

        def _pypet_root(self) -> LoadedTrajectory: ...

    v_is_leaf = False
    v_is_group = True

    @property
    def v_is_root(self) -> bool:
        return not self.v_full_name

    @property
    def v_location(self) -> str:
        return self.v_full_name.rpartition(".")[0]

    @property
    def v_depth(self) -> int:
        return self.v_full_name.count(".") + 1 if self.v_full_name else 0

    @property
    def v_annotations(self) -> Annotations:
        return Annotations()

    def f_get_class_name(self) -> str:
        return type(self).__name__

    # lookup --------------------------------------------------------------------------------
    def f_get(
        self,
        name: str,
        fast_access: bool = False,
        with_links: bool = True,
        shortcuts: bool = True,
        max_depth: int | None = None,
        auto_load: bool = False,
    ) -> Any:
        """pypet's f_get: the node at `name` (see the module docstring); its value with
        `fast_access` when it supports fast access."""
        node = resolve(self, name, shortcuts, max_depth)  # type: ignore[arg-type]
        if fast_access and isinstance(node, Leaf) and node.main_key is not None:
            return node.values[node.main_key]
        return node

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        root = self._pypet_root()
        try:
            node = resolve(self, name, True, None)  # type: ignore[arg-type]
        except NotUniqueNodeError:
            raise
        except NamingError as error:
            if missing("trajectory" if not self.v_full_name else "group", name):
                raise not_offered(_owner(self), name) from None
            if root.v_auto_load:  # pypet tried to load it from the file
                raise DataNotInStorageError(str(error)) from None
            raise
        if isinstance(node, Leaf) and root.v_fast_access and node.main_key is not None:
            return node.values[node.main_key]
        return node

    def __getitem__(self, name: str) -> Any:
        return self.__getattr__(name) if "." not in name else self.f_get(name, True)

    def f_contains(
        self,
        item: Any,
        with_links: bool = True,
        shortcuts: bool = False,
        max_depth: int | None = None,
    ) -> bool:
        """pypet's f_contains: without `shortcuts`, `item` must be a path below this group."""
        if hasattr(item, "v_full_name"):
            item = item.v_full_name
            prefix = f"{self.v_full_name}." if self.v_full_name else ""
            if not item.startswith(prefix):
                return False
            item = item[len(prefix) :]
        try:
            resolve(self, item, shortcuts, max_depth)  # type: ignore[arg-type]
        except (NamingError, NotUniqueNodeError, ValueError):
            return False
        return True

    def __contains__(self, item: Any) -> bool:
        return self.f_contains(item, shortcuts=True)

    # children ------------------------------------------------------------------------------
    def f_get_children(self, copy: bool = True) -> dict[str, Node]:
        return dict(self._children)

    def f_children(self) -> int:
        return len(self._children)

    def f_has_children(self) -> bool:
        return bool(self._children)

    def f_get_groups(self, copy: bool = True) -> dict[str, Group]:
        return {k: v for k, v in self._children.items() if isinstance(v, Group)}

    def f_get_leaves(self, copy: bool = True) -> dict[str, Leaf]:
        return {k: v for k, v in self._children.items() if isinstance(v, Leaf)}

    def f_iter_nodes(
        self,
        recursive: bool = True,
        with_links: bool = True,
        max_depth: int | None = None,
        predicate: Callable[[Node], bool] | None = None,
    ) -> Iterator[Node]:
        """Nodes below this group, breadth first (pypet's order)."""
        depth_limit = math.inf if max_depth is None else max_depth
        level: list[Group] = [self]  # type: ignore[list-item]
        depth = 0
        while level and depth < depth_limit:
            depth += 1
            following: list[Group] = []
            for group in level:
                for child in group._children.values():
                    if predicate is None or predicate(child):
                        yield child
                    if isinstance(child, Group) and recursive:
                        following.append(child)
            level = following

    def f_iter_leaves(self, with_links: bool = True) -> Iterator[Leaf]:
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
        """Full (or short) name -> leaf (or its value) of every leaf below, as pypet's."""
        found: dict[str, Any] = {}
        for leaf in self.f_iter_leaves():
            key = leaf.v_full_name.rpartition(".")[2] if short_names else leaf.v_full_name
            if short_names and key in found:
                raise ValueError(f"{key!r} is the short name of several leaves below")
            value = leaf.values[leaf.main_key] if fast_access and leaf.main_key else leaf
            found[key] = value
        return found

    # loading: the loader reads lazily, so these give what is asked for -------------------
    def f_load_child(
        self,
        name: str,
        recursive: bool = False,
        load_data: int = 2,
        max_depth: int | None = None,
    ) -> Any:
        return self.f_get(name, shortcuts=False)

    def f_load(self, recursive: bool = True, load_data: int = 2, max_depth: Any = None) -> Any:
        return self

    def f_store(self, *args: Any, **kwargs: Any) -> None:
        raise not_offered(_owner(self), "f_store")


def _owner(node: Any) -> str:
    return "Trajectory" if not node.v_full_name else f"group {node.v_full_name}"


class LoadedGroup(PypetGroupAPI, Group):
    """A group of a loaded trajectory. `run` is (branch, run name) for a single run's group;
    `container` marks a group that holds run groups (`runs`, a run set)."""

    def __init__(
        self,
        full_name: str,
        root: LoadedTrajectory | None,
        loader: Callable[[Group], dict[str, Node]] | None = None,
        run: tuple[str, str] | None = None,
        container: bool = False,
    ) -> None:
        super().__init__(full_name, loader=loader)
        object.__setattr__(self, "_root", root)
        object.__setattr__(self, "_run", run)
        object.__setattr__(self, "_container", container)
        object.__setattr__(self, "v_comment", "")

    def _pypet_root(self) -> LoadedTrajectory:
        assert self._root is not None
        return self._root

    def _new_group(self, full_name: str) -> Group:
        # groups of a stacked run's nested items (`stats.mean`) answer as pypet's too
        return LoadedGroup(full_name, self._root)

    def __repr__(self) -> str:
        if self._children_dict is None:
            return f"<Group {self.v_full_name} (not read yet)>"
        return super().__repr__()


# resolving names -----------------------------------------------------------------------------
def _not_found(node: Any, name: str) -> NamingError:
    return NamingError(f"{node.v_full_name or 'trajectory'} has no item named {name!r}")


def resolve(start: Group, name: Any, shortcuts: bool, max_depth: int | None) -> Node:
    root: LoadedTrajectory = start._pypet_root()
    if isinstance(name, int):
        name = layout.run_name(name)
    parts = [translate(root, part) for part in str(name).split(".")]
    limit = math.inf if max_depth is None else max_depth
    if shortcuts and len(parts) > limit:
        raise ValueError(f"name {name!r} is longer than the maximum depth {max_depth}")
    exact = _walk(start, parts)
    if exact is not None:
        return exact
    if not shortcuts:
        raise _not_found(start, str(name))
    node: Node = start
    for part in parts:
        if not isinstance(node, Group):
            raise NamingError(f"{node.v_full_name} is a leaf; it has no child {part!r}")
        found, depth = search(node, part, limit)
        if found is None:
            raise _not_found(start, str(name))
        limit -= depth
        node = found
    return node


def _walk(start: Group, parts: list[str]) -> Node | None:
    node: Node = start
    for part in parts:
        if not isinstance(node, Group):
            return None
        child = node._children.get(part)
        if child is None:
            return None
        node = child
    return node


def search(node: Group, key: str, max_depth: float) -> tuple[Node | None, int]:
    """(the node named `key` below `node`, its depth) by pypet's rule, (None, 0) if none."""
    if key in node._children:
        return node._children[key], 1
    root: LoadedTrajectory = node._pypet_root()
    hits: list[tuple[int, Node]] = []
    run_levels: list[tuple[int, str, list[str]]] = []  # depth of run groups, branch, runs
    level = [node]
    depth = 0
    while level and depth < max_depth and not hits:
        depth += 1
        following: list[Group] = []
        runs: dict[str, list[str]] = {}
        for group in level:
            for name, child in group._children.items():
                if name == key:
                    hits.append((depth, child))
                if not isinstance(child, Group):
                    continue
                run = getattr(child, "_run", None)
                if run is not None:
                    runs.setdefault(run[0], []).append(run[1])
                else:
                    following.append(child)
        run_levels += [(depth, branch, names) for branch, names in runs.items()]
        level = following
    best = hits[0][0] if hits else math.inf
    # inside runs: (depth, branch, runs, path below the run group)
    inside: list[tuple[int, str, list[str], tuple[str, ...]]] = []
    for run_depth, branch, names in run_levels:
        for path in root._run_item_paths(branch):
            for position, part in enumerate(path):
                if part == key and run_depth + position + 1 <= max_depth:
                    found_depth = run_depth + position + 1
                    inside.append((found_depth, branch, names, path[: position + 1]))
    if inside:
        best = min(best, min(found[0] for found in inside))
    if best == math.inf:
        return None, 0
    candidates: list[Node | tuple[str, str, tuple[str, ...]]] = [
        child for found_depth, child in hits if found_depth == best
    ]
    seen: set[tuple[str, tuple[str, ...]]] = set()
    for found_depth, branch, names, path in inside:
        if found_depth != best or (branch, path) in seen:
            continue
        seen.add((branch, path))
        having = root._runs_having(branch, names, path, 2 - min(len(candidates), 2))
        candidates += [(branch, run, path) for run in having]
        if len(candidates) > 1:
            break
    if len(candidates) > 1:
        raise NotUniqueNodeError(
            f"{key!r} is the name of several nodes at the same depth below "
            f"{node.v_full_name or 'the trajectory'} (e.g. {_describe(candidates[:2])}); "
            "use a longer name, or traj.results.crun.<name> with a current run"
        )
    if not candidates:
        return None, 0
    found = candidates[0]
    if isinstance(found, tuple):
        branch, run, path = found
        run_group = root._run_group(branch, run)
        target = _walk(run_group, list(path)) if run_group is not None else None
        if target is None:
            return None, 0
        return target, int(best)
    return found, int(best)


def _describe(candidates: list[Any]) -> str:
    names = []
    for found in candidates:
        if isinstance(found, tuple):
            names.append(f"{found[0]} {found[1]}: {'.'.join(found[2])}")
        else:
            names.append(found.v_full_name)
    return " and ".join(names)


def from_runs_dict() -> OrderedDict[Any, Any]:
    """pypet's f_get_from_runs returns an OrderedDict."""
    return OrderedDict()


__all__ = ["LoadedGroup", "PypetGroupAPI", "PypetLeaf", "resolve", "search", "translate"]
