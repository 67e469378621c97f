"""Load a trajectory file with pypet 0.7 and pickle what pypet sees (run with pypet's Python).

    python3.12 dump.py SPEC.json

SPEC: {"filename", "name", "output" (pickle path), "directory" (put first on sys.path, for
the classes of pickled results), "dynamic_imports" (optional: pypet's, for custom classes)}.
Loads with exactly the call README.md documents for pypet
users, then records plain values (no pypet objects), so Python 3.11 can compare two dumps:
trajectory attributes, every parameter, derived parameter and result (class, comment,
values, explored range), f_get_explored_parameters, f_get_run_information of every run,
f_get_from_runs of every item name, and per run (after f_set_crun) the explored values,
traj.results.crun.<name>, traj.derived_parameters.crun.<name> and what traj.crun.<name>
gives. Also tries the load without force=True and records the error.
"""

import functools
import json
import pickle
import sys
import time


def plain(value):
    """pypet leaves as {"__leaf__": class, "values": ...}; anything else unchanged."""
    from pypet.naturalnaming import NNGroupNode, NNLeafNode

    if isinstance(value, NNLeafNode):
        return {"__leaf__": type(value).__name__, "values": dict(value.f_to_dict())}
    if isinstance(value, NNGroupNode):
        return {"__group__": value.v_full_name}
    return value


def describe(item):
    entry = {"class": type(item).__name__, "comment": item.v_comment}
    if item.v_is_parameter:
        entry["value"] = item.f_get()
        entry["range"] = list(item.f_get_range()) if item.f_has_range() else None
    else:
        entry["values"] = dict(item.f_to_dict())
    return entry


def below_run(full_name):
    """`results.runs.run_set_00000.run_00000003.a.b` -> `a.b` (None outside runs)."""
    parts = full_name.split(".")
    for position, part in enumerate(parts):
        if part.startswith("run_") and not part.startswith("run_set_") and part != "run_ALL":
            return ".".join(parts[position + 1 :])
    return None


def attempt(function):
    try:
        return {"value": plain(function())}
    except Exception as error:  # recorded, the comparison decides
        return {"error": type(error).__name__}


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as handle:
        spec = json.load(handle)
    sys.path.insert(0, spec["directory"])
    from pypet import Trajectory
    from pypet.pypetexceptions import VersionMismatchError

    filename, name = spec["filename"], spec["name"]
    imports = spec.get("dynamic_imports")
    out = {}
    try:
        Trajectory(filename=filename, dynamic_imports=imports).f_load(
            name=name, load_parameters=2, load_derived_parameters=0, load_results=0
        )
        out["without_force"] = None
    except VersionMismatchError as error:
        out["without_force"] = str(error)

    started = time.perf_counter()
    # README.md, "Loading our files in pypet": exactly this call
    traj = Trajectory(filename=filename, dynamic_imports=imports)
    traj.f_load(name=name, load_parameters=2, load_derived_parameters=2, load_results=2, force=True)
    out["load_seconds"] = time.perf_counter() - started
    out.update(
        name=traj.v_name,
        comment=traj.v_comment,
        length=len(traj),
        version=traj.v_version,
        python=traj.v_python,
    )
    for branch in ("config", "parameters", "derived_parameters", "results"):
        group = traj.f_get(branch) if branch in traj else None
        leaves = group.f_to_dict() if group is not None else {}
        out[branch] = {full: describe(item) for full, item in leaves.items()}
    out["explored"] = list(traj.f_get_explored_parameters())
    runs = traj.f_get_run_names()
    out["run_names"] = runs
    out["run_information"] = {run: dict(traj.f_get_run_information(run)) for run in runs}
    items = {
        branch: sorted({below_run(full) for full in out[branch]} - {None})
        for branch in ("results", "derived_parameters")
    }
    out["items"] = items
    started = time.perf_counter()
    out["from_runs"] = {
        item: {run: plain(v) for run, v in traj.f_get_from_runs(item, fast_access=True).items()}
        for item in items["results"] + items["derived_parameters"]
    }
    out["from_runs_seconds"] = time.perf_counter() - started
    out["from_runs_indices"] = {
        item: list(traj.f_get_from_runs(item, use_indices=True))
        for item in items["results"] + items["derived_parameters"]
    }
    every_run = spec.get("crun_runs")
    crun = {}
    for run in runs if every_run is None else [runs[i] for i in every_run]:
        traj.f_set_crun(run)
        seen = {"__idx__": traj.v_idx, "__crun__": traj.v_crun}
        seen["__explored__"] = {p: traj.f_get(p).f_get() for p in out["explored"]}
        for branch in ("results", "derived_parameters"):
            for item in items[branch]:
                path = [branch, "crun", *item.split(".")]
                seen[f"{branch}.crun.{item}"] = attempt(
                    functools.partial(functools.reduce, getattr, path, traj)
                )
                seen[f"crun.{item}"] = attempt(
                    functools.partial(functools.reduce, getattr, ["crun", *item.split(".")], traj)
                )
        crun[run] = seen
    traj.f_restore_default()
    out["crun"] = crun
    with open(spec["output"], "wb") as handle:
        pickle.dump(out, handle, protocol=4)
    print(json.dumps({"load_seconds": out["load_seconds"]}))


if __name__ == "__main__":
    main()
