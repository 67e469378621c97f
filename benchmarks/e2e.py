"""pypet_sm against pypet 0.7, end to end (issue 4): one command, markdown tables.

    python benchmarks/e2e.py                              # full: 1,000 & 10,000 runs with pypet,
                                                          # 100,000 & 1,000,000 ours alone
    python benchmarks/e2e.py --runs 200 --big-runs 2000   # smoke run, 2-3 minutes
    python benchmarks/e2e.py --pypet-python /path/to/python  # a Python with pypet 0.7
    python benchmarks/e2e.py --no-pypet --runs 10000 --big-runs 100000 --layout stacked

Workloads (benchmarks/workloads.py, the same exploration and job function on both sides):
`trivial` (one float result per run), `neuron` (the shipped example's `run_neuron`, 20 ms
simulated) and `3 scalars` (three scalar results, for the runs-table timing).

- pypet 0.7: Environment, multiproc, 2 cores, QUEUE wrap mode, pool, in a Python 3.12 venv.
  Without --pypet-python the benchmark makes that venv itself, once, in
  ~/.cache/pypet_sm/pypet-0.7-venv (pip install pypet==0.7.0 from PyPI).
- ours: `snakemake --cores 2` in a fresh temp project (Snakefile and workflow/ copied from a
  snapshot of this checkout taken at start, so edits made meanwhile do not leak in), end to
  end including the merge; one project per measurement.

Phases of our run come from one `snakemake --cores 2` call: the time until the first run job
starts (Snakemake start, parse-time planning, DAG), the run jobs (first job start to last
manifest), the wait before the merge, and the merge; planning alone is timed in a fresh
process and as a dry run (`snakemake -n`) in a separate project. Framework cost per run is
job time minus time in the job function, both measured in the job processes (manifests).
Resume: `snakemake --cores 2` is killed (SIGKILL to its process group) once half of the
fragments exist, then `snakemake --unlock` and `snakemake --cores 2 --rerun-incomplete`.
Loading: each figure in a fresh process (benchmarks/inprocess.py; pypet: pypet_baseline.py).

Tables go to stdout, progress to stderr, all figures as JSON (rewritten after every
measurement) and the tables as markdown to benchmarks/results/. A failed step names its
command and shows the tail of its logs; its row is marked failed, its temp project is kept,
and the benchmark goes on (exit status 1 at the end).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
import workloads  # noqa: E402

NAME = "bench"
CORES = "2"
PYPET_VERSION = "0.7.0"
SNAPSHOT_ITEMS = ("pypet_sm", "Snakefile", "workflow", "examples")
NA_LAYOUT = "n/a (layout not available)"
QUIET_CORES = 0.2  # other processes' load (in cores) above which a figure is marked


class StepFailed(Exception):
    """A command of the benchmark failed; the message names it and shows its logs."""


class TimedOut(StepFailed):
    """A command ran longer than its time limit and was killed."""


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError as error:
        return f"(cannot read: {error})"
    return "\n".join(text[-lines:])


# ----------------------------------------------------------------------------------------------
# running commands


class Runner:
    """Runs the benchmark's commands with their output kept in files, and explains failures."""

    def __init__(self, work: Path, env: dict[str, str], timeout: float) -> None:
        self.work = work
        self.env = env
        self.timeout = timeout
        self.count = 0
        self.current: subprocess.Popen | None = None

    def _outputs(self, label: str) -> tuple[Path, Path]:
        self.count += 1
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", label)[:80]
        base = self.work / "step-logs" / f"{self.count:03d}-{stem}"
        base.parent.mkdir(parents=True, exist_ok=True)
        return base.with_suffix(".out"), base.with_suffix(".err")

    def start(
        self, label: str, command: list[str], cwd: Path
    ) -> tuple[subprocess.Popen, Path, Path]:
        out, err = self._outputs(label)
        with open(out, "wb") as stdout, open(err, "wb") as stderr:
            process = subprocess.Popen(
                command,
                cwd=cwd,
                env=self.env,
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,  # its own process group: a kill reaches the jobs too
            )
        self.current = process
        return process, out, err

    def stop_current(self) -> None:
        """Kill the command running now, with its jobs (on Ctrl-C or a timeout of ours)."""
        if self.current is not None and self.current.poll() is None:
            kill_group(self.current)

    def run(
        self, label: str, command: list[str], cwd: Path, timeout: float | None = None
    ) -> tuple[float, str]:
        """Run to the end; elapsed seconds and stdout. StepFailed on a non-zero exit."""
        timeout = timeout or self.timeout
        started = time.perf_counter()
        process, out, err = self.start(label, command, cwd)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(process)
            why = f"timed out after {timeout} s"
            raise TimedOut(self.explain(command, cwd, why, out, err)) from None
        elapsed = time.perf_counter() - started
        if process.returncode:
            raise StepFailed(
                self.explain(command, cwd, f"exit status {process.returncode}", out, err)
            )
        return elapsed, out.read_text(errors="replace")

    def explain(self, command: list[str], cwd: Path, what: str, out: Path, err: Path) -> str:
        """Which command failed, the tail of its output and of the logs it names."""
        parts = [f"command failed ({what}): {shlex.join(command)}\n  in {cwd}"]
        for path in (err, out):
            if path.stat().st_size:
                parts.append(f"--- {path.name} (tail) ---\n{tail(path, 25)}")
        text = err.read_text(errors="replace") + out.read_text(errors="replace")
        # the logs of the failed jobs: Snakemake's "Error in rule ..." blocks name them
        failed = re.findall(r"Error in rule .*?\n(?:(?!\n\n).)*?log: (\S+)", text, re.DOTALL)
        logs_dir = cwd / "logs" / NAME
        named = [cwd / path for path in failed] + [logs_dir / "warnings_and_errors.txt"]
        shown = []
        for path in named:
            if path.is_file() and path not in shown and len(shown) < 5:
                shown.append(path)
                parts.append(f"--- {path} (tail) ---\n{tail(path)}")
        return "\n".join(parts)


def kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def busy_cpu_seconds() -> float:
    """CPU seconds all processes of the machine have used (/proc/stat, without idle)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]
    except OSError:
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq = map(int, fields)
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU seconds of this process and of its finished descendants."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class OtherLoad:
    """How many cores other processes kept busy meanwhile: a figure measured on a shared
    machine beside someone's test suite is not a figure."""

    def __enter__(self) -> OtherLoad:
        self.started = time.perf_counter()
        self.busy, self.own = busy_cpu_seconds(), own_cpu_seconds()
        self.cores = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self.started
        self.own_cpu = own_cpu_seconds() - self.own
        other = (busy_cpu_seconds() - self.busy) - self.own_cpu
        self.cores = max(other, 0.0) / wall if wall > 0 else 0.0


# ----------------------------------------------------------------------------------------------
# projects


def config_text(workload: str, runs: int, layout: str, report_off: bool = False) -> str:
    spec = workloads.WORKLOADS[workload]
    lines = [
        f"trajectory: {{name: {NAME}, comment: {workload} runs}}",
        "parameters:",
        *(
            f"  {name}: {{value: {value!r}, comment: {comment}}}"
            for name, (value, comment) in spec["parameters"].items()
        ),
        "exploration:",
        "  product:",
        *(
            f"    {name}: {{{kind}: {arguments}}}"
            for name, (kind, arguments) in spec["exploration"](runs).items()
        ),
        f"job: {spec['job']}",
    ]
    if layout != "pypet":
        lines.append(f"storage: {{layout: {layout}}}")
    if report_off:  # the sweep itself is measured, as pypet's: no report summary and plots
        lines.append("report: {enabled: false}")
    return "\n".join(lines) + "\n"


def make_project(directory: Path, source: Path, workload: str, runs: int, layout: str) -> None:
    directory.mkdir(parents=True)
    shutil.copy(source / "Snakefile", directory / "Snakefile")
    shutil.copytree(source / "workflow", directory / "workflow", symlinks=True)
    (directory / "profiles").symlink_to("workflow/profiles")
    (directory / "examples").mkdir()
    for name in ("__init__.py", "neuron.py"):
        shutil.copy(source / "examples" / name, directory / "examples" / name)
    shutil.copy(HERE / "workloads.py", directory / "sim.py")
    # revisions before the sweep report (--rev) do not know its switch
    schema = (source / "workflow" / "schemas" / "config.schema.yaml").read_text()
    report_off = "\n  report:" in schema
    (directory / "config.yaml").write_text(config_text(workload, runs, layout, report_off))


def count_files(directory: Path) -> int:
    try:
        shards = list(os.scandir(directory))
    except FileNotFoundError:
        return 0
    return sum(len(os.listdir(shard.path)) for shard in shards if shard.is_dir())


def count_runs(directory: Path, scans: dict[str, tuple]) -> int:
    """Runs the fragment store holds: records in its segments (each segment scanned on
    from where the previous call in `scans` stopped, so polling costs only the new bytes),
    or files in a revision's one-file-per-run store (--rev)."""
    from pypet_sm.execute import store_index

    segments = sorted(directory.glob("job_*.seg"))
    if not segments:
        return count_files(directory)
    for path in segments:
        scanned = store_index.scan_file(path, scans.get(path.name))
        if scanned is not None:
            scans[path.name] = scanned
    return sum(len(scanned[2].keys) for scanned in scans.values())


def read_manifests(directory: Path, since: float = 0.0) -> dict[str, float]:
    """Sums over the job manifests written after `since` (wall-clock time)."""
    sums = dict.fromkeys(("jobs", "completed", "skipped", "seconds_total", "in_function"), 0.0)
    last = 0.0
    for path in directory.glob("*.json"):
        mtime = path.stat().st_mtime
        if mtime <= since:
            continue
        manifest = json.loads(path.read_text())
        sums["jobs"] += 1
        sums["completed"] += manifest["completed"]
        sums["skipped"] += manifest["skipped"]
        sums["seconds_total"] += manifest["seconds_total"]
        sums["in_function"] += manifest["seconds_in_function"]
        last = max(last, mtime)
    sums["last_mtime"] = last
    return sums


def read_merge_log(path: Path) -> dict[str, float]:
    text = path.read_text(errors="replace") if path.is_file() else ""
    found = re.findall(r"merged (\d+) runs into .* in ([\d.]+) s, peak memory (\d+) MB", text)
    if not found:
        return {}
    runs, seconds, peak = found[-1]
    return {
        "merged runs": int(runs),
        "merge in process s": float(seconds),
        "merge peak MB": int(peak),
    }


# ----------------------------------------------------------------------------------------------
# the benchmark


