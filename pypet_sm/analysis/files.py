"""Opening a trajectory file for analysis and picking its trajectory, with one-line errors
naming the file."""

from __future__ import annotations

from pathlib import Path

from pypet_sm.analysis.tree import LoadError
from pypet_sm.hdf5.reader import TrajectoryFile


class UnknownRunError(LoadError, KeyError):
    """A run name the trajectory does not have (a KeyError, as pypet's)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class AmbiguousTrajectory(LoadError):
    """A file holding several trajectories, opened without naming one."""

    def __init__(self, path: Path, names: list[str]) -> None:
        self.path, self.names = path, names
        super().__init__(f"{path} holds trajectories {names}; pass name=... (one of them)")


def open_file(path: Path) -> TrajectoryFile:
    """The trajectory file at `path`, open for reading; a LoadError naming it if not."""
    if path.is_dir():
        raise LoadError(f"{path} is a folder, not a trajectory file")
    if not path.is_file():
        raise LoadError(f"trajectory file {path} does not exist")
    try:
        return TrajectoryFile(path)
    except OSError as error:  # HDF5Error: one line naming the file and what is wrong
        raise LoadError(str(error)) from None


def pick_name(path: Path, file: TrajectoryFile, name: str | None) -> str:
    """`name`, or the file's only trajectory."""
    # groups a user stored beside the trajectory (the merge keeps them) are not one
    names = file.trajectory_names or file.names
    if name is None:
        if not names:
            raise LoadError(f"{path} holds no trajectory")
        if len(names) != 1:
            raise AmbiguousTrajectory(path, names)
        return names[0]
    if name not in file.names:
        raise LoadError(f"{path} has no trajectory {name!r}; it holds {names}")
    return name
