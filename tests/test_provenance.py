"""Provenance and logs: git auto-commit (a real repository in a temp dir), environment records,
pypet's log files."""

from __future__ import annotations

import git
import tables

from .conftest import SIM, multiply_config

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "test",
    "GIT_AUTHOR_EMAIL": "test@example.org",
    "GIT_COMMITTER_NAME": "test",
    "GIT_COMMITTER_EMAIL": "test@example.org",
}


def _config_items(path, name: str, branch: str) -> dict[str, object]:
    """Leaf path below config/<branch> -> its stored value, read with our own leaf reader."""
    from pypet_sm.storage import load_leaf

    found = {}
    with tables.open_file(path) as h5:
        top = h5.get_node(f"/{name}/config/{branch}")
        for group in h5.walk_groups(top):
            if getattr(group._v_attrs, "SRVC_LEAF", False):
                relative = group._v_pathname[len(top._v_pathname) + 1 :]
                found[relative] = load_leaf(group).values["data"]
    return found


def test_git_auto_commit_records_the_commit(project, monkeypatch):
    for key, value in GIT_IDENTITY.items():
        monkeypatch.setenv(key, value)
    project.write_module(SIM)
    config = multiply_config(name="gitted")
    config["git"] = {"repository": ".", "message": "sweep"}
    project.write_config(config)
    repo = git.Repo.init(project.path)
    (project.path / ".gitignore").write_text(".snakemake/\n.pypet_sm/\nlogs/\nhdf5/\n")
    repo.index.add(["sim.py", "config.yaml", ".gitignore"])
    repo.index.commit("initial")
    # a tracked file with uncommitted changes must be committed before the runs
    (project.path / "sim.py").write_text((project.path / "sim.py").read_text() + "\n# edited\n")
    (project.path / "untracked.txt").write_text("not added by git add -u")

    project.snakemake()

    head = repo.head.commit
    assert head.message.startswith("sweep -- Trajectory: `gitted`"), head.message
    assert "sim.py" in head.stats.files and "untracked.txt" not in head.stats.files
    assert not repo.is_dirty(untracked_files=False)
    items = _config_items(project.trajectory_file, "gitted", "git")
    hexshas = {key: value for key, value in items.items() if key.endswith("hexsha")}
    assert list(hexshas.values()) == [head.hexsha], items
    assert next(iter(hexshas)).startswith(f"commit_{head.hexsha[:7]}_")
    with tables.open_file(project.trajectory_file) as h5:
        runs = h5.get_node("/gitted/overview/runs").read()
        environments = list(h5.get_node("/gitted/config/environment")._v_children)
    assert {row.decode() for row in runs["short_environment_hexsha"]} == {head.hexsha[:7]}
    assert len(environments) == 1 and environments[0].startswith(f"environment_{head.hexsha[:7]}_")


def test_git_repository_that_is_not_one_names_the_field(project):
    project.write_module(SIM)
    config = multiply_config(name="nogit")
    config["git"] = {"repository": "no_such_dir"}
    project.write_config(config)
    proc = project.snakemake(expect=1)
    assert "git.repository" in proc.stderr + proc.stdout, project.describe(proc)
    assert not project.fragment_files()


def test_every_invocation_that_computed_runs_is_an_environment(project):
    project.write_module(SIM)
    config = multiply_config(name="twice")
    project.write_config(config)
    project.snakemake()
    config["exploration"] = {"product": {"x": [1.0, 2.0, 3.0], "y": [10, 20, 30]}}
    project.write_config(config)
    project.snakemake()
    with tables.open_file(project.trajectory_file) as h5:
        environments = sorted(h5.get_node("/twice/config/environment")._v_children)
        runs = h5.get_node("/twice/overview/runs").read()
    assert len(environments) == 2, environments
    short = [name.split("_")[1] for name in environments]
    used = [row.decode() for row in runs["short_environment_hexsha"]]
    # the first six runs come from the first invocation, the three new ones from the second
    assert used.count(used[0]) == 6 and len(set(used)) == 2 and set(used) == set(short)


def test_logs_follow_pypets_layout(project):
    failing = (
        SIM
        + """

def sometimes_fails(traj):
    if traj.v_idx == 1:
        raise RuntimeError("run one is broken")
    multiply(traj)
"""
    )
    project.write_module(failing)
    project.write_config(multiply_config(name="logged", job="sim:sometimes_fails"))
    project.snakemake(expect=1)
    logs = project.path / "logs" / "logged"
    main = (logs / "main.txt").read_text()
    warnings = (logs / "warnings_and_errors.txt").read_text()
    assert "job of runs 0-1" in main
    assert "run_00000001" in warnings and "run one is broken" in warnings
    assert "INFO" not in warnings
    # the failed job stops the workflow, so a job not started by then has no log
    job_logs = sorted((logs / "jobs").glob("job_*.log"))
    assert 1 <= len(job_logs) <= 3 and job_logs[0].name == "job_000000.log"
    assert "run one is broken" in job_logs[0].read_text()
