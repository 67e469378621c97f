"""On a real SLURM: the workflow through the shipped profile `workflow/profiles/slurm`.

Needs a running SLURM (sinfo, sbatch, squeue; a node up) and snakemake-executor-plugin-slurm;
`.ci/run` installs and starts a single-node SLURM, so CI runs these. Elsewhere they are
skipped with the reason. The test cluster has no accounting database (no sacct), so status
checks use squeue; the first check comes after 2 s instead of 40 to keep the tests short.
"""

from __future__ import annotations

import collections
import importlib.util
import os
import shutil
import signal
import subprocess
import time

import git
import pytest
import yaml

from .conftest import REPO, Project
from .pypet.compare import RUN_TIMES, loader_view, value_differences

SLURM = (
    "--profile", "workflow/profiles/slurm",
    "--slurm-status-command", "squeue",
    "--slurm-init-seconds-before-status-checks", "2",
)  # fmt: skip

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.org",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.org",
}


def _slurm_problem() -> str | None:
    """Why SLURM cannot be used here, or None."""
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        return "snakemake-executor-plugin-slurm is not installed (pip install '.[slurm]')"
    for tool in ("sinfo", "sbatch", "squeue", "scancel"):
        if shutil.which(tool) is None:
            return (
                f"no SLURM on this machine ({tool} not found); .ci/run installs and starts a "
                "single-node SLURM"
            )
    states = ""
    for _ in range(30):  # a node that just started may take a few seconds to come up
        proc = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True)
        states = (proc.stdout + proc.stderr).strip()
        if proc.returncode == 0 and {"idle", "mix", "alloc"} & set(states.split()):
            return None
        time.sleep(1)
    return f"SLURM is installed but no node is up (sinfo: {states or 'no output'!r})"


@pytest.fixture(scope="module")
def slurm() -> None:
    problem = _slurm_problem()
    if problem:
        pytest.skip(problem)


def _jobs_of(path) -> dict[str, str]:
    """SLURM job id -> state of the jobs working in `path` (theirs, not other users' jobs)."""
    proc = subprocess.run(
        ["squeue", "-h", "-o", "%i|%T|%Z"], capture_output=True, text=True, check=True
    )
    jobs = {}
    for line in proc.stdout.splitlines():
        job_id, state, workdir = line.split("|", 2)
        if workdir == str(path) or workdir.startswith(f"{path}/"):
            jobs[job_id] = state
    return jobs


