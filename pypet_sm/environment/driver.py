"""`pypet_sm.Environment`: pypet's Environment, running the Snakemake workflow underneath.

`env.run(job)` writes a project into `.pypet_sm/<trajectory>/environment/` (config.yaml, a
Snakefile including the installed workflow, the trajectory env.traj defined), runs
`snakemake` on it in the script's working directory, and returns pypet's result list; the
script itself is the run jobs' job module (environment/script.py).
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pypet_sm.define.trajectory import Trajectory
from pypet_sm.environment import options as opts
from pypet_sm.environment import project, script
from pypet_sm.errors import PypetSmError

logger = logging.getLogger("pypet_sm.environment")


class EnvironmentError_(PypetSmError):
    """The workflow an Environment started did not finish."""


def _version() -> str:
    from pypet_sm import __version__

    return __version__


def _format_time(timestamp: float) -> str:
    return time.strftime("%Y_%m_%d_%Hh%Mm%Ss", time.localtime(timestamp))


def _check_carried(value: Any, where: str) -> None:
    """Run jobs get args/kwargs through config.yaml: plain data only, never a changed type."""
    if value is None or isinstance(value, (bool, int, str)):
        return
    if isinstance(value, float):
        if math.isfinite(value):
            return
    elif isinstance(value, list):
        for position, item in enumerate(value):
            _check_carried(item, f"{where}[{position}]")
        return
    elif isinstance(value, dict) and all(isinstance(key, str) for key in value):
        for key, item in value.items():
            _check_carried(item, f"{where}[{key!r}]")
        return
    raise PypetSmError(
        f"env.run: {where} ({type(value).__name__} {value!r:.60}) cannot be carried to the run "
        "jobs, which get args and kwargs as plain data (None, bool, int, finite float, str, "
        "lists, dicts with str keys); make it a parameter of the trajectory instead"
    )


class Environment:
    """pypet 0.7's Environment; its arguments are `pypet_sm.environment.options.OPTIONS`."""

    def __init__(
        self,
        trajectory: str = "trajectory",
        add_time: bool = False,
        comment: str = "",
        **kwargs: Any,
    ) -> None:
        if not isinstance(trajectory, str):
            raise PypetSmError(
                "Environment(trajectory=...): pass the trajectory's name; the Environment "
                "makes the trajectory (env.traj)"
            )
        self._options = opts.check({"trajectory": trajectory, "add_time": add_time, **kwargs})
        self._timestamp = time.time()
        self._time = _format_time(self._timestamp)
        name = f"{trajectory}_{self._time}" if add_time else trajectory
        classes = kwargs.get("dynamic_imports") or kwargs.get("dynamically_imported_classes")
        self._classes: list[Any] = (
            list(classes) if isinstance(classes, (list, tuple)) else ([classes] if classes else [])
        )
        from pypet_sm.define.classes import import_classes

        known = [
            project.class_spec(entry) if isinstance(entry, str) else entry
            for entry in self._classes
        ]
        self._traj: Any = Trajectory(name, comment, import_classes(known, "dynamic_imports"))
        self._hexsha = hashlib.sha1(
            (name + str(self._timestamp) + str(self._timestamp) + _version()).encode()
        ).hexdigest()
        self._postprocessing: tuple[Callable[..., Any], tuple, dict] | None = None
        self._logging = True
        if not logger.handlers:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)
        imported = script.in_script_import(sys._getframe(1).f_globals)
        for name_, (kind, why) in opts.OPTIONS.items():
            if kind == opts.NOT_NEEDED and name_ in kwargs and not imported:
                logger.info("Environment(%s=...) is not needed with pypet_sm: %s", name_, why)

    # pypet's properties --------------------------------------------------------------------
    @property
    def trajectory(self) -> Any:
        return self._traj

    @property
    def traj(self) -> Any:
        return self._traj

    @property
    def hexsha(self) -> str:
        return self._hexsha

    @property
    def time(self) -> str:
        return self._time

    @property
    def timestamp(self) -> float:
        return self._timestamp

    @property
    def name(self) -> str:
        return f"environment_{self._hexsha[:7]}_{self._time}"

    def disable_logging(self, remove_all_handlers: bool = True) -> None:
        """pypet's: stop the Environment's logging (its handlers removed)."""
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        logger.addHandler(logging.NullHandler())
        self._logging = False

    # running ------------------------------------------------------------------------------
    def add_postprocessing(self, postproc: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """pypet's: `postproc(traj, result_list, *args, **kwargs)` once after the runs."""
        if not callable(postproc):
            raise PypetSmError(f"add_postprocessing: {postproc!r} is not callable")
        self._postprocessing = (postproc, args, kwargs)

    def pipeline(self, pipeline: Callable[..., Any]) -> list[tuple[int, Any]]:
        """pypet's: `pipeline(traj)` returns the run function (and its args, kwargs), then
        optionally the post-processing function with its own."""
        stop = self._stop_if_imported(sys._getframe(1).f_globals)
        if stop is not None:
            raise stop
        returned = pipeline(self._traj)
        run_part, post_part = (returned, None)
        if isinstance(returned, tuple) and returned and isinstance(returned[0], tuple):
            run_part = returned[0]
            post_part = returned[1] if len(returned) > 1 else None
        job, args, kwargs = _unpack(run_part, "pipeline's run function")
        if post_part is not None:
            post, post_args, post_kwargs = _unpack(post_part, "pipeline's post-processing")
            self.add_postprocessing(post, *post_args, **post_kwargs)
        return self._run(job, args, kwargs)

    def run(self, runfunc: Callable[..., Any], *args: Any, **kwargs: Any) -> list[tuple[int, Any]]:
        """Run `runfunc(traj, *args, **kwargs)` for every run through Snakemake; pypet's
        `[(run_idx, return value), ...]` of the finished runs, in index order."""
        stop = self._stop_if_imported(sys._getframe(1).f_globals)
        if stop is not None:
            raise stop
        return self._run(runfunc, args, kwargs)

    def resume(self, trajectory_name: str | None = None, resume_folder: str | None = None) -> Any:
        """pypet's resume: the last run of this trajectory again; finished runs are kept."""
        stop = self._stop_if_imported(sys._getframe(1).f_globals)
        if stop is not None:
            raise stop
        name = trajectory_name or self._traj.v_name
        generated = project.Generated(Path.cwd(), name)
        if not generated.config.exists():
            raise PypetSmError(
                f"env.resume({name!r}): nothing to resume ({generated.config} is missing)"
            )
        self._workflow(generated, opts.cores(self._options))
        return self._finish(generated, name)

    @staticmethod
    def _stop_if_imported(caller: dict[str, Any]) -> BaseException | None:
        return script.stop(caller) if script.in_script_import(caller) else None

    def _run(self, job: Callable[..., Any], args: tuple, kwargs: dict) -> list[tuple[int, Any]]:
        if not isinstance(self._traj, Trajectory):
            raise PypetSmError(
                "env.run was called already: pypet_sm runs a trajectory once per Environment"
            )
        main, path = script.main_script()
        module = script.module_name(path)
        function_name = getattr(job, "__name__", "")
        if getattr(main, function_name, None) is not job:
            raise PypetSmError(
                f"env.run: the job function {function_name or job!r} is not defined at the top "
                f"level of {path.name} (a lambda, a nested or an imported function): run jobs "
                "import it from the script by name"
            )
        for position, arg in enumerate(args):
            _check_carried(arg, f"args[{position}]")
        for key, arg in kwargs.items():
            _check_carried(arg, f"kwargs[{key!r}]")
        script.register(main, module)
        self._traj.check_presets()
        generated = project.Generated(Path.cwd(), self._traj.v_name)
        config = project.config(
            self._traj,
            self._options,
            f"{module}:{function_name}",
            list(args),
            dict(kwargs),
            project.class_specs(self._classes, module),
        )
        generated.write(self._traj, config, path.parent)
        if os.environ.get(project.INIT):
            project.write_project(generated)
            raise SystemExit(0)
        self._workflow(generated, opts.cores(self._options))
        return self._finish(generated, self._traj.v_name)

    def _workflow(self, generated: project.Generated, cores: int) -> None:
        profile = self._options.get("snakemake_profile") or os.environ.get("PYPET_SM_PROFILE")
        extra_args = [*self._options.get("snakemake_args")]
        extra_args += shlex.split(os.environ.get("PYPET_SM_SNAKEMAKE_ARGS", ""))
        command = generated.command(cores, profile, extra_args)
        logger.info("running %s", " ".join(command))
        environment = dict(os.environ)
        extra = str(generated.script_dir)
        environment["PYTHONPATH"] = os.pathsep.join(
            [extra, *filter(None, [environment.get("PYTHONPATH")])]
        )
        environment[script.SCRIPT_MODULES] = generated.job_module()
        sys.stdout.flush()
        status = subprocess.run(command, stdout=sys.stderr, env=environment, check=False)
        if status.returncode != 0:
            missing = generated.missing_runs()
            named = f"; runs not finished: {', '.join(missing[:20])}" if missing else ""
            raise EnvironmentError_(
                f"snakemake stopped with exit status {status.returncode}{named} (their "
                f"errors: {generated.log_dir}/.../warnings_and_errors.txt); fix the cause "
                "and run the script again: finished runs are not computed again"
            )

    def _finish(self, generated: project.Generated, name: str) -> list[tuple[int, Any]]:
        results = generated.result_list()
        loaded = generated.load()
        _become(self._traj, loaded)
        self._traj = loaded
        if self._postprocessing is not None:
            post, args, kwargs = self._postprocessing
            returned = post(loaded, results, *args, **kwargs)
            if isinstance(returned, dict):
                raise PypetSmError(
                    f"post-processing {getattr(post, '__name__', post)} returned a dict: "
                    "expanding the trajectory from post-processing (pypet's iterative "
                    "exploration) is not offered by Environment yet (issue 18)"
                )
        return results


def _become(old: Any, loaded: Any) -> None:
    """The script's own `traj = env.traj` is the finished trajectory afterwards, as pypet's
    is the same object: the built trajectory takes on the loaded one's class and state."""
    try:
        object.__setattr__(old, "__class__", type(loaded))
        old.__dict__.clear()
        old.__dict__.update(loaded.__dict__)
    except TypeError:
        pass


def _unpack(part: Any, what: str) -> tuple[Callable[..., Any], tuple, dict]:
    if callable(part):
        return part, (), {}
    if not isinstance(part, tuple) or not part or not callable(part[0]) or len(part) > 3:
        raise PypetSmError(f"{what}: expected (function, args, kwargs), got {part!r:.80}")
    args = tuple(part[1]) if len(part) > 1 else ()
    kwargs = dict(part[2]) if len(part) > 2 else {}
    return part[0], args, kwargs
