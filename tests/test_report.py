"""The sweep report: `snakemake --report report.html` holds a summary and a plot of every
scalar result over the explored parameters, with captions; checked in the HTML itself and,
where Chromium is installed (always in CI), in a screenshot of the report opened in it."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pypet_sm.analysis import report

from .conftest import compute_in_process, job_stats, write_unique_module

CHROMIUM = Path("/usr/bin/chromium")

# A job that stores a real scalar computed from whichever parameters are explored, an array
# and a string (not plotted), and fails in the runs listed in `fail`.
SWEEP = """
import numpy as np

MODES = {"a": 0.0, "b": 5.0, "c": 10.0}


def sweep(traj, fail=()):
    if traj.v_idx in fail:
        raise ValueError(f"boom in run {traj.v_idx}")
    value = traj.x * traj.y + MODES[traj.mode] + traj.w
    traj.f_add_result("out.value", value, comment="x * y + mode in mV")
    traj.f_add_result("out.trace", np.arange(3) * traj.x, comment="a trace")
    traj.f_add_result("out.label", f"run {traj.v_idx}")
"""


def sweep_config(name: str, exploration: dict, **overrides) -> dict:
    config = {
        "trajectory": {"name": name, "comment": "report test"},
        "parameters": {
            "x": {"value": 1.0, "comment": "first factor"},
            "y": {"value": 1, "comment": "second factor"},
            "w": {"value": 0.0, "comment": "added"},
            "mode": {"value": "a", "comment": "a string"},
        },
        "exploration": exploration,
        "job": "sim:sweep",
        "runs_per_job": 3,
    }
    config.update(overrides)
    return config


def report_items(html: str) -> dict[str, dict]:
    """The report's items (path -> name, caption, labels, data_uri, ...)."""
    found = re.search(r"var results = (\{.*?\});\n", html)
    assert found, "no results in the report"
    return json.loads(found.group(1))


def decoded(item: dict) -> bytes:
    header, _, data = item["data_uri"].partition(",")
    assert header.endswith(";base64"), header
    return base64.b64decode(data)


def run_and_report(project, config: dict) -> tuple[dict[str, dict], Path]:
    project.write_module(SWEEP)
    project.write_config(config)
    project.snakemake()
    target = project.path / "report.html"
    proc = project.snakemake("--report", str(target), cores=None)
    assert "Report created." in proc.stdout + proc.stderr, project.describe(proc)
    return report_items(target.read_text(encoding="utf-8")), target


def plot_item(items: dict[str, dict], result: str) -> dict:
    [item] = [item for path, item in items.items() if path.endswith(f"/plots/{result}.png")]
    return item


def image(item: dict) -> np.ndarray:
    from matplotlib import image as mpl_image

    data = decoded(item)
    assert data.startswith(b"\x89PNG"), data[:8]
    import io

    return mpl_image.imread(io.BytesIO(data), format="png")


# the axes ---------------------------------------------------------------------------------
def test_axes_of_a_product_a_zip_and_a_constant():
    explored = [
        ("I", "current", [0.0, 0.0, 0.5, 0.5, 1.0, 1.0]),
        ("tau", "", [5.0, 7.5, 5.0, 7.5, 5.0, 7.5]),
        ("label", "with tau", ["u", "v", "u", "v", "u", "v"]),
        ("dt", "", [0.1] * 6),
    ]
    axes, constant = report.explored_axes(explored)
    assert [axis.names for axis in axes] == [["I"], ["tau", "label"]]
    assert constant == ["dt"]
    assert axes[0].labels == ["0", "0.5", "1"]
    assert list(axes[1].codes) == [0, 1, 0, 1, 0, 1]
    assert report.plot_kind(axes, 6) == "heatmap"
    assert report.plot_kind(axes[:1], 6) == "runs"  # runs share a value of I
    assert report.plot_kind([], 6) == "runs"


def test_categorical_axes_keep_their_order_and_numbers_sort():
    [modes], _ = report.explored_axes([("mode", "", ["b", "a", "c"])])
    assert modes.labels == ["b", "a", "c"] and modes.numbers is None
    [numbers], _ = report.explored_axes([("n", "", [3, 1, 2])])
    assert numbers.labels == ["1", "2", "3"] and list(numbers.codes) == [2, 0, 1]
    # mode and n determine each other (one axis); flag does not (b and c both give True)
    axes, _ = report.explored_axes(
        [("mode", "", ["b", "a", "c"]), ("n", "", [3, 1, 2]), ("flag", "", [True, False, True])]
    )
    assert [axis.names for axis in axes] == [["mode", "n"], ["flag"]]


