# One job per `runs_per_job` consecutive runs. Its output is a small manifest; the run
# fragments are not declared outputs, so a failed job never deletes finished runs. The job's
# plan file is named by a digest of exactly what the job computes with, so Snakemake reruns
# exactly the jobs whose computation changed (their finished runs are still skipped); the
# command names it by that digest, read from the state folder's plans/ only. Params
# must be plain strings: Snakemake leaves other types (such as Path) out of its rerun check.
# The settings the job needs but does not compute with (trajectory comment, log level,
# folders), keep-going and the command's prefix are params Snakemake does not record: they
# reach the job current and rerun nothing (pypet_sm/execute/workflow.py).
# The attempt number is a resource, not a param: params are a rerun trigger, and a retried
# job's attempt must not make the next invocation rerun it. Threads and the other resources
# come from config.yaml's per-run estimates (pypet_sm/execute/cluster.py); clusters submit with them.
# The rule's log gets Snakemake's view of the job; the job also writes its log into the
# environment's log folder (pypet_sm/provenance/logs.py).
# The retry token, a param, changes when runs of the job failed, so the next invocation
# computes them again even when the job kept going and wrote its manifest.


rule run_job:
    output:
        f"{PYPET_SM.state}/manifests/job_{{job}}.json",
    params:
        plan=PYPET_SM.job_plan_digest,
        retry=PYPET_SM.retry_token,
        settings=PYPET_SM.settings_digest,
        state=PYPET_SM.state_folder,
        keep_going=PYPET_SM.keep_going_option,
        python=PYPET_SM.python,
    threads: PYPET_SM.threads
    resources:
        attempt=lambda wildcards, attempt: attempt,
        **PYPET_SM.resources,
    log:
        f"{PYPET_SM.logs}/jobs/job_{{job}}.log",
    conda:
        "../envs/pypet_sm.yaml"
    shell:
        "{params.python} run-job --state {params.state:q} --plan {params.plan} "
        "--settings {params.settings} "
        "--manifest {output:q} --attempt {resources.attempt} --retry-token={params.retry:q} "
        "{params.keep_going} > {log:q} 2>&1"
