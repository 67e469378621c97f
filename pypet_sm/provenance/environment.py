"""Provenance: who ran the runs, with which code — pypet's environment records.

Each `snakemake` invocation that executes jobs is one environment, started in Snakemake's
`onstart` (the main process only, after the DAG is built, never in a dry run, never in a
cluster job: those get `--no-hooks`). It commits tracked changes when git integration is on
(`gitrepo`) and records the commit, or a SHA-1 of trajectory name, time and version, with
every setting, the package versions and how Snakemake was called. The record is a JSON file in
the trajectory's state folder; `current.json` names the invocation's environment, which run
jobs and the merge read (they never create one). Run fragments name the environment they ran
in; the merge writes each environment that contributed runs, and the current one, into
`config.environment`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import platform
import shlex
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from pypet_sm import atomic
from pypet_sm.define.config import Settings
from pypet_sm.errors import PypetSmError
from pypet_sm.hdf5.records import EnvironmentRecord
from pypet_sm.provenance import gitrepo, logs

PACKAGES = ("pypet_sm", "snakemake", "numpy", "tables", "GitPython")
CURRENT = "current.json"
logger = logging.getLogger("pypet_sm.provenance.environment")


class NoEnvironment(PypetSmError):
    """A run job or merge started without an environment (not through `snakemake`)."""


def versions() -> dict[str, str]:
    """Python, our and our dependencies' versions, HDF5's and the platform."""
    found = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    try:
        from pypet_sm.hdf5.writer import library_version

        found["hdf5"] = library_version()
    except ImportError:
        found["hdf5"] = "not installed"
    found["platform"] = platform.platform()
    return found


def settings_record(settings: Settings) -> dict[str, Any]:
    """Every option of config.yaml that is not the trajectory's content, storage included.

    Lists and mappings (args, kwargs, dynamically_imported_classes, resources) as JSON text,
    so pypet reads them without pickles.
    """
    values: dict[str, Any] = {
        "filename": settings.filename,
        "file_title": settings.file_title,
        "job": settings.job,
        "args": json.dumps(settings.args, default=repr),
        "kwargs": json.dumps(settings.kwargs, default=repr),
        "build": settings.build or "",
        "runs_per_job": str(settings.runs_per_job),
        "log_folder": settings.log_folder,
        "log_level": settings.log_level,
        "state_dir": settings.state_dir,
        "git_repository": settings.git_repository or "",
        "git_message": settings.git_message,
        "git_fail": settings.git_fail,
        "dynamically_imported_classes": json.dumps(settings.dynamically_imported_classes),
        "resources": json.dumps(dataclasses.asdict(settings.resources)),
    }
    values.update(dataclasses.asdict(settings.storage))
    return values


def _option(argv: list[str], names: tuple[str, ...]) -> list[str]:
    """Values of a command line option (`--opt value...` or `--opt=value`)."""
    found = []
    for position, argument in enumerate(argv):
        name, equals, value = argument.partition("=")
        if name in names:
            if equals:
                found.append(value)
            else:
                for following in argv[position + 1 :]:
                    if following.startswith("-"):
                        break
                    found.append(following)
    return found


def invocation(workflow: Any = None, argv: list[str] | None = None) -> dict[str, Any]:
    """How Snakemake was called: command line, cores, executor, profiles (from the
    `workflow` object of the Snakefile where it has them, else from the command line)."""
    argv = list(sys.argv if argv is None else argv)
    found: dict[str, Any] = {"command_line": shlex.join(argv)}
    cores = getattr(workflow, "_cores", None) if workflow is not None else None
    if cores is None:
        cores = next(iter(_option(argv, ("--cores", "-c", "--jobs", "-j"))), "")
    found["cores"] = str(cores)
    plugin = getattr(workflow, "executor_plugin", None) if workflow is not None else None
    executor = getattr(plugin, "common_name", None) or getattr(plugin, "name", None)
    found["executor"] = str(executor or next(iter(_option(argv, ("--executor", "-e"))), "local"))
    profiles = _option(argv, ("--profile",)) or [os.environ.get("SNAKEMAKE_PROFILE", "")]
    found["profile"] = " ".join(p for p in profiles if p)
    workflow_profile = _option(argv, ("--workflow-profile",))
    if not workflow_profile and workflow is not None:
        snakefile = Path(getattr(workflow, "main_snakefile", None) or "Snakefile")
        default = snakefile.parent / "profiles" / "default"
        workflow_profile = [str(default)] if default.exists() else []
    found["workflow_profile"] = " ".join(p for p in workflow_profile if p != "none")
    return found


def _directory(settings: Settings) -> Path:
    return settings.trajectory_state / "environments"


def _save(settings: Settings, record: EnvironmentRecord, current: bool) -> None:
    text = json.dumps(dataclasses.asdict(record), indent=1)
    atomic.write_text(_directory(settings) / f"{record.name}.json", text)
    if current:
        atomic.write_text(_directory(settings) / CURRENT, text)


def start(settings: Settings, workflow: Any = None) -> EnvironmentRecord:
    """A new environment for this invocation (with its git commit), recorded as the current
    one; its messages go to its main.txt and warnings_and_errors.txt and to stderr."""
    timestamp = time.time()
    found = versions()
    outcome = None
    if settings.git_repository:
        outcome = gitrepo.commit_or_head(
            settings.git_repository,
            settings.git_message,
            settings.name,
            timestamp,
            settings.comment,
            fail=settings.git_fail,
        )
    if outcome is not None:
        hexsha = outcome.commit["hexsha"]
    else:
        seed = f"{settings.name}{timestamp}{found['pypet_sm']}".encode()
        hexsha = hashlib.sha1(seed).hexdigest()
    record = EnvironmentRecord(
        hexsha=hexsha,
        timestamp=timestamp,
        versions=found,
        settings=settings_record(settings),
        git=outcome.commit if outcome else None,
        invocation=invocation(workflow),
    )
    _save(settings, record, current=True)
    log_dir = settings.environment_log_dir(record.name)
    with logs.environment_logger(log_dir, settings.log_level) as env_logger:
        env_logger.info(
            "environment %s of trajectory %s: %s",
            record.name,
            settings.name,
            record.invocation["command_line"],
        )
        for line in outcome.info if outcome else []:
            env_logger.info("%s", line)
        for line in outcome.warnings if outcome else []:
            env_logger.warning("%s", line)
    return record


def current(settings: Settings) -> EnvironmentRecord:
    """The environment of this invocation, as `onstart` recorded it."""
    path = _directory(settings) / CURRENT
    try:
        return EnvironmentRecord(**json.loads(path.read_text()))
    except (FileNotFoundError, ValueError, TypeError):
        raise NoEnvironment(
            f"no environment recorded in {path}: run jobs and the merge run inside a "
            "`snakemake` invocation, which starts one (onstart); from Python call "
            "pypet_sm.provenance.environment.start(settings) first"
        ) from None


def load(settings: Settings, names: set[str]) -> list[EnvironmentRecord]:
    """The recorded environments called `names` (missing ones are logged), oldest first."""
    records = []
    for name in sorted(names):
        path = _directory(settings) / f"{name}.json"
        try:
            records.append(EnvironmentRecord(**json.loads(path.read_text())))
        except (OSError, ValueError, TypeError) as error:
            logger.warning("environment record %s is missing or unreadable: %s", path, error)
    return sorted(records, key=lambda record: record.timestamp)
