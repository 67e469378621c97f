# Planning at parse time: the ordered runs, their point keys and the jobs. The plan is cached
# in a file named by its digest, which the run jobs and the merge read.
import os
import sys
from pathlib import Path

import pypet_sm.cluster
import pypet_sm.environment
import pypet_sm.plan
from pypet_sm.errors import PypetSmError
from snakemake.exceptions import WorkflowError

try:
    PLAN = pypet_sm.plan.from_config(config)
    pypet_sm.plan.save(PLAN)
except PypetSmError as error:
    raise WorkflowError(str(error)) from None

SETTINGS = PLAN.settings
STATE = str(SETTINGS.trajectory_state)
LOGS = str(SETTINGS.log_dir)
TRAJECTORY_FILE = SETTINGS.filename
JOBS = [f"{job:06d}" for job in range(PLAN.n_jobs)]
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
    try:
        pypet_sm.environment.start(SETTINGS, workflow)
    except PypetSmError as error:
        raise WorkflowError(str(error)) from None
