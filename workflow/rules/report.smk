# The sweep report: `snakemake --report report.html` shows a summary of the sweep (runs,
# failures, run times, environments and git commit) and a figure of every scalar result over
# the explored parameters, each with its caption (pypet_sm/analysis/report.py makes them all). Paths of
# captions are relative to this file.
import pypet_sm.analysis.report

REPORT = f"{PYPET_SM.state}/report"
REPORT_SUMMARY = f"{REPORT}/summary.html"
REPORT_PLOTS = f"{REPORT}/plots"
# each figure's caption and columns in the report, read from the plot directory when the
# report is made (pypet_sm/analysis/report.py)
REPORT_CAPTIONS = pypet_sm.analysis.report.Captions(REPORT_PLOTS)


report: "../report/workflow.rst"


localrules:
    sweep_report,


rule sweep_report:
    input:
        PYPET_SM_FINAL,
    output:
        summary=report(
            REPORT_SUMMARY,
            caption="../report/summary.rst",
            category="Sweep summary",
        ),
        plots=report(
            directory(REPORT_PLOTS),
            patterns=["{result}.png"],
            caption="../report/plot.rst",
            category="Plots",
            labels=REPORT_CAPTIONS.labels,
        ),
    params:
        plan=PYPET_SM_FINAL_PLAN,
        state=PYPET_SM.state_folder,
        trajectory=PYPET_SM.trajectory_file,
        python=PYPET_SM.python,
        # the report's own setting: changing it remakes the report alone
        draw_plots=config["report"]["plots"],
        max_plots=config["report"]["max_plots"],
        # read by plot.rst when the report is made; never a rerun trigger (not representable)
        captions=REPORT_CAPTIONS,
    log:
        f"{PYPET_SM.logs}/report.log",
    conda:
        "../envs/report.yaml"
    shell:
        "{params.python} report --state {params.state:q} --plan {params.plan} --trajectory {params.trajectory:q} "
        "--summary {output.summary:q} --plots {output.plots:q} --draw-plots {params.draw_plots} "
        "--max-plots {params.max_plots} > {log:q} 2>&1"
