"""The natural-naming tree of a stored trajectory, built from the file through
`pypet_sm.hdf5.reader`: groups outside single runs are read at once (they are small), run
groups when first touched. Also: which user classes the leaves are loaded into, and leaves
held as pickles (`PickledLeaf`), unpickled only on access and only with allow_pickle."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from pypet_sm.analysis.pypet_api import pypet_leaf
from pypet_sm.analysis.pypet_nodes import LoadedGroup
from pypet_sm.define import classes
from pypet_sm.define.naming import Group, Leaf, NamingError
from pypet_sm.errors import DataNotInStorageError, PypetSmError
from pypet_sm.hdf5 import layout
from pypet_sm.hdf5.codec import LoadedLeaf, Pickled
from pypet_sm.hdf5.reader import StoredGroup

if TYPE_CHECKING:
    from pypet_sm.analysis.load import LoadedTrajectory

logger = logging.getLogger("pypet_sm.analysis.load")


class LoadError(PypetSmError):
    """A file that is not a readable trajectory file, or a name it does not contain."""


@dataclass
class Loading:
    """How leaves are loaded: the user's classes by name, and whether pickles may be
    unpickled (on access)."""

    classes: dict[str, type] = field(default_factory=dict)
    allow_pickle: bool = False
    trajectory: LoadedTrajectory | None = None  # set once the trajectory exists


class PickledLeaf(Leaf):
    """A leaf the file holds (partly) as pickles. Unpickling runs whatever code the pickle
    names, so its values are unpickled when first asked for, and only when the trajectory
    was loaded with ``allow_pickle=True``; otherwise asking for them is a LoadError naming
    the leaf and the flag. `stored` gives the values without unpickling (pickles as
    `Pickled` placeholders that show their size)."""

    __slots__ = ("_stored", "_stored_range", "_allowed", "_loaded")

    def __init__(self, full_name: str, loaded: LoadedLeaf, allow_pickle: bool) -> None:
        object.__setattr__(self, "_allowed", allow_pickle)
        object.__setattr__(self, "_loaded", False)
        name = loaded.class_name or None
        super().__init__(full_name, loaded.values, loaded.comment, name, loaded.explored)

    @property
    def allowed(self) -> bool:
        return self._allowed

    @property
    def stored(self) -> dict[str, Any]:
        return self._stored

    @property
    def stored_range(self) -> list[Any] | None:
        return self._stored_range

    def _unpickle(self) -> None:
        if not self._allowed:
            raise LoadError(
                f"{self.v_full_name} is a {self.v_class_name} the file holds as a pickle: "
                "unpickling it runs code from the file; load the trajectory with "
                "allow_pickle=True if you trust the file"
            )
        if not self._loaded:
            loaded = LoadedLeaf("", None, self._stored, self._stored_range).unpickled()
            object.__setattr__(self, "_stored", loaded.values)
            object.__setattr__(self, "_stored_range", loaded.explored)
            object.__setattr__(self, "_loaded", True)

    def _get_values(self) -> dict[str, Any]:
        self._unpickle()
        return self._stored

    def _set_values(self, values: dict[str, Any]) -> None:
        object.__setattr__(self, "_stored", values)

    def _get_explored(self) -> list[Any] | None:
        if self._stored_range is not None and not self._loaded:
            self._unpickle()
        return self._stored_range

    def _set_explored(self, explored: list[Any] | None) -> None:
        object.__setattr__(self, "_stored_range", explored)

    values = property(_get_values, _set_values)
    explored = property(_get_explored, _set_explored)

    @property
    def v_explored(self) -> bool:
        return self._stored_range is not None

    def _load(self, values: dict[str, Any]) -> None:
        """Show one run's value of an explored parameter (`TrajectoryView._show_value`)."""
        for key, value in values.items():
            if self._loaded and isinstance(value, Pickled):  # a default kept from before
                value = value.load()
            self._stored[key] = value


def stored_values(leaf: Leaf) -> dict[str, Any]:
    """A leaf's values without unpickling anything (placeholders for pickles)."""
    return leaf.stored if isinstance(leaf, PickledLeaf) else leaf.values


def stored_range(leaf: Leaf) -> list[Any] | None:
    """An explored parameter's range without unpickling anything."""
    return leaf.stored_range if isinstance(leaf, PickledLeaf) else leaf.explored


def make_leaf(stored: StoredGroup, full_name: str, loading: Loading) -> Leaf:
    parameter = full_name.partition(".")[0] in layout.PARAMETER_BRANCHES
    return pypet_leaf(_make_leaf(stored, full_name, loading, parameter), result=not parameter)


def _make_leaf(stored: StoredGroup, full_name: str, loading: Loading, parameter: bool) -> Leaf:
    loaded = stored.load_leaf(parameter=parameter)
    if loaded.has_pickles():
        if not (loading.allow_pickle and loaded.class_name in loading.classes):
            return PickledLeaf(full_name, loaded, loading.allow_pickle)
        loaded = loaded.unpickled()  # the user's class: its _load gets the values
    try:
        return classes.make_leaf(
            full_name,
            loaded.values,
            loaded.comment,
            loaded.class_name,
            loaded.explored,
            loading.classes,
        )
    except Exception as error:  # the user's _load failed: say which leaf
        raise LoadError(f"{full_name}: {loaded.class_name}._load failed: {error}") from error


