"""pypet's Environment on Snakemake: `pypet_sm.Environment` (driver.py)."""