class Benchmark:
    def __init__(self, arguments: argparse.Namespace) -> None:
        self.args = arguments
        self.work = Path(tempfile.mkdtemp(prefix="pypet_sm_bench_", dir=arguments.tmp))
        self.source = self.work / "src"
        self.results_dir = HERE / "results"
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        self.json_path = self.results_dir / f"e2e-{stamp}.json"
        self.md_path = self.results_dir / f"e2e-{stamp}.md"
        self.env = dict(os.environ)
        self.env["PYTHONPATH"] = os.pathsep.join(
            [str(self.source), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
        self.runner = Runner(self.work, self.env, arguments.step_timeout)
        self.layouts: dict[str, str] = {}  # layout -> "" when available, else why not
        self.pypet_python: str | None = None
        self.data: dict[str, Any] = {
            "arguments": {k: v for k, v in vars(arguments).items()},
            "machine": {},
            "compare": [],
            "phases": [],
            "rerun": [],
            "load": [],
            "failures": [],
        }
        self.keep_work = False

    # setup ------------------------------------------------------------------------------------
    def snapshot(self) -> None:
        """Copy the package and workflow as they are now (or at --rev); the benchmark runs
        this copy, so edits made while it runs do not leak in."""
        self.source.mkdir()
        if self.args.rev:
            archive = ["git", "-C", str(REPO), "archive", "--format=tar", self.args.rev]
            tar = subprocess.run([*archive, *SNAPSHOT_ITEMS], capture_output=True)
            if tar.returncode:
                raise StepFailed(f"{shlex.join(archive)} failed: {tar.stderr.decode()[-2000:]}")
            subprocess.run(["tar", "-x", "-C", str(self.source)], input=tar.stdout, check=True)
            return
        for name in SNAPSHOT_ITEMS:
            source = REPO / name
            target = self.source / name
            if source.is_dir():
                ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
                shutil.copytree(source, target, symlinks=True, ignore=ignore)
            else:
                shutil.copy(source, target)

    def machine_facts(self) -> None:
        facts: dict[str, Any] = {}
        facts["cores"] = os.cpu_count()
        facts["usable cores"] = len(os.sched_getaffinity(0))
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
            facts["cpu"] = re.search(r"model name\s*:\s*(.*)", cpuinfo).group(1).strip()
        except (OSError, AttributeError):
            facts["cpu"] = platform.processor() or "?"
        try:
            meminfo = Path("/proc/meminfo").read_text()
            kib = int(re.search(r"MemTotal:\s*(\d+)", meminfo).group(1))
            facts["memory GB"] = round(kib / 1024**2, 1)
        except (OSError, AttributeError):
            pass
        facts["os"] = platform.platform()
        facts["python (ours)"] = sys.version.split()[0]
        probe = (
            "import json, numpy, tables, snakemake, pypet_sm; print(json.dumps({'snakemake': "
            "snakemake.__version__, 'pypet_sm': pypet_sm.__version__, 'pypet_sm path': "
            "pypet_sm.__file__, 'numpy': numpy.__version__, 'tables': tables.__version__}))"
        )
        _, out = self.runner.run("versions", [sys.executable, "-c", probe], self.work)
        facts.update(json.loads(out))
        rev = self.args.rev or "HEAD"
        git = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", rev], capture_output=True, text=True
        )
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--", *SNAPSHOT_ITEMS],
            capture_output=True,
            text=True,
        )
        local = " + local changes" if dirty.stdout and not self.args.rev else ""
        facts["pypet_sm commit"] = git.stdout.strip() + local
        usage = shutil.disk_usage(self.work)
        facts["temp dir"] = f"{self.work} ({usage.free / 1e9:.0f} GB free)"
        self.data["machine"] = facts

    def setup_pypet(self) -> None:
        if self.args.no_pypet:
            return
        check = (
            "import json, sys, pypet, numpy, tables; print(json.dumps({'pypet': pypet.__version__,"
            " 'python': sys.version.split()[0], 'numpy': numpy.__version__, 'tables': "
            "tables.__version__}))"
        )
        python = self.args.pypet_python
        if python is None:
            venv = Path(self.args.pypet_venv).expanduser()
            python = str(venv / "bin" / "python")
            if not self._pypet_ok(python, check):
                self._make_pypet_venv(venv)
            else:
                log(f"pypet {PYPET_VERSION}: using the venv in {venv}")
        _, out = self.runner.run("pypet-version", [python, "-c", check], self.work)
        found = json.loads(out)
        if found["pypet"] != PYPET_VERSION:
            log(f"warning: {python} has pypet {found['pypet']}, not {PYPET_VERSION}")
        self.pypet_python = python
        self.data["machine"].update({f"{k} (pypet side)": v for k, v in found.items()})
        self.data["machine"]["pypet python"] = python

    def _pypet_ok(self, python: str, check: str) -> bool:
        if not Path(python).exists():
            return False
        done = subprocess.run([python, "-c", check], capture_output=True, text=True)
        return done.returncode == 0 and json.loads(done.stdout)["pypet"] == PYPET_VERSION

    def _make_pypet_venv(self, venv: Path) -> None:
        base = self.args.pypet_base_python
        candidates = [base] if base else []
        candidates += [
            "/root/.pyenv/versions/3.12.1/bin/python",
            shutil.which("python3.12"),
            shutil.which("python3.13"),
        ]
        found = next((c for c in candidates if c and Path(c).exists()), None)
        if found is None:
            raise StepFailed(
                "pypet 0.7 needs Python >= 3.12 and none was found: pass --pypet-base-python, "
                "--pypet-python (a Python with pypet 0.7), or --no-pypet"
            )
        log(
            f"pypet {PYPET_VERSION} needs Python >= 3.12: installing it from PyPI into {venv} "
            f"with {found} (once; later runs reuse it; --pypet-python uses your own)"
        )
        if venv.exists():
            shutil.rmtree(venv)
        venv.parent.mkdir(parents=True, exist_ok=True)
        self.runner.run("pypet-venv", [found, "-m", "venv", str(venv)], self.work)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        self.runner.run("pypet-install", [*pip, f"pypet=={PYPET_VERSION}"], self.work)

    def layout_available(self, layout: str) -> bool:
        """Whether this checkout accepts `storage: {layout: ...}` (dry run of a tiny project)."""
        if layout == "pypet":
            return True
        if layout not in self.layouts:
            project = self.work / f"probe-{layout}"
            make_project(project, self.source, "trivial", 20, layout)
            command = [sys.executable, "-m", "snakemake", "-n"]
            try:
                self.runner.run(f"probe-layout-{layout}", command, project)
                self.layouts[layout] = ""
            except StepFailed as error:
                if "layout" not in str(error):
                    raise
                self.layouts[layout] = str(error)
                log(f"layout {layout}: not accepted by this checkout -> {NA_LAYOUT}")
            shutil.rmtree(project)
        return not self.layouts[layout]

    # measurements -----------------------------------------------------------------------------
    def snakemake(self, label: str, project: Path, *arguments: str) -> float:
        command = [sys.executable, "-m", "snakemake", *arguments]
        return self.runner.run(label, command, project)[0]

    def full_run(self, label: str, project: Path) -> dict[str, Any]:
        """`snakemake --cores 2` once, with the phases read off the files it creates."""
        jobs_logs = project / "logs" / NAME / "jobs"
        merge_log = project / "logs" / NAME / "merge.log"
        command = [sys.executable, "-m", "snakemake", "--cores", CORES]
        wall_started = time.time()
        started = time.perf_counter()
        watch = OtherLoad().__enter__()
        process, out, err = self.runner.start(label, command, project)
        first_job = merge_seen = None
        while process.poll() is None:
            now = time.perf_counter() - started
            if now > self.args.step_timeout:
                kill_group(process)
                raise StepFailed(self.runner.explain(command, project, "timed out", out, err))
            if first_job is None and jobs_logs.is_dir() and os.listdir(jobs_logs):
                first_job = now
            if merge_seen is None and merge_log.exists():
                merge_seen = now
            time.sleep(0.02)
        total = time.perf_counter() - started
        watch.__exit__()
        if process.returncode:
            why = f"exit status {process.returncode}"
            raise StepFailed(self.runner.explain(command, project, why, out, err))
        manifests = read_manifests(project / ".pypet_sm" / NAME / "manifests")
        last_manifest = manifests["last_mtime"] - wall_started
        first_job = total if first_job is None else first_job
        merge_seen = total if merge_seen is None else merge_seen
        completed = manifests["completed"] or 1
        row = {
            "total s": total,
            "until first job s": first_job,
            "run jobs s": max(last_manifest - first_job, 0.0),
            "before merge s": max(merge_seen - last_manifest, 0.0),
            "merge s": total - merge_seen,
            "jobs": int(manifests["jobs"]),
            "framework ms/run": (manifests["seconds_total"] - manifests["in_function"])
            / completed
            * 1000,
            "function ms/run": manifests["in_function"] / completed * 1000,
            "cpu s": watch.own_cpu,
            "other load": watch.cores,
        }
        row.update(read_merge_log(merge_log))
        return row

    def measure_ours(
        self,
        workload: str,
        runs: int,
        layout: str,
        *,
        plan: bool,
        noop: bool,
        resume: bool,
        load: bool,
    ) -> dict[str, Any]:
        row: dict[str, Any] = {"workload": workload, "runs": runs, "layout": layout}
        label = f"{workload}-{runs}-{layout}"
        if not self.layout_available(layout):
            row["status"] = NA_LAYOUT
            return row
        base = self.work / label.replace(" ", "_")
        if plan:  # planning alone in a fresh process, then a dry run, in a project of their own
            dry = base / "dry"
            make_project(dry, self.source, workload, runs, layout)
            command = [sys.executable, str(HERE / "inprocess.py"), "plan", "config.yaml"]
            _, out = self.runner.run(f"{label}-plan", command, dry)
            row["plan s"] = json.loads(out)["plan s"]
            shutil.rmtree(dry / ".pypet_sm")
            row["dry run s"] = self.snakemake(f"{label}-dry-run", dry, "-n")
            shutil.rmtree(dry)
        # the whole workflow in one call
        project = base / "run"
        make_project(project, self.source, workload, runs, layout)
        log(f"ours {label}: running")
        row.update(self.full_run(f"{label}-run", project))
        trajectory = project / "hdf5" / f"{NAME}.hdf5"
        row["file bytes"] = trajectory.stat().st_size
        row["bytes/run"] = row["file bytes"] / runs
        if row.get("merged runs") != runs:
            raise StepFailed(f"{label}: merge.log says {row.get('merged runs')} runs merged")
        log(f"ours {label}: total {row['total s']:.2f} s")
        if noop:
            mtime = trajectory.stat().st_mtime_ns
            row["no-op rerun s"] = self.snakemake(f"{label}-noop", project, "--cores", CORES)
            if trajectory.stat().st_mtime_ns != mtime:
                row["no-op rerun s"] = f"{row['no-op rerun s']:.3g} (rewrote the trajectory!)"
        if load:
            row["load"] = self.measure_load(label, trajectory)
        shutil.rmtree(project)
        if resume:
            row.update(self.measure_resume(label, base / "resume", workload, runs, layout))
        shutil.rmtree(base)
        return row

    def measure_resume(
        self, label: str, project: Path, workload: str, runs: int, layout: str
    ) -> dict[str, Any]:
        make_project(project, self.source, workload, runs, layout)
        fragments = project / ".pypet_sm" / NAME / "fragments"
        command = [sys.executable, "-m", "snakemake", "--cores", CORES]
        process, out, err = self.runner.start(f"{label}-to-kill", command, project)
        started = time.perf_counter()
        interval = 0.01 if runs <= 20_000 else 0.1
        scans: dict[str, tuple] = {}
        while True:
            if process.poll() is not None:
                if process.returncode:
                    why = f"exit status {process.returncode}"
                    raise StepFailed(self.runner.explain(command, project, why, out, err))
                return {"resume": "n/a (finished before half the runs were done)"}
            if time.perf_counter() - started > self.args.step_timeout:
                kill_group(process)
                raise StepFailed(self.runner.explain(command, project, "timed out", out, err))
            if count_runs(fragments, scans) >= runs // 2:
                kill_group(process)
                break
            time.sleep(interval)
        killed_at = time.time()
        at_kill = count_runs(fragments, scans)
        time.sleep(0.5)
        row: dict[str, Any] = {"runs stored at kill": at_kill}
        grew = count_runs(fragments, scans) - at_kill
        if grew:
            row["runs stored after kill"] = grew
        log(f"ours {label}: killed with {at_kill} of {runs} runs stored; resuming")
        row["unlock s"] = self.snakemake(f"{label}-unlock", project, "--unlock")
        row["rerun-incomplete s"] = self.snakemake(
            f"{label}-resume", project, "--cores", CORES, "--rerun-incomplete"
        )
        row["resume s"] = row["unlock s"] + row["rerun-incomplete s"]
        after = read_manifests(project / ".pypet_sm" / NAME / "manifests", since=killed_at)
        row["runs computed on resume"] = int(after["completed"])
        row["runs skipped on resume"] = int(after["skipped"])
        merged = read_merge_log(project / "logs" / NAME / "merge.log").get("merged runs")
        if merged != runs:
            raise StepFailed(f"{label}: the resumed trajectory has {merged} runs, not {runs}")
        return row

    def measure_load(self, label: str, trajectory: Path) -> dict[str, Any]:
        figures: dict[str, Any] = {}
        for what in ("get", "table"):
            command = [sys.executable, str(HERE / "inprocess.py"), what, str(trajectory)]
            with OtherLoad() as watch:
                _, out = self.runner.run(f"{label}-load-{what}", command, self.work)
            figures[f"other load ({what})"] = watch.cores
            found = json.loads(out)
            figures[f"load ({what}) s"] = found["load s"]
            figures[f"{what} s"] = found[f"{what} s"]
            figures["import s"] = found["import s"]
            if what == "table":
                figures["table columns"] = found["columns"]
        return figures

    def measure_pypet(self, workload: str, runs: int, load: bool) -> dict[str, Any]:
        row: dict[str, Any] = {"workload": workload, "runs": runs}
        directory = self.work / f"pypet-{workload}-{runs}"
        directory.mkdir()
        script = str(HERE / "pypet_baseline.py")
        command = [self.pypet_python, script, "run", workload, str(runs), str(directory)]
        log(f"pypet {workload} {runs}: running")
        started = time.perf_counter()
        with OtherLoad() as watch:
            try:
                row["total s"], out = self.runner.run(
                    f"pypet-{workload}-{runs}", command, self.work, self.args.pypet_timeout
                )
            except TimedOut:
                # stopped: its time is a lower bound, and so is our speed-up against it
                row["total s"] = time.perf_counter() - started
                row["timed out"] = True
        row["cpu s"] = watch.own_cpu
        row["other load"] = watch.cores
        if row.get("timed out"):
            log(f"pypet {workload} {runs}: stopped after {row['total s']:.0f} s")
            shutil.rmtree(directory)
            return row
        row.update({f"pypet {k}": v for k, v in json.loads(out).items()})
        trajectory = directory / f"{NAME}.hdf5"
        row["file bytes"] = trajectory.stat().st_size
        row["bytes/run"] = row["file bytes"] / runs
        log(f"pypet {workload} {runs}: total {row['total s']:.1f} s")
        if load:
            command = [self.pypet_python, script, "load", str(trajectory)]
            _, out = self.runner.run(f"pypet-{workload}-{runs}-load", command, self.work)
            row["load"] = json.loads(out)
        shutil.rmtree(directory)
        return row

    # the sections ----------------------------------------------------------------------------
    def wait_quiet(self) -> None:
        """Wait (up to --wait-quiet seconds) until other processes leave the cores alone."""
        os.sync()  # the previous measurement's deleted and written files reach the disk first
        deadline = time.perf_counter() + self.args.wait_quiet
        said = False
        while True:
            with OtherLoad() as watch:
                time.sleep(1.0)
            if watch.cores < QUIET_CORES or time.perf_counter() > deadline:
                break
            if not said:
                log(f"other processes keep {watch.cores:.1f} cores busy: waiting for quiet")
                said = True
            time.sleep(4.0)

    def attempt(self, what: str, function, *arguments, **keywords) -> dict[str, Any] | None:
        """One measurement; repeated (--busy-retries) when other processes loaded the machine
        during its main timing, keeping the least disturbed one. None when a step failed."""
        best = None
        for attempt in range(1 + self.args.busy_retries):
            self.wait_quiet()
            try:
                row = function(*arguments, **keywords)
            except StepFailed as error:
                self.keep_work = True
                log(f"FAILED: {what}\n{error}")
                self.data["failures"].append({"step": what, "error": str(error)})
                return best
            if best is None or row.get("other load", 0.0) < best.get("other load", 0.0):
                best = row
            if best.get("other load", 0.0) <= QUIET_CORES:
                break
            if attempt < self.args.busy_retries:
                load = row["other load"]
                log(f"{what}: other processes kept {load:.2f} cores busy meanwhile; again")
        return best

    def run(self) -> None:
        args = self.args
        self.snapshot()
        self.machine_facts()
        for fact, value in self.data["machine"].items():
            log(f"{fact}: {value}")
        try:
            self.setup_pypet()
        except StepFailed as error:
            log(f"FAILED: pypet setup; going on without pypet\n{error}")
            self.data["failures"].append({"step": "pypet setup", "error": str(error)})
            self.keep_work = True
        for runs in args.runs:
            for workload in args.workloads:
                pypet_row = None
                if self.pypet_python:
                    load = workload == "trivial" and runs in args.load_runs
                    what = f"pypet {workload} {runs}"
                    pypet_row = self.attempt(what, self.measure_pypet, workload, runs, load)
                for layout in args.layout:
                    self.ours(workload, runs, layout, pypet_row)
        for runs in args.big_runs:
            for layout in args.layout:
                self.ours("trivial", runs, layout, None)
        for runs in args.scalars_runs:
            for layout in args.layout:
                self.ours("3 scalars", runs, layout, None)

    def ours(self, workload: str, runs: int, layout: str, pypet_row: dict | None) -> None:
        trivial = workload == "trivial"
        row = self.attempt(
            f"ours {workload} {runs} {layout}",
            self.measure_ours,
            workload,
            runs,
            layout,
            plan=trivial,
            noop=trivial,
            resume=trivial and runs in self.args.resume_runs,
            load=(trivial and runs in self.args.load_runs) or workload == "3 scalars",
        )
        self.record(workload, runs, layout, row, pypet_row)

    def record(self, workload, runs, layout, row, pypet_row) -> None:
        if row is None:
            row = {"workload": workload, "runs": runs, "layout": layout, "status": "FAILED"}
        if pypet_row is not None:
            row["pypet"] = pypet_row
        self.data["phases"].append(row)
        self.save()

    def save(self) -> None:
        self.results_dir.mkdir(exist_ok=True)
        self.json_path.write_text(json.dumps(self.data, indent=1, default=str))

    def finish(self) -> int:
        text = render(self.data)
        print(text)
        self.save()
        self.md_path.write_text(text)
        log(f"figures: {self.json_path}\ntables: {self.md_path}")
        if self.keep_work or self.args.keep:
            log(f"kept the temp projects and step logs in {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)
        return 1 if self.data["failures"] else 0


# ----------------------------------------------------------------------------------------------
# tables


def fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value:
            return "—"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.3g}" if abs(value) >= 0.001 else f"{value:.2g}"
    return str(value)


