"""What a user stored in a trajectory file survives the next merge.

The merge writes a new file from the fragments and renames it over the old one. Anything the
user added to the old file since (with PyTables or pypet: a group beside the trajectory, a
result outside the single runs such as ``results/analysis/mean``, a table in ``/``, an
attribute) is copied into the new file first. What the previous merge wrote itself is not:
runs a shrunk exploration removed stay removed.

What the merge owns, below the trajectory group:

- `parameters`, `stacked`, the overview tables it writes, `config/environment`, `config/git`
  and `config/hdf5`, all of them whole;
- the config items and the items in single runs that the previous merge recorded it wrote
  (`layout.MERGED_ITEMS` on the trajectory group);
- attributes named ``SRVC_*`` (pypet's) and ``PSM_*`` (ours), and PyTables' own.

Everything else is the user's. A user's node that cannot be carried -- one inside a single
run (the run may be a different point of the exploration now), one where the new file has
a node of the same name, or any node of a single run in a file without the record -- is
named in `Carried.left`; the merge then keeps the old file beside the new one.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field

import tables

from pypet_sm.errors import HDF5Error
from pypet_sm.hdf5 import attributes
from pypet_sm.hdf5.layout import (
    CONFIG,
    CONFIG_GROUPS,
    LEAF,
    MERGED_ITEMS,
    OVERVIEW,
    PARAMETERS,
    RUN_BRANCHES,
    RUN_PREFIX,
    RUN_SET_PREFIX,
    RUNS_GROUP,
    STACKED_ROOT,
    as_wildcards,
)
from pypet_sm.hdf5.overview import OVERVIEW_TABLES
from pypet_sm.hdf5.reader import open_error

OURS = "ours"  # the merge's: dropped when the new file lacks it
USERS = "user's"  # copied into the new file
IN_RUN = "in a run"  # the user's, inside a single run: cannot be carried safely
CONTAINER = "container"  # a group of the merge's that may hold the user's nodes
OWNED_PREFIXES = ("SRVC_", "PSM_")
CLASH = "the new file has a node of that name"
OVERVIEW_NODES = frozenset(
    (
        "info",
        "hdf5_settings",
        "explorations",
        "runs",
        "runs_provenance",
        "failed_runs",
        "run_scalars",
        *OVERVIEW_TABLES,
    )
)


@dataclass
class Carried:
    """What the user's nodes and attributes became: copied (`carried`) or not (`left`,
    each with the reason)."""

    carried: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)


@dataclass
class _Record:
    """What the previous merge wrote, as it recorded it (None: no record, so nothing inside
    the single runs is known to be the merge's)."""

    config: set[str]
    run_items: dict[str, set[str]] | None
    placed: set[str] = field(default_factory=set)  # items put by pypet's wildcards

    @property
    def known(self) -> bool:
        return self.run_items is not None

    @classmethod
    def of(cls, group: tables.Group) -> _Record:
        try:
            merged = json.loads(str(attributes.read(group, MERGED_ITEMS)))
            config = set(merged["config"])
            runs = {branch: set(merged[branch]) for branch in RUN_BRANCHES}
            placed = set(merged.get("placed", ()))
        except (AttributeError, KeyError, TypeError, ValueError):
            return cls(set(), None)
        return cls(config, runs, placed)


def _within(path: str, items: set[str]) -> bool:
    """`path` is one of `items` or lies inside one."""
    return path in items or any(path.startswith(item + "/") for item in items)


def _holds(path: str, items: set[str]) -> bool:
    """`path` is a group above one of `items` (a group of dotted names)."""
    return any(item.startswith(path + "/") for item in items)


def _owner(parts: list[str], record: _Record) -> str:
    """Owner of the node at `parts` below the trajectory group."""
    if not parts:
        return CONTAINER
    top, rest = parts[0], parts[1:]
    if top in (PARAMETERS, STACKED_ROOT):
        return OURS
    if top == OVERVIEW:
        return CONTAINER if not rest else (OURS if rest[0] in OVERVIEW_NODES else USERS)
    if top == CONFIG:
        if not rest:
            return CONTAINER
        path = "/".join(rest)
        if rest[0] in CONFIG_GROUPS or _within(path, record.config):
            return OURS
        return CONTAINER if _holds(path, record.config) else USERS
    if record.placed and top in RUN_BRANCHES:
        pattern = "/".join(as_wildcards(parts))
        if _within(pattern, record.placed):
            return OURS
        if rest and rest[0] != RUNS_GROUP and _holds(pattern, record.placed):
            return CONTAINER
    if top not in RUN_BRANCHES:
        return USERS
    if not rest:
        return CONTAINER
    if rest[0] != RUNS_GROUP:
        return USERS  # results outside the runs: the merge writes none
    runs = rest[1:]
    if runs and runs[0].startswith(RUN_SET_PREFIX):
        runs = runs[1:]
        if not runs:
            return CONTAINER
    if not runs:
        return CONTAINER
    if not runs[0].startswith(RUN_PREFIX):
        return USERS
    if len(runs) == 1:
        return CONTAINER  # the run group
    if record.run_items is None:
        return IN_RUN
    path, items = "/".join(runs[1:]), record.run_items[top]
    if _within(path, items):
        return OURS
    return CONTAINER if _holds(path, items) else IN_RUN


def _user_attributes(node: tables.Node) -> dict[str, object]:
    """The user's attributes (a pickle of more than plain data stays its bytes: the file is
    opened by `attributes.open_file`, so copying it runs nothing)."""
    attrs = node._v_attrs
    return {
        name: attrs[name] for name in attrs._v_attrnamesuser if not name.startswith(OWNED_PREFIXES)
    }


class _Carrier:
    def __init__(self, old: tables.File, new: tables.File, name: str) -> None:
        self.old, self.new, self.name = old, new, name
        self.record = _Record.of(old.get_node(f"/{name}"))
        self.result = Carried()

    def node(self, path: str) -> tables.Node | None:
        try:
            return self.new.get_node(path)
        except tables.NoSuchNodeError:
            return None

    def attributes(self, old: tables.Node, new: tables.Node) -> None:
        for key, value in _user_attributes(old).items():
            where = f"{old._v_pathname} attribute {key!r}"
            if key not in new._v_attrs._v_attrnames:
                new._v_attrs[key] = value
                self.result.carried.append(where)
            elif repr(attributes.raw(new, key)) != repr(value):
                self.result.left.append(f"{where}: the new file gives it another value")

    def parent_in_new(self, old: tables.Node) -> tables.Group:
        """The new file's group at the old node's parent path, made (with the old group's
        attributes) where missing."""
        parent = old._v_parent
        found = self.node(parent._v_pathname)
        if isinstance(found, tables.Group):
            return found
        grand = self.parent_in_new(parent)
        return parent._f_copy(newparent=grand, recursive=False)

    def copy(self, old: tables.Node) -> None:
        old._f_copy(newparent=self.parent_in_new(old), recursive=True)
        self.result.carried.append(old._v_pathname)

    def visit(self, old: tables.Node, parts: list[str]) -> None:
        owner = _owner(parts, self.record)
        new = self.node(old._v_pathname)
        is_group = isinstance(old, tables.Group) and isinstance(new or old, tables.Group)
        if new is not None:
            plain = is_group and LEAF not in old._v_attrs and LEAF not in new._v_attrs
            # without a record, a config item the new file has is taken for the merge's
            if owner == USERS and not plain and (self.record.known or parts[0] != CONFIG):
                self.result.left.append(f"{old._v_pathname}: {CLASH}")
                return
            self.attributes(old, new)
            if is_group:
                for child in old._v_children.values():
                    self.visit(child, [*parts, child._v_name])
            return
        if owner == USERS:
            self.copy(old)
        elif owner == IN_RUN:
            self.result.left.append(
                f"{old._v_pathname}: inside a single run (runs are the merge's; the run "
                "may be another point of the exploration now)"
            )
        elif owner == CONTAINER and is_group:
            for child in old._v_children.values():
                self.visit(child, [*parts, child._v_name])

    def run(self) -> Carried:
        old_root, new_root = self.old.root, self.new.root
        self.attributes(old_root, new_root)
        for child in old_root._v_children.values():
            if child._v_name == self.name:
                self.visit(child, [])
            elif child._v_name in new_root._v_children:
                self.result.left.append(f"{child._v_pathname}: {CLASH}")
            else:
                self.copy(child)
        return self.result


def carry_over(old: str | os.PathLike, new: str | os.PathLike, name: str) -> Carried:
    """Copy what the user stored in the trajectory file `old` into `new`, the file the merge
    just wrote for trajectory `name` (see the module docstring)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tables.NaturalNameWarning)
        try:
            old_h5 = attributes.open_file(old, "r")
        except tables.HDF5ExtError as error:
            raise open_error(old, error) from None
        try:
            with old_h5, attributes.open_file(new, "a") as h5:
                return _Carrier(old_h5, h5, name).run()
        except tables.HDF5ExtError as error:
            raise HDF5Error(str(error)) from None
