"""The incremental merge against the full merge (issue 15, item 4), in one run.

    python benchmarks/incremental.py                        # 100,000 runs + 1,000, both layouts
    python benchmarks/incremental.py --runs 10000 --extra 100 --layout stacked   # smoke run

For each layout, in a fresh temp project (benchmarks/e2e.py's, trivial workload): `snakemake
--cores 2` computes and merges `--runs` runs; the exploration is extended by `--extra` runs
(new points at the end) and `snakemake --cores 2` computes them and merges incrementally;
then the same plan is merged in full (`--forcerun merge` with the trajectory file moved
away, so that the merge writes every run anew). The
figures are the merge's own ("merged N runs ... in X s" in the merge log), with what it
logged of where its time went. Tables go to stdout, JSON to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import e2e  # noqa: E402

PHASES = {
    "checked s": r"fragments checked in ([\d.]+) s",
    "decided s": r"decided in ([\d.]+) s",
    "copied s": r"copied the previous file \([\d.]+ MB\) in ([\d.]+) s",
}


def merge_figures(log: Path) -> dict[str, Any]:
    """The last merge's figures from the merge log."""
    text = log.read_text(errors="replace")  # the last merge's log
    figures: dict[str, Any] = dict(e2e.read_merge_log(log))
    decision = re.findall(r"(incremental|full) merge: (.*?) \(fragments", text)
    figures["merge"], figures["reason"] = decision[-1] if decision else ("?", "?")
    for name, pattern in PHASES.items():
        found = re.findall(pattern, text)
        figures[name] = float(found[-1]) if found else None
    return figures


def measure(work: Path, runner: e2e.Runner, layout: str, runs: int, extra: int) -> dict:
    project = work / f"incremental-{layout}-{runs}"
    e2e.make_project(project, e2e.REPO, "trivial", runs, layout)
    log = project / "logs" / e2e.NAME / "merge.log"
    snakemake = ["snakemake", "--cores", e2e.CORES]
    row: dict[str, Any] = {"layout": layout, "runs": runs, "extra": extra}
    e2e.log(f"{layout}: {runs} runs")
    row["first sweep s"], _ = runner.run(f"{layout}-first", snakemake, project)
    row["first merge"] = merge_figures(log)
    config = project / "config.yaml"
    report_off = "\nreport:" in config.read_text()
    config.write_text(e2e.config_text("trivial", runs + extra, layout, report_off))
    e2e.log(f"{layout}: extended by {extra} runs")
    row["extension s"], _ = runner.run(f"{layout}-extension", snakemake, project)
    row["incremental"] = merge_figures(log)
    # the same plan merged in full: the merge writes every run anew when there is no file
    (project / "hdf5" / f"{e2e.NAME}.hdf5").rename(project / "incremental.hdf5")
    e2e.log(f"{layout}: the same {runs + extra} runs merged in full")
    runner.run(f"{layout}-full", [*snakemake, "--forcerun", "merge"], project)
    row["full"] = merge_figures(log)
    incremental = row["incremental"].get("merge in process s")
    full = row["full"].get("merge in process s")
    row["ratio"] = incremental / full if incremental and full else None
    row["file MB"] = (project / "incremental.hdf5").stat().st_size / 2**20
    return row


def render(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| layout | runs | full merge | incremental merge | ratio | of which: checking "
        "fragments / deciding / copying the file |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        incr, full = row["incremental"], row["full"]
        ratio = f"{100 * row['ratio']:.1f} %" if row["ratio"] is not None else "n/a"
        phases = " / ".join(
            f"{incr[name]:.2f} s" if incr.get(name) is not None else "-" for name in PHASES
        )
        lines.append(
            f"| {row['layout']} | {row['runs']:,} + {row['extra']:,} | "
            f"{full.get('merge in process s', 'n/a')} s ({full['merge']}) | "
            f"{incr.get('merge in process s', 'n/a')} s ({incr['merge']}) | {ratio} | "
            f"{phases} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000, help="runs before the extension")
    parser.add_argument("--extra", type=int, default=1_000, help="runs the extension adds")
    parser.add_argument("--layout", nargs="+", choices=["pypet", "stacked"],
                        default=["pypet", "stacked"])  # fmt: skip
    parser.add_argument("--tmp", help="where the temp projects go (default: system temp)")
    parser.add_argument("--keep", action="store_true", help="keep the temp projects")
    parser.add_argument("--step-timeout", type=float, default=3 * 3600)
    arguments = parser.parse_args()
    if arguments.runs % 10 or arguments.extra % 10:
        parser.error("--runs and --extra must be multiples of 10 (the workloads' products)")
    work = Path(tempfile.mkdtemp(prefix="pypet_sm_incremental_", dir=arguments.tmp))
    runner = e2e.Runner(work, dict(e2e.os.environ), arguments.step_timeout)
    rows = []
    try:
        for layout in arguments.layout:
            rows.append(measure(work, runner, layout, arguments.runs, arguments.extra))
    finally:
        if not arguments.keep:
            shutil.rmtree(work, ignore_errors=True)
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    (results / f"incremental-{stamp}.json").write_text(json.dumps(rows, indent=1))
    table = render(rows)
    (results / f"incremental-{stamp}.md").write_text(table + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
