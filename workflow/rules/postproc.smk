# Post-processing (pypet's env.add_postprocessing), config `postprocessing:`. After the merge
# the checkpoint calls the function on the whole trajectory; when it expands the trajectory,
# the next round's run jobs and merge appear in the DAG (the input functions ask the
# checkpoint first, then plan the new points with the sweep's plan and point keys), round
# after round, until a round adds nothing or max_rounds is reached. The search's target is
# done.json, whose input is the record of the last round (pypet_sm/postproc/search.py). Rounds
# finished before are planned at parse time from their records: nothing runs twice.
# Merges and post-processing are bookkeeping on the trajectory file: local, like the merge.
# PYPET_SM_FINAL and PYPET_SM_FINAL_PLAN: the trajectory's last merge and a plan naming the
# settings, for the report. A search's report names its initial plan, the same in every
# invocation (a param cannot wait for checkpoints); done.json, its input, reruns it.
if PYPET_SM.search is None:
    PYPET_SM_FINAL = MERGED
    PYPET_SM_FINAL_PLAN = PYPET_SM.plan_digest
else:
    SEARCH = PYPET_SM.search
    PYPET_SM_FINAL = SEARCH.done
    PYPET_SM_FINAL_PLAN = SEARCH.base_plan_digest

    localrules:
        postproc_merge,
        postproc_round,
        postproc_done,

    wildcard_constraints:
        round=r"\d+",

    rule postproc_merge:
        input:
            lambda wildcards: SEARCH.manifests(wildcards, checkpoints),
        output:
            SEARCH.merged_pattern,
        params:
            plan=lambda wildcards: SEARCH.plan_digest(wildcards, checkpoints),
            state=PYPET_SM.state_folder,
            trajectory=PYPET_SM.trajectory_file,
            python=SEARCH.python,
        log:
            f"{PYPET_SM.logs}/postproc/merge_{{round}}.log",
        conda:
            "../envs/pypet_sm.yaml"
        shell:
            "{params.python} merge --state {params.state:q} --plan {params.plan} "
            "--output {params.trajectory:q} --marker {output:q} --notices-fd 3 3>&2 > {log:q} 2>&1"

    checkpoint postproc_round:
        input:
            SEARCH.merged_pattern,
        output:
            SEARCH.round_pattern,
        params:
            plan=lambda wildcards: SEARCH.plan_digest(wildcards, checkpoints),
            state=PYPET_SM.state_folder,
            python=SEARCH.python,
        log:
            f"{PYPET_SM.logs}/postproc/round_{{round}}.log",
        conda:
            "../envs/pypet_sm.yaml"
        shell:
            "{params.python} round --state {params.state:q} --plan {params.plan} "
            "--record {output:q} --round {wildcards.round} --notices-fd 3 3>&2 "
            "> {log:q} 2>&1"

    rule postproc_done:
        input:
            lambda wildcards: SEARCH.final(checkpoints),
        output:
            SEARCH.done,
        params:
            python=SEARCH.python,
        log:
            f"{PYPET_SM.logs}/postproc/done.log",
        conda:
            "../envs/pypet_sm.yaml"
        shell:
            "{params.python} done --record {input:q} --output {output:q} > {log:q} 2>&1 "
            "&& cat {log:q} >&2"
