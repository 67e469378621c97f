"""pypet 0.7.0 itself, for the compatibility checks in tests/test_pypet_*.py.

pypet 0.7 needs Python >= 3.12, and our environment may be older, so pypet runs in a
subprocess of its own Python: `PYPET_PYTHON` names it (`.ci/run` builds one). Without it the
checks look for a cached venv (`~/.cache/pypet_sm/pypet-0.7.0-venv`, or under
$XDG_CACHE_HOME) and otherwise build that venv from any Python 3.12 they find (python3.12
on PATH, pyenv's versions) with `pip install pypet==0.7.0`. Only when no Python 3.12 exists
are the checks skipped, saying so.

The scripts run there: `run_pypet.py` (pypet's Environment on a job function) and `dump.py`
(what pypet loads from a file, pickled for comparison here).
"""

from __future__ import annotations

import fcntl
import functools
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from ..conftest import Project

HERE = Path(__file__).resolve().parent
PYPET_VERSION = "0.7.0"
ENV_VAR = "PYPET_PYTHON"
SCRIPT_TIMEOUT = 900
INSTALL_TIMEOUT = 900


class PypetUnavailable(Exception):
    """No Python >= 3.12 on this machine: pypet 0.7 cannot run here."""


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "pypet_sm" / f"pypet-{PYPET_VERSION}-venv"


