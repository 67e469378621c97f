"""The merge: every run's record, in run order, into one pypet-layout trajectory file.

The only writer of the trajectory file. It first checks that every run has a valid record
in the fragment store (reading only headers), then streams the records through the writer
into a temp file and renames it into place: a crash leaves the previous file untouched. It
never computes a run (see `_check_fragments`).
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
from pypet_sm.execute import cleanup, repair, store
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


def _check_fragments(plan: Plan, index: store.Index) -> repair.Check:
    """Every manifest and run record, checked; stops with the runs and jobs still broken.

    The merge never computes (it runs on the submitting host): damaged, foreign or missing
    records and manifests are found at parse time and their jobs run as run jobs
    (pypet_sm/execute/repair.py). Failed runs are merged (marked not completed): their jobs
    only succeed when the workflow keeps going past failed runs.
    """
    found = repair.check(plan, index, finished_only=False)
    if found.broken:
        problems = found.runs()
        for problem in problems[:20]:
            logger.warning("%s", problem)
        if len(problems) > 20:
            logger.warning("... and %d more problems", len(problems) - 20)
        store.forget_cache(plan.settings.trajectory_state)
        jobs = ", ".join(f"{job:06d}" for job in list(found.broken)[:10])
        raise FragmentError(
            f"cannot merge: {len(problems)} runs or manifests are damaged, foreign or missing "
            f"({'; '.join(problems[:3])}{' ...' if len(problems) > 3 else ''}) in the run "
            f"jobs {jobs}{' ...' if len(found.broken) > 10 else ''}: run snakemake again, "
            "which computes them again in their run jobs"
        )
    if found.failed:
        failed = found.failed
        shown = ", ".join(failed[:10]) + (" ..." if len(failed) > 10 else "")
        logger.warning(
            "%d runs failed (%s): merged with completed = 0, their errors in "
            "%s; the next snakemake invocation computes them again",
            len(failed),
            shown,
            FAILED_RUNS_PATH,
        )
    return found


def _runs(
    plan: Plan,
    index: store.Index,
    keys: list[str | None],
    hexshas: dict[str, str],
    start: int = 0,
    live: bool = False,
) -> Iterator[RunRecord]:
    """The run records of the runs from `start` on, `keys` their point keys. `live` (a
    sweep still running): runs without a record, or whose record cannot be read or
    stored, are left out (the writer marks them not completed) instead of stopping."""
    for idx, key in enumerate(keys, start):
        entry = None if key is None else index.entry(key)
        if entry is None and live:
            continue
        assert entry is not None  # checked
        try:
            run = index.read_run(entry)
        except Exception as error:  # damaged after the check: say which record
            if live:  # removed meanwhile (`pypet-sm forget`): not finished, as far as we know
                continue
            store.forget_cache(plan.settings.trajectory_state)
            raise FragmentError(
                f"the record of {run_name(idx)} was damaged during the merge ({error}): "
                "run snakemake again to compute that run again"
            ) from None
        # written before runs checked their items: one line naming the run, not a traceback
        problem = writable.check_run(run) if run.completed else None
        if problem is not None and live:  # the merge will name it
            continue
        if problem is not None:
            raise FragmentError(
                f"{run_name(idx)}: its record in {entry.source} holds what the trajectory file "
                f"cannot store ({problem}); remove its record (pypet_sm.execute.store.discard) "
                "and run snakemake again to compute the run again"
            )
        # the run record of this trajectory's run idx, whatever index it was computed as
        run.idx, run.name = idx, run_name(idx)
        run.environment_hexsha = hexshas.get(run.environment)
        yield run


def trajectory_record(plan: Plan, index: store.Index | None = None) -> TrajectoryRecord:
    """The record the writer needs, with runs streamed from the fragments (of `index`, the
    store's, when the caller has scanned it already)."""
    settings = plan.settings
    if index is None:
        index = store.scan(settings.trajectory_state, write_cache=True)
    found = _check_fragments(plan, index)
    # the environment merging now is part of the trajectory's history even when it only
    # merged (e.g. an extension whose new points were all computed before)
    merging = environment.current(settings)
    return record_of(plan, index, found, {merging.name})


def record_of(
    plan: Plan, index: store.Index, found: repair.Check, merging: set[str], live: bool = False
) -> TrajectoryRecord:
    """The writer's record of `plan` with the runs `found` in `index` (`_runs`' `live`);
    `merging`: environments to record besides those that finished runs."""
    settings = plan.settings
    finished = found.environments
    environments = environment.load(settings, set(finished) | merging)
    for record in environments:
        record.finish_timestamp = finished.get(record.name)
    hexshas = {env.name: env.hexsha for env in environments}
    return TrajectoryRecord(
        name=settings.name,
        comment=settings.comment,
        file_title=settings.file_title,
        timestamp=environments[0].timestamp if environments else time.time(),
        parameters=[
            Parameter(p.name, {"data": p.value}, p.comment, p.class_name, p.explored)
            for p in plan.parameters
        ],
        runs=_runs(plan, index, found.keys, hexshas, live=live),
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
    index = decision.fingerprint.index
    first = decision.first_run
    hexshas = {env.name: env.hexsha for env in record.environments}
    runs = _runs(plan, index, list(plan.keys[first:]), hexshas, start=first)
    return dataclasses.replace(record, runs=runs)


def merge(plan: Plan, output: str | Path) -> Path:
    """Write the trajectory file of `plan` to `output` atomically, then the merge record
    (`validate.merge_record`, the merge rule's output)."""
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
        index = store.scan(state, write_cache=True)  # once: for the record and the decision
        record = trajectory_record(plan, index)
        checked = time.perf_counter()
        decision = incremental.decide(plan, output, record, index)
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
