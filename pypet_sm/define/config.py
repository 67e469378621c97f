"""config.yaml → settings and a defined trajectory.

The JSON schema in workflow/schemas checks shapes and fills defaults when Snakemake loads the
config; this module does the checks a schema cannot (types of values, names, importable
hooks) and applies the same defaults, so it also works on a plain dict (tests, Python API).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from pypet_sm.define import exploration
from pypet_sm.define import values as value_types
from pypet_sm.define.trajectory import Trajectory
from pypet_sm.define.user_code import announced, describe, import_object, text, where
from pypet_sm.errors import ConfigError, PypetSmError
from pypet_sm.execute.cluster import ResourceSettings, resource_settings
from pypet_sm.hdf5.records import StorageSettings
from pypet_sm.postproc import settings as postproc_settings

NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
AUTO = "auto"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass
class Settings:
    """Everything in config.yaml except the parameters and the exploration."""

    name: str
    comment: str = ""
    filename: str = ""
    file_title: str = ""
    job: str = ""
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    build: str | None = None
    runs_per_job: int | str = AUTO
    # estimates per run: what run jobs ask a cluster for, and how long auto makes them
    resources: ResourceSettings = field(default_factory=ResourceSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    log_folder: str = "logs"
    log_level: str = "INFO"
    state_dir: str = ".pypet_sm"
    git_repository: str | None = None
    git_message: str = ""
    git_fail: bool = False
    # custom Parameter/Result subclasses as `module:Class` (pypet's dynamically_imported_classes)
    dynamically_imported_classes: list[str] = field(default_factory=list)
    # seconds a single run may take (pypet's Environment `timeout`); None: no limit
    timeout: float | None = None
    # `postprocessing:` as builtins (pypet_sm/postproc/settings.py); None: no post-processing
    postprocessing: dict[str, Any] | None = None

    @property
    def trajectory_state(self) -> Path:
        """Where plans, fragments and manifests of this trajectory live."""
        return Path(self.state_dir) / self.name

    @property
    def log_dir(self) -> Path:
        """`<log_folder>/<trajectory>`: the rules' own logs; each environment has a folder here."""
        return Path(self.log_folder) / self.name

    def environment_log_dir(self, environment: str) -> Path:
        """`<log_folder>/<trajectory>/<environment>`: main.txt, warnings_and_errors.txt, jobs."""
        return self.log_dir / environment


def _require_str(config: dict, key: str, where: str = "") -> str:
    value = config.get(key)
    if value is None:
        raise ConfigError(f"{where}{key}", "is required")
    if not isinstance(value, str):
        raise ConfigError(f"{where}{key}", f"expected a string, got {value!r}")
    return value


def storage_settings(section: Any) -> StorageSettings:
    """The `storage:` section, checked against StorageSettings' fields and types."""
    section = section or {}
    if not isinstance(section, dict):
        raise ConfigError("storage", f"expected a mapping, got {section!r}")
    known = {f.name: f for f in fields(StorageSettings)}
    defaults = StorageSettings()
    for key, value in section.items():
        if key not in known:
            raise ConfigError(f"storage.{key}", f"unknown setting; known: {', '.join(known)}")
        expected = type(getattr(defaults, key))
        if type(value) is not expected:
            raise ConfigError(f"storage.{key}", f"expected a {expected.__name__}, got {value!r}")
    settings = StorageSettings(**section)
    if settings.complib not in (
        "zlib",
        "blosc",
        "bzip2",
        "lzo",
    ) and not settings.complib.startswith("blosc:"):
        raise ConfigError("storage.complib", f"unknown compression library {settings.complib!r}")
    if settings.layout not in ("pypet", "stacked"):
        raise ConfigError(
            "storage.layout", f"expected 'pypet' or 'stacked', got {settings.layout!r}"
        )
    if not 0 <= settings.complevel <= 9:
        raise ConfigError("storage.complevel", f"expected 0..9, got {settings.complevel}")
    if settings.run_sets_above < 0:
        raise ConfigError(
            "storage.run_sets_above", f"expected an integer >= 0, got {settings.run_sets_above}"
        )
    return settings


