"""Bad input to a `pypet-sm` command: reported as one line on stderr, exit code 2."""

from __future__ import annotations


class UsageError(ValueError):
    """A missing file, a file that is not a trajectory, a bad config."""
