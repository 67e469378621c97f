"""pypet_sm.Environment (issue 17 item 1): pypet-style scripts (tests/environment_scripts/)
run under pypet 0.7 with `from pypet import` and under pypet_sm with only that line changed;
printed output, values, types, comments and HDF5 trees are compared as in
tests/test_pypet_compat.py. Running a script again, also after SIGKILL, computes no finished
run again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import pypet_sm
from pypet_sm.environment import options

from . import pypet as pypet_runner
from .pypet import assert_explained, compare

SCRIPTS = Path(__file__).parent / "environment_scripts"
# script -> (trajectory name, file relative to the script's folder)
FILES = {
    "first_steps": ("Multiplication", "hdf5/Multiplication.hdf5"),
    "parameter_objects": ("Neuron", "out/Neuron.hdf5"),
    "custom_class": ("Custom", "hdf5/Custom.hdf5"),
    "postprocessing": ("Squares", "hdf5/Squares.hdf5"),
}


def _ours_environment() -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)  # this venv's snakemake and python first
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "PYTHONDONTWRITEBYTECODE": "1"}


def run_script(python: str, folder: Path, script: str, env: dict | None = None, expect: int = 0):
    done = subprocess.run(
        [python, f"{script}.py"], cwd=folder, capture_output=True, text=True, timeout=300,
        env=env or _ours_environment(),
    )  # fmt: skip
    assert done.returncode == expect, f"{script} exit {done.returncode}\n{done.stderr[-6000:]}"
    return done


def place(folder: Path, script: str, pypet: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    source = (SCRIPTS / f"{script}.py").read_text()
    if pypet:
        source = source.replace("from pypet_sm import", "from pypet import")
    assert source.count("import") >= 1
    (folder / f"{script}.py").write_text(source)
    return folder


@pytest.fixture(scope="module")
def pypet_python() -> Path:
    return pypet_runner.pypet_python_or_skip()


def test_every_pypet_environment_argument_has_an_answer(pypet_python):
    """pypet 0.7's Environment and HDF5StorageService arguments, introspected under pypet,
    are all in the table; an argument pypet does not know is refused, naming it."""
    code = (
        "import inspect, json; from pypet import Environment, HDF5StorageService as S; "
        "names = [*inspect.signature(Environment.__init__).parameters, "
        "*inspect.signature(S.__init__).parameters]; print(json.dumps(names))"
    )
    names = json.loads(subprocess.check_output([str(pypet_python), "-c", code], text=True))
    names = set(names) - {"self", "kwargs", "args"}
    assert {"multiproc", "wrap_mode", "filename", "complib", "purge_duplicate_comments"} <= names
    assert not names - set(options.OPTIONS), sorted(names - set(options.OPTIONS))
    older = {"continuable", "log_folder", "use_hdf5", "dynamically_imported_classes"}
    assert older <= set(options.OPTIONS)
    with pytest.raises(TypeError, match="'multiprocess'"):
        pypet_sm.Environment(trajectory="t", multiprocess=True)


@pytest.fixture(scope="module")
def side_by_side(tmp_path_factory, pypet_python) -> dict[str, tuple[Path, Path, str, str]]:
    """Each script run once under pypet and once under pypet_sm: folders and printed output."""
    base = tmp_path_factory.mktemp("environment")
    folders = {}
    for script in FILES:
        theirs = place(base / script / "pypet", script, pypet=True)
        ours = place(base / script / "ours", script)
        printed = run_script(str(pypet_python), theirs, script).stdout
        folders[script] = (theirs, ours, printed, run_script(sys.executable, ours, script).stdout)
    return folders


@pytest.mark.parametrize("script", list(FILES))
def test_script_prints_and_stores_what_pypet_does(side_by_side, pypet_python, script):
    theirs, ours, printed_pypet, printed_ours = side_by_side[script]
    name, relative = FILES[script]
    assert "result [(0, " in printed_pypet and printed_ours == printed_pypet
    differences = compare.tree_differences(theirs / relative, ours / relative, name)
    differences += compare.overview_differences(theirs / relative, ours / relative, name)
    if script != "custom_class":  # pypet's loader would import (and run) the script
        view_pypet = pypet_runner.pypet_view(theirs / relative, name, theirs)
        view_ours = pypet_runner.pypet_view(ours / relative, name, ours)
        assert len(view_ours["crun"]) == len(view_pypet["crun"]) > 0
        differences += compare.view_differences(view_pypet, view_ours)
    assert_explained(differences)


def test_readme_table_names_every_environment_argument():
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    table = readme.split("| Environment argument | with pypet_sm.Environment |")[1].split("\n\n")[0]
    missing = [name for name in options.OPTIONS if f" {name}" not in table.replace(",", " ")]
    assert not missing, missing
