"""The report in a real browser: Debian's chromium driven by selenium (no browser download).

- Installs ``chromium`` + ``chromium-driver`` with apt-get when /usr/bin/chromium is missing
  (skips cleanly when apt or root is unavailable, or with CODECENSUS_NO_APT=1).
- Opens the report from disk, fails on any console error (CSP violations included, so any
  network request fails too) and on any chart container without a drawn SVG, and checks that
  transcript-derived strings did not execute.
- ``CODECENSUS_SCREENSHOT=path`` (or ``1`` for docs/report.png) saves a screenshot of the first
  screen; ``CODECENSUS_REPORT_HTML=path`` screenshots that report instead of a generated one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
DRIVER = Path("/usr/bin/chromedriver")
REPO = Path(__file__).resolve().parents[1]
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
         "--hide-scrollbars", "--force-device-scale-factor=1"]


def _ensure_chromium() -> None:
    if CHROMIUM.exists() and DRIVER.exists():
        return
    apt = shutil.which("apt-get")
    if os.environ.get("CODECENSUS_NO_APT") or apt is None or os.geteuid() != 0:
        pytest.skip("chromium is not installed and apt-get (as root) is unavailable")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = [apt, "install", "-y", "-q", "--no-install-recommends", "chromium", "chromium-driver"]
    if subprocess.run(cmd, env=env, capture_output=True, timeout=1200).returncode != 0:
        subprocess.run([apt, "update", "-q"], env=env, capture_output=True, timeout=600)
        subprocess.run(cmd, env=env, capture_output=True, timeout=1200)
    if not (CHROMIUM.exists() and DRIVER.exists()):
        pytest.skip("could not install chromium with apt-get")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    _ensure_chromium()
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for f in FLAGS:
        opts.add_argument(f)
    opts.add_argument("--window-size=1100,1900")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(str(DRIVER)), options=opts)
    drv.set_page_load_timeout(120)
    yield drv
    drv.quit()


def _open(drv: Any, html: Path, timeout: float = 90.0) -> list[dict[str, Any]]:
    drv.get_log("browser")  # drop anything from a previous page
    drv.get(html.resolve().as_uri())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if drv.execute_script("return document.body && document.body.getAttribute('data-charts-done')"):
            break
        time.sleep(0.1)
    else:
        pytest.fail("charts did not finish rendering")
    time.sleep(0.3)  # late console messages
    return list(drv.get_log("browser"))


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from test_report import make_report

    html, _ = make_report(tmp_path_factory.mktemp("browser"))
    return html


def test_report_renders_without_console_errors(browser: Any, hostile_report: Path) -> None:
    from selenium.webdriver.common.by import By

    logs = _open(browser, hostile_report)
    errors = [e for e in logs if e.get("level") == "SEVERE"]
    assert not errors, errors
    vega_warnings = [e for e in logs if "WARN" in e.get("message", "")]
    assert not vega_warnings, vega_warnings
    charts = browser.find_elements(By.CSS_SELECTOR, "[data-chart]")
    assert len(charts) >= 20
    for c in charts:
        cid = c.get_attribute("id")
        assert c.get_attribute("data-rendered") == "1", cid
        marks = browser.execute_script(
            "const s = arguments[0].querySelector('svg');"
            "return s ? s.querySelectorAll('path, rect, line, circle, text').length : 0;", c)
        assert marks > 10, cid
        size = c.size
        assert size["width"] > 100 and size["height"] > 50, cid


def test_transcript_text_does_not_execute(browser: Any, hostile_report: Path) -> None:
    from selenium.webdriver.common.by import By

    logs = _open(browser, hostile_report)
    assert not [e for e in logs if "xss" in e.get("message", "")]
    assert browser.execute_script("return typeof window.__xss") == "undefined"
    tree = browser.find_element(By.CSS_SELECTOR, "#fig-topics .topics").text
    assert "<script>window.__xss=1" in tree  # shown as text
    assert not browser.find_elements(By.CSS_SELECTOR, "#fig-topics img, #fig-topics a[href^='javascript']")


def test_screenshot(browser: Any, tmp_path: Path) -> None:
    target = os.environ.get("CODECENSUS_SCREENSHOT")
    if not target:
        pytest.skip("set CODECENSUS_SCREENSHOT=path (or 1 for docs/report.png) to save a screenshot")
    dest = REPO / "docs" / "report.png" if target == "1" else Path(target)
    given = os.environ.get("CODECENSUS_REPORT_HTML")
    if given:
        html = Path(given)
    else:
        from codecensus.aggregate.synthetic import load_into, synthetic_corpus
        from codecensus.report.build import ReportOptions, write_report
        from codecensus.store import Store

        store = Store(tmp_path / "shot.duckdb")
        load_into(store, synthetic_corpus(users=400, sessions=4000))
        html = write_report(store, ReportOptions(out=tmp_path / "out", title="codecensus report (synthetic data)")).html
        store.close()
    logs = _open(browser, html)
    assert not [e for e in logs if e.get("level") == "SEVERE"]
    dest.parent.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(dest))
    assert dest.stat().st_size > 50_000


_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def test_every_month_axis_labels_each_month_legibly(browser: Any, hostile_report: Path) -> None:
    """The small multiples' month axes read "Oct  Dec Jan Feb MarApr": Vega's time axis dropped November and pinned
    April to the edge against March. Every month axis now names each month once, in order, without labels touching."""
    _open(browser, hostile_report)
    axes = browser.execute_script("""
        const out = [];
        for (const ax of document.querySelectorAll("[data-chart] g.role-axis")) {
          if (!(ax.getAttribute("aria-label") || "").startsWith("X-axis titled 'month'")) continue;
          const labels = Array.from(ax.querySelectorAll("g.role-axis-label text")).map(t => {
            const r = t.getBoundingClientRect();
            return {text: t.textContent, left: r.left, right: r.right,
                    rotated: (t.getAttribute("transform") || "").includes("rotate")};
          });
          out.push({chart: ax.closest("[data-chart]").id, labels: labels});
        }
        return out;""")
    charts = {a["chart"] for a in axes}
    assert {"chart-occupations_by_month-0", "chart-work_modes_by_month-0", "chart-value_by_mode-1",
            "chart-value_by_month-0", "chart-success_trend-0"} <= charts, charts
    for a in axes:
        labels = sorted(a["labels"], key=lambda x: x["left"])
        names = [x["text"].split(" ")[0] for x in labels]
        assert len(names) == 7, (a["chart"], names)  # the corpus spans 7 months: Oct to Apr
        assert names == [_MONTHS[(9 + i) % 12] for i in range(7)], (a["chart"], names)
        for x, y in zip(labels, labels[1:], strict=False):
            if x["rotated"]:  # turned labels: their ends must lie a line of text apart
                assert y["right"] - x["right"] >= 12, (a["chart"], x, y)
            else:
                assert y["left"] - x["right"] >= 2, (a["chart"], x, y)
