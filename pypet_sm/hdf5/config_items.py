"""The config items pypet's environment and storage service add to a trajectory:
`config.hdf5.*` (storage settings) and `config.environment.<env>.*` / `config.git.*`
(provenance), with pypet's comments on them."""

from __future__ import annotations

from typing import Any

from pypet_sm.hdf5 import records
from pypet_sm.hdf5.layout import git_commit_name
from pypet_sm.hdf5.overview import enabled_tables
from pypet_sm.hdf5.overview_text import format_runtime

HDF5_COMMENTS = {
    "purge_duplicate_comments": "Whether comments of results and derived parameters should only"
    " be stored for the very first instance. Works only if the summary tables are active.",
    "results_per_run": "Expected number of results per run,"
    " a good guess can increase storage performance",
    "derived_parameters_per_run": "Expected number of derived parameters per run,"
    " a good guess can increase storage performance",
    "complevel": "Compression Level (0 no compression to 9 highest compression)",
    "complib": "Compression Algorithm",
    "encoding": "Encoding for unicode characters",
    "fletcher32": "Whether to use fletcher 32 checksum",
    "shuffle": "Whether to use shuffle filtering.",
    "pandas_format": "How to store pandas data frames, either 'fixed' ('f') or 'table' ('t').",
}
OVERVIEW_COMMENT = "Whether or not to have an overview table with that name"
VERSION_COMMENT = (
    "Particular version of a package or distribution used during experiment."
    " N/A if package could not be imported."
)
# pypet's comments on the config.environment.<env>.* items it knows
ENVIRONMENT_COMMENTS = {
    "multiproc": "Whether or not to use multiprocessing.",
    "ncores": "Number of processors in case of multiprocessing",
    "wrap_mode": "Multiprocessing mode (if multiproc), i.e. whether to use QUEUE or LOCK or NONE"
    " for thread/process safe storing",
    "use_pool": "Whether to use a pool of processes or spawning individual processes for each run.",
    "freeze_input": "If inputs to each run are static and are not mutated during each run,"
    " can speed up pool running.",
    "clean_up_runs": "Whether or not results should be removed after the completion of a single"
    " run. You are not advised to set this to `False`. Only do it if you know what you are"
    " doing.",
    "resumable": "Whether or not resume files should be created."
    " If yes, everything is handled by `dill`.",
    "graceful_exit": "Whether or not to allow graceful handling of `SIGINT` (`CTRL+C`).",
    "automatic_storing": "If trajectory should be stored automatically in the end.",
    "script": "Name of the executed main script",
    "start_timestamp": "Timestamp of starting of experiment (when the actual simulation was"
    " started (either by calling `run`, `resume`, or `pipeline`).",
    "finish_timestamp": "Timestamp of finishing of an experiment.",
    "runtime": "Runtime of whole experiment.",
    "resumed": "Added if a crashed trajectory was continued.",
    "trajectory.name": "Name of trajectory",
    "trajectory.timestamp": "Timestamp of trajectory",
    "timestamp": "Timestamp of environment creation",
    "hexsha": "SHA-1 identifier of the environment",
    "snakemake.command_line": "The snakemake command line of this invocation",
    "snakemake.cores": "Cores given to snakemake (--cores)",
    "snakemake.executor": "Snakemake executor that ran the jobs (local, slurm, ...)",
    "snakemake.profile": "Snakemake profiles given (--profile)",
    "snakemake.workflow_profile": "Snakemake workflow profile used",
}
GIT_COMMENTS = {
    "hexsha": "SHA-1 hash of commit",
    "name_rev": "String describing the commits hex sha based on the closest Reference",
    "committed_date": "Date of commit as unix epoch seconds",
    "message": "The commit message",
}
GROUP_COMMENTS = {
    "hdf5": "Settings for the standard HDF5 storage service",
    "environment": "Settings for the different environments used to run the experiments",
}


def hdf5_config_items(settings: records.StorageSettings) -> list[records.Parameter]:
    """The `config.hdf5.*` items pypet's storage service adds (names relative to config)."""
    items = [
        records.Parameter(f"hdf5.overview.{name}", {"data": on}, OVERVIEW_COMMENT)
        for name, on in enabled_tables(settings).items()
    ]
    values = {
        "purge_duplicate_comments": settings.purge_duplicate_comments,
        "results_per_run": settings.results_per_run,
        "derived_parameters_per_run": settings.derived_parameters_per_run,
        "complevel": settings.complevel,
        "complib": settings.complib,
        "encoding": "utf8",
        "fletcher32": settings.fletcher32,
        "shuffle": settings.shuffle,
        "pandas_format": "fixed",
    }
    items += [
        records.Parameter(f"hdf5.{name}", {"data": value}, HDF5_COMMENTS[name])
        for name, value in values.items()
    ]
    return items


def environment_config_items(
    environment: records.EnvironmentRecord, trajectory_name: str, trajectory_timestamp: float
) -> list[records.Parameter]:
    """`config.environment.<env>.*`: settings, trajectory, timestamp, hexsha, versions; and
    `config.git.commit_<sha7>_<time>.*` when git was used."""
    values: dict[str, Any] = {k: v for k, v in environment.settings.items() if v is not None}
    start = environment.timestamp  # the invocation's start, before any of its runs
    finish = max(environment.finish_timestamp or start, start)
    values.update(
        {
            "trajectory.name": trajectory_name,
            "trajectory.timestamp": trajectory_timestamp,
            "timestamp": environment.timestamp,
            "start_timestamp": start,
            "finish_timestamp": finish,
            "runtime": format_runtime(start, finish),
            "hexsha": environment.hexsha,
        }
    )
    values.update({f"snakemake.{key}": str(value) for key, value in environment.invocation.items()})
    prefix = f"environment.{environment.name}."
    items = [
        records.Parameter(prefix + key, {"data": value}, ENVIRONMENT_COMMENTS.get(key, ""))
        for key, value in values.items()
    ]
    items += [
        records.Parameter(f"{prefix}versions.{package}", {"data": version}, VERSION_COMMENT)
        for package, version in environment.versions.items()
    ]
    if environment.git:  # named like pypet: commit_<sha7>_<commit time>
        git = environment.git
        committed = git.get("committed_date", environment.timestamp)
        sha = str(git.get("hexsha", environment.hexsha))
        commit = f"git.{git_commit_name(sha, committed)}."
        items += [
            records.Parameter(commit + key, {"data": value}, GIT_COMMENTS.get(key, ""))
            for key, value in git.items()
            if value is not None
        ]
    return items
