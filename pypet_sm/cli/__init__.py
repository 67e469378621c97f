"""`pypet-sm`: everyday commands for users.

    pypet-sm status [CONFIG]      runs done / failed / missing, time left, the failed runs
    pypet-sm show FILE            a trajectory file at a glance
    pypet-sm table FILE [--csv OUT]   the runs table, printed or written as CSV
    pypet-sm init DIR [--name N]  a new project whose Snakefile includes the installed rules

`status` only reads: it takes no lock and works while snakemake runs (fragments appear,
vanish or are half-written under it; a file that fails its checks counts as missing).
Bad input (a missing file, a file that is not a trajectory, a bad config) gives one line on
stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from pypet_sm import atomic
from pypet_sm.errors import PypetSmError
from pypet_sm.execute import fragment
from pypet_sm.hdf5.layout import run_name

BAR_WIDTH = 40
SAMPLE_RUNTIMES = 200  # completed fragments whose bodies are read for the run time estimate
LIST_FAILED = 20
RATE_WINDOW = 1000  # finished runs the recent rate is measured over
RATE_STALE = 120.0  # seconds since the last finish after which no rate is shown
TABLE_ROWS = 60  # rows printed before the table is truncated (head and tail)


class UsageError(Exception):
    """Bad input: reported as one line, exit code 2."""


# status ----------------------------------------------------------------------------------
def _load_plan(config_path: Path):
    import yaml

    from pypet_sm.execute import plan as plans

    if not config_path.is_file():
        raise UsageError(f"config file {config_path} does not exist")
    try:
        config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise UsageError(f"{config_path}: not readable YAML: {error}") from None
    if not isinstance(config, dict):
        raise UsageError(f"{config_path}: not a config (expected a mapping of settings)")
    # plan as the Snakefile does: relative paths (state, logs, the job module) are relative to
    # the project folder, the config's folder
    os.chdir(config_path.resolve().parent)
    try:
        return plans.from_config(config)
    except PypetSmError as error:
        raise UsageError(f"{config_path}: {error}") from None


def _bar(done: int, failed: int, total: int) -> str:
    if not total:
        return "[" + " " * BAR_WIDTH + "]"
    n_done = round(BAR_WIDTH * done / total)
    n_failed = min(BAR_WIDTH - n_done, round(BAR_WIDTH * failed / total))
    if failed and not n_failed and n_done < BAR_WIDTH:
        n_failed = 1
    return "[" + "#" * n_done + "x" * n_failed + "." * (BAR_WIDTH - n_done - n_failed) + "]"


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def _job_log(plan, idx: int) -> str:
    """The newest job log of the job that computed run `idx` (a pattern if none exists)."""
    job = f"job_{idx // plan.runs_per_job:06d}.txt"
    log_dir = plan.settings.log_dir
    try:
        found = sorted(log_dir.glob(f"*/jobs/{job}"), key=lambda path: path.stat().st_mtime)
    except OSError:
        found = []
    return str(found[-1]) if found else str(log_dir / "<environment>" / "jobs" / job)


def status(config_path: Path, cores: int) -> int:
    plan = _load_plan(config_path)
    directory = fragment.fragment_dir(plan.settings.trajectory_state)
    done: list[Path] = []
    finishes: list[float] = []
    failed: list[tuple[int, Path]] = []
    damaged: list[tuple[int, str]] = []
    absent: list[int] = []  # no valid fragment: missing, damaged or foreign
    for idx in plan.runs:
        path = fragment.fragment_path(directory, plan.key(idx))
        state, reason, header = fragment.inspect(path, plan.key(idx))
        if state == fragment.COMPLETED:
            done.append(path)
            if isinstance(header.get("finish"), (int, float)):
                finishes.append(float(header["finish"]))
        elif state == fragment.FAILED:
            failed.append((idx, path))
        else:
            absent.append(idx)
            if state in (fragment.DAMAGED, fragment.FOREIGN):
                damaged.append((idx, reason))
    total = len(plan)
    missing = total - len(done) - len(failed)
    name = plan.settings.name
    print(f"{name}: {len(done)} done, {len(failed)} failed, {missing} missing of {total} runs")
    percent = 100 * len(done) / total if total else 100.0
    print(f"{_bar(len(done), len(failed), total)} {percent:.1f}%")
    runtimes = []
    for path in done[-SAMPLE_RUNTIMES:]:  # the last runs in run order
        try:
            _, body = fragment.read(path)
            runtimes.append(float(body["finish"]) - float(body["start"]))
        except (OSError, fragment.DamagedFragment, KeyError, TypeError, ValueError):
            continue  # vanished or replaced meanwhile
    if runtimes:
        median = statistics.median(runtimes)
        print(f"median run time {median:.3g} s ({len(runtimes)} runs measured)")
        if missing:
            left = median * missing / max(cores, 1)
            print(
                f"time left: about {_duration(left)} for {missing} runs on {cores} cores "
                "(median run time x missing / cores; job start-up and the merge not counted)"
            )
    rate = _recent_rate(finishes)
    if missing and rate:
        print(
            f"recent rate {rate:.3g} runs/s (the last {min(len(finishes), RATE_WINDOW)} "
            f"finished): about {_duration(missing / rate)} left while snakemake keeps it up"
        )
    for idx, reason in damaged[:LIST_FAILED]:
        print(f"  {run_name(idx)}: fragment damaged ({reason}); counted as missing")
    if absent:
        _explain_missing_of_finished_jobs(plan, absent)
    if failed:
        print(f"failed runs ({len(failed)}):")
        for idx, path in failed[:LIST_FAILED]:
            try:
                _, body = fragment.read(path)
                exception = str(body.get("exception", "")).strip().splitlines()[-1:]
            except (OSError, fragment.DamagedFragment):
                exception = ["(its fragment changed while reading; run status again)"]
            shown = exception[0] if exception else "?"
            print(f"  {run_name(idx)}: {shown}  (log {_job_log(plan, idx)})")
        if len(failed) > LIST_FAILED:
            print(f"  ... and {len(failed) - LIST_FAILED} more")
    trajectory_file = Path(plan.settings.filename)
    if trajectory_file.is_file():
        print(f"trajectory file: {trajectory_file} ({_merged_runs(trajectory_file, name)})")
    return 0


def _explain_missing_of_finished_jobs(plan, absent: list[int]) -> None:
    """Runs whose fragment went away after their job wrote its manifest: Snakemake counts the
    job as done, so a plain rerun says nothing to do; a merge checks every fragment and
    computes such runs again."""
    from pypet_sm.execute import manifest

    state = plan.settings.trajectory_state
    finished: dict[int, bool] = {}
    lost = 0
    for idx in absent:
        job = idx // plan.runs_per_job
        if job not in finished:
            finished[job] = manifest.path(state, job).is_file()
        lost += finished[job]
    if lost:
        print(
            f"{lost} of the missing runs belong to jobs that finished (their fragments were "
            "removed or damaged since), so snakemake sees nothing to do for them: "
            "`snakemake --cores N --forcerun merge` computes them again"
        )


def _merged_runs(path: Path, name: str) -> str:
    """'N of M runs completed' as the trajectory file's runs table says (from its last merge)."""
    from pypet_sm.hdf5.reader import TrajectoryFile

    try:
        with TrajectoryFile(path) as stored:
            completed = stored.trajectory(name).completed()
    except Exception:  # another trajectory's file, or unreadable: say so, never fail
        return "no runs table of this trajectory readable"
    return f"last merge: {int(completed.sum())} of {len(completed)} runs completed"