def children_of(stored: StoredGroup, full_name: str, loading: Loading) -> dict[str, Group | Leaf]:
    """Build the children of a stored group; run groups and their containers (`runs`, run
    sets) stay lazy, and run groups come from the trajectory's cache (one object per run)."""
    children: dict[str, Group | Leaf] = {}
    branch = full_name.partition(".")[0]
    in_run_branch = branch in layout.RUN_BRANCHES and loading.trajectory is not None
    for name, node in stored.groups():
        child_name = f"{full_name}.{name}" if full_name else name
        if node.is_leaf():
            children[name] = make_leaf(node, child_name, loading)
        elif in_run_branch and is_container(name):
            children[name] = container(node, child_name, loading)
        elif in_run_branch and is_run_name(name) and is_container(full_name.rpartition(".")[2]):
            # a run's group in `runs` or a run set; one named like a run elsewhere (pypet's
            # `neuron.$.rate`, `crun.alone`) is an ordinary group below
            assert loading.trajectory is not None
            run = loading.trajectory._run_group(branch, name)
            if run is not None:
                children[name] = run
        elif name.startswith(layout.RUN_PREFIX):
            children[name] = lazy(stored, name, child_name, loading)
        else:
            # groups outside single runs are small: read them at once, so short names work
            group = LoadedGroup(child_name, loading.trajectory)
            group._children.update(children_of(node, child_name, loading))
            children[name] = group
    return children


def is_run_name(name: str) -> bool:
    """pypet's run_%08d (not a run set, not run_ALL)."""
    index = name[len(layout.RUN_PREFIX) :]
    return name.startswith(layout.RUN_PREFIX) and index.isdigit() and len(index) >= 8


def is_container(name: str) -> bool:
    """A group that holds run groups: `runs` or one of pypet's run sets."""
    return name == layout.RUNS_GROUP or name.startswith(layout.RUN_SET_PREFIX)


def container(stored: StoredGroup, full_name: str, loading: Loading) -> LoadedGroup:
    """`runs` or a run set: its children are listed by name when first touched."""
    return LoadedGroup(
        full_name, loading.trajectory, loader=partial(_load_lazily, stored, loading), container=True
    )


def _load_lazily(stored: StoredGroup, loading: Loading, group: Group) -> dict[str, Group | Leaf]:
    return children_of(stored, group.v_full_name, loading)


def lazy(
    parent: StoredGroup,
    name: str,
    full_name: str,
    loading: Loading,
    run: tuple[str, str] | None = None,
) -> LoadedGroup:
    """The stored group `name` of `parent`, opened and read when first touched."""

    def load(group: Group) -> dict[str, Group | Leaf]:
        stored = parent.child(name)
        if stored is None:  # listed a moment ago: the file changed under us
            raise LoadError(f"{full_name} is no longer a group of the file")
        return children_of(stored, group.v_full_name, loading)

    return LoadedGroup(full_name, loading.trajectory, loader=load, run=run)


def _recorded_classes(root: StoredGroup) -> list[str]:
    """`module:Class` specs the environments that wrote the file listed (newest last)."""
    specs: list[str] = []
    environments = root.path(layout.CONFIG, "environment")
    if environments is None:
        return specs
    for _, environment in environments.groups():
        node = environment.child("dynamically_imported_classes")
        if node is None or not node.is_leaf():
            continue
        try:
            listed = json.loads(node.load_leaf(parameter=True).values["data"])
        except (ValueError, KeyError, TypeError):
            continue
        specs += [spec for spec in listed if isinstance(spec, str) and spec not in specs]
    return specs


def known_classes(root: StoredGroup, dynamic_imports: list[Any] | None) -> dict[str, type]:
    """The classes to load the user's leaves into: `dynamic_imports` (classes or
    'module:Class' / 'module.Class' strings), then those the file's environments listed that
    can be imported here. A leaf of a class found in neither is a plain Leaf that keeps the
    class name (`v_class_name`) and the stored values."""
    try:
        known = classes.import_classes(list(dynamic_imports or []), "dynamic_imports")
    except PypetSmError as error:
        raise LoadError(str(error)) from None
    for spec in _recorded_classes(root):
        try:
            found = classes.import_classes([spec])
        except PypetSmError as error:
            logger.info("class %s recorded in the file is not available: %s", spec, error)
            continue
        for name, cls in found.items():
            known.setdefault(name, cls)  # dynamic_imports first
    return known


class RunBranch(LoadedGroup):
    """`traj.results` / `traj.derived_parameters`; `.crun` outside a run says how to set one."""

    def __init__(self, group: Group, trajectory: LoadedTrajectory) -> None:
        super().__init__(group.v_full_name, trajectory)
        object.__setattr__(self, "_children_dict", group._children)

    def __getattr__(self, name: str) -> Any:
        if name in ("crun", "crunset", "$", "$set") and self._pypet_root().v_crun is None:
            message = (
                "no current run: use traj.f_set_crun(idx), traj.v_idx = idx or traj.f_iter_runs()"
            )
            if self._pypet_root().v_auto_load:
                raise DataNotInStorageError(message)
            raise NamingError(message)
        return super().__getattr__(name)


def leaves_below(group: Group) -> list[tuple[str, Leaf]]:
    """(name relative to `group`, leaf) of every leaf below it, sorted by name."""
    prefix = len(group.v_full_name) + 1
    return sorted(
        ((leaf.v_full_name[prefix:], leaf) for leaf in group.f_iter_leaves()),
        key=lambda item: item[0],
    )
