# The shipped example project: its trajectory is config.yaml, its job function
# examples/neuron.py. The workflow is workflow/Snakefile, which projects made by
# `pypet-sm init` include from the installed package in the same way.


include: "workflow/Snakefile"


rule all:
    input:
        PYPET_SM_OUTPUTS,
    default_target: True
