"""Provenance and logs end to end (real `snakemake`, real git repositories in temp dirs):
git integration per invocation, environment records, per-run provenance, pypet's log files."""

from __future__ import annotations

import re
import socket
import subprocess

import git
import pytest
import tables

from .conftest import SIM, multiply_config

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "test",
    "GIT_AUTHOR_EMAIL": "test@example.org",
    "GIT_COMMITTER_NAME": "test",
    "GIT_COMMITTER_EMAIL": "test@example.org",
}
ENVIRONMENT = re.compile(r"^environment_([0-9a-f]{7})_\d{4}_\d\d_\d\d_\d\dh\d\dm\d\ds$")


def _config_items(path, name: str, branch: str) -> dict[str, object]:
    """Leaf path below config/<branch> -> its stored value, read with our own leaf reader."""
    from pypet_sm.hdf5.leaf_load import load_leaf

    found = {}
    with tables.open_file(path) as h5:
        top = h5.get_node(f"/{name}/config/{branch}")
        for group in h5.walk_groups(top):
            if getattr(group._v_attrs, "SRVC_LEAF", False):
                relative = group._v_pathname[len(top._v_pathname) + 1 :]
                found[relative] = load_leaf(group).values["data"]
    return found


def _git(project, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=project.path, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def _git_project(project, monkeypatch, name: str, **git_options):
    """A project that is a git repository with everything committed."""
    for key, value in GIT_IDENTITY.items():
        monkeypatch.setenv(key, value)
    project.write_module(SIM)
    config = multiply_config(name=name, runs_per_job=1)
    config["git"] = {"repository": ".", **git_options}
    project.write_config(config)
    repo = git.Repo.init(project.path)
    (project.path / ".gitignore").write_text(
        ".snakemake/\n.pypet_sm/\nlogs/\nhdf5/\n__pycache__/\ncalls.txt\n"
    )
    repo.index.add(["sim.py", "config.yaml", ".gitignore", "Snakefile"])
    repo.index.commit("initial")
    return repo


def test_dirty_tree_is_committed_once_and_its_sha_recorded(project, monkeypatch):
    repo = _git_project(project, monkeypatch, "gitted", message="sweep")
    # a tracked file with uncommitted changes must be committed before the runs
    (project.path / "sim.py").write_text((project.path / "sim.py").read_text() + "\n# edited\n")
    (project.path / "untracked.txt").write_text("not added by git add -u")
    commits_before = int(_git(project, "rev-list", "--count", "HEAD"))

    proc = project.snakemake()

    head = _git(project, "rev-parse", "HEAD")
    # one commit for the invocation, although its 6 runs ran as 6 jobs
    assert int(_git(project, "rev-list", "--count", "HEAD")) == commits_before + 1
    commit = repo.commit(head)
    assert commit.message.startswith("sweep -- Trajectory: `gitted`"), commit.message
    assert "sim.py" in commit.stats.files and "untracked.txt" not in commit.stats.files
    assert not repo.is_dirty(untracked_files=False)
    assert "untracked.txt" in repo.untracked_files
    items = _config_items(project.trajectory_file, "gitted", "git")
    hexshas = {key: value for key, value in items.items() if key.endswith("hexsha")}
    assert list(hexshas.values()) == [head], items
    commit_group = next(iter(hexshas)).partition("/")[0]
    assert commit_group.startswith(f"commit_{head[:7]}_")
    assert items[f"{commit_group}/message"] == commit.message
    assert items[f"{commit_group}/committed_date"] == commit.committed_date
    assert items[f"{commit_group}/name_rev"] == commit.name_rev
    with project.load() as traj:
        (name,) = traj.config.environment.f_get_children()
        assert name.startswith(f"environment_{head[:7]}_")
        assert traj.config.environment.f_get(name).f_get("hexsha").f_get() == head
        assert traj.config.environment.f_get(name).f_get("git_message").f_get() == "sweep"
        short = {traj.f_get_run_information(i)["short_environment_hexsha"] for i in range(6)}
        assert short == {head[:7]}
    # the untracked file is named in a warning: on the console and in the environment's logs
    (log_dir,) = project.environment_log_dirs()
    warnings = (log_dir / "warnings_and_errors.txt").read_text()
    assert "untracked" in warnings and "untracked.txt" in warnings
    assert "untracked.txt" in proc.stderr
    assert f"committed 1 changed tracked files as {head}" in (log_dir / "main.txt").read_text()


def test_clean_tree_records_head_without_a_commit(project, monkeypatch):
    _git_project(project, monkeypatch, "clean")
    head_before = _git(project, "rev-parse", "HEAD")
    project.snakemake()
    assert _git(project, "rev-parse", "HEAD") == head_before
    with project.load() as traj:
        (environment,) = traj.config.environment.f_get_children().values()
        assert environment.f_get("hexsha").f_get() == head_before
    items = _config_items(project.trajectory_file, "clean", "git")
    assert [v for k, v in items.items() if k.endswith("hexsha")] == [head_before]


def test_git_fail_refuses_to_run_on_a_dirty_tree(project, monkeypatch):
    _git_project(project, monkeypatch, "refused", fail=True)
    (project.path / "sim.py").write_text((project.path / "sim.py").read_text() + "\n# edited\n")
    head_before = _git(project, "rev-parse", "HEAD")
    proc = project.snakemake(expect=1)
    output = proc.stdout + proc.stderr
    assert "git.fail" in output and "sim.py" in output, project.describe(proc)
    assert _git(project, "rev-parse", "HEAD") == head_before
    assert not project.fragment_files() and not project.calls()


def test_git_repository_that_is_not_one_names_the_field(project):
    project.write_module(SIM)
    config = multiply_config(name="nogit")
    config["git"] = {"repository": "no_such_dir"}
    project.write_config(config)
    proc = project.snakemake(expect=1)
    assert "git.repository" in proc.stderr + proc.stdout, project.describe(proc)
    assert not project.fragment_files()


def test_a_dry_run_makes_no_commit_and_no_environment(project, monkeypatch):
    _git_project(project, monkeypatch, "dry")
    (project.path / "sim.py").write_text((project.path / "sim.py").read_text() + "\n# edited\n")
    head_before = _git(project, "rev-parse", "HEAD")
    project.dry_run()
    assert _git(project, "rev-parse", "HEAD") == head_before
    assert not (project.state / "environments").exists()


# ---------------------------------------------------------------------------------------------
# Environments and per-run provenance


def test_a_continued_trajectory_keeps_every_environment(project):
    project.write_module(SIM)
    config = multiply_config(name="twice")
    project.write_config(config)
    project.snakemake()
    config["exploration"] = {"product": {"x": [1.0, 2.0, 3.0], "y": [10, 20, 30]}}
    project.write_config(config)
    project.snakemake("--cores", "1")  # the later --cores wins
    with project.load() as traj:
        environments = traj.config.environment.f_get_children()
        names = sorted(environments, key=lambda name: name[-20:])
        assert len(names) == 2, names
        first, second = (environments[name] for name in names)
        for name, environment, cores in ((names[0], first, "2"), (names[1], second, "1")):
            assert ENVIRONMENT.match(name).group(1) == environment.f_get("hexsha").f_get()[:7]
            start = environment.f_get("start_timestamp").f_get()
            finish = environment.f_get("finish_timestamp").f_get()
            assert start == environment.f_get("timestamp").f_get() and finish >= start
            assert environment.f_get("runtime").f_get().startswith("0:00:")
            assert environment.f_get("trajectory.name").f_get() == "twice"
            versions = environment.f_get("versions")
            for package in ("python", "pypet_sm", "snakemake", "numpy", "tables", "hdf5"):
                assert versions.f_get(package).f_get(), package
            assert versions.f_get("GitPython").f_get()
            assert versions.f_get("platform").f_get()
            invocation = environment.f_get("snakemake")
            command = invocation.f_get("command_line").f_get()
            assert "snakemake" in command and "--cores" in command
            assert invocation.f_get("cores").f_get() == cores
            assert invocation.f_get("executor").f_get() == "local"
            assert invocation.f_get("workflow_profile").f_get().endswith("profiles/default")
            # every setting of config.yaml
            assert environment.f_get("runs_per_job").f_get() == "2"
            assert environment.f_get("log_level").f_get() == "INFO"
            assert environment.f_get("job").f_get() == "sim:multiply"
            assert environment.f_get("git_fail").f_get() is False
            assert environment.f_get("dynamically_imported_classes").f_get() == "[]"
            assert environment.f_get("complevel").f_get() == 9
        assert second.f_get("start_timestamp").f_get() > first.f_get("finish_timestamp").f_get()
        table = traj.runs_table(provenance=True)
    # the first six runs come from the first invocation, the three new ones from the second
    by_point = {(row.x, row.y): row.environment for row in table.itertuples()}
    assert {by_point[(x, y)] for x in (1.0, 2.0) for y in (10, 20, 30)} == {names[0]}
    assert {by_point[(3.0, y)] for y in (10, 20, 30)} == {names[1]}


def test_every_run_records_where_and_how_it_ran(project, monkeypatch):
    monkeypatch.setenv("PBS_JOBID", "4242.pbs-server")  # as inside a PBS/Torque job
    module = (
        SIM
        + """

def flaky(traj):
    # run 4 fails in the job's first attempt; Snakemake retries the job
    if traj.v_idx == 4 and not os.path.exists("tried"):
        open("tried", "w").close()
        raise RuntimeError("first attempt fails")
    multiply(traj)
"""
    )
    project.write_module(module)
    project.write_config(multiply_config(name="where", job="sim:flaky"))
    project.snakemake("--retries", "1")
    with project.load() as traj:
        table = traj.runs_table(provenance=True)
        information = [traj.f_get_run_information(i) for i in range(6)]
        (environment,) = traj.config.environment.f_get_children()
        provenance = traj.f_get_run_provenance("run_00000004")
    pids = {call[0]: call[1] for call in project.calls()}  # the last call of each run
    assert list(table["environment"]) == [environment] * 6
    assert list(table["host"]) == [socket.gethostname()] * 6
    assert list(table["pid"]) == [pids[idx] for idx in range(6)]
    assert list(table["cluster_job_id"]) == ["4242.pbs-server"] * 6
    assert list(table["attempt"]) == [1, 1, 1, 1, 2, 1]
    for row, info in zip(table.itertuples(), information, strict=True):
        # the same times as pypet's runs table, which keeps them at full precision too
        assert row.start == info["timestamp"] and row.finish == info["finish_timestamp"]
        assert row.runtime == info["runtime"] and row.finish >= row.start
    assert provenance["attempt"] == 2 and provenance["name"] == "run_00000004"


# ---------------------------------------------------------------------------------------------
# Logs

LOGGING_JOB = """
import logging
import sys

logger = logging.getLogger("sim.model")


def chatty(traj):
    logger.info("computing point x=%s y=%s", traj.x, traj.y)
    print("printed by", traj.v_crun)
    print("to stderr from", traj.v_crun, file=sys.stderr)
    if traj.v_idx == 1:
        logger.warning("run one looks odd")
        raise RuntimeError("run one is broken")
    logger.debug("a debug message")
    traj.f_add_result("z", traj.x * traj.y)
"""
LINE_START = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (?P<run>\S+) |(?P<continued>\S+) \| )"
)


