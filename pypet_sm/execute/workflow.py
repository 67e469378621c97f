"""What the workflow's rules need, made by one call at Snakefile parse time.

workflow/rules/common.smk calls `prepare(config, workflow)` once; the rules only declare
(inputs, outputs, params, resources, shell commands) from the `Sweep` it returns, and its
`onstart`/`onerror` hooks are one call each.

Rerun triggers. Snakemake reruns a job whose params, input, code (for a `shell:` rule the
rule's command as written, before formatting), software environment or input mtimes
changed. A run job's recorded params are only the digest naming its plan file (the job's
identity: what it computes with, pypet_sm/execute/identity.py) and its retry token. Commands
name plan files by digest and state folder, never by path (plans.file_in_state). What the job
needs at run time beside that (the settings file: trajectory comment, log level, folders;
keep-going; the `python -m pypet_sm` prefix) are `Unrecorded` params: Snakemake records
and compares only params of builtin types (str, int, list, dict, ...; anything else is
"unrepresentable" and left out, snakemake/persistence `_params`), and formats the shell
command with them only when the job runs. So changing them reruns no job, and a job that
runs (for another reason) gets the values of the invocation that runs it, never stale ones:
the settings file is named by the digest of all settings and never rewritten. A cluster
job's inner snakemake parses the same config and formats the command itself.
tests/test_e2e_identity.py checks both with `snakemake -n` and real runs.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pypet_sm
from pypet_sm import atomic
from pypet_sm.define import validate
from pypet_sm.define.config import Settings
from pypet_sm.errors import PypetSmError
from pypet_sm.execute import cleanup, cluster, failures, manifest, repair, store, workflow_lock
from pypet_sm.execute import plan as plans
from pypet_sm.execute.plan import Plan
from pypet_sm.provenance import environment

# What the main snakemake decided for its jobs in `onstart`, for the inner snakemake of a
# cluster job (which runs no hooks and is not told Snakemake's --keep-going).
INVOCATION = "invocation.json"
# A run job that fails for a reason other than failed runs says why in the last line of its
# log, after this prefix (pypet_sm/execute/job.py); onerror shows that line.
JOB_REASON = "pypet_sm: "


class Unrecorded:
    """A param that Snakemake passes to the shell command but never records: not a builtin
    type, so no rerun trigger (see above). Its text is computed when the command is
    formatted, when the job runs, so it can carry what onstart decides."""

    def __init__(self, text: Callable[[], str]) -> None:
        self._text = text

    def __str__(self) -> str:
        return self._text()

    def __repr__(self) -> str:
        return f"Unrecorded({self._text()!r})"


@dataclass
class Sweep:
    """The plan and everything the rules and hooks read from it."""

    plan: Plan
    main: bool  # the main snakemake process, not a cluster job's inner snakemake
    keep_going_config: bool | None  # config.yaml's keep_going; None: Snakemake's --keep-going
    retry_tokens: dict[int, str]
    started: float = field(default_factory=time.time)
    lock: IO[str] | None = None  # held while the process lives (workflow_lock)
    snakemake_keep_going: bool | None = None  # set by onstart in the main process
    search: Any = None  # the rounds of post-processing (pypet_sm/postproc/search.py), if any

    # what the rules name -----------------------------------------------------------------
    @property
    def settings(self) -> Settings:
        return self.plan.settings

    @property
    def state(self) -> str:
        return str(self.settings.trajectory_state)

    @property
    def logs(self) -> str:
        return str(self.settings.log_dir)

    @property
    def trajectory_file(self) -> str:
        return self.settings.filename

    @property
    def merged(self) -> str:
        """The merge's output: a record of the file it wrote (see validate.merge_record)."""
        return str(validate.merge_record(self.settings.trajectory_state))

    @property
    def jobs(self) -> list[str]:
        return [f"{job:06d}" for job in range(self.plan.n_jobs)]

    @property
    def plan_digest(self) -> str:
        """The whole plan, named by the digest of everything the merge reads (all settings
        but the resources): the merge's param, so merge-only settings rerun the merge alone.
        Plan files are named by digest on the command line, never by path, so they are read
        from the state folder only (plans.file_in_state)."""
        return self.plan.path.stem.split("-", 1)[1]

    @property
    def settings_digest(self) -> Unrecorded:
        """What run jobs need beside what they compute with: all current settings."""
        return Unrecorded(lambda: self.plan.settings_path.stem.split("-", 1)[1])

    @property
    def state_folder(self) -> Unrecorded:
        """Where the commands read plan files from; named by the output paths already."""
        return Unrecorded(lambda: self.state)

    @property
    def threads(self) -> int:
        return self.settings.resources.cpus_per_task

    @property
    def resources(self) -> dict[str, Any]:
        return cluster.run_job_resources(self.settings.resources, self.plan.runs_per_job)

    @property
    def python(self) -> Unrecorded:
        """The start of every rule's command: this pypet_sm's `python -m pypet_sm` (where
        pypet_sm is installed changes what runs no more than its version does)."""
        root = shlex.quote(str(Path(pypet_sm.__file__).parent.parent))
        prefix = f"PYTHONPATH={root}${{PYTHONPATH:+:$PYTHONPATH}} python -m pypet_sm"
        return Unrecorded(lambda: prefix)

    def job_plan_digest(self, wildcards: Any) -> str:
        return self.plan.job_plan_path(int(wildcards.job)).stem.split("-", 1)[1]

    def retry_token(self, wildcards: Any) -> str:
        """A job with failed runs gets a new token, so Snakemake runs it again next time."""
        return self.retry_tokens.get(int(wildcards.job) * self.plan.runs_per_job, "")

    def job_log(self, job: int) -> str:
        return f"{self.logs}/jobs/job_{job:06d}.log"

    # keep going ----------------------------------------------------------------------------
    @property
    def keep_going(self) -> bool:
        """config.yaml's keep_going wins; unset, Snakemake's --keep-going decides (onstart)."""
        if self.keep_going_config is not None:
            return self.keep_going_config
        if self.main:
            return bool(self.snakemake_keep_going)
        try:  # a cluster job: what the main snakemake decided
            record = json.loads((self.settings.trajectory_state / INVOCATION).read_text())
        except (OSError, ValueError):
            return False
        return bool(record.get("keep_going")) if isinstance(record, dict) else False

    @property
    def keep_going_option(self) -> Unrecorded:
        """`--keep-going` or nothing, decided when the job runs (after onstart)."""
        return Unrecorded(lambda: "--keep-going" if self.keep_going else "")

    # hooks ---------------------------------------------------------------------------------
    def onstart(self, workflow: Any) -> None:
        """The invocation's environment (and git commit): only when jobs will run, only in the
        main process (cluster jobs get --no-hooks), so exactly one per invocation."""
        self.snakemake_keep_going = bool(workflow.execution_settings.keep_going)
        record = json.dumps({"keep_going": self.keep_going})
        atomic.write_text(self.settings.trajectory_state / INVOCATION, record)
        try:
            environment.start(self.settings, workflow)
        except PypetSmError as error:
            raise _workflow_error(error) from None

    def onerror(self) -> None:
        """Name the failed runs, the run jobs that failed for another reason (the last line
        of their log), and the merge's error, if any."""
        for message in (
            failures.summary(self.plan, self.job_log),
            *self.job_errors(),
            failures.merge_failure(Path(self.logs) / "merge.log", self.started),
        ):
            if message:
                print(message, file=sys.stderr)

    def onsuccess(self) -> None:
        """Runs that failed but were merged (keep going) are named on the terminal too: the
        exit status 0 alone would hide them."""
        if not self.keep_going:
            return
        summary = failures.summary(self.plan, self.job_log)
        if not summary:
            return
        why = (
            "keep_going: true in the config"
            if self.keep_going_config
            else "snakemake's --keep-going"
        )
        record = validate.merge_record(self.settings.trajectory_state)
        try:
            merged = record.stat().st_mtime >= self.started
        except OSError:
            merged = False
        where = (
            f"{self.trajectory_file} holds them with completed = 0"
            if merged
            else "no trajectory file was merged in this invocation"
        )
        print(
            f"{summary}\npypet_sm: the exit status is 0 because of {why}, although runs "
            f"failed: {where}; run snakemake again to compute them",
            file=sys.stderr,
        )

    def job_errors(self) -> list[str]:
        """For each run job that failed in this invocation (no manifest) and whose log ends
        with the job's own reason (a last line `pypet_sm: ...`), that reason with the job."""
        found = []
        for job in range(self.plan.n_jobs):
            log = Path(self.job_log(job))
            try:
                if log.stat().st_mtime < self.started:
                    continue
            except OSError:
                continue
            if manifest.path(self.settings.trajectory_state, job).exists():
                continue
            reason = _last_line(log)
            if reason.startswith(JOB_REASON):
                found.append(
                    f"pypet_sm: run job {job:06d} failed: {reason[len(JOB_REASON) :]} (log {log})"
                )
        return found