def _recent_rate(finishes: list[float]) -> float | None:
    """Runs per second over the last RATE_WINDOW finished runs (None if not measurable)."""
    recent = sorted(finishes)[-RATE_WINDOW:]
    if len(recent) < 10 or recent[-1] <= recent[0]:
        return None
    if time.time() - recent[-1] > RATE_STALE:  # nothing finished lately: not running
        return None
    return (len(recent) - 1) / (recent[-1] - recent[0])


# show --------------------------------------------------------------------------------------
def _open(path: Path):
    from pypet_sm.analysis.load import LoadError, load_trajectory
    from pypet_sm.hdf5.reader import is_hdf5_file

    if path.is_file():
        try:
            is_hdf5 = is_hdf5_file(path)
        except (OSError, ValueError):  # HDF5Error is an OSError
            is_hdf5 = False
        if not is_hdf5:
            raise UsageError(f"{path} is not an HDF5 trajectory file")
    try:
        return load_trajectory(path)
    except LoadError as error:
        raise UsageError(str(error)) from None
    except Exception as error:  # a file that is HDF5 but not a trajectory
        raise UsageError(f"{path}: not a readable trajectory file: {error}") from None


def _describe_value(value: Any) -> str:
    import numpy as np

    if isinstance(value, np.ndarray):
        return f"ndarray {value.dtype} {value.shape}"
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__} of {len(value)}"
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return f"{type(value).__name__} {value.shape}"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 30 else text[:27] + '...'}"


def _range(values: list[Any]) -> str:
    try:
        low, high = min(values), max(values)
    except (TypeError, ValueError):
        return f"{len(values)} values"
    distinct = len({repr(v) for v in values})
    return f"{low!r}..{high!r} ({len(values)} runs, {distinct} distinct)"


