"""The plan: the ordered single runs of a trajectory, their point keys, and the run jobs.

Built at Snakefile parse time (so it must be fast) and cached in a file named by its digest;
run jobs and the merge read that file instead of planning again.
"""

from __future__ import annotations

import hashlib
import math
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import atomic
from .config import AUTO, Settings, build_trajectory, load_settings
from .trajectory import Trajectory
from .values import canonical

KEY_VERSION = b"pypet_sm point key v1\0"

# Jobs of K runs amortise the per-job cost (Snakemake scheduling and a Python process, about
# 0.1-0.3 s) over K runs; a bounded job count keeps planning and scheduling cheap, while
# enough jobs remain to keep every core busy and to make resume granular.
AUTO_MIN_JOBS = 8
AUTO_MAX_JOBS = 256
AUTO_RUNS_PER_JOB = 100


@dataclass
class ParameterSpec:
    """A trajectory parameter as the plan carries it."""

    name: str  # full name without the `parameters.` prefix
    value: Any
    comment: str
    class_name: str
    explored: list[Any] | None


@dataclass
class Plan:
    settings: Settings
    parameters: list[ParameterSpec]
    config_items: list[ParameterSpec]
    explored_names: list[str]  # in exploration order, without `parameters.`
    keys: list[str]  # one point key per run, in run order
    runs_per_job: int
    digest: str = ""

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def n_jobs(self) -> int:
        return math.ceil(len(self.keys) / self.runs_per_job)

    def job_runs(self, job: int) -> range:
        start = job * self.runs_per_job
        if not 0 <= start < len(self.keys):
            raise IndexError(f"job {job} does not exist; the plan has {self.n_jobs} jobs")
        return range(start, min(start + self.runs_per_job, len(self.keys)))

    def job_digest(self, job: int) -> str:
        """Changes whenever any point of the job changes, so Snakemake reruns the job."""
        runs = self.job_runs(job)
        return hashlib.sha1("".join(self.keys[runs.start : runs.stop]).encode()).hexdigest()

    def explored_columns(self) -> dict[str, list[Any]]:
        """Explored parameter name -> its values, one per run, in exploration order."""
        by_name = {p.name: p.explored for p in self.parameters}
        return {name: by_name[name] for name in self.explored_names}

    def run_values(self, idx: int) -> dict[str, Any]:
        """The explored values of run `idx`."""
        return {name: column[idx] for name, column in self.explored_columns().items()}

    @property
    def path(self) -> Path:
        return plan_path(self.settings, self.digest)


def run_name(idx: int) -> str:
    return f"run_{idx:08d}"


def plan_path(settings: Settings, digest: str) -> Path:
    return settings.trajectory_state / "plans" / f"plan-{digest[:16]}.pkl"


def point_keys(name: str, parameters: list[ParameterSpec], explored_names: list[str]) -> list[str]:
    """A SHA-1 per run of the trajectory name and all of the run's parameter values.

    The fixed part is hashed once and copied per run. Identical points get an occurrence
    number, so repeating a point in an exploration still gives distinct runs.
    """
    base = hashlib.sha1(KEY_VERSION + name.encode() + b"\0")
    explored = set(explored_names)
    for parameter in sorted(parameters, key=lambda p: p.name):
        if parameter.name not in explored:
            base.update(parameter.name.encode() + b"=" + canonical(parameter.value) + b"\0")
    ranges = {p.name: p.explored for p in parameters if p.name in explored}
    names = sorted(explored_names)
    prefixes = [name.encode() + b"=" for name in names]
    columns = [ranges[name] for name in names]
    n_runs = len(columns[0]) if columns else 1
    keys = []
    seen: dict[str, int] = {}
    for idx in range(n_runs):
        hasher = base.copy()
        for prefix, column in zip(prefixes, columns, strict=True):
            hasher.update(prefix + canonical(column[idx]) + b"\0")
        key = hasher.hexdigest()
        if key in seen:
            seen[key] += 1
            hasher.update(b"repeat=%d" % seen[key])
            key = hasher.hexdigest()
        else:
            seen[key] = 0
        keys.append(key)
    return keys


def choose_runs_per_job(n_runs: int, requested: int | str) -> int:
    if requested != AUTO:
        return int(requested)
    n_jobs = min(n_runs, max(AUTO_MIN_JOBS, min(AUTO_MAX_JOBS, n_runs // AUTO_RUNS_PER_JOB)))
    return math.ceil(n_runs / max(n_jobs, 1))


def _specs(traj: Trajectory, branch: str) -> list[ParameterSpec]:
    prefix = len(branch) + 1
    return [
        ParameterSpec(
            leaf.v_full_name[prefix:],
            leaf.values["data"],
            leaf.v_comment or "",
            leaf.v_class_name,
            leaf.explored,
        )
        for leaf in traj.f_get(branch).f_iter_leaves()
    ]


def from_trajectory(settings: Settings, traj: Trajectory) -> Plan:
    parameters = _specs(traj, "parameters")
    explored_names = [name.partition(".")[2] for name in traj.explored_ranges]
    keys = point_keys(settings.name, parameters, explored_names)
    plan = Plan(
        settings=settings,
        parameters=parameters,
        config_items=_specs(traj, "config"),
        explored_names=explored_names,
        keys=keys,
        runs_per_job=choose_runs_per_job(len(keys), settings.runs_per_job),
    )
    plan.digest = hashlib.sha1(pickle.dumps(plan, protocol=5)).hexdigest()
    return plan


def from_config(config: dict[str, Any]) -> Plan:
    settings = load_settings(config)
    return from_trajectory(settings, build_trajectory(config, settings))


def save(plan: Plan) -> Path:
    """Write the plan file unless a plan with the same digest is there already."""
    path = plan.path
    if not path.exists():
        atomic.write_bytes(path, pickle.dumps(plan, protocol=5))
    return path


def load(path: str | Path) -> Plan:
    with open(path, "rb") as handle:
        return pickle.load(handle)
