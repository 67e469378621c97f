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


# pypet 0.7's exceptions (pypet.pypetexceptions), by the same names and builtin bases, so that
# analysis code written for pypet catches them unchanged; raised where pypet raises them.
class NotUniqueNodeError(PypetSmError, AttributeError):
    """A short name that several nodes of a trajectory carry at the same depth."""


class DataNotInStorageError(PypetSmError, OSError):
    """A node that is neither in the loaded tree nor in the file (with auto-loading on)."""


class TooManyGroupsError(PypetSmError, TypeError):
    """pypet's error for a search too wide for its fast path (kept for `except` clauses)."""


class VersionMismatchError(PypetSmError, TypeError):
    """A file written by another pypet version, loaded without force=True."""


class NoSuchServiceError(PypetSmError, TypeError):
    """A storage service pypet_sm does not offer."""


class PresettingError(PypetSmError, RuntimeError):
    """pypet's error for presetting a parameter that is never added (kept for `except`)."""


class GitDiffError(PypetSmError, RuntimeError):
    """pypet's error for uncommitted changes with git commits requested (kept for `except`)."""


class NotOfferedError(PypetSmError, AttributeError):
    """A call of pypet's analysis API that pypet_sm does not offer; says what to use."""
