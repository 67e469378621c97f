# Planning at parse time: the ordered runs, their point keys and the jobs. The plan is cached
# in a file named by its digest, which the run jobs and the merge read.
import os
import sys
import time
from pathlib import Path

import pypet_sm.execute.cleanup
import pypet_sm.execute.cluster
import pypet_sm.provenance.environment
import pypet_sm.execute.failures
import pypet_sm.execute.plan
import pypet_sm.define.validate
import pypet_sm.execute.workflow_lock
from pypet_sm.errors import PypetSmError
from snakemake_interface_executor_plugins.settings import ExecMode
from snakemake.exceptions import WorkflowError

STARTED = time.time()
# the main snakemake process (not a cluster job's inner snakemake) locks the folder
MAIN_PROCESS = workflow.exec_mode == ExecMode.DEFAULT
try:
    if MAIN_PROCESS:
        WORKFLOW_LOCK = pypet_sm.execute.workflow_lock.acquire()
        if pypet_sm.execute.workflow_lock.remove_stale_snakemake_locks():
            print("pypet_sm: removed the lock of an earlier, killed snakemake", file=sys.stderr)
    PLAN = pypet_sm.execute.plan.from_config(config)
    if MAIN_PROCESS:
        pypet_sm.execute.cleanup.state_temps(PLAN.settings.trajectory_state)
    pypet_sm.execute.plan.save(PLAN)
except PypetSmError as error:
    raise WorkflowError(str(error)) from None

SETTINGS = PLAN.settings
STATE = str(SETTINGS.trajectory_state)
LOGS = str(SETTINGS.log_dir)
TRAJECTORY_FILE = SETTINGS.filename
# the merge's output is a record of the file it wrote, not the file (see validate.merge_record)
MERGED = str(pypet_sm.define.validate.merge_record(SETTINGS.trajectory_state))
if MAIN_PROCESS and pypet_sm.define.validate.forget_missing_trajectory(
    SETTINGS.trajectory_state, Path(TRAJECTORY_FILE)
):
    print(f"pypet_sm: {TRAJECTORY_FILE} is missing; merging again", file=sys.stderr)
JOBS = [f"{job:06d}" for job in range(PLAN.n_jobs)]


# a job with failed runs gets a new token, so Snakemake runs it again next time (pypet_sm/execute/failures.py)
RETRY_TOKENS = pypet_sm.execute.failures.tokens(SETTINGS.trajectory_state)


def retry_token(wildcards):
    return RETRY_TOKENS.get(int(wildcards.job) * PLAN.runs_per_job, "")


def job_log(job):
    return f"{LOGS}/jobs/job_{job:06d}.log"


# keep_going in the config wins; unset, Snakemake's --keep-going decides (onstart)
if config.get("keep_going") is not None:
    os.environ[pypet_sm.execute.failures.KEEP_GOING_ENV] = "1" if config["keep_going"] else "0"
PACKAGE_ROOT = str(Path(pypet_sm.__file__).parent.parent)
# Jobs call `python`: the interpreter running Snakemake comes first on PATH, so a venv works
# without activating it; with --sdm conda the job's environment is put before it.
envvars:
    "PATH",


os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"


wildcard_constraints:
    job=r"\d{6}",


# The invocation's environment (and git commit): only when jobs will run (never in a dry run,
# never for "nothing to be done"), only in the main process (cluster jobs get --no-hooks), so
# exactly one per invocation. Planning above runs at every parse, so it must not do this.
onstart:
    if workflow.execution_settings.keep_going and config.get("keep_going") is None:
        os.environ[pypet_sm.execute.failures.KEEP_GOING_ENV] = "1"
    try:
        pypet_sm.provenance.environment.start(SETTINGS, workflow)
    except PypetSmError as error:
        raise WorkflowError(str(error)) from None


onerror:
    for message in (
        pypet_sm.execute.failures.summary(PLAN, job_log),
        pypet_sm.execute.failures.merge_failure(f"{LOGS}/merge.log", STARTED),
    ):
        if message:
            print(message, file=sys.stderr)