def _lines_by_run(text: str) -> list[tuple[str, str]]:
    """(run named at the start, line) of each line; fails on a line naming no run."""
    found = []
    for line in text.splitlines():
        match = LINE_START.match(line)
        assert match, f"a line that names no run: {line!r}"
        found.append((match.group("run") or match.group("continued"), line))
    return found


def test_logs_follow_pypets_layout_one_folder_per_environment(project):
    project.write_module(LOGGING_JOB)
    # every job runs (Snakemake's --keep-going), but failed runs are not merged
    project.write_config(multiply_config(name="logged", job="sim:chatty", keep_going=False))
    project.snakemake("--keep-going", expect=1)
    (log_dir,) = project.environment_log_dirs()
    assert ENVIRONMENT.match(log_dir.name), log_dir
    main = (log_dir / "main.txt").read_text()
    warnings = (log_dir / "warnings_and_errors.txt").read_text()
    job_logs = sorted((log_dir / "jobs").glob("job_*.txt"))
    assert [path.name for path in job_logs] == [f"job_00000{i}.txt" for i in range(3)]

    # main.txt: INFO and above of every process, the job function's messages included
    assert "snakemake pypet_sm.provenance.environment INFO [" in main  # from onstart
    assert f"environment {log_dir.name} of trajectory logged" in main
    assert "merge pypet_sm" not in main  # the failed runs leave nothing to merge
    assert "job of runs 0-1" in main and "DEBUG" not in main
    for run in range(6):
        assert f"run_{run:08d} sim.model INFO [" in main
        assert f"run_{run:08d} pypet_sm.stdout INFO [" in main
    # warnings_and_errors.txt: only WARNING and above, the failure with its traceback
    assert "INFO" not in warnings
    assert "run_00000001 sim.model WARNING" in warnings
    assert "run_00000001 pypet_sm.stderr WARNING" in warnings and "to stderr from" in warnings
    assert "run_00000001 | RuntimeError: run one is broken" in warnings
    # one log per run job: every line names its run (or its job outside a run)
    first_job = job_logs[0].read_text()
    runs_named = {run for run, _ in _lines_by_run(first_job)}
    assert runs_named == {"job_000000", "run_00000000", "run_00000001"}, first_job
    lines = dict(_lines_by_run(first_job))  # last line of each run
    assert "printed by run_00000000" in first_job and "printed by run_00000001" in first_job
    assert "computing point x=1.0 y=20" in first_job
    assert lines["run_00000001"].startswith("run_00000001 | ")  # the traceback's lines
    # progress: one line per finished run, with its runtime, in the job's log only
    assert re.search(
        r"run_00000000 pypet_sm\.progress INFO \[\d+\] finished in [\d.e-]+ s", first_job
    )
    assert re.search(
        r"run_00000001 pypet_sm\.progress INFO \[\d+\] failed in [\d.e-]+ s", first_job
    )
    assert first_job.count("pypet_sm.progress") == 2
    assert "pypet_sm.progress" not in main
    for path in job_logs[1:]:
        other = path.read_text()
        assert "run_00000000" not in other and "run_00000001" not in other
        assert {run for run, _ in _lines_by_run(other)} - {path.stem} == {
            f"run_{idx:08d}" for idx in range(2 * int(path.stem[-1]), 2 * int(path.stem[-1]) + 2)
        }
    # the rules' own logs (what Snakemake names on an error) are kept beside them
    rule_log = (project.path / "logs" / "logged" / "jobs" / "job_000000.log").read_text()
    assert "run one is broken" in rule_log


