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
from pypet_sm.define.config import AUTO, Settings, build_trajectory, load_settings
from pypet_sm.define.trajectory import Trajectory
from pypet_sm.define.user_code import announced
from pypet_sm.define.values import canonical
from pypet_sm.errors import PypetSmError
from pypet_sm.execute import identity, job_function
from pypet_sm.execute.cluster import ResourceSettings

KEY_VERSION = b"pypet_sm point key v1\0"
# plan, job and settings files: builtins in a dict marked with this
FILE_FORMAT = "pypet_sm plan file v2"

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
        by_name = {p.name: p.explored for p in self.parameters if p.explored is not None}
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
        """A run job's identity: changes exactly when something the job computes with
        changes (see `_static_digest`), so Snakemake reruns exactly those jobs."""
        runs = self.job_runs(job)
        hasher = hashlib.sha1(self._static_digest.encode() + b"%d %d\0" % (runs.start, len(runs)))
        hasher.update("".join(self.keys[runs.start : runs.stop]).encode())
        return hasher.hexdigest()

    @functools.cached_property
    def _static_digest(self) -> str:
        """What every run job of the plan reads, apart from its points (which its point keys
        stand for): the job function, its arguments, the custom classes, the trajectory's
        name, the parameters (default, comment, class; a comment is the job's
        `leaf.v_comment`) and config items. Encoded canonically, never pickled: moving a
        class to another module or changing a setting only the merge, the report or the logs
        read (the trajectory comment, storage, file name, log level, resources) reruns no
        job; run jobs get those from the current settings file at run time instead."""
        settings = self.settings
        hasher = hashlib.sha1(identity.IDENTITY_VERSION)
        for part in (
            identity.job_identity(settings),
            [(p.name, p.value, p.comment, p.class_name) for p in self.parameters],
            [(c.name, c.value, c.comment, c.class_name) for c in self.config_items],
            self.explored_names,
        ):
            hasher.update(identity.encode(part) + b"\0")
        return hasher.hexdigest()

    @functools.cached_property
    def settings_digest(self) -> str:
        """Every setting (the resources too): names the settings file run jobs read."""
        return hashlib.sha1(
            identity.SETTINGS_VERSION + identity.encode(dataclasses.asdict(self.settings))
        ).hexdigest()

    def job_plan_path(self, job: int) -> Path:
        return plan_file(self.settings.trajectory_state, "job", self.job_digest(job))

    @property
    def path(self) -> Path:
        return plan_file(self.settings.trajectory_state, "plan", self.digest)

    @property
    def settings_path(self) -> Path:
        return plan_file(self.settings.trajectory_state, "settings", self.settings_digest)

    @property
    def plans_dir(self) -> Path:
        return self.settings.trajectory_state / "plans"


from pypet_sm.hdf5.layout import run_name as run_name  # noqa: E402  (pypet's run names)

# Plan files are trusted pickles of ours, so they are read from the state folder only: the
# rules name them by digest, never by path, so no command line unpickles a file elsewhere.
DIGEST_LENGTH = 20  # hex digits of a digest in a file name


def plan_file(trajectory_state: str | Path, kind: str, digest: str) -> Path:
    """The file of a plan of `kind` named by `digest` in a state folder."""
    return Path(trajectory_state) / "plans" / f"{kind}-{digest[:DIGEST_LENGTH]}.pkl"


def file_in_state(trajectory_state: str, kind: str, digest: str) -> Path:
    """`plan_file` for a digest from a command line; anything else (a path) is refused."""
    if len(digest) != DIGEST_LENGTH or digest.strip("0123456789abcdef"):
        raise PlanError(
            f"--{'plan' if kind == 'job' else kind} {digest!r} is not the {DIGEST_LENGTH}-digit "
            f"digest of a {kind} file: plan files are read only from the project's state "
            f"folder (plans/ in {trajectory_state}), named by digest, never by a path"
        )
    return plan_file(trajectory_state, kind, digest)


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
    ranges = {
        p.name: p.explored for p in parameters if p.name in explored and p.explored is not None
    }
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
    if resources is None or seconds is None:
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
    # the merge's identity (its rule's param names the plan file): everything but the
    # resources, which change no file
    merged = identity.settings_state(settings)
    del merged["resources"]
    hasher = hashlib.sha1(plan._static_digest.encode() + b"%d\0" % plan.runs_per_job)
    hasher.update(identity.encode(merged))
    hasher.update("".join(keys).encode())
    plan.digest = hasher.hexdigest()
    return plan


