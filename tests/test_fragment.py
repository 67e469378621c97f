"""Unit tests of the fragment skip logic: a job computes exactly the runs without a valid,
completed fragment of their own point."""

from __future__ import annotations

import pickle
import shutil

import pytest

from pypet_sm.errors import PypetSmError
from pypet_sm.execute import fragment, plan
from pypet_sm.execute import job as run
from pypet_sm.hdf5.records import Item, RunRecord
from pypet_sm.provenance import environment

from .conftest import write_unique_module

JOB = """
import os


def run(traj):
    with open("calls.txt", "a") as handle:
        handle.write(f"{traj.v_idx}\\n")
    if os.path.exists(f"fail_{traj.v_idx}"):
        raise RuntimeError(f"asked to fail run {traj.v_idx}")
    traj.f_add_result("z", traj.x * 10)
"""


class Job:
    """One job of four runs, run in this process."""

    def __init__(self, directory):
        self.directory = directory
        module = write_unique_module(directory, JOB)
        config = {
            "trajectory": {"name": "frag"},
            "parameters": {"x": 0},
            "exploration": {"zip": {"x": [1, 2, 3, 4]}},
            "job": f"{module}:run",
            "runs_per_job": 4,
        }
        self.plan = plan.from_config(config)
        environment.start(self.plan.settings)  # what Snakemake's onstart does
        assert self.plan.n_jobs == 1
        self.manifest = directory / "manifest.json"

    def run(self):
        return run.run_job(self.plan.job_plan(0), self.manifest)

    def calls(self) -> list[int]:
        path = self.directory / "calls.txt"
        return [int(line) for line in path.read_text().split()] if path.exists() else []

    def path(self, idx: int):
        directory = fragment.fragment_dir(self.plan.settings.trajectory_state)
        return fragment.fragment_path(directory, self.plan.keys[idx])

    def statuses(self) -> list[str | None]:
        headers = [fragment.read_header(self.path(idx)) for idx in range(4)]
        return [header and header["status"] for header in headers]


