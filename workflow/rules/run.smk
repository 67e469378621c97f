# One job per `runs_per_job` consecutive runs. Its output is a small manifest; the run
# fragments are not declared outputs, so a failed job never deletes finished runs. `points`
# changes whenever any point of the job changes, which makes Snakemake rerun the job; the
# plan file is read from a global, not params, so editing other points does not rerun it.


rule run_job:
    output:
        f"{STATE}/manifests/job_{{job}}.json",
    params:
        points=lambda wildcards: PLAN.job_digest(int(wildcards.job)),
    log:
        f"{LOGS}/jobs/job_{{job}}.log",
    shell:
        "'{PYTHON}' -m pypet_sm run-job --plan '{PLAN_FILE}' --job {wildcards.job}"
        " --manifest {output} > {log} 2>&1"
