# pypet_sm: a parameter exploration as Snakemake jobs. The trajectory is defined in config.yaml;
# all logic lives in the pypet_sm package, the rules only call it.
import pypet_sm.errors
import pypet_sm.validate
from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version, validate

min_version("9.0")


# `--configfile other.yaml` replaces the shipped example instead of being merged into it
# (Snakemake's default), so every project config stands alone; cluster jobs, which get the
# same --configfiles, plan the same trajectory.
if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


# pypet_sm checks first, so a mistake is one message naming the field; validate() then fills
# the schema's defaults
try:
    pypet_sm.validate.schema(config, f"{workflow.basedir}/workflow/schemas/config.schema.yaml")
except pypet_sm.errors.PypetSmError as error:
    raise WorkflowError(str(error)) from None
validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/run.smk"
include: "workflow/rules/merge.smk"


rule all:
    input:
        MERGED,
    default_target: True