def from_config(config: dict[str, Any]) -> Plan:
    """Plan the trajectory a config defines; the job function is imported once to check it
    (in the planning interpreter: a job module must import there too)."""
    settings = load_settings(config)
    traj = build_trajectory(config, settings)
    with announced(f"importing the job module of {settings.job}"):
        function = job_function.load(settings.job)  # refuses what cannot compute a run
    validate.job_signature(function, settings.job, settings.args, settings.kwargs)
    validate.output_paths(settings)
    return from_trajectory(settings, traj)


def save(plan: Plan) -> Path:
    """Write the plan file, the settings file and one file per job, each unless it exists.

    Files are named by digest, so an existing file is the right one; a job's file changes
    exactly when something the job computes with changes. They hold builtins only (no
    pypet_sm classes), so a file written before a class moved still loads.
    """
    path = plan.path
    if not path.exists():
        state = _plan_state(plan, settings=identity.settings_state(plan.settings))
        atomic.write_bytes(path, pickle.dumps(state, protocol=5))
    if not plan.settings_path.exists():
        settings = {"format": FILE_FORMAT, **identity.settings_state(plan.settings)}
        atomic.write_bytes(plan.settings_path, pickle.dumps(settings, protocol=5))
    for job in range(plan.n_jobs):
        job_path = plan.job_plan_path(job)
        if not job_path.exists():
            state = _plan_state(plan.job_plan(job), identity=identity.job_identity(plan.settings))
            atomic.write_bytes(job_path, pickle.dumps(state, protocol=5))
    return path


def load(path: str | Path) -> Plan:
    """The plan of a plan file (`Plan.path`), with the settings it was planned with."""
    state = _read(path, "plan")
    return _plan(state, identity.settings_from_state(state.pop("settings")))


def load_job(path: str | Path, settings_path: str | Path) -> Plan:
    """The plan of a job's file (`Plan.job_plan_path`), with the current settings (a
    settings file, `Plan.settings_path`), which must agree with what the job computes with."""
    state = _read(path, "plan")
    settings_state = _read(settings_path, "settings")
    del settings_state["format"]
    settings = identity.settings_from_state(settings_state)
    planned, current = state.pop("identity"), identity.job_identity(settings)
    changed = [k for k in current if identity.encode(planned[k]) != identity.encode(current[k])]
    if changed:
        raise PlanError(
            f"the job's plan {path} was planned with another {', '.join(changed)} than the "
            f"settings {settings_path} hold; run snakemake again, so it plans the job anew"
        )
    return _plan(state, settings)


class PlanError(PypetSmError):
    """A plan file that is not one, or that does not fit the settings it is run with."""


def _plan_state(plan: Plan, **header: Any) -> dict[str, Any]:
    return {
        "format": FILE_FORMAT,
        **header,
        "parameters": [_spec_state(p) for p in plan.parameters],
        "config_items": [_spec_state(c) for c in plan.config_items],
        "explored_names": plan.explored_names,
        "keys": plan.keys,
        "runs_per_job": plan.runs_per_job,
        "first_run": plan.first_run,
        "digest": plan.digest,
    }


def _spec_state(spec: ParameterSpec) -> tuple[Any, ...]:
    return (spec.name, spec.value, spec.comment, spec.class_name, spec.explored)


def _plan(state: dict[str, Any], settings: Settings) -> Plan:
    return Plan(
        settings,
        [ParameterSpec(*p) for p in state["parameters"]],
        [ParameterSpec(*c) for c in state["config_items"]],
        state["explored_names"],
        state["keys"],
        state["runs_per_job"],
        first_run=state["first_run"],
        digest=state["digest"],
    )


def _read(path: str | Path, what: str) -> dict[str, Any]:
    with open(path, "rb") as handle:
        state = pickle.load(handle)
    if not isinstance(state, dict) or state.get("format") != FILE_FORMAT:
        raise PlanError(f"{path} is not a {what} file of this pypet_sm; run snakemake again")
    return state
