"""The project an Environment writes and runs: `.pypet_sm/<trajectory>/environment/` in the
script's working directory, holding config.yaml (whose build hook reads the frozen
trajectory beside it), a Snakefile that includes the installed workflow, and the trajectory
env.traj defined. The same trajectory (same point keys) every time the script runs, so a
second run resumes; `snakemake --snakefile ... --configfile ...` (the command the
Environment logs) runs it without the script's driver.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from pypet_sm import atomic
from pypet_sm import project as sweep_project
from pypet_sm.define.trajectory import Trajectory
from pypet_sm.environment import options as opts
from pypet_sm.environment import script
from pypet_sm.errors import PypetSmError

BUILD_HOOK = "pypet_sm.environment.script:build"
SNAKEFILE = (
    "# Written by pypet_sm.Environment: the workflow of the installed pypet_sm.\n"
    + sweep_project.SNAKEFILE_BODY
)


def trajectory_filename(filename: Any, name: str) -> str:
    """pypet's: default hdf5/<name>.hdf5; a name without an HDF5 extension is a folder."""
    if filename is None:
        return os.path.join("hdf5", f"{name}.hdf5")
    text = str(filename)
    if not text.endswith((".hdf", ".hdf5", ".h5")):
        text = os.path.join(text, f"{name}.hdf5")
    return text


def class_spec(text: str) -> str:
    """pypet's `module.Class` as pypet_sm's `module:Class`."""
    if ":" in text:
        return text
    module_name, _, class_name = text.rpartition(".")
    return f"{module_name}:{class_name}"


def class_specs(classes: list[Any], module: str) -> list[str]:
    """`module:Class` of each dynamically imported class (a class or pypet's text form)."""
    specs = []
    for entry in classes:
        if isinstance(entry, str):
            specs.append(class_spec(entry))
        elif isinstance(entry, type):
            owner = module if entry.__module__ == "__main__" else entry.__module__
            specs.append(f"{owner}:{entry.__qualname__}")
        else:
            raise PypetSmError(
                f"Environment(dynamic_imports=...): {entry!r} is neither a class nor its name"
            )
    return specs


def config(
    traj: Trajectory,
    options: opts.Options,
    job: str,
    args: list[Any],
    kwargs: dict[str, Any],
    classes: list[str],
) -> dict[str, Any]:
    """The config.yaml that defines what the script defined."""
    name = traj.v_name
    section: dict[str, Any] = {
        "trajectory": {
            "name": name,
            "comment": traj.v_comment,
            "filename": trajectory_filename(options.get("filename"), name),
            "file_title": options.get("file_title") or name,
        },
        "job": job,
        "args": args,
        "kwargs": kwargs,
        "build": BUILD_HOOK,
        "runs_per_job": options.get("runs_per_job"),
        "storage": opts.storage(options),
        "log_level": str(options.get("log_level")).upper()
        if not isinstance(options.get("log_level"), int)
        else "INFO",
        "dynamically_imported_classes": classes,
        "report": {"enabled": False},
    }
    if options.get("log_folder"):
        section["log_folder"] = str(options.get("log_folder"))
    if options.get("timeout") is not None:
        section["timeout"] = options.get("timeout")
    if options.get("git_repository") is not None:
        section["git"] = {
            "repository": str(options.get("git_repository")),
            "message": options.get("git_message") or "",
            "fail": bool(options.get("git_fail")),
        }
    return section


class Generated:
    """The generated project of trajectory `name` in the working directory `root`."""

    def __init__(self, root: Path, name: str) -> None:
        self.root = root
        self.name = name
        self.folder = root / ".pypet_sm" / name / "environment"
        self.config = self.folder / "config.yaml"
        self.snakefile = self.folder / "Snakefile"
        self.script_dir = root

    def write(self, traj: Trajectory, section: dict[str, Any], script_dir: Path) -> None:
        self.script_dir = script_dir
        atomic.write_bytes(self.folder / script.FROZEN, script.freeze(traj))
        atomic.write_text(self.snakefile, SNAKEFILE)
        # JSON is YAML: the config as one line per field, no YAML typing surprises
        atomic.write_text(self.config, json.dumps(section, indent=2) + "\n")

    def _section(self) -> dict[str, Any]:
        loaded = json.loads(self.config.read_text("utf-8"))
        assert isinstance(loaded, dict)
        return loaded

    def job_module(self) -> str:
        return str(self._section()["job"]).partition(":")[0]

    @property
    def log_dir(self) -> str:
        return f"{self._section().get('log_folder', 'logs')}/{self.name}"

    def command(self, cores: int, profile: str | None, extra: list[str]) -> list[str]:
        from pypet_sm.project import workflow_dir

        command = [sys.executable, "-m", "snakemake", "--snakefile", str(self.snakefile)]
        command += ["--configfile", str(self.config), "--directory", str(self.root)]
        command += ["--workflow-profile", str(workflow_dir() / "profiles" / "default")]
        command += ["--profile", profile] if profile else ["--cores", str(cores)]
        return command + extra

    def plan(self) -> Any:
        from pypet_sm.execute import plan as plans

        cwd = os.getcwd()
        os.chdir(self.root)
        try:
            return plans.from_config(self._section())
        finally:
            os.chdir(cwd)

    def result_list(self) -> list[tuple[int, Any]]:
        from pypet_sm.merge.results import result_list

        plan = self.plan()
        cwd = os.getcwd()
        os.chdir(self.root)
        try:
            return result_list(plan)
        finally:
            os.chdir(cwd)

    def missing_runs(self) -> list[str]:
        try:
            done = {idx for idx, _ in self.result_list()}
            return [f"run_{idx:08d}" for idx in range(len(self.plan().keys)) if idx not in done]
        except Exception:  # the plan itself failed: snakemake's output said why
            return []

    def load(self) -> Any:
        from pypet_sm.analysis.load import load_trajectory

        filename = Path(self._section()["trajectory"]["filename"])
        path = filename if filename.is_absolute() else self.root / filename
        return load_trajectory(path, self.name, allow_pickle=True)


INIT = "PYPET_SM_INIT"  # set by `pypet-sm init --from`: env.run writes the project and exits


def write_project(generated: Generated) -> None:
    """`pypet-sm init --from script.py`: config.yaml and Snakefile in the script's working
    directory, so plain `snakemake` runs the trajectory the script defines (its build hook
    reads the trajectory from the generated folder)."""
    targets = {generated.root / "config.yaml": generated.config.read_text("utf-8")}
    targets[generated.root / "Snakefile"] = SNAKEFILE
    existing = [path.name for path in targets if path.exists()]
    if existing:
        raise PypetSmError(
            f"{generated.root} already has {', '.join(existing)}; pypet-sm init --from "
            "overwrites nothing (nothing was written)"
        )
    for path, text in targets.items():
        atomic.write_text(path, text)
    print(
        f"pypet_sm project in {generated.root}: config.yaml, Snakefile (the trajectory in "
        f"{generated.folder.relative_to(generated.root)}); next: snakemake --cores 2",
        file=sys.stderr,
    )


def init_from_script(path: Path) -> int:
    """Run the script up to env.run with PYPET_SM_INIT set (nothing is computed)."""
    if not path.is_file():
        raise PypetSmError(f"--from {path}: no such script")
    done = subprocess.run(
        [sys.executable, path.name], cwd=path.parent or ".", env={**os.environ, INIT: "1"},
        check=False,
    )  # fmt: skip
    return done.returncode