def table(columns: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def ratio(a: Any, b: Any) -> float | None:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b:
        return a / b
    return None


BUSY_NOTE = (
    f"A * marks a time measured while other processes kept more than {QUIET_CORES} cores busy."
)


def busy(row: dict[str, Any], key: str) -> Any:
    """The figure, marked with * when other processes loaded the machine meanwhile."""
    value = row.get(key)
    if isinstance(value, float) and row.get("other load", 0.0) > QUIET_CORES:
        return f"{fmt(value)}*"
    return value


def status_row(row: dict[str, Any], width: int, leading: list[Any]) -> list[Any]:
    return leading + [row["status"]] + [None] * (width - len(leading) - 1)


def render(data: dict[str, Any]) -> str:
    rows = data["phases"]
    out: list[str] = ["# pypet_sm end-to-end benchmark", ""]
    machine = data["machine"]
    shown = {k: v for k, v in machine.items() if k not in ("temp dir", "pypet_sm path")}
    out += ["## Machine", "", table(["fact", "value"], [[k, v] for k, v in shown.items()]), ""]

    with_pypet = [r for r in rows if "pypet" in r]
    if with_pypet:
        columns = [
            "workload", "runs", "layout", "ours s", "pypet s", "pypet/ours",
            "ours CPU s", "pypet CPU s", "CPU pypet/ours",
            "ours B/run", "pypet B/run", "ours/pypet size",
        ]  # fmt: skip
        body = []
        for r in with_pypet:
            p = r["pypet"]
            lead = [r["workload"], r["runs"], r["layout"]]
            if "status" in r:
                body.append(
                    lead
                    + [r["status"], busy(p, "total s"), None, None, p.get("cpu s"), None, None]
                    + [p.get("bytes/run"), None]
                )
                continue
            pypet_s, speedup = busy(p, "total s"), ratio(p.get("total s"), r["total s"])
            pypet_cpu, cpu_speedup = p.get("cpu s"), ratio(p.get("cpu s"), r.get("cpu s"))
            if p.get("timed out"):
                pypet_s, speedup = f"> {fmt(pypet_s)} (stopped)", f"> {fmt(speedup)}"
                pypet_cpu, cpu_speedup = f"> {fmt(pypet_cpu)}", f"> {fmt(cpu_speedup)}"
            body.append(
                lead
                + [busy(r, "total s"), pypet_s, speedup]
                + [r.get("cpu s"), pypet_cpu, cpu_speedup]
                + [r["bytes/run"], p.get("bytes/run"), ratio(r["bytes/run"], p.get("bytes/run"))]
            )
        out += ["## pypet 0.7 against ours, end to end (2 cores)", "", table(columns, body), ""]
        out.append(
            "pypet: Environment(multiproc=True, ncores=2, wrap_mode='QUEUE', use_pool=True), "
            "interpreter start to exit. ours: one `snakemake --cores 2` call in a fresh "
            "project, start to exit, including planning and the merge. CPU s: CPU time of all "
            "processes of the call (user + system), which other load on the machine hardly "
            f"changes. B/run: trajectory file bytes per run. {BUSY_NOTE}"
        )
        out.append("")

    columns = [
        "workload", "runs", "layout", "jobs", "plan s", "dry run s", "until 1st job s",
        "run jobs s", "before merge s", "merge s", "merge in process s", "total s", "CPU s",
        "framework ms/run", "function ms/run", "B/run", "merge peak MB", "other load",
    ]  # fmt: skip
    body = []
    for r in rows:
        lead = [r["workload"], r["runs"], r["layout"]]
        if "status" in r:
            body.append(status_row(r, len(columns), lead))
            continue
        keys = [
            "jobs", "plan s", "dry run s", "until first job s", "run jobs s", "before merge s",
            "merge s", "merge in process s", "total s", "cpu s", "framework ms/run",
            "function ms/run", "bytes/run", "merge peak MB", "other load",
        ]  # fmt: skip
        body.append(lead + [r.get(k) for k in keys])
        body[-1][len(lead) + keys.index("total s")] = busy(r, "total s")
    out += ["## Ours: where the time goes (one `snakemake --cores 2` call)", ""]
    out += [table(columns, body), ""]
    out.append(
        "plan s: pypet_sm planning alone (fresh process). dry run s: `snakemake -n` (separate "
        "project). In the one call: until 1st job (Snakemake start, parse-time planning, DAG), "
        "run jobs (first job start to last manifest), before merge (Snakemake noticing the "
        "last job, scheduling the merge), merge (merge process start to snakemake exit; in "
        "process: the merge's own figure). framework ms/run: job time minus time in the job "
        "function, per run, measured inside the run jobs. other load: cores kept busy by "
        f"processes outside the benchmark during the call. {BUSY_NOTE}"
    )
    out.append("")

    rerun = [r for r in rows if "no-op rerun s" in r or "resume s" in r or "resume" in r]
    rerun += [r for r in rows if r.get("status") == NA_LAYOUT and r["workload"] == "trivial"]
    if rerun:
        columns = [
            "runs", "layout", "no-op rerun s", "runs stored at kill", "unlock s",
            "rerun-incomplete s", "resume s", "runs computed on resume", "runs skipped on resume",
        ]  # fmt: skip
        body = []
        for r in sorted(rerun, key=lambda r: (r["runs"], r["layout"])):
            if "status" in r:
                body.append(status_row(r, len(columns), [r["runs"], r["layout"]]))
                continue
            body.append(
                [r["runs"], r["layout"], r.get("no-op rerun s")]
                + [r.get(k, r.get("resume")) for k in columns[3:]]
            )
        out += ["## Rerun and resume (trivial workload)", "", table(columns, body), ""]
        out.append(
            "no-op rerun: `snakemake --cores 2` on the finished project. Resume: the run is "
            "killed (SIGKILL to snakemake's process group) once half the fragments exist; then "
            "`snakemake --unlock` and `snakemake --cores 2 --rerun-incomplete`."
        )
        out.append("")

    loads = []
    for r in rows:
        if "load" in r:
            figures = r["load"]
            loads.append(
                [f"ours, {r['workload']}", r["runs"], r["layout"], figures.get("import s")]
                + [min(figures["load (get) s"], figures["load (table) s"]), figures["get s"]]
                + [figures["table s"], len(figures["table columns"]) - 2 - 2]
            )
        elif r.get("status") == NA_LAYOUT and r["workload"] == "3 scalars":
            loads.append([f"ours, {r['workload']}", r["runs"], r["layout"], NA_LAYOUT])
        if "load" in r.get("pypet", {}):
            figures = r["pypet"]["load"]
            entry = ["pypet 0.7, trivial", r["runs"], "pypet", figures["import s"]]
            entry += [figures["load s"], figures["f_get_from_runs s"], None, None]
            if entry not in loads:
                loads.append(entry)
    if loads:
        columns = [
            "file", "runs", "layout", "import s", "load s", "f_get_from_runs('z') s",
            "runs_table() s", "scalar result columns",
        ]  # fmt: skip
        out += ["## Loading (each figure in a fresh process)", ""]
        out += [table(columns, [row + [None] * (len(columns) - len(row)) for row in loads]), ""]
        out.append(
            "ours: `pypet_sm.load_trajectory(path)` (load s), then `traj.f_get_from_runs('z')` "
            "or `traj.runs_table()` (each in its own process). pypet: `Trajectory.f_load(...,"
            " load_parameters=2, load_derived_parameters=2, load_results=2, force=True)`, "
            "then `f_get_from_runs('z')`."
        )
        out.append("")

    out += ["## Issue-4 targets", "", targets(data), ""]
    if data["failures"]:
        out += ["## Failures", ""]
        out += [f"- {f['step']}: {f['error'].splitlines()[0]}" for f in data["failures"]]
        out.append("")
    return "\n".join(out)


def targets(data: dict[str, Any]) -> str:
    rows = [r for r in data["phases"] if "status" not in r]
    args = data["arguments"]
    small = max(args["runs"]) if args["runs"] else None
    big = min(args["big_runs"]) if args["big_runs"] else None
    body = []

    def find(workload: str, runs: int | None, layout: str) -> dict[str, Any] | None:
        for r in rows:
            if (r["workload"], r["runs"], r["layout"]) == (workload, runs, layout):
                return r
        return None

    def check(value: float | None, limit: float, smaller: bool = True) -> str:
        if value is None:
            return "not measured"
        return "yes" if (value <= limit if smaller else value >= limit) else "NO"

    for layout in args["layout"]:
        if small is None or big is None:
            break
        mine = [r for r in data["phases"] if r["layout"] == layout]
        if mine and all(r.get("status") == NA_LAYOUT for r in mine):
            body.append(["all", layout, NA_LAYOUT, "—"])
            continue
        for workload in ("trivial", "neuron"):
            r = find(workload, small, layout)
            p = r and r.get("pypet")
            speedup = ratio(p and p.get("total s"), r and r.get("total s"))
            cpu = ratio(p and p.get("cpu s"), r and r.get("cpu s"))
            bound = "> " if p and p.get("timed out") else ""  # pypet was stopped
            body.append([
                f"{small:,} runs ≤ 1/10 of pypet's time ({workload})", layout,
                f"pypet/ours {bound or '= '}{fmt(speedup)} (CPU time: {bound}{fmt(cpu)})",
                check(speedup, 10, smaller=False) if not bound or (speedup or 0) >= 10
                else "unknown (pypet stopped)",
            ])  # fmt: skip
            size = ratio(r and r.get("bytes/run"), p and p.get("bytes/run"))
            body.append([
                f"file size ≤ 1/3 of pypet's ({workload}, {small:,})", layout,
                f"ours/pypet = {fmt(size)}", check(size, 1 / 3),
            ])  # fmt: skip
        r_big, r_small = find("trivial", big, layout), find("trivial", small, layout)
        total = r_big and r_big.get("total s")
        body.append([f"{big:,} runs ≤ 120 s", layout, f"{fmt(total)} s", check(total, 120)])
        scale = ratio(total, r_small and r_small.get("total s"))
        body.append([
            f"time({big:,}) / time({small:,}) ≤ 12", layout, fmt(scale), check(scale, 12),
        ])  # fmt: skip
        noop = r_big and r_big.get("no-op rerun s")
        noop = noop if isinstance(noop, float) else None
        body.append([f"no-op rerun of {big:,} ≤ 5 s", layout, f"{fmt(noop)} s", check(noop, 5)])
        for runs in (small, big):
            r = find("trivial", runs, layout)
            overhead = r and r.get("framework ms/run")
            body.append([
                f"framework overhead per run ≤ 1 ms (trivial, {runs:,})", layout,
                f"{fmt(overhead)} ms", check(overhead, 1),
            ])  # fmt: skip
        r = find("3 scalars", big, layout)
        table_s = r and r.get("load", {}).get("table s")
        body.append([
            f"runs table of {big:,} × 3 scalars ≤ 1 s", layout, f"{fmt(table_s)} s",
            check(table_s, 1),
        ])  # fmt: skip
    for layout in args["layout"]:
        for runs in args["big_runs"]:
            if runs >= 1_000_000:
                r = find("trivial", runs, layout)
                body.append([
                    f"{runs:,} runs complete", layout,
                    f"{fmt(r['total s'])} s" if r else "did not complete", "yes" if r else "NO",
                ])  # fmt: skip
    if not body:
        return "(needs both --runs and --big-runs)"
    note = ""
    if small is not None and big is not None and (small != 10_000 or big != 100_000):
        note = "\n\n(Sizes differ from the issue's 10,000 / 100,000: these are this run's.)"
    return table(["target", "layout", "measured", "holds"], body) + note


# ----------------------------------------------------------------------------------------------


def interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--runs", type=int, nargs="*", default=[1000, 10000],
        help="sizes run by both pypet and ours (default: 1000 10000)",
    )  # fmt: skip
    parser.add_argument(
        "--big-runs", type=int, nargs="*", default=[100_000, 1_000_000],
        help="sizes run by ours alone (default: 100000 1000000)",
    )  # fmt: skip
    parser.add_argument(
        "--load-runs", type=int, nargs="*",
        help="sizes of the loading figures (default: the largest --runs and smallest --big-runs)",
    )  # fmt: skip
    parser.add_argument(
        "--workloads", nargs="+", choices=["trivial", "neuron"], default=["trivial", "neuron"],
        help="workloads run by both pypet and ours (default: both)",
    )  # fmt: skip
    parser.add_argument(
        "--layout", nargs="+", choices=["pypet", "stacked"], default=["pypet", "stacked"],
        help="storage layouts of ours (default: both)",
    )  # fmt: skip
    parser.add_argument(
        "--resume-runs", type=int, nargs="*",
        help="sizes of the kill-and-resume figure (default: the largest size up to 100000)",
    )  # fmt: skip
    parser.add_argument(
        "--scalars-runs", type=int, nargs="*",
        help="sizes of the 3-scalar runs-table figure (default: the smallest --big-runs)",
    )  # fmt: skip
    parser.add_argument("--pypet-python", help="a Python with pypet 0.7 (default: own venv)")
    cache = Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")) / "pypet_sm" / "pypet-0.7-venv"
    parser.add_argument(
        "--pypet-venv", default=str(cache),
        help=f"where to make pypet's venv without --pypet-python (default {cache})",
    )  # fmt: skip
    parser.add_argument("--pypet-base-python", help="Python >= 3.12 for that venv")
    parser.add_argument("--no-pypet", action="store_true", help="skip pypet 0.7")
    parser.add_argument(
        "--rev", help="benchmark this git revision (default: the working tree as it is now)"
    )
    parser.add_argument(
        "--wait-quiet", type=float, default=600,
        help="before each measurement, wait up to this many seconds while other processes "
        "keep more than 0.2 cores busy (default 600)",
    )  # fmt: skip
    parser.add_argument(
        "--busy-retries", type=int, default=1,
        help="repeat a measurement disturbed by other processes this often (default 1)",
    )  # fmt: skip
    parser.add_argument("--tmp", help="where the temp projects go (default: system temp)")
    parser.add_argument("--keep", action="store_true", help="keep the temp projects")
    parser.add_argument(
        "--step-timeout", type=float, default=3 * 3600,
        help="seconds one command may take (default 10800)",
    )  # fmt: skip
    parser.add_argument(
        "--pypet-timeout", type=float, default=1800,
        help="seconds one pypet 0.7 run may take before it is stopped; its time and our "
        "speed-up are then reported as lower bounds (default 1800)",
    )  # fmt: skip
    arguments = parser.parse_args()
    optional = (arguments.load_runs, arguments.resume_runs, arguments.scalars_runs)
    for sizes in (arguments.runs, arguments.big_runs, *(o or [] for o in optional)):
        bad = [n for n in sizes if n < 10 or n % 10]
        if bad:
            parser.error(f"sizes must be multiples of 10 (at least 10): {bad}")
    arguments.runs = sorted(set(arguments.runs))
    arguments.big_runs = sorted(set(arguments.big_runs))
    sizes = sorted(set(arguments.runs + arguments.big_runs))
    if arguments.load_runs is None:
        arguments.load_runs = arguments.runs[-1:] + arguments.big_runs[:1]
    if arguments.resume_runs is None:
        arguments.resume_runs = [n for n in sizes if n <= 100_000][-1:]
    if arguments.scalars_runs is None:
        arguments.scalars_runs = (arguments.big_runs or arguments.runs[-1:])[:1]
    for name in ("load_runs", "resume_runs", "scalars_runs"):
        setattr(arguments, name, sorted(set(getattr(arguments, name))))
    if not arguments.runs and not arguments.big_runs:
        parser.error("nothing to measure: give --runs or --big-runs")
    benchmark = Benchmark(arguments)
    signal.signal(signal.SIGTERM, interrupted)  # a timeout or kill still prints the tables
    try:
        benchmark.run()
    except KeyboardInterrupt:
        benchmark.runner.stop_current()
        log("interrupted: printing what was measured")
        benchmark.data["failures"].append({"step": "benchmark", "error": "interrupted"})
    except StepFailed as error:
        log(f"FAILED:\n{error}")
        benchmark.data["failures"].append({"step": "setup", "error": str(error)})
        benchmark.keep_work = True
    return benchmark.finish()


if __name__ == "__main__":
    sys.exit(main())
