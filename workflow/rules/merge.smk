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
        plan=str(PLAN.path),
        package=PACKAGE_ROOT,
    log:
        f"{LOGS}/merge.log",
    conda:
        "../envs/pypet_sm.yaml"
    shell:
        "PYTHONPATH={params.package:q}${{PYTHONPATH:+:$PYTHONPATH}} "
        "python -m pypet_sm merge --plan {params.plan:q} --output {output:q} > {log:q} 2>&1"