def prepare(config: dict[str, Any], workflow: Any) -> Sweep:
    """The parse-time work of the workflow: lock the folder, plan, clean up, save the plan."""
    from snakemake_interface_executor_plugins.settings import ExecMode

    started = time.time()
    main = workflow.exec_mode == ExecMode.DEFAULT
    lock = None
    try:
        if main:
            lock = workflow_lock.acquire()
            if workflow_lock.remove_stale_snakemake_locks():
                print("pypet_sm: removed the lock of an earlier, killed snakemake", file=sys.stderr)
        plan = plans.from_config(config)
        if main:
            cleanup.state_temps(plan.settings.trajectory_state)
        plans.save(plan)
        search = None
        if plan.settings.postprocessing is not None:
            from pypet_sm.postproc.search import Search

            search = Search(config, plan)  # the rounds finished before: their points planned
            plan = search.latest
    except PypetSmError as error:
        raise _workflow_error(error) from None
    settings = plan.settings
    if main and validate.forget_missing_trajectory(
        settings.trajectory_state, Path(settings.filename)
    ):
        print(f"pypet_sm: {settings.filename} is missing; merging again", file=sys.stderr)
    tokens = failures.tokens(settings.trajectory_state)
    if main:
        tokens.update(_repairs(plan))
    # jobs call `python`: the interpreter running Snakemake comes first on PATH, so a venv
    # works without activating it (the rules pass PATH on as an envvar)
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    sweep = Sweep(
        plan,
        main,
        config.get("keep_going"),
        tokens,
        started=started,
        lock=lock,
        search=search,
    )
    if search is not None:
        search.sweep = sweep
    return sweep


