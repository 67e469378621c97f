# The merge is the only writer of the trajectory file; it is cheap bookkeeping beside the
# runs, so it runs locally even when the run jobs go to a cluster.


localrules:
    merge,


rule merge:
    input:
        expand(f"{STATE}/manifests/job_{{job}}.json", job=JOBS),
    output:
        TRAJECTORY_FILE,
    params:
        plan=PLAN.digest,
    log:
        f"{LOGS}/merge.log",
    shell:
        "'{PYTHON}' -m pypet_sm merge --plan '{PLAN_FILE}' --output {output} > {log} 2>&1"