def load_settings(config: dict[str, Any]) -> Settings:
    """Check the non-parameter parts of a config dict and return them as Settings."""
    if not isinstance(config, dict):
        raise ConfigError("(top level)", "expected a mapping")
    section = config.get("trajectory")
    if not isinstance(section, dict):
        raise ConfigError("trajectory", "is required: a mapping with at least 'name'")
    name = _require_str(section, "name", "trajectory.")
    if not NAME_PATTERN.match(name):
        raise ConfigError("trajectory.name", f"expected letters, digits and _, got {name!r}")
    job = _require_str(config, "job")
    if ":" not in job:
        raise ConfigError("job", f"expected 'module:function', got {job!r}")
    args = config.get("args") or []
    kwargs = config.get("kwargs") or {}
    if not isinstance(args, list):
        raise ConfigError("args", f"expected a list, got {args!r}")
    if not isinstance(kwargs, dict):
        raise ConfigError("kwargs", f"expected a mapping, got {kwargs!r}")
    runs_per_job = config.get("runs_per_job", AUTO)
    if runs_per_job != AUTO and (
        isinstance(runs_per_job, bool) or not isinstance(runs_per_job, int) or runs_per_job < 1
    ):
        raise ConfigError(
            "runs_per_job", f"expected 'auto' or an integer >= 1, got {runs_per_job!r}"
        )
    if config.get("keep_going") is not None and not isinstance(config["keep_going"], bool):
        raise ConfigError("keep_going", f"expected true or false, got {config['keep_going']!r}")
    git = config.get("git") or {}
    if not isinstance(git, dict):
        raise ConfigError("git", f"expected a mapping, got {git!r}")
    unknown = set(git) - {"repository", "message", "fail"}
    if unknown:
        raise ConfigError(f"git.{sorted(unknown)[0]}", "unknown; known: repository, message, fail")
    repository = git.get("repository")
    if repository is not None and (not isinstance(repository, str) or not repository):
        raise ConfigError("git.repository", f"expected a path, got {repository!r}")
    git_fail = git.get("fail", False)
    if not isinstance(git_fail, bool):
        raise ConfigError("git.fail", f"expected true or false, got {git_fail!r}")
    log_level = config.get("log_level", "INFO")
    if not isinstance(log_level, str) or log_level.upper() not in LOG_LEVELS:
        raise ConfigError(
            "log_level", f"expected one of {', '.join(LOG_LEVELS)}, got {log_level!r}"
        )
    classes = config.get("dynamically_imported_classes") or []
    if isinstance(classes, str):
        classes = [classes]
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        raise ConfigError(
            "dynamically_imported_classes", f"expected a list of 'module:Class', got {classes!r}"
        )
    timeout = config.get("timeout")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0
    ):
        raise ConfigError("timeout", f"expected seconds per run (a number > 0), got {timeout!r}")
    postproc = postproc_settings.parse(config.get("postprocessing"))
    if postproc is not None:
        runs_per_job = postproc_settings.runs_per_job(runs_per_job)
    return Settings(
        name=name,
        comment=str(section.get("comment") or ""),
        filename=str(section.get("filename") or f"hdf5/{name}.hdf5"),
        file_title=str(section.get("file_title") or name),
        job=job,
        args=args,
        kwargs=kwargs,
        build=config.get("build"),
        runs_per_job=runs_per_job,
        resources=resource_settings(config.get("resources")),
        storage=storage_settings(config.get("storage")),
        log_folder=str(config.get("log_folder") or "logs"),
        log_level=log_level.upper(),
        state_dir=str(config.get("state_dir") or ".pypet_sm"),
        git_repository=repository,
        git_message=str(git.get("message") or ""),
        git_fail=git_fail,
        dynamically_imported_classes=list(classes),
        timeout=None if timeout is None else float(timeout),
        postprocessing=None if postproc is None else postproc.as_dict(),
    )


def _parameter_entry(name: str, entry: Any) -> tuple[Any, str, str | None, str | None]:
    field_name = f"parameters.{name}"
    if not isinstance(entry, dict):
        return entry, "", None, None
    if "value" not in entry:
        raise ConfigError(field_name, "expected 'value' (and optionally comment, type, dtype)")
    unknown = set(entry) - {"value", "comment", "type", "dtype"}
    if unknown:
        raise ConfigError(field_name, f"unknown keys {sorted(unknown)}")
    return entry["value"], str(entry.get("comment") or ""), entry.get("type"), entry.get("dtype")


def build_trajectory(config: dict[str, Any], settings: Settings | None = None) -> Trajectory:
    """The trajectory defined by the config: parameters, exploration, then the build hook."""
    from pypet_sm.define.classes import import_classes

    settings = settings or load_settings(config)
    custom_classes = import_classes(settings.dynamically_imported_classes)
    traj = Trajectory(settings.name, settings.comment, custom_classes)
    parameters = config.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise ConfigError("parameters", f"expected a mapping of dotted names, got {parameters!r}")
    kinds: dict[str, tuple[str | None, str | None]] = {}
    for name, entry in parameters.items():
        value, comment, kind, dtype = _parameter_entry(name, entry)
        try:
            value = value_types.convert(value, kind, dtype)
        except ValueError as error:
            raise ConfigError(f"parameters.{name}.value", str(error)) from None
        try:
            traj.f_add_parameter(name, value, comment=comment)
        except PypetSmError as error:
            raise ConfigError(f"parameters.{name}", str(error)) from None
        kinds[name] = (kind, dtype)

    def convert(name: str, values: list[Any], field: str) -> list[Any]:
        """Type the listed values like the parameter's default (before the product)."""
        kind, dtype = kinds.get(name, (None, None))
        typed = []
        try:
            leaf = traj.parameter(name)
            for position, value in enumerate(values):
                try:
                    value = value_types.convert(value, kind, dtype)
                except ValueError as error:
                    raise ConfigError(f"{field}[{position}]", str(error)) from None
                typed.append(traj.coerce(leaf, position, value))
        except PypetSmError as error:
            raise ConfigError(field, str(error)) from None
        return typed

    typed = exploration.from_config(config.get("exploration"), convert=convert)
    if typed:
        try:
            traj.f_explore(typed)
        except PypetSmError as error:
            raise ConfigError("exploration", str(error)) from None
    if settings.build:
        _call_build_hook(settings.build, traj)
        try:
            traj.check_presets()
        except PypetSmError as error:
            raise ConfigError("build", f"{settings.build}: {error}") from None
    return traj


def _call_build_hook(spec: str, traj: Trajectory) -> None:
    """Import and call the build hook; whatever it does is one message naming it."""
    with announced(f"calling build hook {spec}"):
        hook = import_object(spec, "build")
        try:
            hook(traj)
        except PypetSmError as error:
            raise ConfigError("build", f"{spec}: {error}") from None
        except Exception as error:  # the user's hook may fail in any way: say where
            raise ConfigError(
                "build", f"{spec} raised {type(error).__name__}: {text(error)}{where(error)}"
            ) from None
        except BaseException as error:  # sys.exit(), Ctrl-C: one line, not a silent exit 0
            hint = "; a build hook returns when it is done" if isinstance(error, SystemExit) else ""
            raise ConfigError(
                "build", f"the build hook {spec} {describe(error)}{where(error)}{hint}"
            ) from None
