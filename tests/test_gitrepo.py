"""Git integration on real repositories in temp dirs (no Snakemake): commit of tracked changes,
HEAD when clean, git.fail, untracked files, and the cases that must be refused."""

from __future__ import annotations

import subprocess

import git
import pytest

from pypet_sm.errors import ConfigError
from pypet_sm.provenance import gitrepo

IDENTITY = {
    "GIT_AUTHOR_NAME": "test",
    "GIT_AUTHOR_EMAIL": "test@example.org",
    "GIT_COMMITTER_NAME": "test",
    "GIT_COMMITTER_EMAIL": "test@example.org",
}


@pytest.fixture
def repo(tmp_path, monkeypatch):
    for key, value in IDENTITY.items():
        monkeypatch.setenv(key, value)
    repository = git.Repo.init(tmp_path / "code")
    path = tmp_path / "code"
    (path / "model.py").write_text("x = 1\n")
    (path / "other.py").write_text("y = 2\n")
    repository.index.add(["model.py", "other.py"])
    repository.index.commit("initial")
    return repository


def rev_parse_head(path) -> str:
    done = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def commit_count(path) -> int:
    done = subprocess.run(
        ["git", "rev-list", "--count", "HEAD"], cwd=path, capture_output=True, text=True
    )
    return int(done.stdout)


def test_dirty_tracked_files_are_committed_untracked_ones_only_listed(repo):
    path = repo.working_tree_dir
    with open(f"{path}/model.py", "a") as handle:
        handle.write("x = 3\n")
    with open(f"{path}/new_file.py", "w") as handle:
        handle.write("not tracked\n")
    before = repo.head.commit.hexsha

    outcome = gitrepo.commit_or_head(path, "sweep", "traj", 1_700_000_000.0, comment="c")

    assert outcome.committed
    head = rev_parse_head(path)
    assert head != before and outcome.commit["hexsha"] == head
    commit = repo.commit(head)
    assert commit.message.startswith("sweep -- Trajectory: `traj`, Time: `")
    assert "Environment: environment_" in commit.message
    assert outcome.commit["message"] == commit.message
    assert outcome.commit["committed_date"] == commit.committed_date
    assert outcome.commit["name_rev"] == commit.name_rev
    assert set(commit.stats.files) == {"model.py"}
    assert "new_file.py" in repo.untracked_files  # never added
    assert len(outcome.warnings) == 1 and "new_file.py" in outcome.warnings[0]
    assert "untracked" in outcome.warnings[0]


def test_staged_deletion_is_committed_too(repo):
    path = repo.working_tree_dir
    repo.index.remove(["other.py"], working_tree=True)
    outcome = gitrepo.commit_or_head(path, "", "traj", 1_700_000_000.0)
    assert outcome.committed
    assert "other.py" not in [item.path for item in repo.head.commit.tree.traverse()]
    assert repo.head.commit.message.startswith("Trajectory: `traj`")


def test_clean_tree_records_head_without_committing(repo):
    path = repo.working_tree_dir
    count = commit_count(path)
    outcome = gitrepo.commit_or_head(path, "sweep", "traj", 1_700_000_000.0)
    assert not outcome.committed and not outcome.warnings
    assert outcome.commit["hexsha"] == rev_parse_head(path)
    assert outcome.commit["message"] == "initial"
    assert commit_count(path) == count


def test_git_fail_refuses_a_dirty_tree_listing_the_files(repo):
    path = repo.working_tree_dir
    for name in ("model.py", "other.py"):
        with open(f"{path}/{name}", "a") as handle:
            handle.write("changed\n")
    count = commit_count(path)
    with pytest.raises(ConfigError) as error:
        gitrepo.commit_or_head(path, "sweep", "traj", 1_700_000_000.0, fail=True)
    message = str(error.value)
    assert "git.fail" in message and "model.py" in message and "other.py" in message
    assert commit_count(path) == count and repo.is_dirty()


def test_git_fail_accepts_a_clean_tree(repo):
    outcome = gitrepo.commit_or_head(repo.working_tree_dir, "", "traj", 1.0, fail=True)
    assert outcome.commit["hexsha"] == rev_parse_head(repo.working_tree_dir)


@pytest.mark.parametrize("kind", ["missing", "plain-directory"])
def test_not_a_repository_is_an_error_naming_the_field(tmp_path, kind):
    path = tmp_path / "nothing"
    if kind == "plain-directory":
        path.mkdir()
    with pytest.raises(ConfigError) as error:
        gitrepo.commit_or_head(str(path), "", "traj", 1.0)
    assert "git.repository" in str(error.value) and str(path) in str(error.value)


def test_detached_head_is_an_error(repo):
    repo.git.checkout(repo.head.commit.hexsha)  # detach
    with pytest.raises(ConfigError) as error:
        gitrepo.commit_or_head(repo.working_tree_dir, "", "traj", 1.0)
    assert "detached" in str(error.value)


def test_bare_repository_is_an_error(tmp_path):
    bare = git.Repo.init(tmp_path / "bare.git", bare=True)
    with pytest.raises(ConfigError) as error:
        gitrepo.commit_or_head(bare.git_dir, "", "traj", 1.0)
    assert "bare" in str(error.value)


def test_repository_without_commits_is_an_error(tmp_path):
    git.Repo.init(tmp_path / "empty")
    with pytest.raises(ConfigError) as error:
        gitrepo.commit_or_head(str(tmp_path / "empty"), "", "traj", 1.0)
    assert "no commit" in str(error.value)
