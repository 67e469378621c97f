"""The incremental merge: a trajectory file extended by new runs, not written anew.

A merge records in the file what it merged (`layout.MERGE_STATE`): the number of runs, a
fingerprint of every run (its index, point key, whether it completed and when its record's
run finished), the storage settings and the config items. The next merge appends the new runs
to a copy of the file (`hdf5.append`) when

- the file is, unchanged, the one the last merge wrote (`remember`; a file the user stored
  into since is merged in full, which carries over what they stored);
- its runs are the first runs of the plan, as they were: the fingerprint of the plan's first
  runs and their fragments now equals the recorded one (a run computed again, removed,
  re-indexed or moved, or a changed default -- which changes every point key -- does not);
- the storage settings and config items are those of the file, and the runs stay on the same
  side of `storage.run_sets_above` (else the old runs would move into run sets).

Anything else is a full merge; the merge log says which one ran and why.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import shutil
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pypet_sm import atomic
from pypet_sm.execute import store
from pypet_sm.execute.plan import Plan
from pypet_sm.hdf5.records import RunRecord, TrajectoryRecord

logger = logging.getLogger("pypet_sm.merge.incremental")
STATE_FORMAT = 1
WRITTEN = "merged_file.json"  # in the trajectory's state folder


class Fingerprint:
    """A digest over the runs of a trajectory, in run order: what makes a file's runs the
    runs of a plan. A run is its index, point key and its record in the fragment store as
    the store's index has it (completed or not, its finish time, the index it read): a run
    computed again is another record; no record is read."""

    def __init__(self, plan: Plan, index: store.Index | None = None) -> None:
        self.keys = plan.keys
        self.index = index or store.scan(plan.settings.trajectory_state)
        self.digest = hashlib.sha256()
        self.runs = 0

    def add(self, idx: int) -> None:
        """Add run `idx`; LookupError when the store holds no record of it."""
        self.digest.update(self._line(idx).encode())
        self.runs += 1

    def add_first(self, runs: int) -> None:
        """Add runs 0 .. runs-1 (one digest update: 10^5 runs in a tenth of a second)."""
        self.digest.update("".join(map(self._line, range(self.runs, runs))).encode())
        self.runs = max(self.runs, runs)

    def _line(self, idx: int) -> str:
        key = self.keys[idx]
        record = self.index.raw.get(key)  # (completed, finish, read_index, ...), no Entry
        if record is None:
            entry = self.index.entry(key)  # an old store's file, now in the index
            if entry is None:
                raise LookupError(f"no record of {key}")
            record = (entry.completed, entry.finish, entry.read_index)
        return f"{idx}:{key}:{record[0]}:{record[1]!r}:{record[2]}\n"

    def hexdigest(self) -> str:
        return self.digest.hexdigest()

    def wrap(self, runs: Iterable[RunRecord]) -> Iterator[RunRecord]:
        """`runs`, each added as it passes to the writer."""
        for run in runs:
            self.add(run.idx)
            yield run


@dataclass
class Decision:
    """How the merge writes the file: `first_run` > 0 appends the runs from there on to the
    previous file, 0 writes it anew; `reason` says why (for the merge log)."""

    first_run: int
    reason: str
    fingerprint: Fingerprint
    run_items: dict[str, set[str]] = field(default_factory=dict)

    @property
    def incremental(self) -> bool:
        return self.first_run > 0


def _config_digest(record: TrajectoryRecord) -> str:
    items = [(c.name, repr(c.values), c.comment, c.class_name) for c in record.config]
    return hashlib.sha256(repr(items).encode()).hexdigest()


def _settings(record: TrajectoryRecord) -> dict:
    return dataclasses.asdict(record.settings)


def state(record: TrajectoryRecord, fingerprint: Fingerprint) -> str:
    """The merge state to record in the file just written (once all its runs are)."""
    return json.dumps(
        {
            "format": STATE_FORMAT,
            "runs": fingerprint.runs,
            "fingerprint": fingerprint.hexdigest(),
            "settings": _settings(record),
            "config": _config_digest(record),
        }
    )


def _full(plan: Plan, index: store.Index | None, reason: str) -> Decision:
    return Decision(0, reason, Fingerprint(plan, index))


def _old_runs_fingerprint(plan: Plan, runs: int, index: store.Index | None) -> Fingerprint | str:
    """The fingerprint of the plan's first `runs` runs as their fragments are now, or why
    there is none."""
    from pypet_sm.execute.plan import run_name

    fingerprint = Fingerprint(plan, index)
    try:
        fingerprint.add_first(runs)
    except LookupError:
        missing = next(i for i in range(runs) if fingerprint.index.entry(plan.keys[i]) is None)
        return f"the fragment store holds no record of {run_name(missing)}"
    return fingerprint


def remember(trajectory_state: Path, output: Path) -> None:
    """Note the file the merge just wrote. Not the merge rule's output (`validate`'s record,
    which Snakemake deletes before it runs the merge), so the next merge still finds it."""
    stat = output.stat()
    record = {"path": str(output.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    atomic.write_text(Path(trajectory_state) / WRITTEN, json.dumps(record))


def unchanged(trajectory_state: Path, output: Path) -> bool:
    """Whether `output` is, unchanged, the file the last merge wrote."""
    try:
        record = json.loads((Path(trajectory_state) / WRITTEN).read_text())
        stat = output.stat()
    except (OSError, ValueError):
        return False
    return record == {
        "path": str(output.resolve()),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
    }


def decide(
    plan: Plan, output: Path, record: TrajectoryRecord, index: store.Index | None = None
) -> Decision:
    """Whether the merge of `plan` into `output` appends to the file there (see the module
    docstring). `index`: the store's, when the caller has scanned it already."""
    from pypet_sm.hdf5.append import read_stored
    from pypet_sm.hdf5.writer import uses_run_sets

    if not output.is_file():
        return _full(plan, index, "there is no trajectory file yet")
    if not unchanged(plan.settings.trajectory_state, output):
        return _full(plan, index, "the trajectory file changed since the last merge wrote it")
    try:
        found = read_stored(output, plan.settings.name)
    except Exception as error:  # whatever is wrong with it, the full merge says it
        return _full(plan, index, f"the trajectory file cannot be read ({error})")
    previous = found.state
    if previous is None or previous.get("format") != STATE_FORMAT or found.run_items is None:
        return _full(plan, index, "the trajectory file does not record what its merge merged")
    runs = int(previous.get("runs", 0))
    if previous.get("settings") != _settings(record):
        return _full(plan, index, "the storage settings changed")
    if previous.get("config") != _config_digest(record):
        return _full(plan, index, "the config items changed")
    if runs == 0:
        return _full(plan, index, "the trajectory file holds no runs")
    if runs > len(plan):
        return _full(plan, index, f"the exploration has {len(plan)} runs, the file {runs}")
    if uses_run_sets(runs, record.settings) != uses_run_sets(len(plan), record.settings):
        return _full(plan, index, "the runs move into run sets (storage.run_sets_above)")
    fingerprint = _old_runs_fingerprint(plan, runs, index)
    if isinstance(fingerprint, str):
        return _full(plan, index, fingerprint)
    if fingerprint.hexdigest() != previous.get("fingerprint"):
        return _full(
            plan,
            index,
            f"the first {runs} runs are not those of the file (computed again, removed, "
            "moved or with other parameter values)",
        )
    return Decision(
        runs,
        f"the file's {runs} runs are the first of {len(plan)}; {len(plan) - runs} appended",
        fingerprint,
        found.run_items,
    )


def append(
    output: Path,
    tmp: Path,
    record: TrajectoryRecord,
    decision: Decision,
) -> None:
    """Write the file of `record` to `tmp` from the previous file at `output` and the runs
    from `decision.first_run` on (`record.runs`)."""
    from pypet_sm.hdf5.append import append_trajectory

    started = time.perf_counter()
    shutil.copyfile(output, tmp)
    logger.info(
        "copied the previous file (%.1f MB) in %.2f s",
        tmp.stat().st_size / 2**20,
        time.perf_counter() - started,
    )
    fingerprint = decision.fingerprint
    record = dataclasses.replace(record, runs=fingerprint.wrap(record.runs))
    append_trajectory(
        tmp, record, decision.first_run, decision.run_items, lambda: state(record, fingerprint)
    )
