"""Side-by-side comparison of a pypet-written and a pypet_sm-written trajectory file.

Every function returns differences as lines of text (``"<area> <where>: pypet ... | ours
..."``); `unexplained` matches them against `KNOWN`, the documented differences with their
reasons, so a test fails on any difference nobody has explained.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tables

ENVIRONMENT = re.compile(r"environment_[0-9a-f]{7}_\d{4}_\d\d_\d\d_\d\dh\d\dm\d\ds")
RUN_SET = re.compile(r"run_set_\d{5}\.")
# run information and overview columns that differ between any two executions
RUN_TIMES = {"time", "timestamp", "finish_timestamp", "runtime", "short_environment_hexsha"}
INFO_TIMES = {"time", "timestamp"}
CLASS_NAME = "SRVC_INIT_CLASS_NAME"


def normalize(name: str) -> str:
    """Environment group names carry a SHA-1 and a time: the same name for both files."""
    return ENVIRONMENT.sub("environment_<sha>_<time>", name)


@dataclass(frozen=True)
class Known:
    """A difference between pypet's file and ours that is understood, and why it is harmless."""

    pattern: str  # regex searched in a difference line
    reason: str


# The remaining differences. README.md ("pypet compatibility") summarises them.
KNOWN = [
    Known(
        r"^view python:|^info python:|^view without_force:",
        "overview/info records the Python that wrote the file: the merge's Python (3.11 here), "
        "pypet's Python in pypet's file. pypet 0.7 refuses a different Python unless "
        "f_load(..., force=True), the documented call; with force=True it loads everything",
    ),
    Known(
        r"(results|view from_runs|crun)[^:]*np_bool[^:]*: (pypet|.*values)|^tree .*np_bool\b.*"
        r"SRVC_DATA_SCALAR_TYPE: pypet 'bool' \| ours 'bool_'",
        "a numpy bool result: pypet 0.7 (numpy 2) records np.bool_ as 'bool' and gives back a "
        "Python bool; we record 'bool_' and pypet gives back the np.bool_ that was stored; "
        "equal values (np.True_ == True)",
    ),
    Known(
        r"(config|tree|overview config_overview)[^:]*environment_<sha>_<time>"
        r"|^tree /overview/config_overview shape",
        "config.environment.<env>.* describes the machinery that ran the runs: pypet records "
        "its Environment options (multiproc, wrap_mode, wildcards, script, runtime...), we "
        "record ours (runs_per_job, storage settings, Snakemake's version...); values such as "
        "SHA-1, timestamps and package versions differ between any two executions",
    ),
    Known(
        r"^view config config\.hdf5\.",
        "config.hdf5.* in pypet's view: a new pypet Trajectory holds these config items with "
        "pypet's defaults, and f_load(load_parameters=2) does not overwrite items already in "
        "memory, so pypet shows its defaults whatever the file holds (its storage service "
        "reads the file's settings from overview/hdf5_settings); pypet_sm.load_trajectory "
        "gives the stored values, which are pypet's (compared file against file)",
    ),
    Known(
        r"^view crun\['run_\d+'\]\['crun\.",
        "traj.crun.<name> in the loaders: pypet looks for a node named like the current run "
        "and raises NotUniqueNodeError when results and derived parameters both hold runs; "
        "our load_trajectory's traj.crun is the current run's results group. "
        "traj.results.crun.<name> and traj.derived_parameters.crun.<name> agree",
    ),
    Known(
        r"^overview (parameters_overview|explored_parameters_overview|results_summary"
        r"|derived_parameters_summary|results_overview|derived_parameters_overview"
        r"|config_overview): same rows in another order",
        "row order of the informational overview tables: pypet stores a group's items "
        "depth-first from a stack, so its rows come in reverse order of adding; ours come in "
        "the order added; the same rows",
    ),
    Known(
        r"^overview run_scalars: only in ours|^tree /overview/run_scalars\b",
        "overview/run_scalars is our index of the runs' scalar results "
        "(pypet_sm.hdf5.run_scalars): one array per item, so f_get_from_runs and runs_table "
        "need not open a group per run; pypet skips the overview group when it loads a "
        "trajectory, so it never sees it",
    ),
    Known(
        r"^(overview|tree) \S*runs_provenance\b",
        "overview/runs_provenance is ours, beside pypet's runs table: each run's environment, "
        "host, pid, cluster job id, Snakemake attempt, start and finish; pypet does not read "
        "overview tables it does not know, so it loads the file as before",
    ),
    Known(
        r"^loader \S+ from_runs_fast(_derived)?: "
        r"pypet .*\[\"leaf\", .* \| ours .*\[\"(float|int)\", ",
        "f_get_from_runs(name, fast_access=True) after f_load(load_results=1): pypet's leaves are "
        "empty skeletons then, f_get_from_runs does not load them (without auto_load=True), "
        "and an empty leaf has no fast access, so pypet gives the items; ours are read when "
        "touched and give their values, what pypet gives once the data is loaded "
        "(load_results=2, or f_load_item first, as the snippets that load the items show)",
    ),
    Known(
        r"^tree \S+ dtype \((PickleResult|PickleParameter)\): pypet \|S\d+ \| ours \|S\d+$",
        "pickles: pypet's PickleResult pickles with protocol 0 and PickleParameter with 2, "
        "we use protocol 4 (binary, smaller, faster); the protocol is stored beside the data "
        "(__pckl_prtcl__) and pickle.loads reads any of them, so both load the same objects",
    ),
]


