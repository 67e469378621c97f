"""Git integration (pypet's git_repository, git_message, git_fail), with GitPython.

Before any run starts, the invocation commits the changes of tracked files (`git add -u`, then
a commit whose message is `git.message` augmented with the trajectory and the environment),
or, on a clean tree, records HEAD. Untracked files are never added; a warning lists them.
With `git.fail: true` a dirty tree is an error listing the changed files instead. Only the
Snakemake main process calls this (`onstart`), so there is one commit per invocation, however
many run jobs there are and wherever they run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pypet_sm.errors import ConfigError
from pypet_sm.hdf5.layout import local_time

if TYPE_CHECKING:  # GitPython is imported only when git integration is on
    import git

FIELD = "git.repository"
SHOWN_FILES = 20


@dataclass
class GitOutcome:
    """The commit made or found, and what the user should be told about."""

    commit: dict[str, Any]  # hexsha, name_rev, committed_date, message
    committed: bool
    warnings: list[str] = field(default_factory=list)
    info: list[str] = field(default_factory=list)


def _listing(paths: list[str]) -> str:
    shown = ", ".join(paths[:SHOWN_FILES])
    more = len(paths) - SHOWN_FILES
    return shown + (f" and {more} more" if more > 0 else "")


def _open(path: str) -> git.Repo:
    import git

    try:
        repo = git.Repo(path)
    except git.NoSuchPathError:
        raise ConfigError(FIELD, f"{path!r} does not exist") from None
    except git.InvalidGitRepositoryError:
        raise ConfigError(
            FIELD, f"{path!r} is not a git repository (expected the folder containing .git)"
        ) from None
    if repo.bare:
        raise ConfigError(FIELD, f"{path!r} is a bare repository: there is no work tree to commit")
    if not repo.head.is_valid():
        raise ConfigError(FIELD, f"{path!r} has no commit yet; commit once first")
    if repo.head.is_detached:
        raise ConfigError(
            FIELD,
            f"{path!r} has a detached HEAD ({repo.head.commit.hexsha[:7]}): a commit there "
            "would belong to no branch; check out a branch first",
        )
    return repo


def changed_files(repo: git.Repo) -> list[str]:
    """Tracked files with changes, staged or not (what `git add -u` + commit takes)."""
    paths = {diff.a_path or diff.b_path for diff in repo.index.diff(None)}
    paths |= {diff.a_path or diff.b_path for diff in repo.index.diff("HEAD")}
    return sorted(path for path in paths if path)


def message(text: str, trajectory: str, timestamp: float, comment: str = "") -> str:
    """`text` augmented like pypet's, plus the environment: it is named after this commit
    (environment_<sha7 of this commit>_<time>), so the message can only give its time."""
    stamp = local_time(timestamp)
    prefix = f"{text} -- " if text else ""
    remark = f", Comment: `{comment}`" if comment else ""
    return (
        f"{prefix}Trajectory: `{trajectory}`, Time: `{stamp}`{remark}\n\n"
        f"Environment: environment_<this commit's sha7>_{stamp} (pypet_sm, snakemake)"
    )


def commit_or_head(
    path: str, text: str, trajectory: str, timestamp: float, comment: str = "", fail: bool = False
) -> GitOutcome:
    """Commit tracked changes in the repository at `path`, or record HEAD when clean."""
    import git

    repo = _open(path)
    changed = changed_files(repo)
    outcome_warnings = []
    untracked = repo.untracked_files
    if untracked:
        outcome_warnings.append(
            f"git: {len(untracked)} untracked files are not committed (add them to the "
            f"repository or to .gitignore): {_listing(untracked)}"
        )
    if changed and fail:
        raise ConfigError(
            "git.fail",
            f"the repository {path!r} has uncommitted changes in {len(changed)} tracked files: "
            f"{_listing(changed)}; commit them, or set git.fail: false to have them committed",
        )
    info = []
    if changed:
        try:
            repo.git.add(u=True)
            commit = repo.index.commit(message(text, trajectory, timestamp, comment))
        except (git.GitCommandError, ValueError, OSError) as error:
            raise ConfigError(FIELD, f"cannot commit tracked changes: {error}") from None
        info.append(
            f"git: committed {len(changed)} changed tracked files as {commit.hexsha}: "
            f"{_listing(changed)}"
        )
    else:
        commit = repo.head.commit
        info.append(f"git: the tracked files are unchanged; recorded HEAD {commit.hexsha}")
    record = {
        "hexsha": commit.hexsha,
        "name_rev": commit.name_rev,
        "committed_date": commit.committed_date,
        "message": str(commit.message),
    }
    return GitOutcome(record, bool(changed), outcome_warnings, info)
