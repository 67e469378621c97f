"""A new project outside this repository: `pypet-sm init DIR`.

The project's Snakefile includes the workflow of the installed package
(`pypet_sm/workflow/Snakefile`), so upgrading pypet_sm upgrades the rules of every project.
The project holds only what is its own: the trajectory (config.yaml), the job function, and
the Snakemake profiles, which users adjust (cores, cluster account), written from the
package's ones.
"""

from __future__ import annotations

import re
from pathlib import Path

from pypet_sm import __version__, atomic
from pypet_sm.define.config import NAME_PATTERN
from pypet_sm.errors import PypetSmError

JOB_MODULE = "sim"  # the job function's module in a new project


def workflow_dir() -> Path:
    """The workflow (Snakefile, rules, schema, profiles) this pypet_sm runs with.

    Installed from a wheel it is package data, `pypet_sm/workflow`; in a source checkout
    (and an editable install of one) it is the checkout's `workflow/` folder.
    """
    package = Path(__file__).resolve().parent
    for candidate in (package / "workflow", package.parent / "workflow"):
        if (candidate / "Snakefile").is_file():
            return candidate
    raise PypetSmError(
        f"pypet_sm's workflow is missing: neither {package / 'workflow'} nor "
        f"{package.parent / 'workflow'} holds a Snakefile; reinstall pypet_sm"
    )


def snakefile() -> str:
    """The installed workflow's Snakefile, for a project's `include:`."""
    return str(workflow_dir() / "Snakefile")


def trajectory_name(directory: Path) -> str:
    """A trajectory name (letters, digits, _) made from a folder's name."""
    name = re.sub(r"[^A-Za-z0-9_]+", "_", directory.resolve().name).strip("_")
    if not name or not name[0].isalpha():
        name = f"sweep_{name}".rstrip("_")
    return name


# A project's Snakefile below its header comment: the installed workflow and its target
SNAKEFILE_BODY = """\
import pypet_sm.project


include: pypet_sm.project.snakefile()


rule all:
    input:
        PYPET_SM_OUTPUTS,
    default_target: True
"""
SNAKEFILE = (
    "# A pypet_sm project: config.yaml defines the trajectory, {job_module}.py the job function.\n"
    "# The rules are those of the installed pypet_sm package (pypet_sm/workflow): upgrading\n"
    "# pypet_sm upgrades them. Your own rules (analyses of the trajectory file) can go below.\n"
    + SNAKEFILE_BODY
)

CONFIG = """\
# The trajectory: parameters, what is explored, and the job function that computes one run.
# `snakemake --cores 2` runs it (again: only runs not yet computed); `pypet-sm status` shows
# how far it is. Every option is described in pypet_sm's README ("Defining a trajectory").
trajectory:
  name: {name}
  comment: What this exploration is about

parameters:                  # dotted names are groups: traj.model.x
  model.x: {{value: 1.0, comment: First factor}}
  model.y: {{value: 1.0, comment: Second factor}}
  model.label: {{value: product, comment: Stored with every run}}

exploration:
  product:                   # cartesian product; the first parameter varies slowest
    model.x: {{linspace: [0.0, 1.0, 5]}}
    model.y: [1.0, 2.0, 3.0]

job: {job_module}:run              # module:function, importable from this folder
runs_per_job: auto

resources:                   # estimates for ONE run, used by cluster profiles
  seconds_per_run: null
  mem_mb_per_run: 200
  cpus_per_task: 1
"""

JOB = '''\
"""The job function: one call per run of the exploration in config.yaml."""


def run(traj):
    """Compute one run: read its parameters by name, add its results.

    `traj.x` (or `traj.model.x`) is this run's value of `model.x`; `traj.v_idx` is the run's
    index. Results added here land in the trajectory file under `results.runs.<run name>`.
    """
    z = traj.x * traj.y
    traj.f_add_result("z", z, comment="x times y")
'''

GITIGNORE = """\
.snakemake/
.pypet_sm/
hdf5/
logs/
__pycache__/
"""

PROFILE_HEADER = """\
# Written by `pypet-sm init` from pypet_sm {version}'s {profile} profile ({source}).
# It is this project's to adjust; pypet_sm's rules rely on rerun-incomplete (resume in one
# command) where the original sets it.
"""


def init(directory: Path, name: str | None = None) -> list[Path]:
    """Write a new project into `directory` (made if missing); return the files written.

    Refuses, writing nothing, when any of the files is already there: init never
    overwrites a user's work.
    """
    name = name or trajectory_name(directory)
    if not NAME_PATTERN.match(name):
        raise PypetSmError(
            f"--name: expected letters, digits and _ starting with a letter, got {name!r}"
        )
    if directory.exists() and not directory.is_dir():
        raise PypetSmError(f"{directory} exists and is not a folder")
    profiles = workflow_dir() / "profiles"
    files = {
        "Snakefile": SNAKEFILE.format(job_module=JOB_MODULE),
        "config.yaml": CONFIG.format(name=name, job_module=JOB_MODULE),
        f"{JOB_MODULE}.py": JOB,
        ".gitignore": GITIGNORE,
    }
    for profile in sorted(path.parent for path in profiles.glob("*/config.yaml")):
        source = profile / "config.yaml"
        header = PROFILE_HEADER.format(version=__version__, profile=profile.name, source=source)
        files[f"profiles/{profile.name}/config.yaml"] = header + source.read_text("utf-8")
    existing = [relative for relative in files if (directory / relative).exists()]
    if existing:
        raise PypetSmError(
            f"{directory} already has {', '.join(existing)}; pypet-sm init writes a new "
            "project and overwrites nothing (nothing was written)"
        )
    written = []
    for relative, text in files.items():
        atomic.write_text(directory / relative, text)
        written.append(directory / relative)
    return written
