"""The record of each finished round of a search, in the state folder.

A search lives in `<state>/postproc/<search id>/`; the id is a digest of the initial points and
the post-processing call, so editing either starts a new search and never replays stale rounds.
Round r's record is two files: `round_<r>.pkl`, the points its post-processing added (as the
define-side trajectory typed them), and `round_<r>.json`, the checkpoint's output, written last:
it exists exactly when the round finished.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pypet_sm import atomic
from pypet_sm.define.config import Settings, build_trajectory
from pypet_sm.define.trajectory import Trajectory
from pypet_sm.errors import PypetSmError
from pypet_sm.execute import plan as plans
from pypet_sm.execute.plan import Plan
from pypet_sm.postproc.settings import PostprocSettings

FORMAT = "pypet_sm postprocessing round v1"


class PostprocError(PypetSmError):
    """A post-processing function that failed, or a round record that does not fit."""


@dataclass
class Round:
    """What post-processing round `number` (0: after the initial runs) decided."""

    number: int
    expansion: dict[str, list[Any]]  # explored name (without `parameters.`) -> new values
    record: dict[str, Any]  # the JSON summary

    @property
    def added(self) -> int:
        return len(next(iter(self.expansion.values()))) if self.expansion else 0


def search_id(base: Plan, settings: PostprocSettings) -> str:
    hasher = hashlib.sha1(base._static_digest.encode() + settings.call_digest.encode())
    hasher.update("".join(base.keys).encode())
    return hasher.hexdigest()[:16]


def folder(state: Path, search: str) -> Path:
    return state / "postproc" / search


def record_path(search_folder: Path, number: int) -> Path:
    return search_folder / f"round_{number}.json"


def expansion_path(search_folder: Path, number: int) -> Path:
    return search_folder / f"round_{number}.pkl"


def save_config(search_folder: Path, config: dict[str, Any]) -> None:
    """The config a search's define-side trajectory is built from (the round command's)."""
    path = search_folder / "config.pkl"
    if not path.exists():
        atomic.write_bytes(path, pickle.dumps(config, protocol=5))


def load_config(search_folder: Path) -> dict[str, Any]:
    with open(search_folder / "config.pkl", "rb") as handle:
        config = pickle.load(handle)
    if not isinstance(config, dict):
        raise PostprocError(f"{search_folder}/config.pkl is not a config; run snakemake again")
    return config


def save_expansion(search_folder: Path, number: int, expansion: dict[str, list[Any]]) -> None:
    state = {"format": FORMAT, "round": number, "expansion": expansion}
    atomic.write_bytes(expansion_path(search_folder, number), pickle.dumps(state, protocol=5))


def load_expansion(search_folder: Path, number: int) -> dict[str, list[Any]] | None:
    try:
        with open(expansion_path(search_folder, number), "rb") as handle:
            state = pickle.load(handle)
    except (OSError, pickle.UnpicklingError, EOFError):
        return None
    if not isinstance(state, dict) or state.get("format") != FORMAT or state["round"] != number:
        return None
    expansion = state["expansion"]
    return expansion if isinstance(expansion, dict) else None


def save_record(search_folder: Path, number: int, record: dict[str, Any]) -> None:
    atomic.write_text(record_path(search_folder, number), json.dumps(record, indent=1) + "\n")


def load(search_folder: Path, number: int) -> Round | None:
    """Round `number` when it finished (its record and points readable), else None."""
    try:
        record = json.loads(record_path(search_folder, number).read_text())
    except (OSError, ValueError):
        return None
    expansion = load_expansion(search_folder, number)
    if not isinstance(record, dict) or record.get("format") != FORMAT or expansion is None:
        return None
    return Round(number, expansion, record)


def continues(finished: Round, max_rounds: int) -> bool:
    """Whether round `finished` leads to another round of runs."""
    return finished.added > 0 and finished.number + 1 < max_rounds


class Definitions:
    """The define-side trajectory and plan of each round: round 0's from the config, round
    r + 1's with round r's points appended by `f_expand` (so they are typed and planned the
    way the initial points are, and keep their point keys whatever round adds them)."""

    def __init__(self, config: dict[str, Any], base: Plan) -> None:
        self.config = config
        self.settings = base.settings
        self.traj = build_trajectory(config, base.settings)
        self.plans = [base]

    def extend(self, expansion: dict[str, list[Any]]) -> Plan:
        self.traj.f_expand({f"parameters.{name}": values for name, values in expansion.items()})
        plan = plans.from_trajectory(self.settings, self.traj)
        self.plans.append(plan)
        return plan


def definition(
    config: dict[str, Any], settings: Settings, expansions: list[dict[str, list[Any]]]
) -> Trajectory:
    """A new define-side trajectory with these rounds' points (for a round's f_expand)."""
    traj = build_trajectory(config, settings)
    for expansion in expansions:
        traj.f_expand({f"parameters.{name}": values for name, values in expansion.items()})
    return traj
