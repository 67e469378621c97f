"""What a run job asks a cluster for, and what a run learns from the batch system.

config.yaml's `resources:` holds estimates for ONE run; a run job of K runs asks for K times
the run time (its runs execute one after another in one process, so memory and cores do not
grow with K). Local runs use only `cpus_per_task` (as the job's threads); executors for
clusters (SLURM, cluster-generic, ...) submit with all of them.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, fields
from typing import Any

from pypet_sm.errors import ConfigError

# Added to every run job's time: the job's own snakemake and the Python imports, which take a
# minute on a busy cluster file system.
STARTUP_MINUTES = 2
# Run time asked for beyond the estimate, so a job a little slower than estimated still ends.
RUNTIME_MARGIN = 1.5
# A run job's time when config.yaml gives no seconds_per_run.
UNKNOWN_RUNTIME_MINUTES = 60
# Memory of a run job beside its runs: the job's snakemake, Python, numpy, PyTables.
JOB_BASE_MB = 500

# Account and partition from SLURM's own variables for sbatch, when the user has set them
# (the SLURM executor would otherwise pass its own guesses on sbatch's command line).
SLURM_VARIABLES = {"slurm_account": "SBATCH_ACCOUNT", "slurm_partition": "SBATCH_PARTITION"}
# The name of the node a batch job runs on, per batch system.
JOB_VARIABLES = ("SLURM_JOB_ID", "PBS_JOBID", "LSB_JOBID", "JOB_ID")
NODE_VARIABLES = ("SLURMD_NODENAME",)


@dataclass(frozen=True)
class ResourceSettings:
    """config.yaml's `resources:`: estimates for one run, and the length a job aims at."""

    seconds_per_run: float | None = None  # None: unknown
    mem_mb_per_run: int = 500
    cpus_per_task: int = 1
    job_minutes: float = 10.0  # `runs_per_job: auto` makes jobs about this long

    def runtime_minutes(self, runs: int, attempt: int = 1) -> int:
        """SLURM-style run time of a job of `runs` runs; a retry gets `attempt` times as much
        (a job killed at its time limit keeps its finished runs; the retry skips them)."""
        if self.seconds_per_run is None:
            minutes = UNKNOWN_RUNTIME_MINUTES
        else:
            minutes = math.ceil(RUNTIME_MARGIN * runs * self.seconds_per_run / 60)
            minutes += STARTUP_MINUTES
        return minutes * attempt

    def walltime(self, runs: int, attempt: int = 1) -> str:
        """The run time as HH:MM:SS, for batch systems that want it so (PBS, SGE)."""
        minutes = self.runtime_minutes(runs, attempt)
        return f"{minutes // 60:02d}:{minutes % 60:02d}:00"

    def mem_mb(self, attempt: int = 1) -> int:
        """Memory of a run job (one run at a time), more for a retry (as after an OOM kill)."""
        return (JOB_BASE_MB + self.mem_mb_per_run) * attempt


def resource_settings(section: Any) -> ResourceSettings:
    """The `resources:` section, checked; errors name the field."""
    section = section or {}
    if not isinstance(section, dict):
        raise ConfigError("resources", f"expected a mapping, got {section!r}")
    known = [f.name for f in fields(ResourceSettings)]
    for key in section:
        if key not in known:
            raise ConfigError(f"resources.{key}", f"unknown setting; known: {', '.join(known)}")

    def number(key: str, integer: bool, allow_none: bool = False) -> Any:
        value = section.get(key, getattr(ResourceSettings, key))
        if value is None and allow_none:
            return None
        kinds = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds) or value <= 0:
            kind = "an integer" if integer else "a number"
            raise ConfigError(f"resources.{key}", f"expected {kind} > 0, got {value!r}")
        return value

    return ResourceSettings(
        seconds_per_run=number("seconds_per_run", False, allow_none=True),
        mem_mb_per_run=number("mem_mb_per_run", True),
        cpus_per_task=number("cpus_per_task", True),
        job_minutes=number("job_minutes", False),
    )


def run_job_resources(settings: ResourceSettings, runs_per_job: int) -> dict[str, Any]:
    """The run rule's Snakemake resources: runtime (minutes; also as walltime HH:MM:SS for
    cluster-generic submit commands) and mem_mb grow with the attempt; cpus_per_task;
    account and partition from SBATCH_ACCOUNT / SBATCH_PARTITION."""
    resources: dict[str, Any] = {
        "runtime": lambda wildcards, attempt: settings.runtime_minutes(runs_per_job, attempt),
        "walltime": lambda wildcards, attempt: settings.walltime(runs_per_job, attempt),
        "mem_mb": lambda wildcards, attempt: settings.mem_mb(attempt),
        "cpus_per_task": settings.cpus_per_task,
    }
    for resource, variable in SLURM_VARIABLES.items():
        if os.environ.get(variable):
            resources[resource] = os.environ[variable]
    return resources


def _first_set(variables: tuple[str, ...]) -> str:
    for variable in variables:
        value = os.environ.get(variable)
        if value:
            return value
    return ""


def node_name() -> str:
    """The batch system's name of the node this job runs on (SLURM), or ""."""
    return _first_set(NODE_VARIABLES)


def job_id() -> str:
    """The batch system's id of this job (SLURM, PBS/Torque, LSF, SGE), or ""."""
    return _first_set(JOB_VARIABLES)
