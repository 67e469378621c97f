"""pypet_sm timings inside one fresh process, run by the benchmark (e2e.py).

    python benchmarks/inprocess.py plan CONFIG    # plan.from_config + plan.save, in the project
    python benchmarks/inprocess.py get FILE       # load_trajectory, then f_get_from_runs('z')
    python benchmarks/inprocess.py table FILE     # load_trajectory, then runs_table()

Prints its timings as JSON on stdout. One measurement per process, so import and cache
effects are the same for every figure.
"""

import importlib
import json
import sys
import time

STARTED = time.perf_counter()

import pypet_sm  # noqa: E402

IMPORTED = time.perf_counter()


def plan(path):
    import yaml

    try:
        plans = importlib.import_module("pypet_sm.execute.plan")
    except ImportError:  # a revision (--rev) from before the stage packages
        plans = importlib.import_module("pypet_sm.plan")

    with open(path) as handle:
        config = yaml.safe_load(handle)
    started = time.perf_counter()
    planned = plans.from_config(config)
    plans.save(planned)
    return {
        "import s": IMPORTED - STARTED,
        "plan s": time.perf_counter() - started,
        "jobs": planned.n_jobs,
        "runs": len(planned),
    }


def main():
    what, path = sys.argv[1:]
    if what == "plan":
        print(json.dumps(plan(path)))
        return
    started = time.perf_counter()
    traj = pypet_sm.load_trajectory(path)
    loaded = time.perf_counter()
    if what == "get":
        values = traj.f_get_from_runs("z")
        count, columns = len(values), ["z"]
    elif what == "table":
        table = traj.runs_table()
        count = len(table)
        columns = list(table.columns) if hasattr(table, "columns") else list(table.dtype.names)
    else:
        sys.exit(f"unknown measurement {what!r}: use get or table")
    done = time.perf_counter()
    traj.f_close()
    figures = {
        "import s": IMPORTED - STARTED,
        "load s": loaded - started,
        f"{what} s": done - loaded,
        "runs": count,
        "columns": columns,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
