"""Errors for user mistakes: each names what is wrong and where, without a traceback."""

from __future__ import annotations


class PypetSmError(Exception):
    """Base of the errors pypet_sm reports to users as a plain message."""


class ConfigError(PypetSmError):
    """A config field (or build-hook call) that does not hold what is expected."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"config field '{field}': {message}")


class TrajectoryError(PypetSmError):
    """Misuse of a trajectory inside a job function or build hook (e.g. a duplicate name)."""


class FragmentError(PypetSmError):
    """A fragment that is missing or unreadable when the merge needs it."""


class HDF5Error(OSError):
    """The HDF5 library failed to read or write a file (PyTables' HDF5ExtError, translated by
    `pypet_sm.hdf5` so that callers need not import PyTables). Opening a file gives one line
    naming the file and `kind` (`pypet_sm.hdf5.reader.LOCKED`, ...); writing gives the
    library's message."""

    kind: str = ""
    reason: str = ""


class ParameterLockedException(TrajectoryError, TypeError):
    """A run tried to change a parameter (pypet's exception of that name, a TypeError too)."""
