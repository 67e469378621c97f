"""What workflow/rules/postproc.smk reads: the rounds of a search as Snakemake jobs.

Round r is: the run jobs of its plan, a merge (`merged_<r>.json`), and the checkpoint that
post-processes (`round_<r>.json`). Round r + 1's run jobs and merge exist only once round r's
checkpoint says it expanded, so the input functions below ask Snakemake's checkpoint first
(`checkpoints.postproc_round.get(round=...)`, which defers the rule until that round ran) and
then plan the new points with the same plan/point-key machinery as the initial sweep. A round
that finished in an earlier invocation is planned at parse time from its record, so rerunning
never computes a point again nor repeats post-processing of a finished round.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pypet_sm import atomic
from pypet_sm.execute import plan as plans
from pypet_sm.execute.plan import Plan
from pypet_sm.postproc import rounds
from pypet_sm.postproc.settings import PostprocSettings, from_dict


class Search:
    """The rounds known so far; `sweep.plan` always holds the plan of the latest round, so
    the run-job rule's params (plan digests, retry tokens) cover every job of the search."""

    def __init__(self, config: dict[str, Any], base: Plan) -> None:
        settings = from_dict(base.settings.postprocessing)
        assert settings is not None
        self.settings: PostprocSettings = settings
        self.latest = base
        self.sweep: Any = None  # the workflow's Sweep, once made
        self.id = rounds.search_id(base, settings)
        self.folder = rounds.folder(base.settings.trajectory_state, self.id)
        rounds.save_config(self.folder, config)
        self.definitions = rounds.Definitions(config, base)
        self.finished: list[rounds.Round] = []
        # rounds finished in earlier invocations: planned now, so cluster jobs' inner
        # snakemake (which parses the same config) knows their jobs too
        while True:
            found = rounds.load(self.folder, len(self.finished))
            if found is None:
                break
            self.finished.append(found)
            if not rounds.continues(found, settings.max_rounds):
                break
            self._extend(found)

    def _extend(self, finished: rounds.Round) -> None:
        plan = self.definitions.extend(finished.expansion)
        plans.save(plan)
        self.latest = plan
        if self.sweep is not None:
            self.sweep.plan = plan

    def plan(self, number: int, checkpoints: Any) -> Plan:
        """The plan of round `number`; round `number - 1` must have finished and expanded."""
        while len(self.definitions.plans) <= number:
            previous = len(self.definitions.plans) - 1
            checkpoints.postproc_round.get(round=str(previous))  # defers until it ran
            if len(self.finished) <= previous:
                found = rounds.load(self.folder, previous)
                if found is None:
                    raise rounds.PostprocError(
                        f"post-processing round {previous} left no record in {self.folder}"
                    )
                self.finished.append(found)
            if not rounds.continues(self.finished[previous], self.settings.max_rounds):
                raise rounds.PostprocError(f"round {number} of the search does not exist")
            self._extend(self.finished[previous])
        return self.definitions.plans[number]

    # input functions and params ---------------------------------------------------------
    def manifests(self, wildcards: Any, checkpoints: Any) -> list[str]:
        plan = self.plan(int(wildcards.round), checkpoints)
        state = plan.settings.trajectory_state
        return [f"{state}/manifests/job_{job:06d}.json" for job in range(plan.n_jobs)]

    def plan_digest(self, wildcards: Any, checkpoints: Any) -> str:
        return self.plan(int(wildcards.round), checkpoints).path.stem.split("-", 1)[1]

    def final(self, checkpoints: Any) -> str:
        """The record of the last round: the search's target (Snakemake re-evaluates this
        after every checkpoint, so the DAG grows round by round)."""
        number = 0
        while True:
            checkpoints.postproc_round.get(round=str(number))
            found = rounds.load(self.folder, number)
            if found is None:
                raise rounds.PostprocError(
                    f"post-processing round {number} left no record in {self.folder}"
                )
            if not rounds.continues(found, self.settings.max_rounds):
                return str(rounds.record_path(self.folder, number))
            number += 1

    @property
    def base_plan_digest(self) -> str:
        """The initial points' plan: the same whatever rounds finished."""
        return self.definitions.plans[0].path.stem.split("-", 1)[1]

    @property
    def python(self) -> Any:
        """The rules' command prefix: the workflow's `python -m pypet_sm`, of this package."""
        from pypet_sm.execute.workflow import Unrecorded

        return Unrecorded(lambda: f"{self.sweep.python}.postproc")

    @property
    def merged_pattern(self) -> str:
        return f"{self.folder}/merged_{{round}}.json"

    @property
    def round_pattern(self) -> str:
        return f"{self.folder}/round_{{round}}.json"

    @property
    def done(self) -> str:
        return f"{self.folder}/done.json"


def write_marker(path: str | Path, **content: Any) -> None:
    atomic.write_text(path, json.dumps(content) + "\n")