def _wait_for_no_jobs(path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while _jobs_of(path):
        assert time.monotonic() < deadline, f"SLURM jobs still there: {_jobs_of(path)}"
        time.sleep(1)


@pytest.fixture
def slurm_project(slurm, project):
    yield project
    leftover = _jobs_of(project.path)
    if leftover:
        subprocess.run(["scancel", *leftover], check=False)


def _content(path) -> dict:
    """What loading the trajectory gives, without what differs between any two executions
    (environments, the git commit, times)."""
    view = loader_view(path)
    view["config"] = {
        name: entry
        for name, entry in view["config"].items()
        if not name.startswith(("config.environment.", "config.git."))
    }
    for information in view["run_information"].values():
        for key in RUN_TIMES:
            information.pop(key, None)
    return view


def _assert_same_content(path, reference: dict) -> None:
    differences = value_differences(reference, _content(path), "trajectory")
    assert not differences, "\n".join(d.replace("pypet ", "local ") for d in differences)


def _local_reference(tmp_path, source: Project) -> dict:
    """The same project run locally with --cores 2: its trajectory's content."""
    directory = tmp_path / "local"
    directory.mkdir()
    reference = Project(directory)
    if (source.path / "sim.py").exists():
        shutil.copy(source.path / "sim.py", directory / "sim.py")
    if (source.path / "examples").exists():
        shutil.copytree(source.path / "examples", directory / "examples")
    reference.write_config({k: v for k, v in source.config.items() if k != "git"})
    reference.snakemake()
    return _content(reference.trajectory_file)


def test_example_on_slurm_equals_a_local_run(slurm_project, monkeypatch, tmp_path):
    project = slurm_project
    shutil.copy(REPO / "config.yaml", project.path / "config.yaml")
    shutil.copytree(REPO / "examples", project.path / "examples")
    project.config = yaml.safe_load((REPO / "config.yaml").read_text())
    # the invocation's side effects on the submitting host: one git commit (of the edited
    # tracked file), one environment, the merge
    for key, value in GIT_IDENTITY.items():
        monkeypatch.setenv(key, value)
    project.config["git"] = {"repository": ".", "message": "on SLURM"}
    project.write_config(project.config)
    repo = git.Repo.init(project.path)
    (project.path / ".gitignore").write_text(".snakemake/\n.pypet_sm/\nlogs/\nhdf5/\n*.pyc\n")
    repo.index.add(["config.yaml", ".gitignore", "Snakefile", "examples/neuron.py"])
    repo.index.commit("initial")
    (project.path / "examples" / "neuron.py").write_text(
        (project.path / "examples" / "neuron.py").read_text() + "\n# edited\n"
    )

    proc = project.snakemake(*SLURM, cores=None)
    output = proc.stdout + proc.stderr

    assert len(list(repo.iter_commits())) == 2, "one commit per invocation"
    environments = list((project.state / "environments").glob("environment_*.json"))
    assert len(environments) == 1
    assert "localrule merge:" in output and "\nrule run_job:" in output
    n_jobs = output.count("\nrule run_job:")
    assert n_jobs == 8, output  # 93 runs, runs_per_job auto
    with project.load() as traj:
        assert len(traj) == 93
        (name,) = traj.config.environment.f_get_children()
        assert name.startswith(f"environment_{repo.head.commit.hexsha[:7]}_")
        invocation = traj.config.environment.f_get(name).f_get("snakemake")
        assert invocation.f_get("executor").f_get() == "slurm"
        table = traj.runs_table(provenance=True)
    # every run carries the SLURM job id and node of the job that computed it
    ids = collections.Counter(table["cluster_job_id"])
    assert len(ids) == n_jobs and all(ids) and all(i.isdigit() for i in ids), ids
    assert sorted(ids.values()) == [9] + [12] * 7  # runs_per_job 12
    nodes = subprocess.run(["sinfo", "-h", "-o", "%N"], capture_output=True, text=True)
    assert set(table["cluster_node"]) <= set(nodes.stdout.split()), nodes.stdout
    assert set(table["environment"]) == {name}
    # runs of one job share their job id: consecutive runs
    assert list(table["cluster_job_id"]) == sorted(table["cluster_job_id"], key=list(ids).index)

    _assert_same_content(project.trajectory_file, _local_reference(tmp_path, project))


KILLED = """
import os
import time


def work(traj, delay):
    # O_APPEND: one whole line per call, whichever process of which job writes it
    fd = os.open("marker.txt", os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.write(fd, f"{traj.v_idx}\\n".encode())
    os.close(fd)
    time.sleep(delay)
    traj.f_add_result("z", traj.x * 2.0, comment="twice x")
"""


def _marked(project) -> list[int]:
    path = project.path / "marker.txt"
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def test_killed_submitter_then_the_documented_rerun_completes(slurm_project, tmp_path):
    project = slurm_project
    project.write_module(KILLED)
    n_runs = 20
    project.write_config(
        {
            "trajectory": {"name": "killed"},
            "parameters": {"x": 0.0},
            "exploration": {"zip": {"x": [float(i) for i in range(n_runs)]}},
            "job": "sim:work",
            "kwargs": {"delay": 0.4},
            "runs_per_job": 4,  # 5 SLURM jobs, two at a time on the two cores
            "resources": {"seconds_per_run": 0.4},
        }
    )
    log = (project.path / "first.log").open("w")
    first = subprocess.Popen(
        ["snakemake", *SLURM],
        cwd=project.path,
        env=project.environment(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 240
        while len(_marked(project)) < 6:
            assert first.poll() is None, (project.path / "first.log").read_text()
            assert time.monotonic() < deadline, (project.path / "first.log").read_text()
            time.sleep(0.2)
        queued = _jobs_of(project.path)
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # the submitting snakemake and its children
        first.wait()
        log.close()
    # mid-sweep: jobs were still queued or running, and they go on without their snakemake
    assert queued and len(_marked(project)) < n_runs, queued

    # the documented rerun: the same command again
    project.snakemake(*SLURM, cores=None)

    _wait_for_no_jobs(project.path)  # orphans of the killed invocation, if any, have ended
    counts = collections.Counter(_marked(project))
    assert sorted(counts) == list(range(n_runs))
    assert set(counts.values()) == {1}, {i: n for i, n in counts.items() if n > 1}
    with project.load() as traj:
        table = traj.runs_table(provenance=True)
        assert [float(z) for z in table["z"]] == [2.0 * i for i in range(n_runs)]
        assert all(table["cluster_job_id"])
    _assert_same_content(project.trajectory_file, _local_reference(tmp_path, project))


def _array_tasks(path) -> dict[str, str]:
    """Array task id (`A_i`) -> state of the SLURM jobs working in `path`, pending tasks one
    by one (`squeue -r`)."""
    proc = subprocess.run(
        ["squeue", "-r", "-h", "-o", "%i|%T|%Z"], capture_output=True, text=True, check=True
    )
    tasks = {}
    for line in proc.stdout.splitlines():
        job_id, state, workdir = line.split("|", 2)
        if "_" in job_id and (workdir == str(path) or workdir.startswith(f"{path}/")):
            tasks[job_id] = state
    return tasks


def test_run_jobs_go_as_one_array_and_resume_after_scancel(slurm_project):
    project = slurm_project
    project.write_module(KILLED)
    n_runs = 12
    project.write_config(
        {
            "trajectory": {"name": "array"},
            "parameters": {"x": 0.0},
            "exploration": {"zip": {"x": [float(i) for i in range(n_runs)]}},
            "job": "sim:work",
            "kwargs": {"delay": 1.0},
            "runs_per_job": 2,  # 6 run jobs: one array of 6 tasks, two run at a time
            "resources": {"seconds_per_run": 1.0},
        }
    )
    log_path = project.path / "first.log"
    log = log_path.open("w")
    # no retries: the cancelled jobs are not resubmitted; the next invocation resumes
    first = subprocess.Popen(
        ["snakemake", *SLURM, "--retries", "0"],
        cwd=project.path,
        env=project.environment(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 240
        tasks: dict[str, str] = {}
        while len(_marked(project)) < 3:
            tasks.update(_array_tasks(project.path))
            assert first.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        tasks.update(_array_tasks(project.path))
        arrays = {task.split("_")[0] for task in tasks}
        assert len(arrays) == 1, tasks  # one sbatch for all run jobs
        (array,) = arrays
        subprocess.run(["scancel", array], check=True)
        _wait_for_no_jobs(project.path)
        # Without accounting (squeue status), plugin 2.8 never sees the cancelled tasks that
        # had not started: `squeue` without -r lists them as one line `A_[3-6]`, so the
        # submitter waits for ever (README "Clusters"). The user stops it, as here.
        time.sleep(3)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        log.close()
    output = log_path.read_text()
    assert output.count("Submitted array job with Snakemake IDs") == 1, output
    assert "The individual task IDs are 1-6." in output, output
    _wait_for_no_jobs(project.path)
    finished = {idx: path.stat().st_mtime_ns for idx, path in project.fragments_by_idx().items()}
    assert finished and len(finished) < n_runs, finished
    marked_before = len(_marked(project))

    project.snakemake(*SLURM, cores=None)

    # the runs finished before the scancel were not computed again; the others were, once
    recomputed = _marked(project)[marked_before:]
    assert not set(recomputed) & set(finished), (recomputed, finished)
    assert sorted(set(_marked(project))) == list(range(n_runs))
    now = project.fragments_by_idx()
    assert {idx: now[idx].stat().st_mtime_ns for idx in finished} == finished
    with project.load() as traj:
        table = traj.runs_table(provenance=True)
        assert [float(z) for z in table["z"]] == [2.0 * i for i in range(n_runs)]
        ids = set(table["cluster_job_id"])
        # SLURM_JOB_ID of an array task is its own job id (not A_i); a job cancelled midway
        # has its runs from two SLURM jobs
        assert all(ids) and len(ids) >= n_runs // 2, ids


def test_damaged_records_are_recomputed_in_slurm_jobs(slurm_project):
    """A damaged record and a damaged manifest after a finished run: the rerun computes
    them in SLURM jobs, never in the merge on the submitting host."""
    from pypet_sm.execute import segment, store

    from .conftest import SIM, multiply_config

    project = slurm_project
    project.write_module(SIM)
    project.write_config(multiply_config(name="repair"))
    project.snakemake(*SLURM, cores=None)
    assert len(project.calls()) == 6
    with project.load() as traj:
        expected = traj.f_get_from_runs("z", use_indices=True)
    segments = sorted(store.segment_files(project.state))
    assert len(segments) == 3
    scanned = segment.scan(segments[0].read_bytes())
    data = bytearray(segments[0].read_bytes())
    data[scanned.offset[1] + scanned.length[1] - 2] ^= 0x10  # run 1's body
    segments[0].write_bytes(bytes(data))
    manifest = project.state / "manifests" / "job_000002.json"
    manifest.write_text(manifest.read_text()[:-5])  # damaged: job 2 runs again, computing nothing

    proc = project.snakemake(*SLURM, cores=None)
    output = proc.stdout + proc.stderr
    assert "pypet_sm: 2 finished run job(s) run again" in output, project.describe(proc)
    assert sorted(call[0] for call in project.calls()[6:]) == [1], project.describe(proc)
    assert output.count("\nrule run_job:") == 2, output
    merge_log = (project.path / "logs/repair/merge.log").read_text()
    assert "job of runs" not in merge_log and "computing" not in merge_log.lower(), merge_log
    with project.load() as traj:
        table = traj.runs_table(provenance=True)
        assert traj.f_get_from_runs("z", use_indices=True) == expected
    assert str(table["cluster_job_id"][1]).isdigit(), table
    proc = project.snakemake(*SLURM, cores=None)
    assert "Nothing to be done" in proc.stdout + proc.stderr, project.describe(proc)