def test_log_level_and_a_second_environment_get_their_own_folder(project):
    project.write_module(LOGGING_JOB.replace("traj.v_idx == 1", "False"))
    config = multiply_config(name="quiet", job="sim:chatty", log_level="WARNING")
    project.write_config(config)
    project.snakemake()
    config["log_level"] = "DEBUG"
    config["exploration"] = {"zip": {"x": [5.0], "y": [5]}}
    project.write_config(config)
    project.snakemake()
    first, second = project.environment_log_dirs()
    quiet = (first / "main.txt").read_text()
    assert "INFO" not in quiet and "computing point" not in quiet
    assert "computing point" not in (first / "jobs" / "job_000000.txt").read_text()
    verbose = (second / "main.txt").read_text()
    assert "run_00000000 sim.model DEBUG" in verbose
    assert "merge pypet_sm.merge.write INFO" in verbose and "merged 1 runs" in verbose


# ---------------------------------------------------------------------------------------------
# On a (stand-in) cluster: Snakemake's cluster-generic executor submits every run job through
# a script, as to a batch system; the script gives each job an id in SLURM_JOB_ID and starts
# it in the background. Each cluster job is a separate `snakemake` that parses the Snakefile
# again.

SUBMIT = """#!/bin/sh
# a stand-in batch system: run the job script in the background, print its job id
id="$(date +%s%N)"
SLURM_JOB_ID="$id" nohup sh "$1" > "jobscript-$id.out" 2>&1 < /dev/null &
echo "$id"
"""


