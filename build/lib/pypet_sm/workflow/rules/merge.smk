# The merge is the only writer of the trajectory file; it is cheap bookkeeping beside the
# runs, so it runs locally even when the run jobs go to a cluster. Its output is a record of
# the file it wrote: Snakemake deletes a job's outputs before running it, and the previous
# trajectory file must survive a merge that is killed or fails.


localrules:
    merge,


rule merge:
    input:
        expand(f"{STATE}/manifests/job_{{job}}.json", job=JOBS),
    output:
        MERGED,
    params:
        plan=str(PLAN.path),
        trajectory=TRAJECTORY_FILE,
        package=PACKAGE_ROOT,
    log:
        f"{LOGS}/merge.log",
    conda:
        "../envs/pypet_sm.yaml"
    shell:
        "PYTHONPATH={params.package:q}${{PYTHONPATH:+:$PYTHONPATH}} "
        "python -m pypet_sm merge --plan {params.plan:q} --output {params.trajectory:q} > {log:q} 2>&1"
