"""Every argument of pypet's Environment (0.7 and the older one pypet's documentation
describes), and what pypet_sm does with it: honoured (the same meaning here), mapped onto
Snakemake or a config.yaml field, or accepted with one logged line saying why it is not
needed. An argument missing from this table is refused, naming it, as pypet's own
`Environment(**kwargs)` refuses what its storage service does not know.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pypet_sm.errors import PypetSmError

HONOURED = "honoured"
MAPPED = "mapped"
NOT_NEEDED = "not needed"

# name -> (kind, where it goes or why it is not needed)
OPTIONS: dict[str, tuple[str, str]] = {
    # the trajectory
    "trajectory": (HONOURED, "the trajectory's name (trajectory.name)"),
    "add_time": (HONOURED, "the name gets _YYYY_MM_DD_HHhMMmSSs (a new trajectory each run)"),
    "comment": (HONOURED, "trajectory.comment"),
    "dynamic_imports": (MAPPED, "dynamically_imported_classes (module:Class)"),
    "dynamically_imported_classes": (MAPPED, "dynamically_imported_classes (module:Class)"),
    "filename": (HONOURED, "trajectory.filename (a folder: <folder>/<name>.hdf5, as pypet)"),
    "file_title": (HONOURED, "trajectory.file_title"),
    # storage settings (pypet's HDF5StorageService keyword arguments)
    "complib": (HONOURED, "storage.complib"),
    "complevel": (HONOURED, "storage.complevel"),
    "shuffle": (HONOURED, "storage.shuffle"),
    "fletcher32": (HONOURED, "storage.fletcher32"),
    "purge_duplicate_comments": (HONOURED, "storage.purge_duplicate_comments"),
    "small_overview_tables": (HONOURED, "storage.small_overview_tables"),
    "large_overview_tables": (HONOURED, "storage.large_overview_tables"),
    "results_per_run": (HONOURED, "storage.results_per_run"),
    "derived_parameters_per_run": (HONOURED, "storage.derived_parameters_per_run"),
    "summary_tables": (NOT_NEEDED, "the overview tables are chosen by small/large_overview_tables"),
    "overwrite_file": (NOT_NEEDED, "the merge always writes the trajectory file anew"),
    "encoding": (NOT_NEEDED, "strings are stored as UTF-8"),
    "pandas_format": (NOT_NEEDED, "pandas results are not stored as pandas tables here"),
    "pandas_append": (NOT_NEEDED, "pandas results are not stored as pandas tables here"),
    "display_time": (NOT_NEEDED, "the merge logs its own progress"),
    "storage_service": (NOT_NEEDED, "the storage is pypet_sm's HDF5 merge; only HDF5 is offered"),
    "use_hdf5": (NOT_NEEDED, "the trajectory is always stored in HDF5"),
    "automatic_storing": (NOT_NEEDED, "every run is stored in the fragment store, then merged"),
    "clean_up_runs": (NOT_NEEDED, "run data lives in the run's own process and fragment"),
    # logging
    "log_folder": (HONOURED, "log_folder: <log_folder>/<trajectory>/<environment>/"),
    "log_level": (HONOURED, "log_level"),
    "log_config": (NOT_NEEDED, "pypet_sm writes its own main and per-job logs (log_level)"),
    "log_stdout": (NOT_NEEDED, "a run job's output goes to its job log"),
    "log_multiproc": (NOT_NEEDED, "each run job has its own log"),
    "report_progress": (NOT_NEEDED, "Snakemake reports the jobs' progress"),
    # parallelism -> Snakemake
    "multiproc": (MAPPED, "snakemake --cores ncores (1 core without multiproc, as pypet)"),
    "ncores": (MAPPED, "snakemake --cores"),
    "use_pool": (NOT_NEEDED, "Snakemake schedules the run jobs"),
    "use_scoop": (NOT_NEEDED, "Snakemake schedules the run jobs; clusters via snakemake_profile"),
    "freeze_input": (NOT_NEEDED, "every run job reads its runs from the plan once"),
    "cpu_cap": (NOT_NEEDED, "Snakemake starts at most --cores jobs"),
    "memory_cap": (NOT_NEEDED, "Snakemake starts at most --cores jobs"),
    "swap_cap": (NOT_NEEDED, "Snakemake starts at most --cores jobs"),
    "niceness": (NOT_NEEDED, "run `nice python script.py` (Snakemake's jobs inherit it)"),
    "wrap_mode": (NOT_NEEDED, "each run writes its own fragment; one merge writes the file"),
    "queue_maxsize": (NOT_NEEDED, "no storage queue: each run writes its own fragment"),
    "port": (NOT_NEEDED, "no storage server: each run writes its own fragment"),
    "gc_interval": (NOT_NEEDED, "no storage queue to collect garbage from"),
    "timeout": (HONOURED, "timeout: seconds a single run may take"),
    "immediate_postproc": (NOT_NEEDED, "post-processing runs once after all runs"),
    "graceful_exit": (NOT_NEEDED, "finished runs are kept; run the script again to resume"),
    "lazy_debug": (NOT_NEEDED, "runs execute in Snakemake's jobs"),
    "do_single_runs": (NOT_NEEDED, "the runs always execute (as with pypet's default True)"),
    "wildcard_functions": (NOT_NEEDED, "pypet's default $ / crun and $set / crunset are used"),
    # resuming
    "resumable": (NOT_NEEDED, "always resumable: run the script again"),
    "continuable": (NOT_NEEDED, "always resumable: run the script again"),
    "resume_folder": (NOT_NEEDED, "finished runs are kept in .pypet_sm/<trajectory>/"),
    "continue_folder": (NOT_NEEDED, "finished runs are kept in .pypet_sm/<trajectory>/"),
    "delete_resume": (NOT_NEEDED, "the fragment store is kept; `pypet-sm forget` removes runs"),
    "delete_continue": (NOT_NEEDED, "the fragment store is kept; `pypet-sm forget` removes runs"),
    # provenance
    "git_repository": (HONOURED, "git.repository: commit before the runs"),
    "git_message": (HONOURED, "git.message"),
    "git_fail": (HONOURED, "git.fail"),
    "sumatra_project": (NOT_NEEDED, "Sumatra is not supported; git records the code"),
    "sumatra_reason": (NOT_NEEDED, "Sumatra is not supported; git records the code"),
    "sumatra_label": (NOT_NEEDED, "Sumatra is not supported; git records the code"),
    # pypet_sm's own
    "snakemake_profile": (HONOURED, "snakemake --profile (also PYPET_SM_PROFILE)"),
    "snakemake_args": (HONOURED, "more snakemake arguments (also PYPET_SM_SNAKEMAKE_ARGS)"),
    "runs_per_job": (HONOURED, "runs_per_job"),
}

# pypet's defaults of the arguments that change what pypet_sm does
DEFAULTS: dict[str, Any] = {
    "trajectory": "trajectory",
    "add_time": False,
    "comment": "",
    "multiproc": False,
    "ncores": 1,
    "log_folder": None,
    "log_level": "INFO",
    "filename": None,
    "file_title": None,
    "git_message": "",
    "git_fail": False,
    "git_repository": None,
    "timeout": None,
    "snakemake_profile": None,
    "snakemake_args": (),
    "runs_per_job": "auto",
}


@dataclass
class Options:
    """The arguments given, checked; `given` holds them as passed."""

    given: dict[str, Any]

    def get(self, name: str) -> Any:
        return self.given.get(name, DEFAULTS.get(name))

    def __contains__(self, name: str) -> bool:
        return name in self.given


def check(kwargs: dict[str, Any]) -> Options:
    """The Environment's arguments: an unknown one is a TypeError naming it (pypet's own
    reaction); the Environment logs the not-needed ones, with the reason."""
    for name in kwargs:
        if name not in OPTIONS:
            raise TypeError(
                f"Environment() got an unexpected keyword argument {name!r} (pypet_sm knows "
                "pypet 0.7's Environment arguments, the older ones pypet documents, and "
                "snakemake_profile, snakemake_args, runs_per_job)"
            )
    if kwargs.get("ncores") is not None:
        ncores = kwargs["ncores"]
        if isinstance(ncores, bool) or not isinstance(ncores, int) or ncores < 1:
            raise PypetSmError(f"Environment(ncores={ncores!r}): expected an integer >= 1")
    return Options(dict(kwargs))


def storage(options: Options) -> dict[str, Any]:
    """The `storage:` section of config.yaml from the storage arguments given."""
    return {
        name: options.given[name]
        for name, (kind, where) in OPTIONS.items()
        if where.startswith("storage.") and name in options.given
    }


def cores(options: Options) -> int:
    """pypet runs one process without multiproc, ncores with it."""
    return int(options.get("ncores")) if options.get("multiproc") else 1
