"""Running the single runs: the plan (runs, point keys, jobs), run jobs and the single-run
view a job function gets, fragments, manifests, failure records, cluster resources, locks
and cleanup."""
