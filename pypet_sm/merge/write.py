"""The merge: every run's fragment, in run order, into one pypet-layout trajectory file.

The only writer of the trajectory file. It first checks that every run has a completed
fragment (reading only headers), then streams the fragments through the writer into a temp
file and renames it into place: a crash leaves the previous file untouched.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import logging
import os
import resource
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from pypet_sm.atomic import atomic_path
from pypet_sm.define import validate
from pypet_sm.errors import FragmentError, PypetSmError
from pypet_sm.execute import cleanup, fragment
from pypet_sm.execute import manifest as manifests
from pypet_sm.execute.plan import Plan, run_name
from pypet_sm.hdf5 import writable
from pypet_sm.hdf5.layout import FAILED_RUNS_PATH
from pypet_sm.hdf5.records import Item, Parameter, RunRecord, TrajectoryRecord
from pypet_sm.merge import incremental
from pypet_sm.provenance import environment

logger = logging.getLogger("pypet_sm.merge.write")
# what the user must see on the terminal too (`python -m pypet_sm merge --notices-fd`)
notice = logging.getLogger("pypet_sm.notice")
SHOWN = 10  # node paths named in one message


def _scan(
    plan: Plan, paths: list[Path]
) -> tuple[dict[int, list[str]], list[str], dict[str, float | None]]:
    """Check every manifest and fragment: (jobs to repair -> what is wrong, failed runs,
    environments that computed the runs -> when their last run finished)."""
    state = plan.settings.trajectory_state
    broken: dict[int, list[str]] = {}
    for job in range(plan.n_jobs):
        runs = plan.job_runs(job)
        problem = manifests.problem(
            manifests.path(state, job), plan.job_digest(job), runs.start, runs.stop - 1
        )
        if problem:
            first, last = runs.start, runs.stop - 1
            broken.setdefault(job, []).append(f"manifest of runs {first}-{last}: {problem}")
    failed: list[str] = []
    environments: dict[str, float | None] = {}
    for idx, (key, path) in enumerate(zip(plan.keys, paths, strict=True)):
        status, reason, header = fragment.inspect(path, key)
        if header is not None:
            name, finish = header["environment"], header.get("finish")
            known = environments.get(name)
            environments[name] = finish if known is None else max(known, finish or known)
            if status == fragment.FAILED:
                failed.append(run_name(idx))
            continue
        what = f"{run_name(idx)}: fragment {path} is {status}" + (f" ({reason})" if reason else "")
        broken.setdefault(idx // plan.runs_per_job, []).append(what)
    return broken, failed, environments


def _check_fragments(
    plan: Plan, paths: list[Path], keep_going: bool = False
) -> dict[str, float | None]:
    """Environments that computed the runs -> when their last run finished, after
    repairing what is broken.

    Any job with a missing, damaged or foreign manifest or fragment is run again here; it
    skips its runs whose fragments are valid, so only the runs whose fragment is bad are
    computed again and nothing damaged is ever merged. Failed runs are merged (marked not
    completed): their jobs only succeed when the workflow keeps going past failed runs.
    """
    from pypet_sm.execute.job import run_job

    broken, failed, environments = _scan(plan, paths)
    for job, problems in broken.items():
        for problem in problems[:20]:
            logger.warning("%s", problem)
        if len(problems) > 20:
            logger.warning("... and %d more problems in that job", len(problems) - 20)
        runs = plan.job_runs(job)
        logger.warning(
            "computing job of runs %d-%d again before merging", runs.start, runs.stop - 1
        )
        manifest = manifests.path(plan.settings.trajectory_state, job)
        run_job(plan.job_plan(job), manifest, keep_going=keep_going)
    if broken:
        still, failed, environments = _scan(plan, paths)
        if still:
            raise FragmentError(
                "cannot merge: still broken after computing again: "
                + "; ".join(next(iter(still.values()))[:3])
            )
    if failed:
        shown = ", ".join(failed[:10]) + (" ..." if len(failed) > 10 else "")
        logger.warning(
            "%d runs failed (%s): merged with completed = 0, their errors in "
            "%s; the next snakemake invocation computes them again",
            len(failed),
            shown,
            FAILED_RUNS_PATH,
        )
    return environments


def _runs(
    plan: Plan, paths: list[Path], hexshas: dict[str, str], start: int = 0
) -> Iterator[RunRecord]:
    """The run records of the runs from `start` on, `paths` their fragments."""
    for idx, path in enumerate(paths, start):
        try:
            run = fragment.read_run(path)
        except Exception as error:  # damaged after the check: say which file
            raise FragmentError(
                f"fragment of {run_name(idx)} ({path}) was damaged during the merge: {error}; "
                "run snakemake again to compute that run again"
            ) from None
        # written before runs checked their items: one line naming the run, not a traceback
        problem = writable.check_run(run) if run.completed else None
        if problem is not None:
            raise FragmentError(
                f"{run_name(idx)}: its fragment {path} holds what the trajectory file cannot "
                f"store ({problem}); delete that fragment and run snakemake again to compute "
                "the run again"
            )
        # the run record of this trajectory's run idx, whatever index it was computed as
        run.idx, run.name = idx, run_name(idx)
        run.environment_hexsha = hexshas.get(run.environment)
        yield run


def trajectory_record(plan: Plan, keep_going: bool = False) -> TrajectoryRecord:
    """The record the writer needs, with runs streamed from the fragments."""
    settings = plan.settings
    directory = fragment.fragment_dir(settings.trajectory_state)
    paths = [fragment.fragment_path(directory, key) for key in plan.keys]
    finished = _check_fragments(plan, paths, keep_going)
    # the environment merging now is part of the trajectory's history even when it only
    # merged (e.g. an extension whose new points were all computed before)
    merging = environment.current(settings)
    environments = environment.load(settings, set(finished) | {merging.name})
    for record in environments:
        record.finish_timestamp = finished.get(record.name)
    return TrajectoryRecord(
        name=settings.name,
        comment=settings.comment,
        file_title=settings.file_title,
        timestamp=environments[0].timestamp if environments else time.time(),
        parameters=[
            Parameter(p.name, {"data": p.value}, p.comment, p.class_name, p.explored)
            for p in plan.parameters
        ],
        runs=_runs(plan, paths, {env.name: env.hexsha for env in environments}),
        length=len(plan),
        explored_order=list(plan.explored_names),
        settings=settings.storage,
        environments=environments,
        config=[
            Item(c.name, {"data": c.value}, c.comment, c.class_name) for c in plan.config_items
        ],
    )


class WriteError(PypetSmError):
    """The trajectory file could not be written (full disk, file size limit, I/O error)."""


def _read_back(path: Path, plan: Plan) -> None:
    """Check the written file before it replaces the previous one: HDF5 does not always
    report a failed write (at a file size limit it stops at the limit and says nothing)."""
    from pypet_sm.hdf5.reader import TrajectoryFile

    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    stat = path.stat()
    if limit != resource.RLIM_INFINITY and stat.st_size >= limit:
        raise OSError(errno.EFBIG, f"the file reached the size limit of {limit} bytes")
    # On a full disk HDF5 loses the data it flushes at close without an error and leaves
    # holes: bytes that are not allocated and could not be, with the disk as full as it is.
    missing = stat.st_size - stat.st_blocks * 512
    if missing > 0:
        disk = os.statvfs(path.parent)
        free = disk.f_bavail * disk.f_frsize
        if free < missing + 2**20:
            raise OSError(
                errno.ENOSPC,
                f"No space left on device: {missing / 2**20:.1f} MB of the file could not be "
                f"written, {free / 2**20:.1f} MB are free",
            )
    try:
        with TrajectoryFile(path) as stored:
            runs = stored.trajectory(plan.settings.name).runs_count()
    except Exception as error:
        raise OSError(errno.EIO, f"the written file cannot be read back: {error}") from None
    if runs != len(plan):
        raise OSError(errno.EIO, f"the written file holds {runs} runs instead of {len(plan)}")


def _write_failure(output: Path, error: BaseException) -> str:
    """Say what happened to a merge that could not write, and that nothing was lost."""
    reasons = {
        errno.ENOSPC: "the disk is full",
        errno.EDQUOT: "the disk quota is exceeded",
        errno.EFBIG: "the file size limit (ulimit -f) is exceeded",
    }
    text = str(error)
    reason = reasons.get(getattr(error, "errno", None) or 0)
    if reason is None:
        lowered = text.lower()
        if "no space left" in lowered or "truncated file" in lowered:
            reason = reasons[errno.ENOSPC]
        elif "file too large" in lowered:
            reason = reasons[errno.EFBIG]
        else:
            reason = "writing failed"
    detail = text.strip().splitlines()[-1] if text.strip() else type(error).__name__
    previous = (
        f"the previous {output} is unchanged"
        if output.exists()
        else f"{output} was not written (there was none before)"
    )
    return (
        f"cannot write the trajectory file {output}: {reason} ({detail[:300]}). {previous}, "
        f"no temp file is left and every run is kept: free space in {output.parent.resolve()} "
        "(or choose another trajectory.filename) and run snakemake again; only the merge runs."
    )


def _named(paths: list[str]) -> str:
    shown = ", ".join(paths[:SHOWN])
    return shown + (f" and {len(paths) - SHOWN} more" if len(paths) > SHOWN else "")


def _keep_beside(output: Path) -> Path:
    """The file at `output`, as it is, under a second name beside it."""
    backup = output.with_name(f"{output.name}.bak-{time.strftime('%Y%m%d-%H%M%S')}")
    if backup.exists():
        backup = output.with_name(f"{backup.name}-{os.getpid()}")
    try:
        os.link(output, backup)  # no copy: the merge replaces `output` by a new file
    except OSError:  # a file system without hard links
        with atomic_path(backup) as tmp:
            shutil.copy2(output, tmp)
    return backup


def _carry_over(output: Path, new: Path, name: str) -> None:
    """Copy what the user stored in the previous file into the new one; keep the previous
    file beside the new one when some of it cannot be carried over."""
    from pypet_sm.hdf5.carry import carry_over

    try:
        carried = carry_over(output, new, name)
    except Exception as error:  # whatever the file holds: keep it whole rather than lose it
        backup = _keep_beside(output)
        notice.warning(
            "kept the previous trajectory file as %s: what was stored in it since the last "
            "merge could not be copied into the new %s (%s)",
            backup,
            output,
            str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__,
        )
        return
    if carried.carried:
        notice.info(
            "carried over into the new %s what you stored in it since the last merge "
            "(%d nodes and attributes): %s",
            output,
            len(carried.carried),
            _named(carried.carried),
        )
    if carried.left:
        backup = _keep_beside(output)
        notice.warning(
            "kept the previous trajectory file as %s: the new %s cannot hold %d of the "
            "nodes or attributes stored in it since the last merge: %s",
            backup,
            output,
            len(carried.left),
            _named(carried.left),
        )


@contextlib.contextmanager
def target_lock(output: Path) -> Iterator[None]:
    """Hold an exclusive lock on the trajectory file's folder while checking and replacing
    the file: two explorations (say, from two project folders) that name the same file cannot
    both find it absent or their own; the second waits, then sees the first's trajectory and
    refuses to replace it."""
    output.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(output.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            logger.info("waiting for another merge into %s to finish", output.parent)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _write_all(tmp: Path, record: TrajectoryRecord, fingerprint: incremental.Fingerprint) -> None:
    """The full merge: every run into a new file."""
    from pypet_sm.hdf5.writer import write_trajectory

    record = dataclasses.replace(record, runs=fingerprint.wrap(record.runs))
    write_trajectory(tmp, record, lambda: incremental.state(record, fingerprint))


def _new_runs(
    plan: Plan, record: TrajectoryRecord, decision: incremental.Decision
) -> TrajectoryRecord:
    """`record` with the runs from `decision.first_run` on: those not in the file yet."""
    directory = fragment.fragment_dir(plan.settings.trajectory_state)
    first = decision.first_run
    paths = [fragment.fragment_path(directory, key) for key in plan.keys[first:]]
    hexshas = {env.name: env.hexsha for env in record.environments}
    runs = _runs(plan, paths, hexshas, start=first)
    return dataclasses.replace(record, runs=runs)


def merge(plan: Plan, output: str | Path, keep_going: bool = False) -> Path:
    """Write the trajectory file of `plan` to `output` atomically, then the merge record
    (`validate.merge_record`, the merge rule's output). `keep_going`: a job computed again
    here (a fragment was damaged) keeps going past failed runs, as the run jobs did."""
    started = time.perf_counter()
    output = Path(output)
    with target_lock(output):
        validate.existing_trajectory(output, plan.settings.name, plan.settings.trajectory_state)
        if cleanup.merge_temps(output):
            logger.info("removed the temp file of an earlier merge that was killed")
        # a file changed since the last merge wrote it may hold what the user stored there
        # (Snakemake deletes the merge record, the rule's output, before the merge runs: the
        # incremental merge's record of the file says whether it is unchanged; without it
        # every merge walked the whole previous file, 200 s at 100,000 runs)
        state = plan.settings.trajectory_state
        stored = output.is_file() and not (
            validate.written_by_us(state, output) or incremental.unchanged(state, output)
        )
        record = trajectory_record(plan, keep_going)
        checked = time.perf_counter()
        decision = incremental.decide(plan, output, record)
        logger.info(
            "%s merge: %s (fragments checked in %.2f s, decided in %.2f s)",
            "incremental" if decision.incremental else "full",
            decision.reason,
            checked - started,
            time.perf_counter() - checked,
        )
        try:
            with atomic_path(output) as tmp:
                if decision.incremental:
                    incremental.append(output, tmp, _new_runs(plan, record, decision), decision)
                else:
                    _write_all(tmp, record, decision.fingerprint)
                # checked before carrying anything over: HDF5 may have stopped at a size limit
                # or a full disk without a word, and a carry-over would open a broken file
                _read_back(tmp, plan)
                if stored:
                    _carry_over(output, tmp, plan.settings.name)
                    _read_back(tmp, plan)
        except OSError as error:  # the writer gives HDF5's own errors as errors.HDF5Error
            raise WriteError(_write_failure(output, error)) from None
        validate.record_written(plan.settings.trajectory_state, output)
        incremental.remember(plan.settings.trajectory_state, output)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    logger.info(
        "merged %d runs into %s in %.2f s, peak memory %.0f MB",
        len(plan),
        output,
        time.perf_counter() - started,
        peak_mb,
    )
    return output