@pytest.fixture
def job(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return Job(tmp_path)


def test_fragments_are_written_and_a_second_run_skips_them(job):
    job.run()
    assert job.calls() == [0, 1, 2, 3]
    assert job.statuses() == ["completed"] * 4
    for idx in range(4):
        header, body = fragment.read(job.path(idx))
        assert header["key"] == job.plan.keys[idx]
        assert body["idx"] == idx
        assert body["name"] == f"run_{idx:08d}"
        assert body["parameters"] == {"x": idx + 1}
        assert body["finish"] >= body["start"] > 0
        assert body["traceback"] is None
        results = {item["name"]: item["values"] for item in body["results"]}
        assert results == {"z": {"z": (idx + 1) * 10}}
    assert job.manifest.exists()
    job.manifest.unlink()
    job.run()
    assert job.calls() == [0, 1, 2, 3], "nothing is computed twice"
    assert job.manifest.exists()
    # no temp files are left behind
    state = job.plan.settings.trajectory_state
    assert not [p for p in state.rglob("*.tmp")]


def test_damaged_or_foreign_fragments_are_recomputed(job):
    job.run()
    job.path(1).write_bytes(job.path(1).read_bytes()[:5])  # cut off, as by a power cut
    shutil.copy(job.path(0), job.path(2))  # a valid fragment, but of another point
    job.path(3).write_bytes(b"")
    job.run()
    assert job.calls() == [0, 1, 2, 3, 1, 2, 3]
    assert job.statuses() == ["completed"] * 4
    _, body = fragment.read(job.path(2))
    assert body["idx"] == 2


def test_a_failed_run_is_recorded_and_retried_alone(job):
    (job.directory / "fail_1").touch()
    with pytest.raises(PypetSmError, match="run_00000001"):
        job.run()
    assert not job.manifest.exists(), "a failed job writes no manifest"
    assert job.calls() == [0, 1, 2, 3], "the job goes on after a failing run"
    assert job.statuses() == ["completed", "failed", "completed", "completed"]
    _, body = fragment.read(job.path(1))
    assert "RuntimeError: asked to fail run 1" in body["traceback"]
    assert not fragment.is_completed(job.path(1), job.plan.keys[1])
    (job.directory / "fail_1").unlink()
    job.run()
    assert job.calls() == [0, 1, 2, 3, 1]
    assert job.statuses() == ["completed"] * 4
    assert job.manifest.exists()


def test_is_completed_checks_status_key_and_format(tmp_path):
    key = "ab" * 20
    path = fragment.fragment_path(tmp_path, key)
    assert fragment.read_header(path) is None
    assert not fragment.is_completed(path, key)
    assert fragment.check(path, key) == (fragment.MISSING, "")
    path.parent.mkdir(parents=True)
    run = _run(0)
    fragment.write(path, key, run, tmp_path)
    assert fragment.is_completed(path, key)
    assert not fragment.is_completed(path, "cd" * 20)
    assert fragment.check(path, "cd" * 20)[0] == fragment.FOREIGN
    run.completed, run.error = False, ("ValueError: x", "Traceback ...")
    fragment.write(path, key, run, tmp_path)
    assert not fragment.is_completed(path, key)
    # the format 1 layout (two bare pickles) and other foreign files fail the checks
    path.write_bytes(pickle.dumps({"format": 1, "key": key, "status": fragment.COMPLETED}))
    assert fragment.check(path, key)[0] == fragment.DAMAGED
    path.write_bytes(b"\x80garbage")
    assert fragment.read_header(path) is None
    assert not list(tmp_path.glob("*.tmp"))


def _run(idx: int, results: list[Item] | None = None) -> RunRecord:
    return RunRecord(idx, f"run_{idx:08d}", 1.7e9, 1.7e9 + 1, True, results or [], [], None, "env")


def _valid_fragment(tmp_path):
    key = "ef" * 20
    path = fragment.fragment_path(tmp_path, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    fragment.write(path, key, _run(7, [Item("z", {"z": 1.5})]), tmp_path)
    return path, key, path.read_bytes()


def test_every_truncation_and_every_flipped_byte_is_detected(tmp_path):
    """Cut the file at every length and flip every byte (one at a time): never valid."""
    path, key, data = _valid_fragment(tmp_path)
    assert fragment.read(path)[1]["idx"] == 7
    tried = 0
    for length in range(len(data)):
        path.write_bytes(data[:length])
        state, reason = fragment.check(path, key)
        assert state == fragment.DAMAGED, (length, state)
        assert reason
        with pytest.raises(fragment.DamagedFragment):
            fragment.read(path)
        tried += 1
    for position in range(len(data)):
        for flip in (0x01, 0x80):
            damaged = bytearray(data)
            damaged[position] ^= flip
            path.write_bytes(bytes(damaged))
            assert fragment.check(path, key)[0] == fragment.DAMAGED, (position, flip)
            with pytest.raises(fragment.DamagedFragment):
                fragment.read(path)
            tried += 1
    # appended bytes, too
    path.write_bytes(data + b"\0")
    assert fragment.check(path, key)[0] == fragment.DAMAGED
    assert tried > 3 * len(data) - 1


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"PSMF",
        b'{"first_run": 0}',
        pickle.dumps({"format": 2, "key": "ef" * 20, "status": "completed"}),
        b"\x89HDF\r\n\x1a\n" + bytes(100),
    ],
    ids=["empty", "magic-only", "json", "pickle", "hdf5"],
)
def test_foreign_files_are_detected(tmp_path, content):
    path, key, _ = _valid_fragment(tmp_path)
    path.write_bytes(content)
    assert fragment.check(path, key)[0] == fragment.DAMAGED