def unexplained(differences: Iterable[str], known: list[Known] = KNOWN) -> list[str]:
    """The differences no `Known` pattern explains."""
    return [line for line in differences if not any(re.search(k.pattern, line) for k in known)]


def explained(differences: Iterable[str], known: list[Known] = KNOWN) -> dict[str, list[str]]:
    """Reason -> the differences it explains (for reports)."""
    found: dict[str, list[str]] = {}
    for line in differences:
        for rule in known:
            if re.search(rule.pattern, line):
                found.setdefault(rule.reason, []).append(line)
                break
    return found


# ---------------------------------------------------------------------------------------------
# Values


def show(value: Any) -> str:
    text = repr(value)
    if len(text) > 120:
        text = text[:117] + "..."
    return f"{type(value).__name__} {text}"


def value_differences(pypet: Any, ours: Any, where: str) -> list[str]:
    """Equal values of the same types, recursively (arrays: dtype, shape and contents)."""
    mismatch = [f"{where}: pypet {show(pypet)} | ours {show(ours)}"]
    if type(pypet) is not type(ours):
        return mismatch
    if isinstance(pypet, np.ndarray):
        same = pypet.dtype == ours.dtype and pypet.shape == ours.shape
        return [] if same and np.array_equal(pypet, ours) else mismatch
    if isinstance(pypet, dict):
        lines = []
        if list(pypet) != list(ours) and set(pypet) != set(ours):
            only_pypet = [k for k in pypet if k not in ours]
            only_ours = [k for k in ours if k not in pypet]
            lines.append(f"{where}: keys only in pypet {only_pypet} | only in ours {only_ours}")
        for key in pypet:
            if key in ours:
                lines += value_differences(pypet[key], ours[key], f"{where}[{key!r}]")
        return lines
    if isinstance(pypet, (list, tuple)):
        if len(pypet) != len(ours):
            return mismatch
        lines = []
        for index, (a, b) in enumerate(zip(pypet, ours, strict=True)):
            lines += value_differences(a, b, f"{where}[{index}]")
        return lines
    return [] if pypet == ours else mismatch


# ---------------------------------------------------------------------------------------------
# What pypet (or our loader) sees: the dicts of tests/pypet/dump.py


def _items(view: dict, branch: str, merge_run_sets: bool) -> dict[str, Any]:
    items = {normalize(name): entry for name, entry in view[branch].items()}
    if merge_run_sets:
        items = {RUN_SET.sub("", name): entry for name, entry in items.items()}
    return items


def view_differences(pypet: dict, ours: dict, merge_run_sets: bool = False) -> list[str]:
    """Differences between two views (dump.py's dicts); `merge_run_sets` compares a file with
    run sets to one without (full names then differ by the run_set_XXXXX part only)."""
    lines = []
    for key in ("name", "comment", "length", "version", "python", "explored", "run_names"):
        lines += value_differences(pypet[key], ours[key], f"view {key}")
    if (pypet["without_force"] is None) != (ours["without_force"] is None):
        lines.append(
            f"view without_force: pypet {pypet['without_force']!r} | ours {ours['without_force']!r}"
        )
    for branch in ("config", "parameters", "derived_parameters", "results"):
        a = _items(pypet, branch, merge_run_sets)
        b = _items(ours, branch, merge_run_sets)
        lines += [f"view {branch} {name}: only in pypet" for name in a if name not in b]
        lines += [f"view {branch} {name}: only in ours" for name in b if name not in a]
        for name in a.keys() & b.keys():
            lines += value_differences(a[name], b[name], f"view {branch} {name}")
    for run in pypet["run_information"]:
        a = {k: v for k, v in pypet["run_information"][run].items() if k not in RUN_TIMES}
        b = {k: v for k, v in ours["run_information"].get(run, {}).items() if k not in RUN_TIMES}
        lines += value_differences(a, b, f"view run_information {run}")
    for key in ("items", "from_runs", "from_runs_indices"):
        lines += value_differences(pypet[key], ours[key], f"view {key}")
    lines += value_differences(_errors(pypet["crun"]), _errors(ours["crun"]), "view crun")
    return sorted(lines)