def test_cluster_jobs_share_the_invocations_one_commit(project, monkeypatch):
    pytest.importorskip("snakemake_executor_plugin_cluster_generic")
    repo = _git_project(project, monkeypatch, "cluster", message="on a cluster")
    (project.path / "sim.py").write_text((project.path / "sim.py").read_text() + "\n# edited\n")
    submit = project.path / "submit.sh"
    submit.write_text(SUBMIT)
    submit.chmod(0o755)
    commits_before = int(_git(project, "rev-list", "--count", "HEAD"))

    project.snakemake(
        "--executor", "cluster-generic", "--cluster-generic-submit-cmd", str(submit),
        "--jobs", "3", "--latency-wait", "30", cores=None,
    )  # fmt: skip

    # six run jobs, each a snakemake of its own on the "cluster": still one commit
    assert int(_git(project, "rev-list", "--count", "HEAD")) == commits_before + 1
    head = repo.head.commit.hexsha
    assert len(list((project.state / "environments").glob("environment_*.json"))) == 1
    with project.load() as traj:
        (name,) = traj.config.environment.f_get_children()
        assert name.startswith(f"environment_{head[:7]}_")
        invocation = traj.config.environment.f_get(name).f_get("snakemake")
        assert invocation.f_get("executor").f_get() == "cluster-generic"
        table = traj.runs_table(provenance=True)
    ids = list(table["cluster_job_id"])
    assert all(ids) and len(set(ids)) == 6, ids  # runs_per_job 1: a job id per run
    assert set(table["environment"]) == {name}
