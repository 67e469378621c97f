"""The user's script as the job module of its run jobs.

A run job (and Snakemake's parse time, and the merge) imports the script by its file name,
so the job function, custom classes and build-time objects defined in it are there. Its
module-level code then reaches `Environment.run`, which, outside the process that runs the
script as `__main__`, raises `ScriptStop`: the import stops there, with everything defined
before that line, and no workflow is started from inside a workflow
(`user_code.import_script_module` catches it). In the process that runs the script, the
script's module is also registered under its file name, and what it defines is labelled
with that name, so pickles of its objects name the same module everywhere.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import io
import os
import pickle
import sys
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType
from typing import Any

from pypet_sm.define.naming import Leaf
from pypet_sm.define.trajectory import Trajectory
from pypet_sm.errors import PypetSmError

FROZEN = "trajectory.pickle"  # the trajectory env.traj defined, in the generated project
# the scripts' module names, set by the Environment for its snakemake and so its jobs: an
# import of one of them from anywhere (pickle's, in the merge) stops at env.run
SCRIPT_MODULES = "PYPET_SM_SCRIPT_MODULES"


class ScriptStop(BaseException):
    """Raised by Environment.run in a process that imports the script: stop the import
    after what the script defined before running (a BaseException, so a user's `except
    Exception` around env.run does not swallow it)."""

    def __init__(self, module: ModuleType | None) -> None:
        super().__init__("the script was imported; Environment.run starts nothing here")
        self.module = module


def in_script_import(caller_globals: dict[str, Any]) -> bool:
    """Whether env.run is called while the script is imported (not run as `__main__`)."""
    return caller_globals.get("__name__") != "__main__"


def stop(caller_globals: dict[str, Any]) -> ScriptStop:
    return ScriptStop(sys.modules.get(str(caller_globals.get("__name__"))))


def main_script() -> tuple[ModuleType, Path]:
    """The running script's module and file."""
    main = sys.modules["__main__"]
    path = getattr(main, "__file__", None)
    if not path:
        raise PypetSmError(
            "Environment.run needs a script file (python script.py): run jobs import the job "
            "function from it; an interactive session has none"
        )
    return main, Path(path).resolve()


def module_name(path: Path) -> str:
    name = path.stem
    if not name.isidentifier():
        raise PypetSmError(
            f"the script {path.name}: run jobs import it as a module, so its name must be a "
            "Python identifier (letters, digits, _); rename it"
        )
    return name


def register(main: ModuleType, name: str) -> None:
    """The script is also module `name` here, and its classes and functions say so, so a
    pickle made here names `name.X` and finds the same `X` here and in run jobs."""
    existing = sys.modules.get(name)
    if existing is not None and existing is not main:
        raise PypetSmError(
            f"the script's name {name!r} is also the module {getattr(existing, '__file__', '')}"
            " it imports; rename the script"
        )
    sys.modules[name] = main
    for value in list(vars(main).values()):
        if isinstance(value, type) or callable(value):
            if getattr(value, "__module__", None) == "__main__":
                try:
                    value.__module__ = name
                except (AttributeError, TypeError):
                    pass


def freeze(traj: Trajectory) -> bytes:
    """The trajectory's leaves and exploration as builtins (plus the values' own types)."""
    leaves = [
        (leaf.v_full_name, leaf.values, leaf.v_comment, leaf.v_class_name)
        for branch in ("parameters", "config")
        for leaf in traj.f_get(branch).f_iter_leaves()
    ]
    return pickle.dumps(
        {"name": traj.v_name, "leaves": leaves, "explored": traj.explored_ranges}, protocol=5
    )


class _ScriptUnpickler(pickle.Unpickler):
    """Objects of the script's classes import the script the guarded way."""

    def find_class(self, module: str, name: str) -> Any:
        if module not in sys.modules:
            from pypet_sm.define import user_code

            user_code.import_module(module, "trajectory")
        return super().find_class(module, name)


def build(traj: Trajectory) -> None:
    """The build hook of a generated project: env.traj as the script defined it."""
    path = Path(".pypet_sm") / traj.v_name / "environment" / FROZEN
    frozen = _ScriptUnpickler(io.BytesIO(path.read_bytes())).load()
    for full_name, values, comment, class_name in frozen["leaves"]:
        traj.add_leaf(full_name, Leaf(full_name, dict(values), comment, class_name))
    for full_name, run_values in frozen["explored"].items():
        traj._explored[full_name] = run_values
        traj.f_get(full_name).explored = run_values


class _StoppingLoader(importlib.abc.Loader):
    """The script's own loader, keeping what it defined when it stops at env.run."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        created: ModuleType | None = self.loader.create_module(spec)
        return created

    def exec_module(self, module: ModuleType) -> None:
        try:
            self.loader.exec_module(module)
        except ScriptStop:
            pass  # the module keeps everything defined before env.run


class _ScriptFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        if name not in os.environ.get(SCRIPT_MODULES, "").split(","):
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _StoppingLoader(spec.loader)
        return spec


if not any(isinstance(finder, _ScriptFinder) for finder in sys.meta_path):
    sys.meta_path.insert(0, _ScriptFinder())