def _errors(crun: dict) -> dict:
    """Natural-naming attempts: an error is an error, whatever its class (pypet raises
    AttributeError or NotUniqueNodeError, we raise NamingError, an AttributeError)."""
    return {
        run: {k: "error" if isinstance(v, dict) and "error" in v else v for k, v in seen.items()}
        for run, seen in crun.items()
    }


def loader_view(path: Path, crun_runs: list[int] | None = None) -> dict:
    """What `pypet_sm.load_trajectory` sees in `path`, in dump.py's form."""
    import pypet_sm
    from pypet_sm.define.naming import Group, Leaf

    def plain(value: Any) -> Any:
        if isinstance(value, Leaf):
            return {"__leaf__": value.v_class_name, "values": dict(value.values)}
        if isinstance(value, Group):
            return {"__group__": value.v_full_name}
        return value

    def describe(leaf: Leaf, parameter: bool) -> dict:
        entry: dict[str, Any] = {"class": leaf.v_class_name, "comment": leaf.v_comment or ""}
        if parameter:
            entry["value"] = leaf.values["data"]
            entry["range"] = list(leaf.explored) if leaf.explored is not None else None
        else:
            entry["values"] = dict(leaf.values)
        return entry

    def attempt(function):
        try:
            return {"value": plain(function())}
        except Exception as error:
            return {"error": type(error).__name__}

    with tables.open_file(str(path), "r") as h5:
        name = next(iter(h5.root._v_groups))
        info = h5.get_node(f"/{name}/overview/info")[0]
    out: dict[str, Any] = {
        "version": info["version"].decode(),
        "python": info["python"].decode(),
        "without_force": None,
    }
    with pypet_sm.load_trajectory(path, allow_pickle=True) as traj:  # the tests' own files
        out.update(name=traj.v_name, comment=traj.v_comment, length=len(traj))
        for branch in ("config", "parameters", "derived_parameters", "results"):
            parameter = branch != "results"
            leaves = traj.f_iter_leaves_of(branch) if branch in traj._children else []
            out[branch] = {leaf.v_full_name: describe(leaf, parameter) for leaf in leaves}
        out["explored"] = list(traj.f_get_explored_parameters())
        runs = traj.f_get_run_names()
        out["run_names"] = runs
        out["run_information"] = {run: traj.f_get_run_information(run) for run in runs}
        items = {}
        for branch in ("results", "derived_parameters"):
            below = set()
            for full in out[branch]:
                parts = full.split(".")
                # below the run group: branch.runs.[run_set_X.]run_X.<item>
                run = next(i for i, part in enumerate(parts) if re.fullmatch(r"run_\d{8,}", part))
                below.add(".".join(parts[run + 1 :]))
            items[branch] = sorted(below)
        out["items"] = items
        every = items["results"] + items["derived_parameters"]
        out["from_runs"] = {
            item: {run: plain(v) for run, v in traj.f_get_from_runs(item).items()} for item in every
        }
        out["from_runs_indices"] = {
            item: list(traj.f_get_from_runs(item, use_indices=True)) for item in every
        }
        crun = {}
        for run in runs if crun_runs is None else [runs[i] for i in crun_runs]:
            traj.f_set_crun(run)
            seen: dict[str, Any] = {"__idx__": traj.v_idx, "__crun__": traj.v_crun}
            seen["__explored__"] = {p: traj.f_get(p).f_get() for p in out["explored"]}
            for branch in ("results", "derived_parameters"):
                for item in items[branch]:
                    path_ = [branch, "crun", *item.split(".")]
                    seen[f"{branch}.crun.{item}"] = attempt(
                        functools.partial(functools.reduce, getattr, path_, traj)
                    )
                    seen[f"crun.{item}"] = attempt(
                        functools.partial(
                            functools.reduce, getattr, ["crun", *item.split(".")], traj
                        )
                    )
            crun[run] = seen
        traj.f_set_crun(None)
        out["crun"] = crun
    return out


# ---------------------------------------------------------------------------------------------
# The files themselves


