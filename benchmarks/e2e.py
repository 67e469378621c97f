"""End-to-end timing of trivial runs: pypet_sm with `snakemake --cores 2`, optionally pypet 0.7.

    python benchmarks/e2e.py                       # 1,000 and 10,000 runs
    python benchmarks/e2e.py --runs 1000 --pypet-python /path/to/python3.12-with-pypet

Each size gets a fresh temp project (a copy of Snakefile and workflow/) whose job function
stores one float per run. Phases are timed separately (planning as a dry run, the run jobs,
the merge), then a second fresh project times the whole thing in one `snakemake` call, and
a no-op rerun. Framework cost per run inside the jobs comes from the job manifests (job time
minus time spent in the job function, both measured in the job process).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

JOB = """
def job(traj):
    traj.f_add_result("z", traj.x * traj.y, comment="the product")
"""

CONFIG = """
trajectory: {{name: bench, comment: trivial runs}}
parameters:
  x: {{value: 0.0, comment: first factor}}
  y: {{value: 0.0, comment: second factor}}
exploration:
  product:
    x: {{range: [0, {nx}, 1]}}
    y: {{range: [0, 10, 1]}}
job: sim:job
"""


def make_project(directory: Path, runs: int) -> None:
    for name in ("Snakefile", "workflow"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, directory / name)
        else:
            shutil.copy(source, directory / name)
    (directory / "profiles").symlink_to("workflow/profiles")
    (directory / "sim.py").write_text(JOB)
    (directory / "config.yaml").write_text(CONFIG.format(nx=runs // 10))


def snakemake(directory: Path, *args: str) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        ["snakemake", "--cores", "2", *args], cwd=directory, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    if done.returncode:
        sys.exit(f"snakemake {' '.join(args)} failed in {directory}:\n{done.stderr[-3000:]}")
    return elapsed


def framework_per_run_ms(directory: Path) -> float:
    total = in_function = runs = 0.0
    for path in (directory / ".pypet_sm/bench/manifests").glob("*.json"):
        manifest = json.loads(path.read_text())
        total += manifest["seconds_total"]
        in_function += manifest["seconds_in_function"]
        runs += manifest["completed"]
    return (total - in_function) / runs * 1000


def ours(runs: int, keep: bool) -> dict[str, float]:
    result: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix=f"bench{runs}_") as tmp:
        phases = Path(tmp) / "phases"
        phases.mkdir()
        make_project(phases, runs)
        result["plan (dry run) s"] = snakemake(phases, "-n")
        result["run jobs s"] = snakemake(phases, "--until", "run_job")
        result["merge s"] = snakemake(phases)
        result["framework per run ms"] = framework_per_run_ms(phases)
        size = (phases / "hdf5/bench.hdf5").stat().st_size
        result["file bytes per run"] = size / runs
        whole = Path(tmp) / "whole"
        whole.mkdir()
        make_project(whole, runs)
        result["end to end s"] = snakemake(whole)
        result["no-op rerun s"] = snakemake(whole)
        if keep:
            shutil.copytree(whole, Path(f"bench_project_{runs}"), symlinks=True)
    return result


def pypet(runs: int, python: str) -> dict[str, float]:
    script = Path(__file__).with_name("pypet_baseline.py")
    with tempfile.TemporaryDirectory(prefix=f"pypet{runs}_") as tmp:
        started = time.perf_counter()
        done = subprocess.run([python, str(script), str(runs), tmp], capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        if done.returncode:
            sys.exit(f"pypet baseline failed:\n{done.stderr[-3000:]}")
        size = sum(p.stat().st_size for p in Path(tmp).rglob("*.hdf5"))
    return {"end to end s": elapsed, "file bytes per run": size / runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--pypet-python", help="a Python with pypet 0.7 for the baseline")
    parser.add_argument("--keep", action="store_true", help="keep the finished projects")
    arguments = parser.parse_args()
    rows = []
    for runs in arguments.runs:
        row = {"runs": runs, **ours(runs, arguments.keep)}
        if arguments.pypet_python:
            baseline = pypet(runs, arguments.pypet_python)
            row["pypet end to end s"] = baseline["end to end s"]
            row["pypet/ours"] = baseline["end to end s"] / row["end to end s"]
            row["pypet file bytes per run"] = baseline["file bytes per run"]
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    columns = list(rows[0])
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(f"{row.get(c, float('nan')):.4g}" for c in columns) + " |")
    print(f"\n{os.cpu_count()} cores, Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
