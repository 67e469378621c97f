"""pypet's overview tables under ``/<traj>/overview/`` (their strings: `overview_text`).

Column names, widths and positions are pypet 0.7's (HDF5StorageService). The informational
``*_overview`` tables stop at 1,000 rows like pypet's; ``runs`` and the summaries are complete.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import tables

from pypet_sm.hdf5.layout import (
    ENCODING,
    EXPLORATIONS_TABLE,
    FAILED_RUNS_TABLE,
    HDF5_SETTINGS_TABLE,
    INFO_TABLE,
    OVERVIEW,
    PROVENANCE_TABLE,
    RUNS_TABLE,
    TIME_LENGTH,
)
from pypet_sm.hdf5.overview_text import (
    COMMENT_LENGTH,
    LOCATION_LENGTH,
    NAME_LENGTH,
    RANGE_LENGTH,
    RUNTIME_LENGTH,
    VALUE_LENGTH,
    comment_digest,
    cut,
    cut_repeated,
    format_runtime,
    format_time,
    range_string,
    truncate,
)
from pypet_sm.hdf5.records import StorageSettings

MAX_OVERVIEW_ROWS = 1000
RUN_BATCH = 1000  # runs rows are appended in batches of this size

# pypet's names of the switchable tables, in pypet's order (also the hdf5_settings columns)
OVERVIEW_TABLES = (
    "config_overview",
    "parameters_overview",
    "derived_parameters_overview",
    "results_overview",
    "explored_parameters_overview",
    "derived_parameters_summary",
    "results_summary",
)


def enabled_tables(settings: StorageSettings) -> dict[str, bool]:
    """Which overview tables the settings ask for (summaries are always on, as pypet's default)."""
    small, large = settings.small_overview_tables, settings.large_overview_tables
    return {
        "config_overview": small,
        "parameters_overview": small,
        "derived_parameters_overview": large,
        "results_overview": large,
        "explored_parameters_overview": small,
        "derived_parameters_summary": True,
        "results_summary": True,
    }


# ---------------------------------------------------------------------------------------------
# Table descriptions (pypet's, with its column positions)


def _leaf_description(table_name: str) -> dict[str, tables.Col]:
    description = {
        "location": tables.StringCol(LOCATION_LENGTH, pos=0),
        "name": tables.StringCol(NAME_LENGTH, pos=1),
        "comment": tables.StringCol(COMMENT_LENGTH),
        "value": tables.StringCol(VALUE_LENGTH, pos=2),
    }
    if table_name == "explored_parameters_overview":
        description["range"] = tables.StringCol(RANGE_LENGTH)
        description["length"] = tables.IntCol()
    if table_name.endswith("summary"):
        description["hexdigest"] = tables.StringCol(64, pos=10)
    return description


INFO_DESCRIPTION = {
    "name": tables.StringCol(LOCATION_LENGTH, pos=0),
    "time": tables.StringCol(TIME_LENGTH, pos=1),
    "timestamp": tables.FloatCol(pos=3),
    "comment": tables.StringCol(COMMENT_LENGTH, pos=4),
    "length": tables.IntCol(pos=2),
    "version": tables.StringCol(NAME_LENGTH, pos=5),
    "python": tables.StringCol(NAME_LENGTH, pos=5),
}

RUNS_DESCRIPTION = {
    "name": tables.StringCol(NAME_LENGTH, pos=1),
    "time": tables.StringCol(TIME_LENGTH, pos=2),
    "timestamp": tables.FloatCol(pos=3),
    "idx": tables.IntCol(pos=0),
    "completed": tables.IntCol(pos=8),
    "parameter_summary": tables.StringCol(COMMENT_LENGTH, pos=6),
    "short_environment_hexsha": tables.StringCol(7, pos=7),
    "finish_timestamp": tables.FloatCol(pos=4),
    "runtime": tables.StringCol(RUNTIME_LENGTH, pos=5),
}


# Ours, beside pypet's `runs` (pypet ignores tables it does not know): where and how each run
# ran. Row i is run i, like `runs`; runs that did not run have empty values.
PROVENANCE_DESCRIPTION = {
    "idx": tables.IntCol(pos=0),
    "name": tables.StringCol(NAME_LENGTH, pos=1),
    "environment": tables.StringCol(NAME_LENGTH, pos=2),
    "host": tables.StringCol(NAME_LENGTH, pos=3),
    "pid": tables.Int64Col(pos=4),
    "cluster_job_id": tables.StringCol(VALUE_LENGTH, pos=5),
    "attempt": tables.IntCol(pos=6),
    "start": tables.FloatCol(pos=7),
    "finish": tables.FloatCol(pos=8),
    "runtime": tables.StringCol(RUNTIME_LENGTH, pos=9),
    "cluster_node": tables.StringCol(NAME_LENGTH, pos=10),  # SLURMD_NODENAME; "" elsewhere
}


def _hdf5_settings_description() -> dict[str, tables.Col]:
    description = {
        "complib": tables.StringCol(7, pos=0),
        "complevel": tables.IntCol(pos=1),
        "shuffle": tables.BoolCol(pos=2),
        "fletcher32": tables.BoolCol(pos=3),
        "pandas_format": tables.StringCol(7, pos=4),
        "encoding": tables.StringCol(11, pos=5),
    }
    for position, name in enumerate(OVERVIEW_TABLES, start=7):
        description[name] = tables.BoolCol(pos=position)
    description["purge_duplicate_comments"] = tables.BoolCol(pos=16)
    description["results_per_run"] = tables.IntCol(pos=17)
    description["derived_parameters_per_run"] = tables.IntCol(pos=18)
    return description


EXCEPTION_LENGTH = 1024
TRACEBACK_LENGTH = 16384
FAILED_RUNS_DESCRIPTION = {
    "idx": tables.IntCol(pos=0),
    "name": tables.StringCol(NAME_LENGTH, pos=1),
    "exception": tables.StringCol(EXCEPTION_LENGTH, pos=2),
    "traceback": tables.StringCol(TRACEBACK_LENGTH, pos=3),
}


@dataclass
class RunRow:
    """One row of the `runs` table."""

    idx: int
    name: str
    start: float
    finish: float
    parameter_summary: str
    environment_hexsha: str
    completed: bool
    provenance: Any = None  # the run's records.RunRecord, None for runs that did not run


class OverviewWriter:
    """Creates and fills the overview tables of one trajectory while it is being written.

    `expected_rows` maps table names to pypet's row estimates (they only tune chunk sizes).
    `existing`: the tables are in the file already (a merge appending runs); the ones it
    lacks are created, the summaries' comments count as seen.
    """

    def __init__(
        self,
        h5: tables.File,
        trajectory_group: tables.Group,
        settings: StorageSettings,
        filters: tables.Filters,
        expected_rows: dict[str, int] | None = None,
        existing: bool = False,
    ) -> None:
        self.h5 = h5
        self.settings = settings
        self.filters = filters
        if existing:
            self.group = trajectory_group._f_get_child(OVERVIEW)
        else:
            self.group = h5.create_group(trajectory_group, OVERVIEW, title=OVERVIEW)
        self.enabled = enabled_tables(settings)
        self.tables: dict[str, tables.Table] = {}
        for name, wanted in self.enabled.items():
            if wanted:
                rows = (expected_rows or {}).get(name, 0)
                self.tables[name] = self._create(name, _leaf_description(name), rows or None)
        if FAILED_RUNS_TABLE in self.group:
            self.tables[FAILED_RUNS_TABLE] = self.group._f_get_child(FAILED_RUNS_TABLE)
        self.runs = self._create(
            RUNS_TABLE, RUNS_DESCRIPTION, (expected_rows or {}).get(RUNS_TABLE)
        )
        self.provenance = self._create(
            PROVENANCE_TABLE, PROVENANCE_DESCRIPTION, (expected_rows or {}).get(RUNS_TABLE)
        )
        self._run_rows: list[RunRow] = []
        self._seen_comments: dict[str, set[bytes]] = {
            branch: set(self.tables[f"{branch}_summary"].col("hexdigest").tolist())
            for branch in ("results", "derived_parameters")
        }

    def _create(self, name: str, description: dict, expected_rows: int | None) -> tables.Table:
        if name in self.group:  # appending to a file: a table the caller kept
            return self.group._f_get_child(name)
        extra = {"expectedrows": expected_rows} if expected_rows else {}
        return self.h5.create_table(
            self.group, name, description=description, title=name, filters=self.filters, **extra
        )

    @staticmethod
    def _append(table: tables.Table, rows: list[dict[str, Any]]) -> None:
        data = np.zeros(len(rows), dtype=table.dtype)
        for index, row in enumerate(rows):
            for column, value in row.items():
                data[column][index] = value
        table.append(data)

    def write_info(
        self, name: str, timestamp: float, length: int, comment: str, python: str, version: str
    ) -> None:
        """The `info` table pypet checks on loading (`version` and `python` must match or force)."""
        table = self._create(INFO_TABLE, INFO_DESCRIPTION, length)
        row = {
            "name": cut(name, LOCATION_LENGTH),
            "time": format_time(timestamp).encode(ENCODING),
            "timestamp": timestamp,
            "length": length,
            "comment": cut(comment, COMMENT_LENGTH),
            "version": cut(version, NAME_LENGTH),
            "python": cut(python, NAME_LENGTH),
        }
        self._append(table, [row])

    def write_hdf5_settings(self, encoding: str = "utf8", pandas_format: str = "fixed") -> None:
        """The `hdf5_settings` table pypet reads back its storage options from."""
        table = self._create(HDF5_SETTINGS_TABLE, _hdf5_settings_description(), None)
        settings = self.settings
        row: dict[str, Any] = {
            "complib": settings.complib.encode(ENCODING),
            "complevel": settings.complevel,
            "shuffle": settings.shuffle,
            "fletcher32": settings.fletcher32,
            "pandas_format": pandas_format.encode(ENCODING),
            "encoding": encoding.encode(ENCODING),
            "purge_duplicate_comments": settings.purge_duplicate_comments,
            "results_per_run": settings.results_per_run,
            "derived_parameters_per_run": settings.derived_parameters_per_run,
        }
        row.update(self.enabled)
        self._append(table, [row])

    def write_explorations(self, full_names: list[str]) -> None:
        """The `explorations` table: full names of the explored parameters (pypet sizes it 1.5x)."""
        longest = max((len(n.encode(ENCODING)) for n in full_names), default=0)
        column = tables.StringCol(int(longest * 1.5) if full_names else 1)
        table = self.h5.create_table(self.group, EXPLORATIONS_TABLE, {"explorations": column})
        if full_names:
            table.append([(n.encode(ENCODING),) for n in full_names])

    def add_leaf(
        self,
        table_name: str,
        location: str,
        name: str,
        value: Callable[[], str],
        comment: str,
        explored: list[Any] | None = None,
    ) -> None:
        """A row in `config_`, `parameters_`, `explored_parameters_`, `results_` or
        `derived_parameters_overview`, if that table is on and has fewer than 1,000 rows.

        `value` is called only when the row is written (a repr can be expensive).
        """
        table = self.tables.get(table_name)
        if table is None or table.nrows >= MAX_OVERVIEW_ROWS:
            return
        row = self._leaf_row(location, name, value(), comment)
        if explored is not None:
            row["length"] = len(explored)
            row["range"] = cut(range_string(explored), RANGE_LENGTH)
        self._append(table, [row])

    @staticmethod
    def _leaf_row(location: str, name: str, value: str, comment: str) -> dict[str, Any]:
        return {
            "location": location.encode(ENCODING),
            "name": name.encode(ENCODING),
            "value": cut(value, VALUE_LENGTH),
            "comment": cut(comment, COMMENT_LENGTH),
        }

    def comment_to_store(
        self, branch: str, location: str, name: str, value: Callable[[], str], comment: str
    ) -> str | None:
        """Record a run's result/derived parameter in its summary table; return the comment to
        write on its node (None: omit it).

        pypet's semantics: the summary table of a branch (`results` or `derived_parameters`)
        gets one row per distinct comment text (keyed by its SHA-1 only, not by the name), from
        the first leaf that has it. With purge_duplicate_comments only that first leaf keeps
        the comment; every later leaf with the same comment text loses it.
        """
        if not comment:
            return None
        digest = comment_digest(comment)
        seen = self._seen_comments[branch]
        if digest not in seen:
            seen.add(digest)
            row = self._leaf_row(location, name, value(), comment)
            row["hexdigest"] = digest
            self._append(self.tables[branch + "_summary"], [row])
            return comment
        return None if self.settings.purge_duplicate_comments else comment

    def add_failed_run(self, idx: int, name: str, exception: str, traceback: str) -> None:
        """A row of `failed_runs` (ours, not pypet's): why a run has `completed = 0`."""
        table = self.tables.get(FAILED_RUNS_TABLE)
        if table is None:
            table = self._create(FAILED_RUNS_TABLE, FAILED_RUNS_DESCRIPTION, None)
            self.tables[FAILED_RUNS_TABLE] = table
        row = {
            "idx": idx,
            "name": name.encode(ENCODING),
            "exception": cut(exception, EXCEPTION_LENGTH),
            "traceback": cut(traceback, TRACEBACK_LENGTH),
        }
        self._append(table, [row])

    def add_run(self, row: RunRow) -> None:
        """Queue one row of the `runs` table (written in batches)."""
        self._run_rows.append(row)
        if len(self._run_rows) >= RUN_BATCH:
            self.flush_runs()

    def flush_runs(self) -> None:
        """Append the queued `runs` rows."""
        if not self._run_rows:
            return
        data = np.zeros(len(self._run_rows), dtype=self.runs.dtype)
        provenance = np.zeros(len(self._run_rows), dtype=self.provenance.dtype)
        for index, run in enumerate(self._run_rows):
            started = run.start > 0
            name = run.name.encode(ENCODING)
            runtime = (
                format_runtime(run.start, run.finish).encode(ENCODING)
                if started and run.finish >= run.start
                else b""
            )
            data[index] = (
                run.idx,
                name,
                format_time(run.start).encode(ENCODING) if started else b"",
                run.start,
                run.finish,
                runtime,
                truncate(run.parameter_summary, COMMENT_LENGTH),
                run.environment_hexsha[:7].encode(ENCODING),
                int(run.completed),
            )
            record = run.provenance
            if record is None:  # a run that did not run: only its index and name
                provenance["idx"][index], provenance["name"][index] = run.idx, name
                continue
            provenance[index] = (
                run.idx,
                name,
                cut_repeated(record.environment, NAME_LENGTH),
                cut_repeated(record.host, NAME_LENGTH),
                record.pid,
                cut_repeated(record.cluster_job_id, VALUE_LENGTH),
                record.attempt,
                record.start,
                record.finish,
                runtime,
                cut_repeated(record.cluster_node, NAME_LENGTH),
            )
        self.runs.append(data)
        self.provenance.append(provenance)
        self._run_rows.clear()
