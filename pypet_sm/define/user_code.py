"""Importing and calling the user's code named in config.yaml (`module:function`): the job
function, the build hook, custom classes.

Whatever that code does is answered by one message naming it: an exception, `sys.exit()`,
Ctrl-C (any BaseException) while it is imported or called; a project module that Python
does not import because another module of that name comes first (`random.py` beside the
standard library's `random`, which Snakemake has imported long before); a folder where a
module file is expected. A call that takes long says so on the terminal, so a hook that
never returns is not silent.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from pypet_sm.errors import ConfigError

# After this long, a call of user code at parse time is named on the terminal: quick ones
# stay quiet, one that hangs is not silent.
ANNOUNCE_AFTER = 2.0


@contextlib.contextmanager
def announced(what: str, delay: float = ANNOUNCE_AFTER) -> Iterator[None]:
    """Print `pypet_sm: <what> ...` to stderr if the block runs longer than `delay`."""

    def say() -> None:
        print(f"pypet_sm: {what} ... (still running; Ctrl-C stops it)", file=sys.stderr, flush=True)

    timer = threading.Timer(delay, say)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def where(error: BaseException) -> str:
    """` (at file:line)` of the innermost frame of the error's traceback, or ''."""
    frames = traceback.extract_tb(error.__traceback__)
    return f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""


def describe(error: BaseException) -> str:
    """What a BaseException that is not an Exception means, in words."""
    if isinstance(error, SystemExit):
        return f"called sys.exit({'' if error.code is None else repr(error.code)})"
    if isinstance(error, KeyboardInterrupt):
        return "was interrupted (Ctrl-C)"
    return f"raised {type(error).__name__}: {text(error)}"


def text(error: BaseException) -> str:
    try:
        return str(error)
    except Exception:  # an exception whose __str__ raises still gets named
        return f"<{type(error).__name__} whose str() fails>"


def _project_module(top: str) -> Path | None:
    """The project's own file or folder that `import top` should find, if there is one."""
    cwd = Path.cwd()
    for candidate in (cwd / f"{top}.py", cwd / top):
        if candidate.exists():
            return candidate
    return None


def _found(top: str) -> tuple[str | None, list[str]]:
    """(origin, package folders) of what `import top` gives, without importing it."""
    loaded = sys.modules.get(top)
    if loaded is not None:
        spec = getattr(loaded, "__spec__", None)
        origin = getattr(loaded, "__file__", None) or (spec.origin if spec else None)
        return origin, list(getattr(loaded, "__path__", []) or [])
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None, []
    if spec is None:
        return None, []
    return spec.origin, list(spec.submodule_search_locations or [])


def check_not_shadowed(module_name: str, field_name: str) -> None:
    """A project file named like the module must be what Python imports for it."""
    top = module_name.partition(".")[0]
    project = _project_module(top)
    if project is None:
        return
    shown = os.path.relpath(project)
    if top in sys.stdlib_module_names:
        raise ConfigError(
            field_name,
            f"the project's {shown} has the name of Python's standard-library module {top!r}, "
            f"which Python imports instead (or it would replace that module for all the "
            f"code that uses it): rename {shown}",
        )
    origin, folders = _found(top)
    mine = {project.resolve(), (project / "__init__.py").resolve()}
    if origin not in (None, "built-in", "frozen") and Path(origin).resolve() in mine:
        return
    if origin is None and any(Path(folder).resolve() == project.resolve() for folder in folders):
        return  # the project's folder, as a namespace package
    if origin is None and not folders:
        return  # nothing found: the import says so
    other = "a built-in module" if origin in ("built-in", "frozen", None) else origin
    raise ConfigError(
        field_name,
        f"`import {top}` does not import the project's {shown}: Python finds {other} first; "
        f"rename {shown}",
    )


def import_module(module_name: str, field_name: str) -> ModuleType:
    """Import a module of the user's, the working directory first on sys.path."""
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    return _import(module_name, field_name)


def _import(module_name: str, field_name: str) -> ModuleType:
    from pypet_sm.environment.script import ScriptStop

    check_not_shadowed(module_name, field_name)
    try:
        return importlib.import_module(module_name)
    except ScriptStop as stop:  # a pypet-style script reached env.run: what it defined is kept
        if stop.module is None:
            raise ConfigError(field_name, f"module {module_name!r} stopped at env.run") from None
        sys.modules[module_name] = stop.module
        return stop.module
    except Exception as error:  # the user's module may fail in any way while importing
        raise ConfigError(
            field_name,
            f"cannot import module {module_name!r}: {type(error).__name__}: {text(error)}",
        ) from None
    except BaseException as error:  # sys.exit(), Ctrl-C: one line, not a silent exit 0
        raise ConfigError(
            field_name, f"importing module {module_name!r} {describe(error)}{where(error)}"
        ) from None


def import_object(spec: str, field_name: str) -> Callable[..., Any]:
    """Import `module:attribute` with the working directory first on sys.path."""
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise ConfigError(field_name, f"expected 'module:function', got {spec!r}")
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    module = _import(module_name, field_name)
    try:
        target = getattr(module, attribute)
    except AttributeError:
        if getattr(module, "__file__", None) is None and hasattr(module, "__path__"):
            folder = os.path.relpath(next(iter(module.__path__), module_name))
            raise ConfigError(
                field_name,
                f"{module_name!r} is the folder {folder}, not a module file: name a .py file "
                f"(`folder.module:{attribute}`)",
            ) from None
        raise ConfigError(
            field_name, f"module {module_name!r} has no attribute {attribute!r}"
        ) from None
    if not callable(target):
        raise ConfigError(field_name, f"{spec!r} is not callable")
    return target
