"""The records that carry an item and a run from the single run to the trajectory file.

A job function's `f_add_result` becomes an `Item` in the run's `RunRecord`; the fragment
stores the record as builtins (`to_builtins`, so a fragment never holds our classes and
stays readable whatever moves in the code); the merge reads it back (`from_builtins`) and
hands it to the writer (`hdf5.writer`), which turns it into pypet's HDF5 layout. They hold
values, not files. Nothing here knows about Snakemake.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Item:
    """A parameter, derived parameter or result: one pypet leaf holding one or more values.

    `name` is dotted and relative to its branch (`neuron.tau`, `rate`). Parameters hold their value
    under the key ``"data"``; results hold one entry per stored value (``f_add_result('z', 1.0)``
    gives ``{"z": 1.0}``, ``f_add_result('r', a=1, b=2)`` gives ``{"a": 1, "b": 2}``).
    `class_name` None lets the writer pick pypet's class from the values.
    """

    name: str
    values: dict[str, Any]
    comment: str = ""
    class_name: str | None = None
    # an item of a run stored outside the run's own group (pypet's wildcards, see
    # `execute.wildcards`): its group below the branch with `$` and `$set` kept
    # (`neuron.$`, `$set.$`); `name` is then the leaf's name. None: the run's group
    where: str | None = field(default=None, kw_only=True)  # keeps Parameter's positions

    def to_builtins(self) -> dict[str, Any]:
        data = {
            "name": self.name,
            "values": self.values,
            "comment": self.comment,
            "class_name": self.class_name,
        }
        if self.where is not None:  # absent in fragments written before it existed
            data["where"] = self.where
        return data

    @classmethod
    def from_builtins(cls, data: dict[str, Any]) -> Item:
        return cls(
            data["name"],
            data["values"],
            data["comment"],
            data["class_name"],
            where=data.get("where"),
        )


@dataclass
class Parameter(Item):
    """A trajectory parameter; `explored` is its range (one value per run) when explored."""

    explored: list[Any] | None = None


@dataclass
class RunRecord:
    """One single run as the merge found it in its fragment."""

    idx: int
    name: str  # run_%08d
    start: float  # POSIX timestamps
    finish: float
    completed: bool
    results: list[Item] = field(default_factory=list)
    derived_parameters: list[Item] = field(default_factory=list)
    environment_hexsha: str | None = None  # environment that ran it; None: the last environment
    # provenance, kept beside pypet's runs table (overview/runs_provenance)
    environment: str = ""  # name of the environment that ran it
    host: str = ""
    pid: int = 0
    cluster_job_id: str = ""  # SLURM_JOB_ID and the like; "" when not in a batch system
    attempt: int = 0  # Snakemake's attempt number of the run job (retries count up)
    cluster_node: str = ""  # the batch system's node name (SLURMD_NODENAME)
    error: tuple[str, str] | None = None  # a failed run's (exception, traceback)
    parameters: dict[str, Any] = field(default_factory=dict)  # its explored values
    # what the job function returned (pypet hands it to post-processing in `result_list`);
    # None also for fragments written before it was kept
    returned: Any = None

    def to_builtins(self) -> dict[str, Any]:
        """The record as dicts, lists and the stored values (a fragment's body)."""
        exception, traceback = self.error if self.error is not None else (None, None)
        data = {
            "idx": self.idx,
            "name": self.name,
            "start": self.start,
            "finish": self.finish,
            "completed": self.completed,
            "parameters": self.parameters,
            "results": [item.to_builtins() for item in self.results],
            "derived_parameters": [item.to_builtins() for item in self.derived_parameters],
            "environment": self.environment,
            "host": self.host,
            "pid": self.pid,
            "cluster_job_id": self.cluster_job_id,
            "attempt": self.attempt,
            "cluster_node": self.cluster_node,
            "exception": exception,
            "traceback": traceback,
        }
        if self.returned is not None:  # absent: the bytes of older fragments unchanged
            data["returned"] = self.returned
        return data

    @classmethod
    def from_builtins(cls, data: dict[str, Any]) -> RunRecord:
        completed = bool(data["completed"])
        return cls(
            idx=data["idx"],
            name=data["name"],
            start=data["start"],
            finish=data["finish"],
            completed=completed,
            results=[Item.from_builtins(item) for item in data["results"]],
            derived_parameters=[Item.from_builtins(item) for item in data["derived_parameters"]],
            environment=data["environment"],
            host=data["host"],
            pid=data["pid"],
            cluster_job_id=data["cluster_job_id"],
            attempt=data["attempt"],
            cluster_node=data["cluster_node"],
            error=None if completed else (data["exception"] or "", data["traceback"] or ""),
            parameters=data["parameters"],
            returned=data.get("returned"),
        )


@dataclass
class StorageSettings:
    """pypet's HDF5 storage options, honoured by the writer (defaults follow pypet 0.7)."""

    complib: str = "zlib"
    complevel: int = 9
    shuffle: bool = True
    fletcher32: bool = False
    purge_duplicate_comments: bool = True
    small_overview_tables: bool = True
    large_overview_tables: bool = False
    results_per_run: int = 0
    derived_parameters_per_run: int = 0
    layout: str = "pypet"  # or "stacked": results of all runs in one dataset each (stacked.py)
    # trajectories with more runs than this keep each run's group in a run set of 1,000 runs
    # (`results/runs/run_set_00000/run_00000000`, pypet's `$set` wildcard), because HDF5
    # groups with more children than PyTables' MAX_GROUP_WIDTH (16384) get slow; 0: always
    run_sets_above: int = 16384


@dataclass
class EnvironmentRecord:
    """One execution environment that contributed runs (pypet's config.environment.*)."""

    hexsha: str  # git commit or a SHA-1 of trajectory name, time and package version
    timestamp: float
    versions: dict[str, str] = field(default_factory=dict)  # package -> version
    settings: dict[str, Any] = field(default_factory=dict)  # option name -> value
    git: dict[str, Any] | None = None  # commit hexsha, message, author, time... if git is used
    # how Snakemake was called: command_line, cores, executor, profile, workflow_profile
    invocation: dict[str, Any] = field(default_factory=dict)
    # when its last run finished (the merge finds it in the fragments); None: no runs
    finish_timestamp: float | None = None

    @property
    def name(self) -> str:
        from pypet_sm.hdf5.layout import environment_name

        return environment_name(self.hexsha, self.timestamp)


@dataclass
class TrajectoryRecord:
    """Everything the writer needs for one trajectory file; `runs` is streamed in index order."""

    name: str
    comment: str
    file_title: str
    timestamp: float  # creation time of the trajectory
    parameters: list[Parameter]
    runs: Iterable[RunRecord]
    length: int  # number of runs
    settings: StorageSettings = field(default_factory=StorageSettings)
    environments: list[EnvironmentRecord] = field(default_factory=list)
    config: list[Item] = field(default_factory=list)  # extra user config items (config.<name>)
    # names of the explored parameters (without `parameters.`) in exploration order, the order
    # of pypet's `explorations` table and run summaries; None: the order of `parameters`
    explored_order: list[str] | None = None
