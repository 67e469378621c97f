"""traj.to_xarray() at 100,000 runs x 3 scalar results (issue 16, item 4), runs_table() as the
baseline, both layouts. (Not named xarray.py: the script's folder comes first on sys.path and
would shadow the xarray package.)

    python benchmarks/to_xarray.py                      # 100,000 runs (1,000 x 100), both layouts
    python benchmarks/to_xarray.py --runs 1000 --layout stacked   # smoke run

The file is made in process (plan, every run job, merge: what the workflow's rules call) in a
temp project; one run in 10,000 fails, so the NaN path is measured too. Each figure is
measured in a fresh process (`measure`): load_trajectory, then runs_table() or to_xarray().
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

JOB = """
def job(traj):
    if traj.v_idx % 10000 == 9999:
        raise ValueError("one run in 10,000 fails")
    traj.f_add_result("z", traj.x * traj.y, comment="x times y")
    traj.f_add_result("s", traj.x + traj.y, comment="x plus y")
    traj.f_add_result("n", traj.y, comment="an int")
"""


def build(directory: Path, runs: int, layout: str) -> Path:
    from pypet_sm.execute import job as run
    from pypet_sm.execute import plan
    from pypet_sm.merge import write as merge
    from pypet_sm.provenance import environment

    os.chdir(directory)
    (directory / "xrjob.py").write_text(JOB)
    sys.path.insert(0, str(directory))
    width = 100 if runs >= 100 else 1
    config = {
        "trajectory": {"name": "xr"},
        "parameters": {"x": {"value": 0.0}, "y": {"value": 0}},
        "exploration": {
            "product": {"x": [float(i) for i in range(runs // width)], "y": list(range(width))}
        },  # fmt: skip
        "job": "xrjob:job",
        "runs_per_job": 10_000,
        "storage": {"layout": layout},
    }
    the_plan = plan.from_config(config)
    plan.save(the_plan)
    environment.start(the_plan.settings)
    manifests = the_plan.settings.trajectory_state / "manifests"
    for index in range(the_plan.n_jobs):
        manifest = manifests / f"job_{index:06d}.json"
        run.run_job(the_plan.job_plan(index), manifest, keep_going=True)
    merge.merge(the_plan, the_plan.settings.filename)
    return directory / the_plan.settings.filename


def measure(path: str, what: str) -> dict[str, object]:
    started = time.perf_counter()
    import pypet_sm

    imported = time.perf_counter()
    if what == "xarray":
        import xarray  # noqa: F401  (its import, ~1 s here, is measured apart)
    xarray_imported = time.perf_counter()
    traj = pypet_sm.load_trajectory(path)
    loaded = time.perf_counter()
    if what == "table":
        shape = list(traj.runs_table().shape)
    else:
        shape = [int(size) for size in traj.to_xarray().sizes.values()]
    done = time.perf_counter()
    traj.f_close()
    return {
        "import s": imported - started,
        "import xarray s": xarray_imported - imported,
        "load s": loaded - xarray_imported,
        f"{what} s": done - loaded,
        "shape": shape,
    }


def main() -> int:
    if sys.argv[1:2] == ["measure"]:
        print(json.dumps(measure(sys.argv[2], sys.argv[3])))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--layout", choices=["pypet", "stacked", "both"], default="both")
    arguments = parser.parse_args()
    layouts = ["stacked", "pypet"] if arguments.layout == "both" else [arguments.layout]
    rows = []
    for layout in layouts:
        with tempfile.TemporaryDirectory() as work:
            started = time.perf_counter()
            built = subprocess.run(
                [sys.executable, __file__, "build", work, str(arguments.runs), layout],
                capture_output=True, text=True,
            )  # fmt: skip
            if built.returncode:
                print(built.stderr[-3000:], file=sys.stderr)
                return 1
            path = built.stdout.strip().splitlines()[-1]
            made = time.perf_counter() - started
            row: dict[str, object] = {"layout": layout, "runs": arguments.runs, "build s": made}
            for what in ("table", "xarray"):
                done = subprocess.run(
                    [sys.executable, __file__, "measure", path, what],
                    capture_output=True, text=True, check=True,
                )  # fmt: skip
                figures = json.loads(done.stdout.strip().splitlines()[-1])
                row[f"{what} s"] = round(figures[f"{what} s"], 3)
                row[f"load before {what} s"] = round(figures["load s"], 3)
                row[f"{what} shape"] = figures["shape"]
                if what == "xarray":
                    row["import xarray s"] = round(figures["import xarray s"], 3)
            rows.append(row)
            print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["build"]:
        print(build(Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4]))
        sys.exit(0)
    sys.exit(main())
