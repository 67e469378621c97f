"""End to end: the fragment store at scale (20,000 trivial runs leave at most 100 store files
and at most 0.5 KB of store per run) and an old store (one file per run, as pypet_sm wrote
before the segments) merged without computing anything again."""

from __future__ import annotations

from pypet_sm.execute import fragment, segment, store

from .conftest import SIM, multiply_config

TRIVIAL = """
def run(traj):
    traj.f_add_result("z", traj.x * 2.0)
"""


def test_20000_runs_leave_few_store_files_and_little_disk_per_run(project):
    n_runs = 20_000
    project.write_module(TRIVIAL)
    project.write_config(
        {
            "trajectory": {"name": "many"},
            "parameters": {"x": 0.0},
            "exploration": {"zip": {"x": [float(i) for i in range(n_runs)]}},
            "job": "sim:run",
            "runs_per_job": 2_000,
            "storage": {"layout": "stacked"},
        }
    )
    project.snakemake()
    files = list(store.files(project.state))
    assert len(files) <= 100, sorted(path.name for path in files)
    segments = store.segment_files(project.state)
    assert len(segments) == 10, "one segment per job"
    per_run = sum(path.stat().st_blocks * 512 for path in files) / n_runs
    assert per_run <= 512, f"{per_run:.0f} bytes of disk per run"
    with project.load() as traj:
        assert len(traj) == n_runs
        assert traj.f_get_from_runs("z", use_indices=True)[n_runs - 1] == 2.0 * (n_runs - 1)
    print(f"\nstore: {len(files)} files, {per_run:.0f} bytes of disk per run")


def _to_old_store(project) -> int:
    """Rewrite the store as one format-3 file per run (the layout of pypet_sm before the
    segments, written by its own code); the number of files."""
    state = project.state
    written = 0
    for path in store.segment_files(state):
        scanned = segment.scan(path.read_bytes())
        index = store.scan(state)
        for key in scanned.keys:
            entry = index.entry(key)
            assert entry is not None
            run = index.read_run(entry)
            target = fragment.fragment_path(fragment.fragment_dir(state), key)
            target.parent.mkdir(parents=True, exist_ok=True)
            fragment.write(target, key, run, state, read_index=entry.read_index is not None)
            written += 1
    for path in store.files(state):
        if path.suffix != ".pkl":
            path.unlink()
    return written


def test_an_old_store_is_merged_without_computing_again(project):
    project.write_module(SIM)
    config = multiply_config(name="old")
    project.write_config(config)
    project.snakemake()
    assert len(project.calls()) == 6
    assert _to_old_store(project) == 6
    with project.load() as traj:
        expected = traj.f_get_from_runs("z", use_indices=True)
    project.trajectory_file.unlink()
    (project.state / "manifests" / "job_000001.json").unlink()  # that job runs again
    proc = project.snakemake()
    assert len(project.calls()) == 6, project.describe(proc)
    with project.load() as traj:
        assert traj.f_get_from_runs("z", use_indices=True) == expected
    assert not store.segment_files(project.state), "nothing new was computed"
    # extended: only the new points are computed, into segments beside the old files
    project.write_config(
        dict(config, exploration={"product": {"x": [1.0, 2.0, 3.0], "y": [10, 20, 30]}})
    )
    project.snakemake()
    assert len(project.calls()) == 9, "the three new points only"
    assert store.segment_files(project.state)
