"""The `postprocessing:` config field, the single entry point of post-processing."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from pypet_sm.errors import ConfigError

DEFAULT_MAX_ROUNDS = 100
FIELDS = ("function", "args", "kwargs", "max_rounds")


@dataclass(frozen=True)
class PostprocSettings:
    """`function(traj, result_list, *args, **kwargs)`, called at most `max_rounds` times."""

    function: str
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    max_rounds: int = DEFAULT_MAX_ROUNDS

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def call_digest(self) -> str:
        """What decides the search (not max_rounds: raising it continues the same search)."""
        call = {"function": self.function, "args": self.args, "kwargs": self.kwargs}
        return hashlib.sha1(json.dumps(call, sort_keys=True, default=repr).encode()).hexdigest()


def parse(section: Any) -> PostprocSettings | None:
    """`postprocessing:` as a mapping or the bare string `module:function`; None when unset."""
    if section is None:
        return None
    if isinstance(section, str):
        section = {"function": section}
    if not isinstance(section, dict):
        raise ConfigError(
            "postprocessing", f"expected 'module:function' or a mapping, got {section!r}"
        )
    unknown = sorted(set(section) - set(FIELDS))
    if unknown:
        raise ConfigError(f"postprocessing.{unknown[0]}", f"unknown; known: {', '.join(FIELDS)}")
    function = section.get("function")
    if not isinstance(function, str) or function.count(":") != 1 or not all(function.split(":")):
        raise ConfigError(
            "postprocessing.function", f"expected 'module:function', got {function!r}"
        )
    args = section.get("args") or []
    if not isinstance(args, list):
        raise ConfigError("postprocessing.args", f"expected a list, got {args!r}")
    kwargs = section.get("kwargs") or {}
    if not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
        raise ConfigError("postprocessing.kwargs", f"expected a mapping, got {kwargs!r}")
    max_rounds = section.get("max_rounds", DEFAULT_MAX_ROUNDS)
    if isinstance(max_rounds, bool) or not isinstance(max_rounds, int) or max_rounds < 1:
        raise ConfigError(
            "postprocessing.max_rounds", f"expected an integer >= 1, got {max_rounds!r}"
        )
    return PostprocSettings(function, list(args), dict(kwargs), max_rounds)


def from_dict(data: dict[str, Any] | None) -> PostprocSettings | None:
    """The settings as `Settings.postprocessing` holds them (builtins, for plan files)."""
    return None if data is None else PostprocSettings(**data)


def runs_per_job(requested: int | str) -> int:
    """Run jobs of a search hold one run each: a round's new points then always start a job
    of their own, so a job that finished in an earlier round never changes (its manifest is
    made once per invocation)."""
    if requested not in ("auto", 1):
        raise ConfigError(
            "runs_per_job",
            f"must be 1 or auto with postprocessing (rounds add points one job each), got "
            f"{requested!r}",
        )
    return 1
