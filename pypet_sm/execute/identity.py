"""What a run job computes with, encoded canonically: the identity of run jobs.

A run job's plan file is named by a digest of exactly what the job reads to compute (see
`Plan.job_digest`), so that Snakemake, which reruns a job when its `params:` change, reruns
exactly the jobs whose computation changed. Everything else a job needs at run time (the
trajectory comment it shows as `traj.v_comment`, log level, state and log folders) comes from
the current settings file, which is no param. The encoding is `canonical` (the point keys'),
never a pickle: a pickle records module paths, so moving a class would rerun every job.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pypet_sm.define.config import Settings
from pypet_sm.define.values import canonical
from pypet_sm.execute.cluster import ResourceSettings
from pypet_sm.hdf5.records import StorageSettings

IDENTITY_VERSION = b"pypet_sm job identity v1\0"
SETTINGS_VERSION = b"pypet_sm settings v1\0"


def job_identity(settings: Settings) -> dict[str, Any]:
    """The settings a run job computes with; all others reach it from the settings file."""
    return {
        "name": settings.name,
        "job": settings.job,
        "args": settings.args,
        "kwargs": settings.kwargs,
        "dynamically_imported_classes": settings.dynamically_imported_classes,
    }


def encode(value: Any) -> bytes:
    """`canonical` extended to mappings (keys sorted: their order does not change a call),
    lists and tuples of them."""
    if isinstance(value, dict):
        items = sorted((encode(key), encode(item)) for key, item in value.items())
        return b"D%d(" % len(items) + b",".join(k + b":" + v for k, v in items) + b")"
    if isinstance(value, (list, tuple)):
        tag = b"L" if isinstance(value, list) else b"T"
        return tag + b"%d(" % len(value) + b",".join(map(encode, value)) + b")"
    return canonical(value)


def settings_state(settings: Settings) -> dict[str, Any]:
    """Settings as builtins, for files that must load whatever module a class moves to."""
    return dataclasses.asdict(settings)


def settings_from_state(state: dict[str, Any]) -> Settings:
    return Settings(
        **{
            **state,
            "resources": ResourceSettings(**state["resources"]),
            "storage": StorageSettings(**state["storage"]),
        }
    )
