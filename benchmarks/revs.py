"""Two revisions of pypet_sm, stage by stage: which stage got slower, and by how much.

    python benchmarks/revs.py BEFORE AFTER                 # trivial, 10,000 and 100,000 runs
    python benchmarks/revs.py 8918b8e HEAD --runs 10000 --layout stacked --repeat 5
    python benchmarks/revs.py 8918b8e HEAD --scalars 100000  # also 3 scalars per run

One figure per revision is not enough to see a 10% change here: on this shared 2-core
machine the same revision's run-job stage has measured 1.9 s and 5.3 s in two calls a
minute apart (file-system state left by the previous measurement, other tenants). So the
two revisions are measured alternately (before, after, then after, before, ...), each call
after the same `sync` and wait for quiet as benchmarks/e2e.py's, `--repeat` times, and each
stage is compared by the median of its figures (min and max shown beside it). The stages
are e2e.py's, from one `snakemake --cores 2` call in a fresh project (see its docstring),
plus the no-op rerun and loading in fresh processes.

Prints a markdown table; the figures go to benchmarks/results/revs-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from datetime import datetime
from typing import Any

import e2e

# the figures of a measurement's row compared, in e2e.py's names
STAGES = (
    "until first job s",
    "run jobs s",
    "framework ms/run",
    "before merge s",
    "merge in process s",
    "merge s",
    "total s",
    "no-op rerun s",
    "load (get) s",
    "get s",
    "table s",
)
SLOWER = 1.10  # a stage whose median grew by more than this factor is flagged


def bench_for(rev: str, arguments: argparse.Namespace) -> e2e.Benchmark:
    """An e2e.Benchmark on a snapshot of `rev` (its own temp folder and PYTHONPATH)."""
    options = argparse.Namespace(
        rev=rev,
        tmp=arguments.tmp,
        step_timeout=arguments.step_timeout,
        wait_quiet=arguments.wait_quiet,
        busy_retries=0,
        keep=False,
    )
    bench = e2e.Benchmark(options)
    bench.snapshot()
    return bench


def measure(bench: e2e.Benchmark, workload: str, runs: int, layout: str) -> dict:
    """e2e.py's measurement (one call of the whole workflow on a fresh project, its no-op
    rerun and loading) after its wait for quiet, with the loading figures in the row."""
    bench.wait_quiet()
    row = bench.measure_ours(workload, runs, layout, plan=False, noop=True, resume=False, load=True)
    row.update(row.pop("load", {}))
    return row


def compare(before: list[dict], after: list[dict]) -> list[list[Any]]:
    """Per stage: median (min–max) before and after, and the ratio of the medians."""
    lines = []
    for stage in STAGES:
        old = [r[stage] for r in before if isinstance(r.get(stage), (int, float))]
        new = [r[stage] for r in after if isinstance(r.get(stage), (int, float))]
        if not old or not new:
            continue
        ratio = statistics.median(new) / statistics.median(old) if statistics.median(old) else 0
        flag = "slower" if ratio > SLOWER else ""
        lines.append([stage, spread(old), spread(new), f"{ratio:.2f}", flag])
    return lines


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3g} ({min(values):.3g}–{max(values):.3g})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", help="git revision measured as the baseline")
    parser.add_argument("after", help="git revision compared with it")
    parser.add_argument("--runs", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--scalars", type=int, nargs="*", default=[], help="3-scalar sizes")
    parser.add_argument(
        "--layout", nargs="+", choices=["pypet", "stacked"], default=["pypet", "stacked"]
    )
    parser.add_argument("--repeat", type=int, default=3, help="measurements per revision")
    parser.add_argument("--wait-quiet", type=float, default=600)
    parser.add_argument("--step-timeout", type=float, default=3 * 3600)
    parser.add_argument("--tmp", help="where the temp projects go (default: system temp)")
    arguments = parser.parse_args()
    benches = {rev: bench_for(rev, arguments) for rev in (arguments.before, arguments.after)}
    cases = [("trivial", n) for n in arguments.runs] + [("3 scalars", n) for n in arguments.scalars]
    figures: dict[str, dict[str, list[dict]]] = {}
    out = ["| case | stage | before | after | after/before | |", "|---|---|---|---|---|---|"]
    try:
        for workload, runs in cases:
            for layout in arguments.layout:
                case = f"{workload}, {runs:,}, {layout}"
                rows: dict[str, list[dict]] = {rev: [] for rev in benches}
                for n in range(arguments.repeat):
                    order = list(benches) if n % 2 == 0 else list(benches)[::-1]
                    for rev in order:
                        started = time.perf_counter()
                        rows[rev].append(measure(benches[rev], workload, runs, layout))
                        e2e.log(f"{case} #{n + 1} {rev}: {time.perf_counter() - started:.1f} s")
                figures[case] = rows
                for line in compare(rows[arguments.before], rows[arguments.after]):
                    out.append(f"| {case} | " + " | ".join(map(str, line)) + " |")
    finally:
        for bench in benches.values():
            shutil.rmtree(bench.work, ignore_errors=True)
        results = e2e.HERE / "results"
        results.mkdir(exist_ok=True)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        record = {"arguments": vars(arguments), "figures": figures}
        (results / f"revs-{stamp}.json").write_text(json.dumps(record, indent=1, default=str))
    print(
        f"before = {arguments.before}, after = {arguments.after}; median (min–max) of "
        f"{arguments.repeat} alternating calls each\n"
    )
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
