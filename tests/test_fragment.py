"""Unit tests of the fragment store and its skip logic: a job computes exactly the runs
without a valid, completed record of their own point; old one-file-per-run fragments are
read in place."""

from __future__ import annotations

import pickle

import pytest

from pypet_sm.errors import PypetSmError
from pypet_sm.execute import fragment, plan, segment, store
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
        self.config = config
        self.plan = plan.from_config(config)
        environment.start(self.plan.settings)  # what Snakemake's onstart does
        assert self.plan.n_jobs == 1
        self.manifest = directory / "manifest.json"

    def run(self):
        return run.run_job(self.plan.job_plan(0), self.manifest)

    def calls(self) -> list[int]:
        path = self.directory / "calls.txt"
        return [int(line) for line in path.read_text().split()] if path.exists() else []

    @property
    def state(self):
        return self.plan.settings.trajectory_state

    def segments(self):
        return store.segment_files(self.state)

    def statuses(self) -> list[str | None]:
        index = store.scan(self.state)
        return [index.lookup(self.plan.keys[idx])[0] for idx in range(4)]

    def body(self, idx: int) -> dict:
        index = store.scan(self.state)
        entry = index.entry(self.plan.keys[idx])
        assert entry is not None
        return index.read(entry)

    def offsets(self) -> dict[int, tuple[int, int]]:
        """Run index -> (offset, length) of its record in the only segment."""
        (path,) = self.segments()
        scanned = segment.scan(path.read_bytes())
        where = dict(
            zip(scanned.keys, zip(scanned.offset, scanned.length, strict=True), strict=True)
        )
        return {idx: where[key] for idx, key in enumerate(self.plan.keys) if key in where}


