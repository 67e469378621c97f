"""Post-processing after the merge, and iterative exploration through Snakemake checkpoints.

pypet's `env.add_postprocessing(func, *args, **kwargs)`: after the runs, `func(traj,
result_list, *args, **kwargs)` sees the whole trajectory; it may add trajectory-level results
and derived parameters, and expand the trajectory (`traj.f_expand` or a returned dict). The
new points run in the same `snakemake` invocation, round after round (workflow/rules/postproc.smk).
"""
