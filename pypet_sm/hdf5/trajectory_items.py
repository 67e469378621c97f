"""Trajectory-level items added after the merge (post-processing), into the merged file.

pypet keeps results and derived parameters that belong to no single run outside `runs`:
`results/<name>`, `derived_parameters/<name>`; config items under `config/<name>`. They are
the user's nodes for the next merge (`carry`), so a later round's merge keeps them. The file
is changed on a copy that replaces it, so a crash leaves the merged file as it was.
"""

from __future__ import annotations

import os
import shutil
import warnings

import tables

from pypet_sm.atomic import atomic_path
from pypet_sm.errors import HDF5Error
from pypet_sm.hdf5 import records
from pypet_sm.hdf5.layout import CONFIG, DERIVED_PARAMETERS, RESULTS
from pypet_sm.hdf5.leaf_store import ensure_group, store_parameter, store_result
from pypet_sm.hdf5.writer import file_filters


def holds(path: str | os.PathLike, name: str, branch: str, dotted: str) -> bool:
    """Whether the trajectory `name` of the file holds `branch.dotted`."""
    with tables.open_file(path, "r") as h5:
        return f"/{name}/{branch}/{dotted.replace('.', '/')}" in h5


def add_items(
    path: str | os.PathLike,
    name: str,
    items: dict[str, list[records.Item]],
    settings: records.StorageSettings,
) -> None:
    """Add `items` (branch -> items: results, derived_parameters, config) to trajectory
    `name` of the file at `path`, atomically."""
    filters = file_filters(settings)
    try:
        with atomic_path(path) as tmp:
            shutil.copy2(path, tmp)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", tables.NaturalNameWarning)
                with tables.open_file(tmp, "a") as h5:
                    root = h5.get_node(f"/{name}")
                    for branch, added in items.items():
                        if branch not in (RESULTS, DERIVED_PARAMETERS, CONFIG):
                            raise ValueError(f"no trajectory-level branch {branch!r}")
                        for item in added:
                            parent_name, _, leaf = item.name.rpartition(".")
                            top = ensure_group(h5, root, branch)
                            parent = ensure_group(h5, top, parent_name)
                            if leaf in parent:
                                raise HDF5Error(f"{path} holds {branch}.{item.name} already")
                            if branch == RESULTS:
                                store_result(h5, parent, item, filters, item.comment or None)
                            else:
                                store_parameter(h5, parent, item, filters)
    except tables.HDF5ExtError as error:
        raise HDF5Error(str(error)) from error
