"""Provenance: who ran the runs, with which code — pypet's environment records and git commit.

Each `snakemake` invocation that executes jobs starts a new environment (Snakemake's `onstart`):
it commits tracked changes when git integration is on (`git add -u`, then commit, as pypet
does), and records the commit or a SHA-1 of trajectory name, time and version, the package
versions and the settings. Run fragments name the environment they ran in; the merge writes
every environment that contributed runs into `config.environment`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from . import atomic
from .config import Settings
from .errors import ConfigError
from .records import EnvironmentRecord

PACKAGES = ("pypet_sm", "snakemake", "numpy", "tables", "GitPython")
CURRENT = "current.json"
logger = logging.getLogger("pypet_sm.environment")


def versions() -> dict[str, str]:
    import platform

    found = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def _directory(settings: Settings) -> Path:
    return settings.trajectory_state / "environments"


def git_commit(settings: Settings, timestamp: float) -> dict[str, Any]:
    """Commit tracked changes (like `git add -u && git commit`) or take HEAD when clean."""
    import git

    try:
        repo = git.Repo(settings.git_repository)
    except (git.NoSuchPathError, git.InvalidGitRepositoryError):
        raise ConfigError(
            "git.repository", f"{settings.git_repository!r} is not a git repository"
        ) from None
    readable_time = time.strftime("%Y_%m_%d_%Hh%Mm%Ss", time.localtime(timestamp))
    comment = f", Comment: `{settings.comment}`" if settings.comment else ""
    prefix = f"{settings.git_message} -- " if settings.git_message else ""
    message = f"{prefix}Trajectory: `{settings.name}`, Time: `{readable_time}`{comment}"
    if repo.index.diff(None) or (repo.head.is_valid() and repo.index.diff("HEAD")):
        try:
            repo.git.add(u=True)
            commit = repo.index.commit(message)
        except (git.GitCommandError, ValueError, OSError) as error:
            raise ConfigError("git.repository", f"cannot commit tracked changes: {error}") from None
        logger.info("git: committed tracked changes as %s", commit.hexsha)
    elif repo.head.is_valid():
        commit = repo.head.commit
    else:
        raise ConfigError("git.repository", "the repository has no commit yet; commit once first")
    return {
        "hexsha": commit.hexsha,
        "name_rev": commit.name_rev,
        "committed_date": commit.committed_date,
        "message": str(commit.message),
    }


def start(settings: Settings) -> EnvironmentRecord:
    """A new environment for this invocation, recorded as the current one."""
    timestamp = time.time()
    found = versions()
    git_info = git_commit(settings, timestamp) if settings.git_repository else None
    if git_info:
        hexsha = git_info["hexsha"]
    else:
        seed = f"{settings.name}{timestamp}{found['pypet_sm']}".encode()
        hexsha = hashlib.sha1(seed).hexdigest()
    record = EnvironmentRecord(
        hexsha=hexsha,
        timestamp=timestamp,
        versions=found,
        settings={
            "filename": settings.filename,
            "runs_per_job": settings.runs_per_job,
            "log_folder": settings.log_folder,
            "git_repository": settings.git_repository or "",
            "git_message": settings.git_message,
            **dataclasses.asdict(settings.storage),
        },
        git=git_info,
    )
    text = json.dumps(dataclasses.asdict(record), indent=1)
    directory = _directory(settings)
    atomic.write_text(directory / f"{record.name}.json", text)
    atomic.write_text(directory / CURRENT, text)
    return record


def current(settings: Settings) -> EnvironmentRecord:
    """The environment of this invocation; started here when no `onstart` made one."""
    path = _directory(settings) / CURRENT
    try:
        return EnvironmentRecord(**json.loads(path.read_text()))
    except (FileNotFoundError, ValueError, TypeError):
        return start(settings)


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
