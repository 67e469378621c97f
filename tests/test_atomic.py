"""Atomic writes: all or nothing, usual permissions, no temp files left behind."""

from __future__ import annotations

import os

import pytest

from pypet_sm import atomic


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_atomic_path_replaces_with_usual_permissions(tmp_path):
    target = tmp_path / "sub" / "file.h5"
    target.parent.mkdir()
    target.write_text("old")
    with atomic.atomic_path(target) as tmp:
        tmp.write_text("new")
        assert target.read_text() == "old"  # not replaced before the block ends
    assert target.read_text() == "new"
    assert os.stat(target).st_mode & 0o777 == 0o666 & ~_umask()
    assert sorted(p.name for p in target.parent.iterdir()) == ["file.h5"]


def test_atomic_path_keeps_the_old_file_on_error(tmp_path):
    target = tmp_path / "file.h5"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash while writing")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.h5"]


def test_write_bytes_creates_directories_and_uses_tmp_dir(tmp_path):
    target = tmp_path / "a" / "b" / "x.pkl"
    tmp_dir = tmp_path / "tmp"
    atomic.write_bytes(target, b"data", fsync=False, tmp_dir=tmp_dir)
    assert target.read_bytes() == b"data"
    assert list(tmp_dir.iterdir()) == []