def test_captions_escape_markup_and_name_everything():
    axes, constant = report.explored_axes(
        [("neuron.tau_ref_", "*refractory* period in ms", [1.0, 2.0])]
    )
    result = report.Result("neuron.rate", "rate in Hz `x`", np.array([1.0, np.nan]))
    text = report.caption(result, axes, "line", constant, (1, 1))
    assert "``neuron.rate`` (rate in Hz \\`x\\`)" in text
    assert "``neuron.tau_ref_`` (\\*refractory\\* period in ms)" in text
    assert "Runs without a value (failed) are gaps in the line: 1 of 2." in text
    from docutils.core import publish_parts

    rendered = publish_parts(text, writer="html")["body"]
    assert "system-message" not in rendered, rendered
    assert "<em>" not in rendered


def test_small_multiples_say_which_panels_they_show():
    values = [(x, y, m, k) for x in (1.0, 2.0) for y in (1, 2) for m in "ab" for k in (1, 2, 3)]
    explored = [(name, "", [v[i] for v in values]) for i, name in enumerate("xymk")]
    axes, constant = report.explored_axes(explored)
    assert report.plot_kind(axes, len(values)) == "multiples"
    result = report.Result("r", "", np.arange(len(values), dtype=float))
    text = report.caption(result, axes, "multiples", constant, (4, 6))
    assert "One panel per combination of the values of ``m``, ``k``" in text
    assert "the first 4 of 6 panels are shown" in text