def test_damaged_fragments_are_named_in_the_job_log(job, caplog):
    job.run()
    data = job.path(2).read_bytes()
    job.path(2).write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    with caplog.at_level("WARNING", logger="pypet_sm.execute.job"):
        job.run()
    assert job.calls() == [0, 1, 2, 3, 2]
    assert "run_00000002: its fragment" in caplog.text
    assert "checksum mismatch" in caplog.text


FORMAT_2_BODY = {
    "idx": 3,
    "run_name": "run_00000003",
    "start": 1.7e9,
    "finish": 1.7e9 + 2,
    "host": "node1",
    "pid": 42,
    "cluster_job_id": "123",
    "cluster_node": "n1",
    "attempt": 2,
    "environment": "environment_abcdef0_2026_01_01_00h00m00s",
    "parameters": {"x": 4},
    "results": [("z", {"z": 40}, "ten x", None), ("r", {"a": 1, "b": 2}, "", "Result")],
    "derived_parameters": [("n", {"data": 5}, "", "Parameter")],
    "traceback": None,
    "exception": None,
}


def _write_raw(path, header: dict, body: dict) -> None:
    """A fragment file in the prefix layout, with any header and body (older formats)."""
    import struct
    import zlib

    header_bytes, body_bytes = pickle.dumps(header), pickle.dumps(body)
    prefix = struct.pack(
        "<4sIIII",
        b"PSMF",
        len(header_bytes),
        zlib.crc32(header_bytes),
        len(body_bytes),
        zlib.crc32(body_bytes),
    )
    path.write_bytes(prefix + header_bytes + body_bytes)


def test_format_2_fragments_are_migrated_not_recomputed(tmp_path):
    """Fragments written before the run records (format 2) read as the same run."""
    key = "12" * 20
    path = fragment.fragment_path(tmp_path, key)
    path.parent.mkdir(parents=True)
    header = {
        "format": 2,
        "key": key,
        "status": fragment.COMPLETED,
        "environment": FORMAT_2_BODY["environment"],
        "finish": FORMAT_2_BODY["finish"],
    }
    _write_raw(path, header, FORMAT_2_BODY)
    assert fragment.check(path, key) == (fragment.COMPLETED, "")
    run = fragment.read_run(path)
    assert run == RunRecord(
        idx=3,
        name="run_00000003",
        start=1.7e9,
        finish=1.7e9 + 2,
        completed=True,
        results=[Item("z", {"z": 40}, "ten x", None), Item("r", {"a": 1, "b": 2}, "", "Result")],
        derived_parameters=[Item("n", {"data": 5}, "", "Parameter")],
        environment=FORMAT_2_BODY["environment"],
        host="node1",
        pid=42,
        cluster_job_id="123",
        attempt=2,
        cluster_node="n1",
        parameters={"x": 4},
    )
    # a failed run of format 2 keeps its exception and traceback
    failed = dict(FORMAT_2_BODY, results=[], exception="ValueError: x", traceback="Tb")
    _write_raw(path, dict(header, status=fragment.FAILED), failed)
    assert fragment.read_run(path).error == ("ValueError: x", "Tb")


def test_a_fragment_of_another_format_is_damaged_and_says_which(tmp_path):
    key = "34" * 20
    path = fragment.fragment_path(tmp_path, key)
    path.parent.mkdir(parents=True)
    _write_raw(path, {"format": 99, "key": key, "status": fragment.COMPLETED}, {})
    state, reason = fragment.check(path, key)
    assert state == fragment.DAMAGED
    assert "fragment format 99" in reason and "reads formats 2, 3" in reason


def test_the_record_round_trips_as_builtins(tmp_path):
    """What a fragment holds is builtins and the values: no class of pypet_sm is pickled."""
    key = "56" * 20
    path = fragment.fragment_path(tmp_path, key)
    path.parent.mkdir(parents=True)
    run = _run(5, [Item("z", {"z": 1.5}, "a comment", "Result")])
    run.parameters = {"x": 2.0}
    fragment.write(path, key, run, tmp_path)
    assert b"pypet_sm" not in path.read_bytes()
    assert fragment.read_run(path) == run