@pytest.fixture
def job(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return Job(tmp_path)


def test_records_are_written_and_a_second_run_skips_them(job):
    job.run()
    assert job.calls() == [0, 1, 2, 3]
    assert job.statuses() == ["completed"] * 4
    assert len(job.segments()) == 1, "one segment per job attempt"
    for idx in range(4):
        body = job.body(idx)
        assert body["idx"] == idx
        assert body["name"] == f"run_{idx:08d}"
        assert body["parameters"] == {"x": idx + 1}
        assert body["finish"] >= body["start"] > 0
        assert body["traceback"] is None
        assert body["environment"].startswith("environment_") and body["pid"] > 0
        results = {item["name"]: item["values"] for item in body["results"]}
        assert results == {"z": {"z": (idx + 1) * 10}}
    assert job.manifest.exists()
    job.manifest.unlink()
    job.run()
    assert job.calls() == [0, 1, 2, 3], "nothing is computed twice"
    assert job.manifest.exists()
    assert len(job.segments()) == 1, "an attempt that computes nothing writes no segment"
    # no temp files are left behind
    assert not [p for p in job.state.rglob("*.tmp")]


def _damage(path, offset, data: bytes) -> None:
    content = bytearray(path.read_bytes())
    content[offset : offset + len(data)] = data
    path.write_bytes(bytes(content))


def test_damaged_records_are_recomputed_and_the_others_kept(job):
    job.run()
    (path,) = job.segments()
    where = job.offsets()
    _damage(path, where[1][0] + where[1][1] - 2, b"\xff\xff")  # run 1's body
    _damage(path, where[2][0] + 1, b"X")  # run 2's magic: found again after it
    job.run()
    assert job.calls() == [0, 1, 2, 3, 1, 2]
    assert job.statuses() == ["completed"] * 4
    assert job.body(2)["idx"] == 2
    assert len(job.segments()) == 2
    # a torn tail (as a power cut leaves it) costs only the runs in it
    (path,) = [p for p in job.segments() if p != path]
    path.write_bytes(path.read_bytes()[:-7])
    job.run()
    assert job.calls() == [0, 1, 2, 3, 1, 2, 2]


def test_a_failed_run_is_recorded_and_retried_alone(job):
    (job.directory / "fail_1").touch()
    with pytest.raises(PypetSmError, match="run_00000001"):
        job.run()
    assert not job.manifest.exists(), "a failed job writes no manifest"
    assert job.calls() == [0, 1, 2, 3], "the job goes on after a failing run"
    assert job.statuses() == ["completed", "failed", "completed", "completed"]
    assert "RuntimeError: asked to fail run 1" in job.body(1)["traceback"]
    (job.directory / "fail_1").unlink()
    job.run()
    assert job.calls() == [0, 1, 2, 3, 1]
    assert job.statuses() == ["completed"] * 4, "a completed record wins over a failed one"
    assert job.manifest.exists()


def test_discard_removes_exactly_the_records_of_the_keys_given(job):
    (job.directory / "fail_1").touch()
    with pytest.raises(PypetSmError):
        job.run()
    (job.directory / "fail_1").unlink()
    job.run()
    assert job.statuses() == ["completed"] * 4
    before = set(job.segments())
    assert store.discard(job.state, [job.plan.keys[1], job.plan.keys[3]]) == 3  # 1 twice
    assert job.statuses() == ["completed", "missing", "completed", "missing"]
    assert set(job.segments()).isdisjoint(before), "rewritten under new names"
    assert not [p for p in job.state.rglob("*.tmp")]
    assert store.discard(job.state, [job.plan.keys[1]]) == 0
    job.manifest.unlink()
    job.run()
    assert job.calls()[-2:] == [1, 3]


def test_a_segment_scanned_once_is_read_from_the_cache_and_from_its_end(job):
    job.run()
    index = store.scan(job.state, write_cache=True)
    assert (store.store_dir(job.state) / store.CACHE).is_file()
    (path,) = job.segments()
    # a record appended since the cache was written (an orphan still running) is found
    writer = store.Writer(job.state, 0)
    writer.path = path
    writer.append("ab" * 20, _run(9))
    index = store.scan(job.state, write_cache=True)
    assert index.lookup("ab" * 20)[0] == store.COMPLETED
    assert all(index.lookup(key)[0] == store.COMPLETED for key in job.plan.keys)
    # a changed byte changes the mtime: scanned in full again
    _damage(path, path.stat().st_size - 3, b"!")
    assert store.scan(job.state).lookup("ab" * 20)[0] == store.DAMAGED


def test_old_fragment_files_are_read_in_place_not_recomputed(job):
    """A store of pypet_sm before the segments (format 3 files, one per run)."""
    directory = fragment.fragment_dir(job.state)
    for idx in range(4):
        path = fragment.fragment_path(directory, job.plan.keys[idx])
        path.parent.mkdir(parents=True, exist_ok=True)
        run = _run(idx, [Item("z", {"z": (idx + 1) * 10})])
        run.completed = idx != 3
        fragment.write(path, job.plan.keys[idx], run, job.directory)
    assert job.statuses() == ["completed"] * 3 + ["failed"]
    job.run()
    assert job.calls() == [3], "only the failed run is computed"
    assert job.statuses() == ["completed"] * 4
    assert job.body(0)["results"][0]["values"] == {"z": 10}
    assert store.discard(job.state, [job.plan.keys[0]]) == 1
    assert job.statuses()[0] == store.MISSING


def test_is_completed_checks_status_key_and_format(tmp_path):
    key = "ab" * 20
    path = fragment.fragment_path(tmp_path, key)
    assert fragment.read_header(path) is None
    assert fragment.check(path, key) == (fragment.MISSING, "")
    path.parent.mkdir(parents=True)
    run = _run(0)
    fragment.write(path, key, run, tmp_path)
    assert fragment.check(path, key)[0] == fragment.COMPLETED
    assert fragment.check(path, "cd" * 20)[0] == fragment.FOREIGN
    run.completed, run.error = False, ("ValueError: x", "Traceback ...")
    fragment.write(path, key, run, tmp_path)
    assert fragment.check(path, key)[0] == fragment.FAILED
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


def test_damaged_records_are_named_in_the_job_log(job, caplog):
    job.run()
    (path,) = job.segments()
    offset, length = job.offsets()[2]
    _damage(path, offset + length - 1, b"\x00")
    with caplog.at_level("WARNING", logger="pypet_sm.execute.job"):
        job.run()
    assert job.calls() == [0, 1, 2, 3, 2]
    assert "run_00000002: its record is damaged" in caplog.text
    assert "checksum mismatch" in caplog.text


def _segment(tmp_path):
    """A segment of two records: (its bytes, the keys)."""
    writer = store.Writer(tmp_path, 0)
    keys = ["ef" * 20, "12" * 20]
    writer.append(keys[0], _run(7, [Item("z", {"z": 1.5})]))
    writer.append(keys[1], _run(8, [Item("z", {"z": 2.5})]))
    return writer.path, keys


def test_every_truncation_and_every_flipped_byte_of_a_segment_is_detected(tmp_path):
    """Cut the segment at every length and flip every byte (one at a time): a record is
    either read back as it was written or not valid at all."""
    path, keys = _segment(tmp_path)
    data = path.read_bytes()
    good = {key: store.scan(tmp_path).read(store.scan(tmp_path).entry(key)) for key in keys}

    def check() -> int:
        index = store.scan(tmp_path)
        valid = 0
        for key in keys:
            state, _, entry = index.lookup(key)
            if state == store.COMPLETED:
                assert entry is not None
                try:
                    body = index.read(entry)
                except store.DamagedFragment:
                    continue
                assert body == good[key]
                valid += 1
        return valid

    tried = 0
    for length in range(len(data)):
        path.write_bytes(data[:length])
        assert check() < 2, length
        tried += 1
    for position in range(len(data)):
        for flip in (0x01, 0x80):
            damaged = bytearray(data)
            damaged[position] ^= flip
            path.write_bytes(bytes(damaged))
            assert check() < 2, (position, flip)
            tried += 1
    path.write_bytes(data + b"\0garbage")  # appended bytes: the records still stand
    assert check() == 2
    assert tried > 3 * len(data) - 1


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


def test_a_job_finds_its_records_in_other_jobs_segments_through_the_strays(job):
    """After runs_per_job changes, the records of job 1's runs lie in job 0's segment: the
    parse-time scan writes where they are, so the job reads its own segments and that."""
    job.run()
    halves = plan.from_config({**job.config, "runs_per_job": 2})
    assert halves.n_jobs == 2
    state = job.state
    jobs = [
        (halves.job_runs(n).start, halves.keys[halves.job_runs(n).start : halves.job_runs(n).stop])
        for n in range(2)
    ]
    store.write_strays(state, store.scan(state), jobs)
    run.run_job(halves.job_plan(1), job.directory / "manifest_1.json")
    assert job.calls() == [0, 1, 2, 3], "nothing computed again"
    # without the strays file, the job would not look beyond its own segments
    (store.store_dir(state) / store.STRAYS).unlink()
    index = store.job_index(state, 2, halves.keys[2:])
    assert index.lookup(halves.keys[2])[0] == store.MISSING
