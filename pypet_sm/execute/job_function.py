"""Importing the user's job function in a run job, and refusing what cannot compute a run.

A module that exits while being imported (`sys.exit(0)` at module level, a KeyboardInterrupt,
any other BaseException) is one line naming it (`user_code.import_object`). Job functions
that compute nothing when called (`async def` functions, generator functions, or any
function returning a coroutine, generator or other awaitable) are refused: calling one would
"succeed" with no results and its runs would stay done after the function was fixed.
"""

from __future__ import annotations

import hashlib
import inspect
import pickle
import sys
from collections.abc import Callable
from typing import Any

from pypet_sm.define.user_code import import_object
from pypet_sm.errors import PypetSmError, TrajectoryError


class JobFunctionError(PypetSmError):
    """The job module cannot be imported, or its function cannot compute a run."""


def _kind(function: Callable[..., Any]) -> str | None:
    """What keeps `function` from computing a run when called, or None."""
    candidates = [function]
    if not inspect.isroutine(function) and not inspect.isclass(function):
        candidates.append(type(function).__call__)  # an instance with an async __call__
    for candidate in candidates:
        if inspect.isasyncgenfunction(candidate):
            return "an async generator function (async def with yield)"
        if inspect.iscoroutinefunction(candidate):
            return "an async def function"
        if inspect.isgeneratorfunction(candidate):
            return "a generator function (it uses yield)"
    return None


def load(spec: str) -> Callable[..., Any]:
    """The job function `module:function`, imported, or a one-line error naming it."""
    function = import_object(spec, "job")  # a module that exits while imported: one line
    kind = _kind(function)
    if kind is not None:
        raise JobFunctionError(
            f"job function {spec!r} is {kind}: pypet_sm calls the job function once per run "
            "and the run is what the call computes, as in pypet; make it a plain function "
            "(run a coroutine inside it with asyncio.run)"
        )
    return function


def check_returned(returned: Any, run: str | None) -> None:
    """Fail the run when the job function returned a coroutine, generator or awaitable:
    the run's computation was never carried out."""
    if inspect.isgenerator(returned):
        kind = "a generator"
    elif inspect.isasyncgen(returned):
        kind = "an async generator"
    elif inspect.iscoroutine(returned):
        kind = "a coroutine"
    elif inspect.isawaitable(returned):
        kind = f"an awaitable ({type(returned).__name__})"
    else:
        return
    close = getattr(returned, "close", None)
    if callable(close) and not inspect.isasyncgen(returned):
        close()  # no "coroutine was never awaited" warning on top of the error
    raise TrajectoryError(
        f"{run}: the job function returned {kind} instead of computing the run (is it async "
        "def, or does it use yield?); make it a plain function (run a coroutine inside it "
        "with asyncio.run)"
    )


def source_digest(spec: str) -> str:
    """Digest of the file of the job function's module (`module` of `module:function`) as it
    is on disk now, or "" when it has no file. Fragments record it, so `pypet-sm status`
    counts the runs computed by code that changed since. Only the job module: a change of
    what it imports, or of a build hook, is not seen (a build hook that changes the
    parameters changes the runs' point keys anyway)."""
    module = sys.modules.get(spec.partition(":")[0])
    if module is None:
        import_object(spec, "job")
        module = sys.modules.get(spec.partition(":")[0])
    path = getattr(module, "__file__", None)
    if not path:
        return ""
    try:
        with open(path, "rb") as handle:
            return hashlib.sha1(handle.read()).hexdigest()[:16]
    except OSError:
        return ""


def check_picklable(returned: Any, run: str | None) -> None:
    """The return value is kept in the run's fragment (pypet's `result_list`), so it must
    pickle: checked here, so the run fails naming it rather than its fragment later."""
    try:
        pickle.dumps(returned, protocol=5)
    except Exception as error:
        raise TrajectoryError(
            f"{run}: the job function's return value ({type(returned).__name__}) cannot be "
            f"pickled ({type(error).__name__}: {error}); it is kept for post-processing, so "
            "return plain data (or None)"
        ) from None
