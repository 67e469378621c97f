# Planning at parse time, in one call: the workflow lock, the plan (its files named by
# digest, which the run jobs and the merge read), stale temp cleanup, the merge record, the
# retry tokens, keep-going and PATH (pypet_sm/execute/workflow.py says why each rule's
# params and shell command hold what they hold).
import pypet_sm.execute.workflow

PYPET_SM = pypet_sm.execute.workflow.prepare(config, workflow)
# the merge's output: a record of the file it wrote (see validate.merge_record)
MERGED = PYPET_SM.merged


# Jobs call `python`, found on the PATH prepare() puts the interpreter running Snakemake
# first on (with --sdm conda the job's environment is put before it).
envvars:
    "PATH",


wildcard_constraints:
    job=r"\d{6}",


# The invocation's environment (and git commit): only when jobs will run (never in a dry run,
# never for "nothing to be done"), only in the main process (cluster jobs get --no-hooks), so
# exactly one per invocation. Planning above runs at every parse, so it must not do this.
onstart:
    PYPET_SM.onstart(workflow)


onerror:
    PYPET_SM.onerror()


# failed runs merged as not completed (keep going): named here too, as the exit status is 0
onsuccess:
    PYPET_SM.onsuccess()
