"""Shared helpers: temp Snakemake projects that run the real `snakemake`, and in-process runs.

A `project` is a temp directory holding a copy of the repository's `Snakefile`, `workflow/` and
the `profiles` symlink, plus a test's own `config.yaml` and job module. `project.snakemake(...)`
runs the real `snakemake` there and, on an unexpected exit code, fails with its stdout, stderr
and every log file under `logs/`.
"""

from __future__ import annotations

import ast
import itertools
import json
import os
import resource
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
SNAKEMAKE_TIMEOUT = 600

# A job module most end-to-end tests use. Every call appends one line to calls.txt in the
# project directory: (run idx, pid, explored values), so tests can count computations.
SIM = """
import os
import time


def record_call(traj, *values):
    # the test's own record reads the index without telling the run (traj.v_idx would make
    # the run's fragment reusable at this index only, which tests of reuse do not want)
    with open("calls.txt", "a") as handle:
        handle.write(repr((traj._idx, os.getpid(), *values)) + "\\n")


def multiply(traj, delay=0.0):
    record_call(traj, traj.x, traj.y)
    time.sleep(delay)
    traj.f_add_result("z", traj.x * traj.y + traj.offset, comment="x * y + offset")
"""


def dump_config(config: dict[str, Any]) -> str:
    return yaml.safe_dump(config, sort_keys=False, allow_unicode=True)


def multiply_config(name: str = "prod", **overrides: Any) -> dict[str, Any]:
    """A config of the SIM module's `multiply`: x and y explored, offset a plain default."""
    config: dict[str, Any] = {
        "trajectory": {"name": name, "comment": "x times y"},
        "parameters": {
            "x": {"value": 0.0, "comment": "first factor"},
            "y": {"value": 0, "comment": "second factor"},
            "offset": {"value": 0.0, "comment": "added to the product"},
        },
        "exploration": {"product": {"x": [1.0, 2.0], "y": [10, 20, 30]}},
        "job": "sim:multiply",
        "runs_per_job": 2,
    }
    config.update(overrides)
    return config


def job_stats(output: str) -> dict[str, int]:
    """Snakemake's "Job stats" table (rule -> job count) from `snakemake -n` output."""
    lines = output.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == "Job stats:")
    except StopIteration:
        return {}
    counts = {}
    for line in lines[start + 3 :]:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            break
        counts[parts[0]] = int(parts[1])
    return counts


