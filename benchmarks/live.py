"""The live view at 100,000 finished runs against loading the merged file (issue 16, item 5).

    python benchmarks/live.py                          # 100,000 runs, both layouts
    python benchmarks/live.py --runs 10000 --layout stacked   # smoke run

For each layout, in a fresh temp project (benchmarks/e2e.py's, "3 scalars" workload):
`snakemake --cores 2` computes and merges `--runs` runs, so the fragment store holds every
run's record as real run jobs wrote it. Then, each figure in a fresh process and `--repeat`
times (the median is shown): `load_trajectory(project, live=True)` with the store's scan
cache as the merge left it, the same with the scan cache removed (the worst case: while
snakemake runs, segments grow past what the cache knows, so they are read again), and, as the
baseline, `load_trajectory(merged file)`; after each load `f_get_from_runs("z")` and
`runs_table()`. Tables go to stdout, JSON to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import e2e  # noqa: E402

WORKLOAD = "3 scalars"


def child(what: str, path: str) -> None:
    """One measurement in this fresh process: load (live or the file), then the queries."""
    started = time.perf_counter()
    import pypet_sm

    imported = time.perf_counter()
    cpu = time.process_time()  # the machine is shared: CPU time says what wall time hides
    if what == "file":
        traj = pypet_sm.load_trajectory(path)
    else:
        traj = pypet_sm.load_trajectory(path, live=True)
    loaded = time.perf_counter()
    load_cpu = time.process_time() - cpu
    values = traj.f_get_from_runs("z")
    got = time.perf_counter()
    table = traj.runs_table()
    done = time.perf_counter()
    finished = getattr(traj, "v_live_finished", None)
    traj.f_close()
    figures = {
        "import s": imported - started,
        "load s": loaded - imported,
        "load cpu s": load_cpu,
        "get s": got - loaded,
        "table s": done - got,
        "total s": done - imported,
        "values": len(values),
        "rows": len(table),
        "finished": finished,
    }
    print(json.dumps(figures))


def measure(project: Path, what: str, repeat: int) -> dict[str, Any]:
    target = str(project / "hdf5" / f"{e2e.NAME}.hdf5") if what == "file" else str(project)
    found: list[dict[str, Any]] = []
    for _ in range(repeat):
        if what == "live, no scan cache":
            (project / ".pypet_sm" / e2e.NAME / "fragments" / "index.cache").unlink(missing_ok=True)
        kind = "file" if what == "file" else "live"
        out = subprocess.run(
            [sys.executable, __file__, "--child", kind, target],
            capture_output=True,
            text=True,
            check=True,
            cwd=project,
        ).stdout
        found.append(json.loads(out.strip().splitlines()[-1]))
    row: dict[str, Any] = {"what": what, "repeat": repeat}
    for key in found[0]:
        values = [figures[key] for figures in found]
        number = all(isinstance(value, float) for value in values)
        row[key] = statistics.median(values) if number else values[0]
    return row


def run_layout(work: Path, layout: str, runs: int, repeat: int) -> list[dict[str, Any]]:
    project = work / f"live-{layout}-{runs}"
    e2e.make_project(project, e2e.REPO, WORKLOAD, runs, layout)
    e2e.log(f"{layout}: computing {runs} runs")
    started = time.perf_counter()
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    subprocess.run(
        ["snakemake", "--cores", e2e.CORES], cwd=project, env=env, check=True, capture_output=True
    )
    e2e.log(f"{layout}: sweep took {time.perf_counter() - started:.1f} s")
    rows = []
    for what in ("live", "live, no scan cache", "file"):
        row = measure(project, what, repeat)
        row.update(layout=layout, runs=runs)
        e2e.log(f"{layout}, {what}: {row}")
        rows.append(row)
    shutil.rmtree(project, ignore_errors=True)
    return rows


def render(rows: list[dict[str, Any]]) -> str:
    columns = ["layout", "runs", "what", "load s", "load cpu s", "get s", "table s", "total s"]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [
            f"{row[c]:.2f}" if isinstance(row.get(c), float) else str(row.get(c)) for c in columns
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000, help="a multiple of 10")
    parser.add_argument("--layout", choices=["pypet", "stacked", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--project",
        type=Path,
        help="measure this project of an earlier run (its sweep done, e.g. kept from e2e.py) "
        "instead of computing a new one; its scan cache is removed for the no-cache figure",
    )
    arguments = parser.parse_args()
    layouts = ["pypet", "stacked"] if arguments.layout == "both" else [arguments.layout]
    rows = []
    if arguments.project is not None:
        for what in ("live", "live, no scan cache", "file"):
            rows.append(measure(arguments.project.resolve(), what, arguments.repeat))
            e2e.log(f"{what}: {rows[-1]}")
            rows[-1].update(layout="(given)", runs=rows[-1]["rows"])
        layouts = []
    with tempfile.TemporaryDirectory(prefix="pypet_sm-live-") as work:
        for layout in layouts:
            rows += run_layout(Path(work), layout, arguments.runs, arguments.repeat)
    text = render(rows)
    print(text)
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    (results / f"live-{stamp}.json").write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
