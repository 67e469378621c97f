"""Log files as pypet's Environment keeps them, one folder per environment.

`<log_folder>/<trajectory>/<environment>/` holds `main.txt` (every message at the configured
level and above, default INFO, from every process of the invocation), `warnings_and_errors.txt`
(WARNING and above) and `jobs/job_<n>.txt`, one file per run job. Every line names the run it
belongs to (or the job's runs, outside a run); continuation lines of a message (tracebacks)
repeat the run name. What a job function sends through the standard `logging` module goes
there, and so does what it prints: a job's stdout and stderr become log messages (INFO and
WARNING) of the run that printed them, like pypet's `log_stdout`.

Why our own per-job file beside the rule's `log:`: Snakemake needs the rule's log path when it
builds the DAG, but the environment, named after the git commit that `onstart` makes, exists
only after that. So the rules keep their logs in `<log_folder>/<trajectory>/jobs/` (what
Snakemake names on an error: the same messages, plus anything printed before logging
started), and the run job itself writes the per-job file into the environment's folder, where
a user reading one invocation's logs finds all of them together.

Several processes append to the shared files; each record is one short write in append mode,
which POSIX keeps whole.
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

FORMAT = "%(asctime)s %(run)s %(name)s %(levelname)s [%(process)d] %(message)s"
MAIN = "main.txt"
WARNINGS = "warnings_and_errors.txt"
JOBS = "jobs"
NO_RUN = "-"
# one line per finished run, in the per-job log only: 10^6 lines in main.txt would bury
# everything else, and each handler costs about 20 us a line
PROGRESS = "pypet_sm.progress"

_context = {"run": NO_RUN}
_streams: list[_LoggingStream] = []


def set_context(run: str) -> None:
    """Name `run` (a run name, or a job's label) in every following line of this process."""
    _context["run"] = run


def context() -> str:
    return _context["run"]


class _RunFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "run"):
            record.run = _context["run"]
        return True


class _Formatter(logging.Formatter):
    """pypet's one-line records; continuation lines start with the run name too."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if "\n" not in text:
            return text
        first, *rest = text.split("\n")
        return "\n".join([first, *(f"{getattr(record, 'run', '')} | {line}" for line in rest)])


class _LoggingStream(io.TextIOBase):
    """A text stream that turns each complete line into a log record (stdout/stderr)."""

    def __init__(self, logger: logging.Logger, level: int, original: TextIO | None) -> None:
        super().__init__()
        self.logger, self.level, self.original, self.buffer_text = logger, level, original, ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.buffer_text += text
        *lines, self.buffer_text = self.buffer_text.split("\n")
        for line in lines:
            self.logger.log(self.level, "%s", line)
        return len(text)

    def flush(self) -> None:
        if self.buffer_text:
            self.logger.log(self.level, "%s", self.buffer_text)
            self.buffer_text = ""

    def fileno(self) -> int:  # subprocesses given sys.stdout still write somewhere
        if self.original is None:
            raise io.UnsupportedOperation("fileno")
        return self.original.fileno()

    # io.TextIOBase's encoding is a read-only property too; typeshed calls it an attribute
    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.original, "encoding", "utf-8")


def flush_streams() -> None:
    """Log the rest of a line printed without a newline (at the end of each run)."""
    for stream in _streams:
        stream.flush()


def level_number(level: str | int) -> int:
    return level if isinstance(level, int) else logging.getLevelName(level.upper())


def _handlers(
    log_dir: Path, level: int, job_log: Path | None, stream: TextIO | None
) -> list[logging.Handler]:
    log_dir.mkdir(parents=True, exist_ok=True)
    files = [(log_dir / MAIN, level), (log_dir / WARNINGS, logging.WARNING)]
    if job_log is not None:
        job_log.parent.mkdir(parents=True, exist_ok=True)
        files.append((job_log, level))
    handlers: list[logging.Handler] = [
        logging.FileHandler(path, mode="a", encoding="utf-8") for path, _ in files
    ]
    for handler, (_, handler_level) in zip(handlers, files, strict=True):
        handler.setLevel(handler_level)
    if stream is not None:
        console = logging.StreamHandler(stream)
        console.setLevel(level)
        handlers.append(console)
    formatter = _Formatter(FORMAT)
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(_RunFilter())
    return handlers


def setup(
    log_dir: Path,
    level: str | int = logging.INFO,
    job_log: Path | None = None,
    capture_output: bool = False,
) -> logging.Logger:
    """Configure logging of this process (a run job or the merge): the root logger, so the
    job function's own loggers are included, writes to the environment's `log_dir` (and
    `job_log`) and to stderr, which the rules redirect into their `log:` file. With
    `capture_output`, what is printed to stdout/stderr becomes log records too."""
    level = level_number(level)
    original_stderr = sys.__stderr__ or sys.stderr
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    handlers = _handlers(log_dir, level, job_log, original_stderr)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    progress = logging.getLogger(PROGRESS)
    progress.handlers = [handlers[2]] if job_log is not None else []
    progress.propagate = False
    if capture_output:
        _streams[:] = [
            _LoggingStream(logging.getLogger("pypet_sm.stdout"), logging.INFO, sys.__stdout__),
            _LoggingStream(logging.getLogger("pypet_sm.stderr"), logging.WARNING, original_stderr),
        ]
        sys.stdout, sys.stderr = _streams
    return logging.getLogger("pypet_sm")


def job_log_path(log_dir: Path, job: str) -> Path:
    """The per-job log of run job `job` (e.g. ``job_000003``) in an environment's folder."""
    return log_dir / JOBS / f"{job}.txt"


@contextlib.contextmanager
def environment_logger(log_dir: Path, level: str | int) -> Iterator[logging.Logger]:
    """A `pypet_sm.provenance.environment` logger writing to the environment's main.txt and
    warnings_and_errors.txt and to stderr, for the Snakemake main process (`onstart`), where
    the root logger is Snakemake's and must be left alone."""
    logger = logging.getLogger("pypet_sm.provenance.environment")
    set_context("snakemake")  # its lines name the main process
    handlers = _handlers(log_dir, level_number(level), None, sys.stderr)
    for handler in handlers:
        logger.addHandler(handler)
    logger.setLevel(level_number(level))
    logger.propagate = False
    try:
        yield logger
    finally:
        for handler in handlers:
            logger.removeHandler(handler)
            handler.close()
        logger.propagate = True
