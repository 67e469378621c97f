"""Every name and format of the trajectory file's layout, in one place.

pypet 0.7's layout (`reference/pypet-hdf5-format.md`) plus what pypet_sm adds beside it (the
runs' provenance, failed runs, the run scalars index and the stacked layout). The writer, the
reader and everything that talks about the file use these names; nothing retypes them.
Importing this module is cheap: it imports neither PyTables nor numpy.
"""

from __future__ import annotations

import re
import time

ENCODING = "utf-8"

# Attributes of pypet's nodes -------------------------------------------------------------
LEAF = "SRVC_LEAF"  # on a leaf's group: parameter, derived parameter or result
CLASS_NAME = "SRVC_INIT_CLASS_NAME"  # the leaf's pypet class
COMMENT = "SRVC_INIT_COMMENT"  # a leaf's or the trajectory group's comment
STORE = "SRVC_STORE"  # how a value node is stored: ARRAY, CARRAY, TABLE, DICT, ...
DATA_PREFIX = "SRVC_DATA_"  # + COLL_TYPE / SCALAR_TYPE of an array's value
COLUMN_PREFIX = "SRVC_COLUMN_%s_"  # + COLL_TYPE / SCALAR_TYPE of a table column
SPLIT_TABLE = "SPLIT_TABLE"  # a table pypet split for having too many columns
NESTED_GROUP = "NESTED_GROUP"  # STORE of intermediate groups of dotted result names
PROTOCOL_KEY = "__pckl_prtcl__"  # the pickle protocol beside pickled values
ARRAY_MARK = "__rr__"  # ArrayParameter's suffix for array data
PICKLE_RANGE_VALUE = "xp_%08d"  # PickleParameter: one node per distinct explored value
ARRAY_RANGE_VALUE = "explored" + ARRAY_MARK + ".set_%05d.xa_%08d"  # ArrayParameter's range

# Branches of the trajectory group ---------------------------------------------------------
CONFIG = "config"
PARAMETERS = "parameters"
DERIVED_PARAMETERS = "derived_parameters"
RESULTS = "results"
OVERVIEW = "overview"
RUN_BRANCHES = (RESULTS, DERIVED_PARAMETERS)  # the branches that hold single runs
PARAMETER_BRANCHES = (PARAMETERS, DERIVED_PARAMETERS, CONFIG)  # leaves read like Parameter

# Single runs -------------------------------------------------------------------------------
RUNS_GROUP = "runs"  # <branch>/runs/run_00000000
RUN_NAME = "run_%08d"  # pypet names every run after its index
RUN_PREFIX = "run_"
RUN_SET_SIZE = 1000  # runs per run set: pypet's make_set_name (GROUPSIZE)
RUN_SET_NAME = "run_set_%05d"  # pypet's FORMATTED_SET_NAME
RUN_SET_PREFIX = "run_set_"


def run_name(idx: int) -> str:
    """pypet's name of run `idx`: ``run_00000003``."""
    return RUN_NAME % idx


def run_names(count: int) -> list[str]:
    """The names of runs 0 .. count-1, in order (one format call each, no function call)."""
    return [RUN_NAME % idx for idx in range(count)]