class Project:
    """A temp Snakemake project running the repository's workflow."""

    def __init__(self, path: Path) -> None:
        self.path = path
        shutil.copy(REPO / "Snakefile", path / "Snakefile")
        shutil.copytree(REPO / "workflow", path / "workflow")
        target = os.readlink(REPO / "profiles")
        (path / "profiles").symlink_to(target)
        self.config: dict[str, Any] = {}

    # setup --------------------------------------------------------------------------------
    def write_config(self, config: dict[str, Any] | str) -> None:
        if isinstance(config, str):
            text = textwrap.dedent(config)
            self.config = yaml.safe_load(text)
        else:
            text = dump_config(config)
            self.config = config
        (self.path / "config.yaml").write_text(text, encoding="utf-8")

    def write_module(self, source: str, name: str = "sim") -> None:
        (self.path / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        shutil.rmtree(self.path / "__pycache__", ignore_errors=True)

    # running ------------------------------------------------------------------------------
    def snakemake(
        self,
        *args: str,
        cores: int | None = 2,
        expect: int | None = 0,
        file_size_limit: int | None = None,
    ) -> subprocess.CompletedProcess:
        """Run `snakemake [--cores N] args...` here; `expect` None accepts any exit code,
        otherwise 0 means success and any other value means "must fail". `file_size_limit`:
        `ulimit -f` in bytes for snakemake and its jobs (a disk that fills, without root)."""
        command = ["snakemake", *(["--cores", str(cores)] if cores else []), *args]

        def limit_file_size() -> None:
            if file_size_limit is not None:
                resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

        proc = subprocess.run(
            command,
            cwd=self.path,
            capture_output=True,
            text=True,
            timeout=SNAKEMAKE_TIMEOUT,
            env=self.environment(),
            preexec_fn=limit_file_size if file_size_limit is not None else None,
        )
        if expect == 0:
            assert proc.returncode == 0, self.describe(proc)
        elif expect is not None:
            assert proc.returncode != 0, self.describe(proc)
        return proc

    def start_snakemake(
        self, *args: str, cores: int = 2, log: Path | None = None, new_session: bool = False
    ) -> subprocess.Popen:
        """Start `snakemake --cores N args...` here in the background, its output going to
        `log` (or nowhere); `new_session` puts it in a process group of its own, to kill."""
        output = open(log, "w") if log is not None else subprocess.DEVNULL
        try:
            return subprocess.Popen(
                ["snakemake", "--cores", str(cores), *args],
                cwd=self.path,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=new_session,
                env=self.environment(),
            )
        finally:
            if log is not None:
                output.close()  # the child has its own copy

    def dry_run(self, *args: str, expect: int | None = 0) -> subprocess.CompletedProcess:
        return self.snakemake("-n", *args, cores=None, expect=expect)

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        # the interpreter running the tests first on PATH, as when snakemake runs from a venv
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        return env

    def logs(self) -> str:
        """Every file under logs/ (and the newest .snakemake log), for failure messages."""
        parts = []
        files = sorted((self.path / "logs").rglob("*")) if (self.path / "logs").exists() else []
        snakemake_logs = sorted((self.path / ".snakemake" / "log").glob("*.log"))
        for path in [*files, *snakemake_logs[-1:]]:
            if path.is_file():
                text = path.read_text(errors="replace")
                parts.append(f"----- {path.relative_to(self.path)}\n{text[-6000:]}")
        return "\n".join(parts)

    def environment_log_dirs(self) -> list[Path]:
        """`logs/<name>/environment_*/` (one per invocation that ran jobs), oldest first."""
        found = (self.path / "logs" / self.name).glob("environment_*")
        return sorted(found, key=lambda path: path.name[-20:])  # by the time in the name

    def describe(self, proc: subprocess.CompletedProcess) -> str:
        command = " ".join(map(str, proc.args))
        return (
            f"`{command}` in {self.path} exited with {proc.returncode}\n"
            f"===== stdout\n{proc.stdout[-8000:]}\n===== stderr\n{proc.stderr[-12000:]}\n"
            f"===== logs\n{self.logs()}"
        )

    # results ------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.config["trajectory"]["name"]

    @property
    def trajectory_file(self) -> Path:
        filename = self.config["trajectory"].get("filename") or f"hdf5/{self.name}.hdf5"
        return self.path / filename

    def load(self, allow_pickle: bool = True):
        """The trajectory file (the test's own runs: their pickles may be unpickled)."""
        import pypet_sm

        return pypet_sm.load_trajectory(self.trajectory_file, allow_pickle=allow_pickle)

    @property
    def state(self) -> Path:
        return self.path / self.config.get("state_dir", ".pypet_sm") / self.name

    def fragment_files(self) -> set[Path]:
        """The fragment store's segment files."""
        from pypet_sm.execute import store

        return set(store.segment_files(self.state))

    def fragments(self, status: str) -> dict[int, tuple[Path, dict]]:
        """Run index -> (segment file, the record's body) of the best records of one status
        (store.COMPLETED or store.FAILED), from the records' own bodies."""
        from pypet_sm.execute import store

        index = store.scan(self.state)
        found = {}
        for entry in index.entries():
            if entry.status == status:
                body = index.read(entry)
                found[body["idx"]] = (entry.source, body)
        return found

    def fragments_by_idx(self) -> dict[int, Path]:
        """Run index -> segment file of the completed runs."""
        return {idx: path for idx, (path, _) in self.fragments("completed").items()}

    def discard(self, *runs: int) -> int:
        """Remove the records of these runs (by index in the current plan) from the store."""
        from pypet_sm.execute import plan as plans
        from pypet_sm.execute import store

        plan = plans.load(max((self.state / "plans").glob("plan-*.pkl"), key=os.path.getmtime))
        return store.discard(self.state, [plan.key(idx) for idx in runs])

    def calls(self) -> list[tuple]:
        """(idx, pid, values...) of every call of the job function so far."""
        path = self.path / "calls.txt"
        if not path.exists():
            return []
        return [ast.literal_eval(line) for line in path.read_text().splitlines() if line]

    def manifests(self) -> list[dict[str, Any]]:
        paths = sorted((self.state / "manifests").glob("*.json"))
        return [json.loads(path.read_text()) for path in paths]


@pytest.fixture
def project(tmp_path: Path) -> Project:
    directory = tmp_path / "project"
    directory.mkdir()
    return Project(directory)


# in-process runs (no snakemake) -----------------------------------------------------------

_module_numbers = itertools.count()


def write_unique_module(directory: Path, source: str) -> str:
    """Write `source` as a module with a name no other test uses; return the name."""
    name = f"pypet_sm_test_module_{os.getpid()}_{next(_module_numbers)}"
    (directory / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    return name


def compute_in_process(config: dict[str, Any], keep_going: bool = False):
    """Plan, run every job and merge in this process, in the current directory (as the
    workflow's rules do); returns the plan. `keep_going`: failed runs do not stop it (as
    `snakemake --keep-going` with run_failures: continue)."""
    from pypet_sm.execute import job as run
    from pypet_sm.execute import plan
    from pypet_sm.merge import write as merge
    from pypet_sm.provenance import environment

    the_plan = plan.from_config(config)
    plan.save(the_plan)
    environment.start(the_plan.settings)  # what Snakemake's onstart does
    manifests = the_plan.settings.trajectory_state / "manifests"
    for job in range(the_plan.n_jobs):
        run.run_job(
            the_plan.job_plan(job), manifests / f"job_{job:06d}.json", keep_going=keep_going
        )
    merge.merge(the_plan, the_plan.settings.filename)
    return the_plan


def assert_same(actual: Any, expected: Any, where: str = "value") -> None:
    """Equal values of exactly the same types, recursively (arrays: dtype and shape too)."""
    assert type(actual) is type(expected), (
        f"{where}: got {type(actual).__name__} {actual!r}, "
        f"expected {type(expected).__name__} {expected!r}"
    )
    if isinstance(expected, np.ndarray):
        assert actual.dtype == expected.dtype, f"{where}: dtype {actual.dtype} != {expected.dtype}"
        assert actual.shape == expected.shape, f"{where}: shape {actual.shape} != {expected.shape}"
        assert np.array_equal(actual, expected), f"{where}: {actual!r} != {expected!r}"
    elif isinstance(expected, dict):
        assert list(actual) == list(expected) or set(actual) == set(expected), (
            f"{where}: keys {list(actual)} != {list(expected)}"
        )
        for key in expected:
            assert_same(actual[key], expected[key], f"{where}[{key!r}]")
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected), f"{where}: {actual!r} != {expected!r}"
        for index, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_same(a, e, f"{where}[{index}]")
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


def processes_in(directory: Path) -> list[int]:
    """Pids of the processes (other than this one) whose working directory is `directory`:
    job processes a killed snakemake left behind."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if os.readlink(entry / "cwd") == str(directory):
                found.append(int(entry.name))
        except OSError:
            continue
    return found
