"""The plan: the ordered single runs of a trajectory, their point keys, and the run jobs.

Built at Snakefile parse time (so it must be fast) and cached in a file named by its digest;
run jobs and the merge read that file instead of planning again.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import math
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pypet_sm import atomic
from pypet_sm.define import validate, value_types
from pypet_sm.define.config import AUTO, Settings, build_trajectory, import_object, load_settings
from pypet_sm.define.trajectory import Trajectory
from pypet_sm.define.values import canonical
from pypet_sm.execute.cluster import ResourceSettings

KEY_VERSION = b"pypet_sm point key v1\0"

# Jobs of K runs amortise the per-job cost (Snakemake scheduling and a Python process, about
# 0.3-0.5 s; on a cluster a submission and a queue wait too) over K runs: about 2,000 runs a
# job keeps it below 0.25 ms a run even for trivial runs. At least 8 jobs keep 8 cores busy;
# resume does not depend on job size (every run has its own fragment). With a run time
# estimate (resources.seconds_per_run) jobs last about resources.job_minutes instead, and
# never less than a minute while there are 8 of them. The choice ignores --cores and the
# executor on purpose: the same config always gives the same jobs, so changing --cores or
# moving between a laptop and a cluster never reruns jobs. At most 256 jobs: a cluster
# queue is never flooded.
AUTO_MIN_JOBS = 8
AUTO_MAX_JOBS = 256
AUTO_RUNS_PER_JOB = 2000
AUTO_MIN_JOB_SECONDS = 60


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
    """The runs of a trajectory, or (in a job's plan file) the slice of them one job computes.

    Run indices are global: a job's plan holds runs `first_run ... first_run + len - 1`, and
    its explored ranges and keys only for those runs.
    """

    settings: Settings
    parameters: list[ParameterSpec]
    config_items: list[ParameterSpec]
    explored_names: list[str]  # in exploration order, without `parameters.`
    keys: list[str]  # one point key per run, in run order
    runs_per_job: int
    first_run: int = 0
    digest: str = ""

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def runs(self) -> range:
        return range(self.first_run, self.first_run + len(self.keys))

    def key(self, idx: int) -> str:
        return self.keys[idx - self.first_run]

    @property
    def n_jobs(self) -> int:
        return math.ceil(len(self.keys) / self.runs_per_job)

    def job_runs(self, job: int) -> range:
        start = job * self.runs_per_job
        if not 0 <= start < len(self.keys):
            raise IndexError(f"job {job} does not exist; the plan has {self.n_jobs} jobs")
        return range(start, min(start + self.runs_per_job, len(self.keys)))

    def explored_columns(self) -> dict[str, list[Any]]:
        """Explored parameter name -> its values, one per run of this plan."""
        by_name = {p.name: p.explored for p in self.parameters}
        return {name: by_name[name] for name in self.explored_names}

    def run_values(self, idx: int) -> dict[str, Any]:
        """The explored values of run `idx`."""
        offset = idx - self.first_run
        return {name: column[offset] for name, column in self.explored_columns().items()}

    def job_plan(self, job: int) -> Plan:
        """The plan of one job: everything it needs, only its runs."""
        runs = self.job_runs(job)
        window = slice(runs.start, runs.stop)
        parameters = [
            dataclasses.replace(p, explored=p.explored[window] if p.explored else None)
            for p in self.parameters
        ]
        return Plan(
            self.settings,
            parameters,
            self.config_items,
            self.explored_names,
            self.keys[window],
            len(runs),
            first_run=runs.start,
            digest=self.job_digest(job),
        )

    def job_digest(self, job: int) -> str:
        """Changes whenever anything the job computes with changes, so Snakemake reruns it."""
        runs = self.job_runs(job)
        hasher = hashlib.sha1(self._static_digest.encode() + b"%d\0" % runs.start)
        hasher.update("".join(self.keys[runs.start : runs.stop]).encode())
        return hasher.hexdigest()

    @functools.cached_property
    def _static_digest(self) -> str:
        """Everything but the explored values (which the point keys stand for). Of the
        resources only the job size they lead to: new estimates alone rerun no job."""
        static = (
            dataclasses.replace(self.settings, resources=None),
            [dataclasses.replace(p, explored=None) for p in self.parameters],
            self.config_items,
            self.explored_names,
            self.runs_per_job,
        )
        return hashlib.sha1(pickle.dumps(static, protocol=5)).hexdigest()

    def job_plan_path(self, job: int) -> Path:
        return self.settings.trajectory_state / "plans" / f"job-{self.job_digest(job)[:20]}.pkl"

    @property
    def path(self) -> Path:
        return self.settings.trajectory_state / "plans" / f"plan-{self.digest[:20]}.pkl"


from pypet_sm.hdf5.layout import run_name as run_name  # noqa: E402  (pypet's run names)


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
    encoded = [_encoded_column(name.encode() + b"=", ranges[name]) for name in names]
    keys = []
    for parts in zip(*encoded, strict=True) if encoded else [()]:
        hasher = base.copy()
        hasher.update(b"".join(parts))
        keys.append(hasher.hexdigest())
    if len(set(keys)) < len(keys):
        keys = _number_repeats(keys)
    return keys


def _number_repeats(keys: list[str]) -> list[str]:
    """Second and later occurrences of a point get a key of their own."""
    seen: dict[str, int] = {}
    numbered = []
    for key in keys:
        if key in seen:
            seen[key] += 1
            key = hashlib.sha1(f"{key} repeat {seen[key]}".encode()).hexdigest()
        else:
            seen[key] = 0
        numbered.append(key)
    return numbered


def _encoded_column(prefix: bytes, column: list[Any]) -> list[bytes]:
    """`prefix + canonical(value)` per run. A column of one hashable scalar type holds few
    distinct values repeated over many runs: each is encoded once and looked up."""
    kinds = set(map(type, column))
    if len(kinds) == 1 and value_types.encodes_once(kinds.pop()):
        encoding = {value: prefix + canonical(value) + b"\0" for value in set(column)}
        return list(map(encoding.__getitem__, column))
    return [prefix + canonical(value) + b"\0" for value in column]


def choose_runs_per_job(
    n_runs: int, requested: int | str, resources: ResourceSettings | None = None
) -> int:
    if requested != AUTO:
        return int(requested)
    seconds = resources.seconds_per_run if resources is not None else None
    if seconds is None:
        wanted = math.ceil(n_runs / AUTO_RUNS_PER_JOB)
        n_jobs = max(AUTO_MIN_JOBS, min(AUTO_MAX_JOBS, wanted))
    else:
        total = n_runs * seconds
        wanted = math.ceil(total / (60 * resources.job_minutes))
        busy = min(AUTO_MIN_JOBS, math.ceil(total / AUTO_MIN_JOB_SECONDS))
        n_jobs = min(AUTO_MAX_JOBS, max(1, wanted, busy))
    n_jobs = min(n_runs, n_jobs)
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
        runs_per_job=choose_runs_per_job(len(keys), settings.runs_per_job, settings.resources),
    )
    hasher = hashlib.sha1(plan._static_digest.encode())
    hasher.update("".join(keys).encode())
    plan.digest = hasher.hexdigest()
    return plan


def from_config(config: dict[str, Any]) -> Plan:
    """Plan the trajectory a config defines; the job function is imported once to check it
    (in the planning interpreter: a job module must import there too)."""
    settings = load_settings(config)
    traj = build_trajectory(config, settings)
    function = import_object(settings.job, "job")
    validate.job_signature(function, settings.job, settings.args, settings.kwargs)
    validate.output_paths(settings)
    return from_trajectory(settings, traj)


def save(plan: Plan) -> Path:
    """Write the plan file and one file per job, each only unless it exists already.

    Files are named by digest, so an existing file is the right one; a job's file changes
    exactly when something the job computes with changes.
    """
    path = plan.path
    if not path.exists():
        atomic.write_bytes(path, pickle.dumps(plan, protocol=5))
    for job in range(plan.n_jobs):
        job_path = plan.job_plan_path(job)
        if not job_path.exists():
            atomic.write_bytes(job_path, pickle.dumps(plan.job_plan(job), protocol=5))
    return path


def load(path: str | Path) -> Plan:
    with open(path, "rb") as handle:
        return pickle.load(handle)
