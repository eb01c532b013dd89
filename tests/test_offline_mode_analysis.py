"""Work mode *analyze* (taxonomy §2: queries, statistics, charts, notebooks, reports on data) on hand-built evidence.

Scripts written to answer a data question look like new programs to the work ledger (created code votes build).
When the request clearly reads as analysis and the session changed no existing code, they are the means of that
analysis. A request to build a tool, a request that reports a problem, or work that changes an existing codebase
keeps its own mode. No transcript is involved.
"""

from __future__ import annotations

import pytest

from codecensus.classify.base import ActionEvidence
from codecensus.classify.offline import WEIGHTS, OfflineBackend
from codecensus.classify.text import prompt_signals
from evidence_builders import edit, read, session, sh, write

ANALYSIS_REQUESTS = (
    "Analyze the sales data in orders.csv: compute the monthly totals and the average order value per region, "
    "and plot the trend in a chart.",
    "Look at the survey results and give me statistics and charts of the answers by age group.",
)
BUILD_REQUEST = "Build a command line tool that converts CSV files to JSON and uploads them to our server."
FIX_REQUEST = "The chart script crashes with KeyError: 'region' when I run it on the new orders.csv, fix it."
SCRIPTS = ("load", "clean", "totals", "regions", "plot_trend", "report")


def _new_scripts() -> list[ActionEvidence]:
    """Six new scripts, each run once, after reading a CSV file: six build votes against 0.3 analyze votes."""
    return ([read("data/orders.csv")] + [write(f"analysis/{n}.py", 250) for n in SCRIPTS]
            + [sh(f"python analysis/{n}.py") for n in SCRIPTS])


def test_new_scripts_for_an_analysis_request_are_analysis(embedded: OfflineBackend) -> None:
    for req in ANALYSIS_REQUESTS:
        (f,) = embedded.classify([session([req], _new_scripts())])
        assert f.mode == "analyze"


def test_the_same_scripts_for_a_tool_request_are_build(embedded: OfflineBackend) -> None:
    (f,) = embedded.classify([session([BUILD_REQUEST], _new_scripts())])
    assert f.mode == "build"


def test_a_request_that_reports_a_problem_is_not_moved_to_analysis(embedded: OfflineBackend) -> None:
    assert prompt_signals(FIX_REQUEST).error_paste or prompt_signals(FIX_REQUEST).fix_intent
    (f,) = embedded.classify([session([FIX_REQUEST], _new_scripts())])
    assert f.mode != "analyze"


def test_changing_existing_code_keeps_the_code_modes(embedded: OfflineBackend) -> None:
    """One edit of a file that existed before the session makes it work on a codebase, not an analysis."""
    acts = [*_new_scripts(), read("src/sales/db.py"), edit("src/sales/db.py")]
    for req in ANALYSIS_REQUESTS:
        (f,) = embedded.classify([session([req], acts)])
        assert f.mode in ("build", "fix")


def test_without_an_embedder_the_ledger_decides() -> None:
    (f,) = OfflineBackend(embedder=None).classify([session([ANALYSIS_REQUESTS[0]], _new_scripts())])
    assert f.mode == "build"


def test_the_margin_is_part_of_the_rubric() -> None:
    assert WEIGHTS["ANALYSIS_REQUEST_MARGIN"] == pytest.approx(1.0)
