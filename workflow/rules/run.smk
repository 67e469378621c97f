# One job per `runs_per_job` consecutive runs. Its output is a small manifest; the run
# fragments are not declared outputs, so a failed job never deletes finished runs. The job's
# plan file is named by a digest of everything the job computes with, so Snakemake reruns
# exactly the jobs whose points changed (their finished runs are still skipped). Params must
# be plain strings: Snakemake leaves other types (such as Path) out of its rerun check.
# The attempt number is a resource, not a param: params are a rerun trigger, and a retried
# job's attempt must not make the next invocation rerun it. Threads and the other resources
# come from config.yaml's per-run estimates (pypet_sm/execute/cluster.py); clusters submit with them.
# The rule's log gets Snakemake's view of the job; the job also writes its log into the
# environment's log folder (pypet_sm/provenance/logs.py).
# The retry token, a param, changes when runs of the job failed, so the next invocation
# computes them again even when the job kept going and wrote its manifest.


rule run_job:
    output:
        f"{STATE}/manifests/job_{{job}}.json",
    params:
        plan=lambda wildcards: str(PLAN.job_plan_path(int(wildcards.job))),
        package=PACKAGE_ROOT,
        retry=retry_token,
    threads: SETTINGS.resources.cpus_per_task
    resources:
        attempt=lambda wildcards, attempt: attempt,
        **pypet_sm.execute.cluster.run_job_resources(SETTINGS.resources, PLAN.runs_per_job),
    log:
        f"{LOGS}/jobs/job_{{job}}.log",
    conda:
        "../envs/pypet_sm.yaml"
    shell:
        "PYTHONPATH={params.package:q}${{PYTHONPATH:+:$PYTHONPATH}} "
        "python -m pypet_sm run-job --plan {params.plan:q} --manifest {output:q} "
        "--attempt {resources.attempt} --retry-token={params.retry:q} > {log:q} 2>&1"
