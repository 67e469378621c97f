"""Analysis of a trajectory file: the loader (natural naming, queries over runs, the runs
table) and the sweep report."""
