"""`pypet-sm status`: runs done / failed / missing of a config's exploration, time left, the
failed runs. It only reads: no lock, so it works while snakemake runs (records are appended
under it, a half-written one fails its checks and counts as missing)."""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING

from pypet_sm.cli.usage import UsageError
from pypet_sm.errors import PypetSmError
from pypet_sm.execute import job_function, store
from pypet_sm.hdf5.layout import run_name

if TYPE_CHECKING:  # planning imports the user's job module: only when status runs
    from pypet_sm.execute.plan import Plan

BAR_WIDTH = 40
SAMPLE_RUNTIMES = 200  # completed fragments whose bodies are read for the run time estimate
LIST_FAILED = 20
RATE_WINDOW = 1000  # finished runs the recent rate is measured over
RATE_STALE = 120.0  # seconds since the last finish after which no rate is shown


def load_plan(config_path: Path) -> Plan:
    from pypet_sm.define import config_file
    from pypet_sm.execute import plan as plans

    if not config_path.exists():
        raise UsageError(f"config file {config_path} does not exist")
    try:  # read as the workflow reads it (file and line of errors, YAML 1.2 floats)
        config = config_file.load(config_path)
    except config_file.ConfigFileError as error:
        raise UsageError(str(error)) from None
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


def _job_log(plan: Plan, idx: int) -> str:
    """The newest job log of the job that computed run `idx` (a pattern if none exists)."""
    job = f"job_{idx // plan.runs_per_job:06d}.txt"
    log_dir = plan.settings.log_dir
    try:
        found = sorted(log_dir.glob(f"*/jobs/{job}"), key=lambda path: path.stat().st_mtime)
    except OSError:
        found = []
    return str(found[-1]) if found else str(log_dir / "<environment>" / "jobs" / job)


def status(config_path: Path, cores: int) -> int:
    plan = load_plan(config_path)
    index = store.scan(plan.settings.trajectory_state)
    done: list[store.Entry] = []
    finishes: list[float] = []
    failed: list[tuple[int, store.Entry]] = []
    damaged: list[tuple[int, str]] = []
    absent: list[int] = []  # no valid record: missing, damaged or foreign
    current_code = job_function.source_digest(plan.settings.job)
    code_changed = 0
    for idx in plan.runs:
        state, reason, entry = index.lookup(plan.key(idx))
        # a record that read its run index stands only for that index (as in the run job)
        if state == store.COMPLETED and entry is not None and entry.reusable_at(idx):
            done.append(entry)
            code_changed += bool(entry.code) and entry.code != current_code
            if isinstance(entry.finish, (int, float)):
                finishes.append(float(entry.finish))
        elif state == store.FAILED and entry is not None:
            failed.append((idx, entry))
        else:
            absent.append(idx)
            if state in (store.DAMAGED, store.FOREIGN):
                damaged.append((idx, reason))
    total = len(plan)
    missing = total - len(done) - len(failed)
    name = plan.settings.name
    print(f"{name}: {len(done)} done, {len(failed)} failed, {missing} missing of {total} runs")
    percent = 100 * len(done) / total if total else 100.0
    print(f"{_bar(len(done), len(failed), total)} {percent:.1f}%")
    runtimes = []
    for entry in done[-SAMPLE_RUNTIMES:]:  # the last runs in run order
        try:
            body = index.read(entry)
            runtimes.append(float(body["finish"]) - float(body["start"]))
        except (store.DamagedFragment, KeyError, TypeError, ValueError):
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
    if code_changed:
        print(
            f"{code_changed} of the done runs were computed by another version of the job "
            f"module ({plan.settings.job.partition(':')[0]}) than today's: "
            "`pypet-sm forget --code-changed` makes the next snakemake compute them again"
        )
    for idx, reason in damaged[:LIST_FAILED]:
        print(f"  {run_name(idx)}: record damaged ({reason}); counted as missing")
    if absent:
        _explain_missing_of_finished_jobs(plan, absent)
    if failed:
        print(f"failed runs ({len(failed)}):")
        for idx, entry in failed[:LIST_FAILED]:
            try:
                body = index.read(entry)
                exception = str(body.get("exception", "")).strip().splitlines()[-1:]
            except store.DamagedFragment:
                exception = ["(its record changed while reading; run status again)"]
            shown = exception[0] if exception else "?"
            print(f"  {run_name(idx)}: {shown}  (log {_job_log(plan, idx)})")
        if len(failed) > LIST_FAILED:
            print(f"  ... and {len(failed) - LIST_FAILED} more")
    trajectory_file = Path(plan.settings.filename)
    if trajectory_file.is_file():
        print(f"trajectory file: {trajectory_file} ({_merged_runs(trajectory_file, name)})")
    return 0


def _explain_missing_of_finished_jobs(plan: Plan, absent: list[int]) -> None:
    """Runs whose record went away after their job wrote its manifest: Snakemake would count
    the job as done, but the parse-time check (pypet_sm/execute/repair.py) runs it again. A
    job whose manifest is not the current one (the exploration was extended or edited, the
    job's plan changed) runs again anyway, so its runs are not counted here."""
    from pypet_sm.execute import manifest

    state = plan.settings.trajectory_state
    current: dict[int, bool] = {}
    lost: list[int] = []
    for idx in absent:
        job = idx // plan.runs_per_job
        if job not in current:
            runs = plan.job_runs(job)
            problem = manifest.problem(
                manifest.path(state, job), plan.job_digest(job), runs.start, runs.stop - 1
            )
            current[job] = problem is None
        if current[job]:
            lost.append(idx)
    if lost:
        print(
            f"{len(lost)} of the missing runs belong to jobs that finished (their records "
            "were removed or damaged since): `snakemake --cores N` runs those jobs again"
        )


def _ranges(indices: list[int]) -> str:
    """[3, 7, 8, 9] -> '3,7-9' (what `forget --runs` reads)."""
    parts: list[str] = []
    start = previous = indices[0]
    for idx in [*indices[1:], None]:
        if idx is not None and idx == previous + 1:
            previous = idx
            continue
        parts.append(str(start) if start == previous else f"{start}-{previous}")
        if idx is not None:
            start = previous = idx
    return ",".join(parts)


def _merged_runs(path: Path, name: str) -> str:
    """'N of M runs completed' as the trajectory file's runs table says (from its last merge)."""
    from pypet_sm.hdf5.reader import TrajectoryFile

    try:
        with TrajectoryFile(path) as stored:
            completed = stored.trajectory(name).completed()
    except OSError as error:  # locked, truncated, ...: one line saying which
        return getattr(error, "reason", "") or f"cannot be read: {error}"
    except Exception:  # another trajectory's file: say so, never fail
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