# without matplotlib, or with plots switched off ----------------------------------------------
@pytest.fixture
def small_sweep(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    module = write_unique_module(tmp_path, SWEEP)
    config = sweep_config("small", {"product": {"x": [1.0, 2.0], "y": [10, 20]}})
    config["job"] = f"{module}:sweep"
    compute_in_process(config)
    return tmp_path / "hdf5" / "small.hdf5"


def test_without_matplotlib_the_summary_says_how_to_get_plots(small_sweep, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
    plots = small_sweep.parent / "plots"
    report.write(small_sweep, small_sweep.parent / "summary.html", plots)
    summary = (small_sweep.parent / "summary.html").read_text()
    assert "pip install &#x27;pypet_sm[report]&#x27;" in summary
    assert "<td>out.value</td>" in summary  # still listed, with its plot kind
    assert not list(plots.glob("*.png"))
    captions = json.loads((plots / report.CAPTIONS).read_text())
    assert captions["out.value"]["kind"] == "heatmap"


def test_plots_switched_off(small_sweep):
    plots = small_sweep.parent / "plots"
    report.write(small_sweep, small_sweep.parent / "summary.html", plots, plots=False)
    assert "report: plots: false" in (small_sweep.parent / "summary.html").read_text()
    assert not list(plots.glob("*.png"))


def test_the_report_rule_can_be_switched_off(project):
    project.write_module(SWEEP)
    config = sweep_config("off", {"product": {"x": [1.0, 2.0]}}, report={"enabled": False})
    project.write_config(config)
    dry = project.dry_run()
    stats = job_stats(dry.stdout + dry.stderr)
    assert "sweep_report" not in stats and stats["merge"] == 1, stats


# real sweeps through snakemake ------------------------------------------------------------
def test_one_parameter_zipped_with_another_is_a_line(project):
    exploration = {"zip": {"x": [1.0, 2.0, 3.0, 4.0], "w": [0.5, 0.25, 0.125, 0.0]}}
    items, _ = run_and_report(project, sweep_config("line", exploration))
    item = plot_item(items, "out.value")
    assert item["labels"] == {"result": "out.value", "plot": "line", "over": "x"}
    caption = item["caption"]
    for text in ("out.value", "x * y + mode in mV", "first factor", "added", "a line"):
        assert text in caption, caption
    assert "explored together" in caption
    pixels = image(item)
    assert pixels.shape[0] > 300 and pixels.shape[1] > 500
    summary = decoded(
        next(item for path, item in items.items() if path.endswith("summary.html"))
    ).decode()
    assert "<td>out.trace</td><td>not a real scalar (ndarray (3,))</td>" in summary
    assert "<td>out.label</td><td>not a real scalar (str)</td>" in summary


def test_three_parameters_are_small_multiples(project):
    exploration = {"product": {"x": [1.0, 2.0], "y": [10, 20, 30], "mode": ["a", "b", "c"]}}
    items, _ = run_and_report(project, sweep_config("multiples", exploration))
    item = plot_item(items, "out.value")
    assert item["labels"]["plot"] == "heatmaps"
    caption = item["caption"]
    assert "One panel per value of" in caption and "mode" in caption
    assert "(3 panels)" in caption and "a string" in caption
    # three panels side by side: the figure is wider than tall
    pixels = image(item)
    assert pixels.shape[1] > 2 * pixels.shape[0]


def test_two_parameters_with_a_failed_run_in_the_report_and_in_chromium(project, tmp_path):
    exploration = {"product": {"x": [1.0, 2.0], "y": [10, 20, 30]}}
    config = sweep_config("heat", exploration, kwargs={"fail": [4]}, keep_going=True)
    items, target = run_and_report(project, config)
    item = plot_item(items, "out.value")
    caption = item["caption"]
    for text in ("out.value", "x * y + mode in mV", "first factor", "second factor", "heatmap"):
        assert text in caption, caption
    assert "Runs without a value (failed) are grey cells: 1 of 6." in caption

    [summary_path] = [path for path in items if path.endswith("summary.html")]
    summary = decoded(items[summary_path]).decode()
    assert "<tr><td>runs</td><td>6</td></tr>" in summary
    assert "<tr><td>failed</td><td>1</td></tr>" in summary
    assert "<td>run_00000004</td><td>ValueError: boom in run 4</td>" in summary
    assert "run time min / median / max" in summary and "versions" in summary
    assert "Sweep summary" in target.read_text()

    if not CHROMIUM.exists():
        why = f"{CHROMIUM} is not installed (Debian's chromium package): no screenshot"
        if os.environ.get("PYPET_SM_REQUIRE_CHROMIUM"):  # CI (.ci/run) installs it
            pytest.fail(why)
        pytest.skip(why)
    shot = screenshot(target, item["data_uri"], "img", tmp_path)
    assert_shows_heatmap(shot)
    page = screenshot(target, items[summary_path]["data_uri"], "html", tmp_path)
    text = page[:, 320:].max(axis=2) < 0.3  # dark pixels beside the app's menu: the page
    assert text.sum() > 10_000, "the summary page is not shown"


# the browser ------------------------------------------------------------------------------
def screenshot(report_html: Path, data_uri: str, content: str, tmp_path: Path) -> np.ndarray:
    """Open the report in headless Chromium showing one item, as clicking it in the app's
    list does, and return the screenshot (RGB, 0..1). The report is a JavaScript app without
    addresses for its views; a copy gets a script that opens the item once the app runs."""
    from matplotlib import image as mpl_image

    html = report_html.read_text(encoding="utf-8")
    script = (
        "<script>window.addEventListener('load', function () { setTimeout(function () {"
        f"app.setView({{content: {json.dumps(content)}, contentPath: {json.dumps(data_uri)}}});"
        "}, 300); });</script>"
    )
    page = tmp_path / f"shown_{content}.html"
    at = html.rindex("</body>")
    page.write_text(html[:at] + script + html[at:], encoding="utf-8")
    png = tmp_path / f"shown_{content}.png"
    profile = tmp_path / "chromium-profile"
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        f"--screenshot={png}",
        "--window-size=1400,1000",
        "--virtual-time-budget=5000",
        page.as_uri(),
    ]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and png.exists(), proc.stderr[-3000:]
    keep = os.environ.get("PYPET_SM_SCREENSHOTS")  # a folder to keep them in, to look at
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(png, Path(keep) / png.name)
    return mpl_image.imread(png)[..., :3]


def assert_shows_heatmap(shot: np.ndarray) -> None:
    """The screenshot shows the heatmap: large areas in viridis' darkest and brightest
    colours (the smallest and largest values), other viridis colours, and the grey cell of
    the failed run."""
    from matplotlib import colormaps

    viridis = colormaps["viridis"](np.linspace(0, 1, 256))[:, :3]
    pixels = shot.reshape(-1, 3)
    # distance of every pixel to its nearest viridis colour (in chunks: 1.4 M pixels)
    nearest = np.concatenate(
        [
            np.abs(chunk[:, None, :] - viridis[None, :, :]).max(axis=2).argmin(axis=1)
            for chunk in np.array_split(pixels, 20)
        ]
    )
    close = np.abs(pixels - viridis[nearest]).max(axis=1) < 4 / 255
    greyish = np.ptp(pixels, axis=1) < 0.02
    on_map = close & ~greyish
    assert on_map.sum() > 20_000, f"only {on_map.sum()} pixels in viridis colours"
    assert (on_map & (nearest < 16)).sum() > 2_000, "no dark purple: the smallest value"
    assert (on_map & (nearest > 240)).sum() > 2_000, "no yellow: the largest value"
    light_grey = np.abs(pixels - 211 / 255).max(axis=1) < 3 / 255  # matplotlib's lightgrey
    assert light_grey.sum() > 2_000, "no grey cell for the failed run"


MANY = """
def many(traj):
    for i in range(6):
        traj.f_add_result(f"s.r{i}", traj.x * i, comment=f"result {i}")
"""


def test_the_number_of_plots_is_capped_and_the_summary_says_what_was_left_out(project):
    """(issue 14, item 11) 10,000 scalar results drew 10,000 plots for 15 minutes."""
    project.write_module(MANY)
    config = sweep_config("many", {"product": {"x": [1.0, 2.0]}}, job="sim:many")
    config["report"] = {"max_plots": 2}
    project.write_config(config)
    project.snakemake()
    report = project.state / "report"
    assert sorted(path.name for path in (report / "plots").glob("*.png")) == [
        "s.r0.png",
        "s.r1.png",
    ]
    summary = (report / "summary.html").read_text()
    assert "4 more scalar results are not plotted" in summary, summary
    assert "report: max_plots" in summary and "s.r2, s.r3, s.r4, s.r5" in summary