def _version_of(python: str) -> tuple[int, int] | None:
    try:
        done = subprocess.run(
            [python, "-c", "import sys; print(*sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:  # e.g. a pyenv shim for a version that is not selected
        return None
    major, minor = done.stdout.split()
    return int(major), int(minor)


def find_python312() -> str | None:
    """A Python 3.12 interpreter (pypet 0.7.0 is tested with 3.12), or None."""
    roots = {os.environ.get("PYENV_ROOT") or "", str(Path.home() / ".pyenv")}
    candidates = [shutil.which("python3.12")]
    for root in sorted(r for r in roots if r):
        candidates += sorted(glob.glob(f"{root}/versions/3.12*/bin/python3.12"), reverse=True)
    candidates += ["/usr/local/bin/python3.12", "/usr/bin/python3.12"]
    for candidate in candidates:
        if candidate and os.path.exists(candidate) and _version_of(candidate) == (3, 12):
            return candidate
    return None


def _pypet_version(python: str | Path) -> str | None:
    done = subprocess.run(
        [str(python), "-c", "import pypet; print(pypet.__version__)"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.stdout.strip() if done.returncode == 0 else None


def _build_venv(directory: Path, base_python: str) -> None:
    """`python -m venv` + `pip install pypet==0.7.0`, marked complete only when it worked."""
    shutil.rmtree(directory, ignore_errors=True)
    steps = [
        [base_python, "-m", "venv", str(directory)],
        [str(directory / "bin" / "python"), "-m", "pip", "install", "--quiet",
         "--disable-pip-version-check", f"pypet=={PYPET_VERSION}"],
    ]  # fmt: skip
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
        if done.returncode != 0:
            raise RuntimeError(
                f"building the pypet venv failed: {' '.join(step)}\n{done.stdout}\n{done.stderr}"
            )
    (directory / ".complete").write_text(base_python + "\n")


@functools.cache
def pypet_python() -> Path:
    """The Python that runs pypet 0.7.0 (see the module docstring); raises PypetUnavailable."""
    configured = os.environ.get(ENV_VAR)
    if configured:
        version = _pypet_version(configured)
        if version != PYPET_VERSION:
            raise RuntimeError(
                f"{ENV_VAR}={configured} does not run pypet {PYPET_VERSION} "
                f"(import pypet gave version {version})"
            )
        return Path(configured)
    directory = cache_dir()
    python = directory / "bin" / "python"
    directory.parent.mkdir(parents=True, exist_ok=True)
    with open(directory.with_name(directory.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time
        if (directory / ".complete").exists() and _pypet_version(python) == PYPET_VERSION:
            return python
        base = find_python312()
        if base is None:
            raise PypetUnavailable(
                "no Python 3.12 found (pypet 0.7.0 needs Python >= 3.12; looked for python3.12 "
                f"on PATH and in pyenv): set {ENV_VAR} to a Python with pypet=={PYPET_VERSION}"
            )
        _build_venv(directory, base)
    return python


def pypet_python_or_skip() -> Path:
    try:
        return pypet_python()
    except PypetUnavailable as reason:
        pytest.skip(str(reason))


def run_script(script: str, spec: dict, python: Path | None = None) -> dict:
    """Run tests/pypet/<script> with pypet's Python on `spec`; its JSON output."""
    python = python or pypet_python()
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(spec, handle)
    try:
        done = subprocess.run(
            [str(python), str(HERE / script), handle.name],
            capture_output=True,
            text=True,
            timeout=SCRIPT_TIMEOUT,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
    finally:
        os.unlink(handle.name)
    if done.returncode != 0:
        raise AssertionError(
            f"{script} failed under {python} (exit {done.returncode}) on {spec}\n"
            f"----- stdout\n{done.stdout[-5000:]}\n----- stderr\n{done.stderr[-10000:]}"
        )
    return json.loads(done.stdout.strip().splitlines()[-1])


def pypet_environment(directory: Path, filename: Path, **spec) -> dict:
    """pypet's Environment on the job module in `directory`, writing `filename`."""
    return run_script(
        "run_pypet.py", {"directory": str(directory), "filename": str(filename), **spec}
    )


def import_job_module():
    """tests/pypet/compat_job.py as the top-level module `compat_job`, the name the projects
    and pypet import it by (pickled Points refer to it)."""
    if str(HERE) not in sys.path:
        sys.path.append(str(HERE))
    import compat_job

    return compat_job


def pypet_view(
    filename: Path, name: str, directory: Path, crun_runs=None, dynamic_imports=None
) -> dict:
    """What pypet loads from `filename` (see dump.py), as a dict; `crun_runs` limits the
    per-run natural-naming checks to these run indices (default: every run);
    `dynamic_imports` are pypet's (classes as 'module.Class', importable from `directory`)."""
    import pickle

    output = Path(filename).with_suffix(".pypet-view.pkl")
    spec = {
        "filename": str(filename),
        "name": name,
        "directory": str(directory),
        "output": str(output),
        "crun_runs": crun_runs,
        "dynamic_imports": dynamic_imports,
    }
    run_script("dump.py", spec)
    import_job_module()
    with open(output, "rb") as handle:
        return pickle.load(handle)


# Both sides on one job module --------------------------------------------------------------


def our_project(
    directory: Path, name: str, build: str, job: str, module: str = "compat_job", **config
) -> Project:
    """A temp project running our real workflow on the job module (tests/pypet/<module>.py);
    runs `snakemake`."""
    directory.mkdir(parents=True)
    project = Project(directory)
    shutil.copy(HERE / f"{module}.py", directory / f"{module}.py")
    project.write_config(
        {
            "trajectory": {"name": name, "comment": "side by side with pypet"},
            "build": f"{module}:{build}",
            "job": f"{module}:{job}",
            **config,
        }
    )
    project.snakemake()
    return project


def pypet_file(
    directory: Path, name: str, build: str, job: str, module: str = "compat_job", **spec
) -> Path:
    """pypet's Environment on the same job module; the file it wrote."""
    directory.mkdir(parents=True)
    shutil.copy(HERE / f"{module}.py", directory / f"{module}.py")
    filename = directory / f"{name}.hdf5"
    pypet_environment(
        directory,
        filename,
        module=module,
        name=name,
        comment="side by side with pypet",
        build=build,
        job=job,
        **spec,
    )
    return filename


def assert_explained(differences: list[str]) -> None:
    """Fail on any difference that `compare.KNOWN` does not explain."""
    from . import compare

    unexplained = compare.unexplained(differences)
    assert not unexplained, f"{len(unexplained)} unexplained differences:\n" + "\n".join(
        unexplained[:60]
    )
