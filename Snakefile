# pypet_sm: a parameter exploration as Snakemake jobs. The trajectory is defined in config.yaml;
# all logic lives in the pypet_sm package, the rules only call it.
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/run.smk"
include: "workflow/rules/merge.smk"


rule all:
    input:
        TRAJECTORY_FILE,
    default_target: True