def _decoded(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _table_rows(table: tables.Table, ignore: set[str]) -> list[dict[str, Any]]:
    rows = []
    for row in table.read():
        rows.append(
            {
                column: normalize(v) if isinstance(v := _decoded(row[column]), str) else v
                for column in table.colnames
                if column not in ignore
            }
        )
    return rows


def overview_differences(pypet_file: Path, our_file: Path, name: str) -> list[str]:
    """Every overview table: columns, types and rows (run times and SHA-1s ignored)."""
    lines = []
    with tables.open_file(str(pypet_file)) as a, tables.open_file(str(our_file)) as b:
        group_a = a.get_node(f"/{name}/overview")
        group_b = b.get_node(f"/{name}/overview")
        names_a, names_b = set(group_a._v_children), set(group_b._v_children)
        lines += [f"overview {t}: only in pypet" for t in sorted(names_a - names_b)]
        lines += [f"overview {t}: only in ours" for t in sorted(names_b - names_a)]
        for table in sorted(names_a & names_b):
            ta, tb = group_a._f_get_child(table), group_b._f_get_child(table)
            if ta.description._v_dtype != tb.description._v_dtype:
                lines.append(
                    f"overview {table} columns: pypet {ta.description._v_dtype} "
                    f"| ours {tb.description._v_dtype}"
                )
                continue
            ignore = RUN_TIMES if table == "runs" else INFO_TIMES if table == "info" else set()
            rows_a, rows_b = _table_rows(ta, ignore), _table_rows(tb, ignore)
            if table == "info":
                for column in rows_a[0]:
                    if rows_a[0][column] != rows_b[0][column]:
                        lines.append(
                            f"info {column}: pypet {rows_a[0][column]!r} "
                            f"| ours {rows_b[0][column]!r}"
                        )
                continue
            key = functools.partial(repr)
            if sorted(rows_a, key=key) == sorted(rows_b, key=key):
                if rows_a != rows_b:
                    lines.append(f"overview {table}: same rows in another order")
                continue
            only_a = [r for r in rows_a if r not in rows_b]
            only_b = [r for r in rows_b if r not in rows_a]
            lines += [f"overview {table} row only in pypet: {r}" for r in only_a]
            lines += [f"overview {table} row only in ours: {r}" for r in only_b]
            if not only_a and not only_b:
                lines.append(f"overview {table}: rows repeated a different number of times")
    return lines


def _tree(h5: tables.File, name: str) -> dict[str, dict[str, Any]]:
    """Path below /<name> -> kind, SRVC_* attributes, dtype and shape of data nodes."""
    root = h5.get_node(f"/{name}")
    nodes = {}
    for node in h5.walk_nodes(root):
        path = normalize(node._v_pathname[len(root._v_pathname) :] or "/")
        attrs = node._v_attrs
        entry: dict[str, Any] = {
            "kind": type(node).__name__,
            "srvc": {
                key: _decoded(getattr(attrs, key))
                for key in attrs._v_attrnamesuser
                if key.startswith("SRVC_")
            },
        }
        if isinstance(node, tables.Leaf):  # a data node: the class of the pypet leaf holding it
            entry["leaf_class"] = _decoded(getattr(node._v_parent._v_attrs, CLASS_NAME, None))
            filters = node.filters
            entry["filters"] = (
                f"complib={filters.complib} complevel={filters.complevel} "
                f"shuffle={filters.shuffle} fletcher32={filters.fletcher32}"
            )
        if isinstance(node, tables.Table):
            entry["dtype"] = str(node.description._v_dtype)
            entry["shape"] = (int(node.nrows),)
        elif isinstance(node, tables.Leaf):
            entry["dtype"] = str(node.atom.dtype)
            entry["shape"] = tuple(node.shape)
        nodes[path] = entry
    return nodes


def tree_differences(pypet_file: Path, our_file: Path, name: str) -> list[str]:
    """Node paths, node kinds, SRVC_* attributes, dtypes and shapes of the two HDF5 trees."""
    lines = []
    with tables.open_file(str(pypet_file)) as a, tables.open_file(str(our_file)) as b:
        if a.title != b.title:
            lines.append(f"tree file title: pypet {a.title!r} | ours {b.title!r}")
        tree_a, tree_b = _tree(a, name), _tree(b, name)
    for path in sorted(tree_a.keys() - tree_b.keys()):
        lines.append(f"tree {path}: only in pypet ({tree_a[path]['kind']})")
    for path in sorted(tree_b.keys() - tree_a.keys()):
        lines.append(f"tree {path}: only in ours ({tree_b[path]['kind']})")
    for path in sorted(tree_a.keys() & tree_b.keys()):
        x, y = tree_a[path], tree_b[path]
        for field in ("kind", "dtype", "shape", "filters"):
            if x.get(field) != y.get(field):
                leaf_class = x.get("leaf_class") or y.get("leaf_class")
                where = f"{path} {field}" + (f" ({leaf_class})" if leaf_class else "")
                lines.append(f"tree {where}: pypet {x.get(field)} | ours {y.get(field)}")
        for key in sorted(x["srvc"].keys() | y["srvc"].keys()):
            if x["srvc"].get(key) != y["srvc"].get(key):
                lines.append(
                    f"tree {path} {key}: pypet {x['srvc'].get(key)!r} | ours {y['srvc'].get(key)!r}"
                )
    return lines