def _repairs(plan: Plan) -> dict[int, str]:
    """Retry tokens for the finished jobs that must run again (pypet_sm/execute/repair.py),
    named on the terminal; the store's scan cache and strays are brought up to date."""
    state = plan.settings.trajectory_state
    try:
        seen = repair.fingerprint(plan)
        if repair.known_clean(plan, seen):
            return {}
        index = store.scan(state, write_cache=True)
        jobs = [
            (runs.start, plan.keys[runs.start : runs.stop])
            for runs in map(plan.job_runs, range(plan.n_jobs))
        ]
        store.write_strays(state, index, jobs)
        found = repair.check(plan, index, finished_only=True)
        if not found.broken:
            if index.legacy is None:  # an old store's files are not in the fingerprint
                repair.remember_clean(plan, repair.fingerprint(plan))
            return {}
        tokens = failures.repair_tokens(state, [plan.job_runs(job).start for job in found.broken])
    except OSError as error:
        raise _workflow_error(
            PypetSmError(f"cannot read or update the fragment store: {error}")
        ) from None
    problems = found.runs()
    shown = "; ".join(problems[:5]) + (
        f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
    )
    print(
        f"pypet_sm: {len(found.broken)} finished run job(s) run again to compute what is "
        f"damaged, foreign or missing: {shown}",
        file=sys.stderr,
    )
    return tokens


def _last_line(path: Path, tail: int = 8192) -> str:
    """The last non-empty line of a file (its last `tail` bytes are read)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, handle.seek(0, os.SEEK_END) - tail))
            lines = handle.read().decode(errors="replace").splitlines()
    except OSError:
        return ""
    return next((line.strip() for line in reversed(lines) if line.strip()), "")


def _workflow_error(error: PypetSmError) -> Exception:
    """Snakemake shows a WorkflowError as one message, without a traceback."""
    from snakemake.exceptions import WorkflowError

    return WorkflowError(str(error))
