# The merge is the only writer of the trajectory file; it is cheap bookkeeping beside the
# runs, so it runs locally even when the run jobs go to a cluster. Its output is a record of
# the file it wrote: Snakemake deletes a job's outputs before running it, and the previous
# trajectory file must survive a merge that is killed or fails. Its plan param names the whole
# plan by the digest of everything it reads, the merge-only settings included (storage,
# comment, file name and title, log level): changing one reruns the merge, no run job.
# Its log gets stdout and stderr; file descriptor 3 keeps the terminal for the few messages
# the user must see there (what it carried over from the previous file, or kept beside it).


localrules:
    merge,


rule merge:
    input:
        expand(f"{PYPET_SM.state}/manifests/job_{{job}}.json", job=PYPET_SM.jobs),
    output:
        MERGED,
    params:
        plan=PYPET_SM.plan_digest,
        state=PYPET_SM.state_folder,
        trajectory=PYPET_SM.trajectory_file,
        python=PYPET_SM.python,
    log:
        f"{PYPET_SM.logs}/merge.log",
    conda:
        "../envs/pypet_sm.yaml"
    shell:
        "{params.python} merge --state {params.state:q} --plan {params.plan} "
        "--output {params.trajectory:q} --notices-fd 3 3>&2 > {log:q} 2>&1"