def show(path: Path) -> int:
    with _open(path) as traj:
        rows = traj._runs() if traj.has_runs_table() else None
        total = len(traj)
        completed = int(rows["completed"].sum()) if rows is not None else total
        print(f"trajectory {traj.v_name} in {path}")
        if traj.v_comment:
            print(f"  comment: {traj.v_comment}")
        print(f"  runs: {completed} completed of {total}")
        print("parameters:")
        for leaf in traj.f_iter_leaves_of("parameters"):
            name = leaf.v_full_name.partition(".")[2]
            default = traj._defaults.get(id(leaf), leaf.values.get("data"))
            line = f"  {name} = {default!r}"
            if leaf.explored is not None:
                line += f"  explored {_range(list(leaf.explored))}"
            if leaf.v_comment:
                line += f"  # {leaf.v_comment}"
            print(line)
        first = None
        if rows is not None:
            done = rows["completed"].nonzero()[0]
            first = int(done[0]) if len(done) else None
        print(
            "results"
            + (f" (of {traj.f_get_run_names()[first]}):" if first is not None else ": none")
        )
        if first is not None:
            run = traj.f_get_run_names()[first]
            for branch in ("results", "derived_parameters"):
                for name, leaf in traj.run_leaves(branch, run):
                    shown = ", ".join(
                        f"{key}: {_describe_value(value)}" for key, value in leaf.values.items()
                    )
                    kind = "" if branch == "results" else " (derived parameter)"
                    comment = f"  # {leaf.v_comment}" if leaf.v_comment else ""
                    print(f"  {name}{kind}: {leaf.v_class_name} {{{shown}}}{comment}")
        print("environments:")
        environments = traj.f_get_environments()
        for env_name, items in environments.items():
            line = f"  {env_name}"
            if items.get("git_repository") and items.get("hexsha"):
                line += f"  git commit {items['hexsha']}"
            if items.get("runtime"):
                line += f"  ran {items['runtime']}"
            print(line)
        if not environments:
            print("  none recorded")
    return 0


# table -------------------------------------------------------------------------------------
def table(path: Path, csv: Path | None) -> int:
    with _open(path) as traj:
        frame = traj.runs_table(provenance=traj._read_provenance() is not None)
        if not hasattr(frame, "to_csv"):
            raise UsageError("pypet-sm table needs pandas: pip install pandas")
        if csv is not None:
            atomic.write_text(csv, frame.to_csv(index=False))
            print(f"wrote {len(frame)} runs to {csv}")
            return 0
        if len(frame) > TABLE_ROWS:
            half = TABLE_ROWS // 2
            text = frame.head(half).to_string(index=False)
            tail = frame.tail(half).to_string(index=False).splitlines()[1:]
            print(text)
            print(f"... {len(frame) - 2 * half} more runs (--csv FILE writes them all) ...")
            print("\n".join(tail))
        else:
            print(frame.to_string(index=False))
    return 0


# main --------------------------------------------------------------------------------------
# init ------------------------------------------------------------------------------------
def init(directory: Path, name: str | None) -> int:
    from pypet_sm import project

    written = project.init(directory, name)
    print(f"new pypet_sm project in {directory}:")
    for path in written:
        print(f"  {path.relative_to(directory)}")
    print(f"workflow: {project.snakefile()} (the installed pypet_sm's)")
    print(f"next: cd {directory} && snakemake --cores 2 && pypet-sm status")
    return 0


def parser() -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(
        prog="pypet-sm",
        description="Inspect pypet_sm explorations and trajectory files; start a new project.",
    )
    commands = main_parser.add_subparsers(dest="command", required=True)
    status_parser = commands.add_parser(
        "status", help="runs done / failed / missing of a config's exploration"
    )
    status_parser.add_argument("config", nargs="?", default="config.yaml")
    status_parser.add_argument(
        "--cores",
        type=int,
        default=os.cpu_count() or 1,
        help="cores the time estimate assumes (default: this machine's)",
    )
    show_parser = commands.add_parser("show", help="a trajectory file at a glance")
    show_parser.add_argument("file")
    table_parser = commands.add_parser("table", help="the runs table of a trajectory file")
    table_parser.add_argument("file")
    table_parser.add_argument("--csv", help="write the table as CSV to this file")
    init_parser = commands.add_parser(
        "init", help="a new project (Snakefile, config.yaml, job function) in a folder"
    )
    init_parser.add_argument("directory")
    init_parser.add_argument("--name", help="the trajectory's name (default: the folder's)")
    return main_parser


def main(argv: list[str] | None = None) -> int:
    arguments = parser().parse_args(argv)
    try:
        if arguments.command == "status":
            return status(Path(arguments.config), arguments.cores)
        if arguments.command == "show":
            return show(Path(arguments.file))
        if arguments.command == "init":
            return init(Path(arguments.directory), arguments.name)
        return table(Path(arguments.file), Path(arguments.csv) if arguments.csv else None)
    except (UsageError, PypetSmError) as error:
        print(f"pypet-sm: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `pypet-sm table x | head`
        return 0