def run_set_name(idx: int) -> str:
    """The run set (pypet's ``$set``) that holds run `idx` when run sets are used."""
    return RUN_SET_NAME % (idx // RUN_SET_SIZE)


RUN_WILDCARD = "$"  # pypet's wildcards in names, as a run's item keeps them (Item.where)
RUN_SET_WILDCARD = "$set"


def resolve_wildcards(where: str, idx: int) -> list[str]:
    """The group path `where` (``neuron.$``, ``$set.$``) for run `idx`, as a list."""
    names = {RUN_WILDCARD: run_name(idx), RUN_SET_WILDCARD: run_set_name(idx)}
    return [names.get(part, part) for part in where.split(".")]


def as_wildcards(parts: list[str]) -> list[str]:
    """A path of the file with run and run set names as `$` and `$set` (what a run's
    items placed by wildcards record, `resolve_wildcards` backwards)."""
    return [
        RUN_SET_WILDCARD if _RUN_SET.match(part) else RUN_WILDCARD if _RUN.match(part) else part
        for part in parts
    ]


_RUN = re.compile(r"^run_\d{8}$")
_RUN_SET = re.compile(r"^run_set_\d{5}$")


def run_group_path(name: str, idx: int = 0, run_sets: bool = False) -> list[str]:
    """Groups below `results/` or `derived_parameters/` that hold one run's leaves.

    ``["runs", "run_00000003"]``, or with run sets the run's bucket of 1,000 runs as pypet's
    ``$set`` wildcard names it: ``["runs", "run_set_00000", "run_00000003"]`` -- what pypet
    writes for ``f_add_result("runs.$set.$.z", ...)``. pypet registers every parent of run
    groups, so its `f_get_from_runs` and `traj.results.crun` find the runs in either layout;
    so does `pypet_sm.analysis.load`.
    """
    if run_sets:
        return [RUNS_GROUP, run_set_name(idx), name]
    return [RUNS_GROUP, name]


# Tables of the overview group (paths relative to the trajectory group) ---------------------
INFO_TABLE = "info"
HDF5_SETTINGS_TABLE = "hdf5_settings"
EXPLORATIONS_TABLE = "explorations"
RUNS_TABLE = "runs"
PROVENANCE_TABLE = "runs_provenance"  # ours: where and how each run ran
FAILED_RUNS_TABLE = "failed_runs"  # ours: why a run has completed = 0
RUN_SCALARS = "run_scalars"  # ours: the run scalars index (see run_scalars.py)
RUNS_PATH = f"{OVERVIEW}/{RUNS_TABLE}"
PROVENANCE_PATH = f"{OVERVIEW}/{PROVENANCE_TABLE}"
FAILED_RUNS_PATH = f"{OVERVIEW}/{FAILED_RUNS_TABLE}"
EXPLORATIONS_PATH = f"{OVERVIEW}/{EXPLORATIONS_TABLE}"
RUN_SCALARS_PATH = f"{OVERVIEW}/{RUN_SCALARS}"

# The stacked layout and the run scalars index (ours) ---------------------------------------
STACKED_ROOT = "stacked"  # /<trajectory>/stacked/<branch>/<item as groups>/<value>
STACK_MARK = "PSM_STACK"  # on an item's group: it holds one array per value
STACK_COMMENT = "PSM_COMMENT"
STACK_KEYS = "PSM_KEYS"  # the item's value names, in order
STACK_KIND = "PSM_KIND"  # on each array: the Python kind of its elements
PRESENT = "__present__"  # the mask of runs that stored the item

# What the merge wrote (ours): on the trajectory group, JSON of the items it stored in single
# runs ({branch: [paths below a run group]}) and the config items it stored outside the
# environments, git and hdf5 groups ({"config": [paths below config]}). The next merge tells
# by it what in the file is its own and what a user stored there (pypet_sm.hdf5.carry).
MERGED_ITEMS = "PSM_MERGED_ITEMS"
# What the merge merged (ours): on the trajectory group, JSON of the run count, a fingerprint
# of every run's point and fragment, the storage settings and the config items. The next
# merge appends to the file only when the file's runs are the first runs of its plan
# (pypet_sm.merge.incremental).
MERGE_STATE = "PSM_MERGE_STATE"
# config groups the merge writes whole (the environments, the git commits, the HDF5 settings)
CONFIG_GROUPS = ("environment", "git", "hdf5")

# Times ---------------------------------------------------------------------------------------
TIME_FORMAT = "%Y_%m_%d_%Hh%Mm%Ss"  # pypet's local times: 2024_01_31_12h00m00s
TIME_LENGTH = 20  # len("2024_01_31_12h00m00s")


def local_time(timestamp: float) -> str:
    """`timestamp` as pypet's local time string."""
    return time.strftime(TIME_FORMAT, time.localtime(timestamp))


def environment_name(hexsha: str, timestamp: float) -> str:
    """pypet's name of an environment: ``environment_<sha7>_<local time>``."""
    return f"environment_{hexsha[:7]}_{local_time(timestamp)}"


def git_commit_name(hexsha: str, committed: float) -> str:
    """pypet's name of a git commit's config group: ``commit_<sha7>_<local time>``."""
    return f"commit_{hexsha[:7]}_{local_time(committed)}"
