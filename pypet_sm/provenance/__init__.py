"""Provenance: the environment of each invocation (git commit, versions, how Snakemake was
called), git integration, and the logs."""
