"""The report: every figure with n and an interval, thresholds enforced, tables written, text escaped, offline."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from codecensus.aggregate.figures import (
    FIGURES,
    LONG_COLUMNS,
    Context,
    build_figures,
    fig_work_modes,
    load_report_data,
)
from codecensus.aggregate.privacy import ReleasePolicy
from codecensus.aggregate.synthetic import load_into, synthetic_corpus
from codecensus.report.build import ReportOptions, compute, write_report
from codecensus.store import Store

XSS_NAME = '<script>window.__xss=1;console.error("xss-name")</script><img src=x onerror="window.__xss=2">'
XSS_DESC = 'javascript:alert(1) <a href="javascript:window.__xss=3">click</a>'
XSS_SUMMARY = "<script>window.__xss=4</script> javascript:void(0) SUMMARY-CANARY"
FIGURE_IDS = [f.__name__.removeprefix("fig_") for f in FIGURES]


def hostile_corpus(users: int = 160, sessions: int = 1600, seed: int = 3):  # noqa: ANN201
    """A synthetic corpus whose transcript-derived strings try to execute."""
    c = synthetic_corpus(users=users, sessions=sessions, months=7, seed=seed)
    cl = c.clusters.to_pandas()
    cl.loc[cl["level"] == 1, "name"] = [f"{XSS_NAME} {i}" for i in range((cl["level"] == 1).sum())]
    cl.loc[cl["level"] == 0, "description"] = XSS_DESC
    c.clusters = pa.Table.from_pandas(cl, preserve_index=False)
    f = c.facets.to_pandas()
    f["summary"] = XSS_SUMMARY
    c.facets = pa.Table.from_pandas(f, preserve_index=False, schema=c.facets.schema)
    return c


def make_report(root: Path, **kw: object) -> tuple[Path, object]:
    store = Store(root / "r.duckdb")
    load_into(store, hostile_corpus())
    opts = ReportOptions(out=root / "out", bootstrap=40, seed=1, **kw)  # type: ignore[arg-type]
    res = write_report(store, opts)
    store.close()
    return res.html, res


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    return make_report(tmp_path_factory.mktemp("report"))


def test_files_and_long_table(report: tuple[Path, object]) -> None:
    html, res = report
    out = html.parent
    assert html.name == "report.html" and html.stat().st_size > 500_000  # the Vega bundle is inlined
    for f in res.computed.figures:  # type: ignore[attr-defined]
        if f.available:
            assert (out / "tables" / f"{f.id}.csv").is_file()
            assert pq.read_table(out / "tables" / f"{f.id}.parquet").num_rows == len(f.table)
    long_csv = pacsv.read_csv(out / "tables" / "long.csv")
    long_pq = pq.read_table(out / "tables" / "long.parquet")
    assert long_csv.column_names == LONG_COLUMNS == long_pq.column_names
    assert long_pq.num_rows == long_csv.num_rows > 300
    facets = set(long_pq.column("facet").to_pylist())
    assert facets == set(FIGURE_IDS)


def test_every_figure_present_with_n_and_intervals(report: tuple[Path, object]) -> None:
    html, res = report
    text = html.read_text()
    figs = {f.id: f for f in res.computed.figures}  # type: ignore[attr-defined]
    assert set(figs) == set(FIGURE_IDS)
    for fid, f in figs.items():
        assert f.available, (fid, f.reason)
        assert f.method and "\n" not in f.method, fid
        rel = f.table[~f.table["suppressed"]]
        assert len(rel), fid
        assert rel["n_users"].notna().all() and rel["n_sessions"].notna().all(), fid
        if fid not in ("coverage", "abstentions"):  # counts: no interval
            with_ci = rel[rel["ci_low"].notna() & rel["ci_high"].notna()]
            assert len(with_ci) >= 0.8 * len(rel), fid
            assert (with_ci["ci_low"] <= with_ci["value"] + 1e-9).all() and (
                with_ci["value"] <= with_ci["ci_high"] + 1e-9).all(), fid
        assert f'id="fig-{fid}"' in text
        assert f.method.split(";")[0][:40].replace("'", "&#39;") in text.replace("&#34;", '"')
    # charts: one container per spec, and every figure but the tables has one
    charted = set(re.findall(r'id="chart-([a-z_]+)-\d+" data-chart', text))
    assert charted == set(FIGURE_IDS) - {"abstentions"}  # (a small table by design)


def test_no_released_cell_below_the_thresholds(report: tuple[Path, object]) -> None:
    html, _ = report
    lt = pq.read_table(html.parent / "tables" / "long.parquet").to_pandas()
    released = lt[~lt["suppressed"]]
    nonempty = released[released["n_sessions"] > 0]  # empty cells (zero shares) describe nobody
    assert (nonempty["n_users"] >= 5).all() and (nonempty["n_sessions"] >= 10).all()
    assert (released[released["n_sessions"] == 0]["value"] == 0).all()
    hidden = lt[lt["suppressed"]]
    assert len(hidden) > 0
    assert hidden[["value", "ci_low", "ci_high", "n_users", "n_sessions"]].isna().all().all()


def test_regression_and_reweighted_trends(report: tuple[Path, object]) -> None:
    html, res = report
    figs = {f.id: f for f in res.computed.figures}  # type: ignore[attr-defined]
    reg = figs["regression"].table
    assert set(reg["expertise"]) == {1, 2, 3, 4, 5}
    # the top released level (a level whose few unclear outcomes are withheld is withheld here too, with its n)
    top = reg[~reg["suppressed"] & ~reg["reference"]].sort_values("expertise").iloc[-1]
    assert top["expertise"] >= 4 and top["value"] > 5 and top["ci_low"] > 0  # planted: +19 (level 4), +21 (level 5) points
    assert set(figs["regression"].extra["controls"]) >= {"mode", "month"}
    for fid in ("value_by_month", "success_trend"):
        t = figs[fid].table
        assert {"raw", "reweighted"} <= set(t["variable"])
        assert t[t["variable"] == "reweighted"]["value"].notna().sum() >= 6
    v = figs["value_by_month"].table
    first = v[(v["variable"] == "raw")].sort_values("month").iloc[0]
    assert first["value"] == pytest.approx(100.0)
    text = html.read_text()
    assert "Holding work mode, month" in text and "points more often" in text


def test_transcript_text_never_executes_or_leaks(report: tuple[Path, object]) -> None:
    html, _ = report
    text = html.read_text()
    # summaries are never shown; cluster names/descriptions only escaped
    assert "SUMMARY-CANARY" not in text
    assert "<script>window.__xss" not in text
    assert '<img src=x onerror="window.__xss' not in text
    assert "&lt;script&gt;window.__xss=1" in text  # rendered as text in the topic tree
    assert not re.search(r'(href|src)\s*=\s*"\s*javascript:', text, re.I)
    # exactly three scripts: the Vega bundle, the JSON specs, the loader
    assert len(re.findall(r"<script\b", text)) == 3
    specs = re.search(r'<script type="application/json" id="cc-specs">(.*?)</script>', text, re.S)
    assert specs and "<" not in specs.group(1) and ">" not in specs.group(1)
    # the tables keep the text (escaping is the HTML writer's job), and the names were released
    assert XSS_NAME.split(" ")[0] in pd.read_csv(html.parent / "tables" / "topics.csv")["name"].iloc[0]


def test_offline_no_network_references(report: tuple[Path, object]) -> None:
    text = report[0].read_text()
    assert "Content-Security-Policy" in text and "connect-src 'none'" in text
    assert not re.search(r'<(script|link|img|iframe)[^>]+(src|href)\s*=\s*"(https?:)?//', text, re.I)
    assert not re.search(r"""@import|url\(\s*['"]?https?:""", text)


def test_individual_mode_is_announced_on_the_first_screen(tmp_path: Path) -> None:
    html, res = make_report(tmp_path, individual=True)
    text = html.read_text()
    head = text[: text.index('<main')]
    assert 'id="individual-banner"' in head and "Individual mode" in head
    rel = res.computed.release  # type: ignore[attr-defined]
    assert (rel.min_users, rel.min_sessions) == (1, 1)
    assert "session bootstrap (individual mode)" in text


def test_team_report_has_no_individual_banner(report: tuple[Path, object]) -> None:
    text = report[0].read_text()
    assert 'id="individual-banner"' not in text
    assert "no cell describes fewer than 5 users or 10 sessions" in text


def test_complementary_suppression_protects_a_small_category(tmp_path: Path) -> None:
    """One mode with 3 sessions is suppressed; the next smallest is withheld too so it cannot be derived."""
    store = Store(tmp_path / "c.duckdb")
    c = synthetic_corpus(users=120, sessions=900, seed=5)
    f = c.facets.to_pandas()
    modes = np.array(["build"] * 500 + ["fix"] * 300 + ["operate"] * 85 + ["plan"] * 12 + ["write"] * 3)
    f["mode"] = modes[: len(f)]
    c.facets = pa.Table.from_pandas(f, preserve_index=False, schema=c.facets.schema)
    load_into(store, c, clusters=False, git=False)
    ctx = Context(load_report_data(store), ReleasePolicy(5, 10), B=20)
    t = fig_work_modes(ctx).table
    t = t[t["variable"] == "share_of_sessions"].set_index("mode")
    assert bool(t.loc["write", "suppressed"])
    assert bool(t.loc["plan", "suppressed"])  # 3 left over would be derivable from the total
    assert not bool(t.loc["operate", "suppressed"])
    released = t[~t["suppressed"]]["n_sessions"].sum()
    assert 900 - released >= 10
    store.close()


def test_figures_without_facets_say_why(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    c = synthetic_corpus(users=60, sessions=300, seed=9)
    store.replace_table("sessions", c.sessions)
    ctx = Context(load_report_data(store), ReleasePolicy(), B=20)
    figs = {f.id: f for f in build_figures(ctx)}
    assert figs["session_shape"].available and figs["coverage"].available and figs["usage_intensity"].available
    assert not figs["work_modes"].available and "classify" in figs["work_modes"].reason
    assert not figs["topics"].available
    store.close()


def test_topics_say_when_clusters_exist_but_none_was_released(tmp_path: Path) -> None:
    """After `codecensus cluster` on too few users every session's cluster is withheld; the report said "no topic
    clusters (run `codecensus cluster`)", asking for the command just run."""
    store = Store(tmp_path / "w.duckdb")
    load_into(store, synthetic_corpus(users=60, sessions=300, seed=9), git=False)
    store.con.execute("UPDATE session_clusters SET cluster_id = NULL")  # as cluster stores it when all are withheld
    topics = next(f for f in build_figures(Context(load_report_data(store), ReleasePolicy(), B=20), only=["topics"]))
    assert not topics.available
    assert "released" in topics.reason and "run `codecensus cluster`" not in topics.reason
    store.con.execute("DROP TABLE clusters")
    topics = next(f for f in build_figures(Context(load_report_data(store), ReleasePolicy(), B=20), only=["topics"]))
    assert topics.reason == "no topic clusters (run `codecensus cluster`)"
    store.close()


def test_abstentions_keep_their_honest_labels_and_leave_the_rest_out(tmp_path: Path) -> None:
    """An LLM abstention (reply unusable) stores placeholders for mode, expertise, decisions and value: the report must
    read those sessions exactly as sessions without a mode, while their outcome still counts as unclear."""
    from codecensus.classify.run import ensure_facets_table

    corpus = synthetic_corpus(users=80, sessions=600, seed=5)
    stores = {}
    for name in ("abstained", "no_mode"):
        store = Store(tmp_path / f"{name}.duckdb")
        load_into(store, corpus, clusters=False, git=False)
        ensure_facets_table(store)
        quarter = "hash(session_key) % 4 = 0"
        if name == "abstained":  # what classify writes for an abstention (classify.llm.abstention)
            store.con.execute(
                f"""UPDATE facets SET mode = 'build', mode_confidence = 0, expertise = 3, expertise_confidence = 0,
                    outcome = 'unclear', outcome_confidence = 0, occupation = 'not_inferable', summary = '',
                    user_planning_pct = 0, user_execution_pct = 0, value_hours = 0, value_usd = 0, abstained = true
                    WHERE {quarter}"""
            )
        else:  # the same sessions with no mode, expertise, decisions or value at all
            store.con.execute(
                f"""UPDATE facets SET mode = NULL, expertise = NULL, outcome = 'unclear', occupation = 'not_inferable',
                    user_planning_pct = NULL, user_execution_pct = NULL, value_hours = NULL, value_usd = NULL,
                    value_soc = NULL, trouble = NULL, recovered = NULL, abandoned = NULL WHERE {quarter}"""
            )
        stores[name] = store
    n_abst = stores["abstained"].one("SELECT count(*) FROM facets WHERE abstained")
    assert n_abst is not None and 100 < n_abst[0] < 200

    def figures(store: Store) -> dict[str, pd.DataFrame]:
        ctx = Context(load_report_data(store), ReleasePolicy(), B=20)
        ids = ["work_modes", "value_by_mode", "decisions", "outcomes_by_expertise", "expertise_shape"]
        return {f.id: f.table for f in build_figures(ctx, only=ids)}

    got, want = figures(stores["abstained"]), figures(stores["no_mode"])
    for fid, table in want.items():
        pd.testing.assert_frame_equal(got[fid], table, obj=fid)
    for store in stores.values():
        store.close()


def test_since_until_filter(tmp_path: Path) -> None:
    store = Store(tmp_path / "f.duckdb")
    load_into(store, synthetic_corpus(users=80, sessions=700, seed=2), clusters=False, git=False)
    d = load_report_data(store, "2025-12-01", "2026-01-31")
    assert set(d.months) == {"2025-12", "2026-01"}
    n = store.one("SELECT count(*) FROM sessions WHERE started_at >= '2025-12-01' AND started_at < '2026-02-01'")
    assert n is not None and len(d.df) == n[0]
    comp = compute(store, ReportOptions(since="2025-12-01", until="2026-01-31", bootstrap=20))
    assert comp.sessions == n[0]
    store.close()


def test_cli_report_and_summary(tmp_path: Path) -> None:
    from codecensus.cli import app

    db = tmp_path / "cli.duckdb"
    store = Store(db)
    load_into(store, synthetic_corpus(users=60, sessions=400, seed=4), clusters=False, git=False)
    store.close()
    runner = CliRunner()
    r = runner.invoke(app, ["report", "--db", str(db), "--out", str(tmp_path / "o"), "--bootstrap", "30"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "o" / "report.html").is_file()
    assert (tmp_path / "o" / "manifest-report.json").is_file()
    s = runner.invoke(app, ["summary", "--db", str(db), "--bootstrap", "30"])
    assert s.exit_code == 0, s.output
    assert "Work modes" in s.output and "By expertise" in s.output and "cells released" in s.output
    # nothing cut to fit 80 columns: the seven-column expertise table showed "suppres…" and "996–1,2…"
    assert "…" not in s.output, s.output
    assert "classified:" not in s.output  # every session is
    bad = runner.invoke(app, ["report", "--db", str(db), "--since", "yesterday"])
    assert bad.exit_code == 2
    # a partly classified database: the header said "400 sessions" beside shares of the classified ones only
    with Store(db) as st:
        st.con.execute("DELETE FROM facets WHERE session_key IN (SELECT session_key FROM facets LIMIT 150)")
    s = runner.invoke(app, ["summary", "--db", str(db), "--bootstrap", "30"])
    assert s.exit_code == 0, s.output
    assert "classified: 250 of them" in " ".join(s.output.split())


def test_intervals_do_not_depend_on_how_rows_are_stored(tmp_path: Path) -> None:
    """The same sessions and facets stored in another order give the same figures, intervals included."""
    store = Store(tmp_path / "o.duckdb")
    load_into(store, synthetic_corpus(users=80, sessions=600, seed=11), clusters=False, git=False)

    def work_modes() -> pd.DataFrame:
        return fig_work_modes(Context(load_report_data(store), ReleasePolicy(), B=40)).table

    before = work_modes()
    for t in ("sessions", "facets"):  # as re-classifying or re-ingesting can leave them
        store.con.execute(f"CREATE OR REPLACE TABLE {t} AS SELECT * FROM {t} ORDER BY md5(session_key)")
    after = work_modes()
    pd.testing.assert_frame_equal(before, after)
    store.close()


def test_success_figures_report_the_unclear_share_beside_them(tmp_path: Path) -> None:
    """Taxonomy §3: success shares exclude unclear outcomes, and the unclear share is always reported beside them."""
    store = Store(tmp_path / "u.duckdb")
    load_into(store, synthetic_corpus(users=120, sessions=1500, seed=3), clusters=False, git=False)
    data = load_report_data(store)
    figs = {f.id: f for f in build_figures(Context(data, ReleasePolicy(), B=20),
                                           only=["success_by_occupation", "success_trend"])}
    for fid in figs:
        t = figs[fid].table
        shown = t[(t["variable"] == "unclear") & ~t["suppressed"]]
        assert len(shown) >= 2, fid
    df = data.df
    t = figs["success_trend"].table
    for _, r in t[(t["variable"] == "unclear") & ~t["suppressed"]].iterrows():
        month = df[(df["month"] == r["month"]) & df["outcome"].notna()]
        assert r["value"] == pytest.approx((month["outcome"] == "unclear").mean())
    store.close()


def test_a_month_without_sessions_stays_on_the_axis(tmp_path: Path) -> None:
    """Trends keep an empty month (nothing released for it) instead of drawing straight across the gap."""
    store = Store(tmp_path / "gap.duckdb")
    load_into(store, synthetic_corpus(users=120, sessions=1500, seed=8), clusters=False, git=False)
    months = [r[0] for r in store.con.execute(
        "SELECT DISTINCT strftime(started_at, '%Y-%m') m FROM sessions ORDER BY m").fetchall()]
    gap = months[len(months) // 2]
    store.con.execute("DELETE FROM facets WHERE session_key IN "
                      "(SELECT session_key FROM sessions WHERE strftime(started_at, '%Y-%m') = ?)", [gap])
    store.con.execute("DELETE FROM sessions WHERE strftime(started_at, '%Y-%m') = ?", [gap])
    data = load_report_data(store)
    assert data.months == months
    figs = {f.id: f for f in build_figures(Context(data, ReleasePolicy(), B=20))}
    for fid in ("work_modes_by_month", "success_trend", "value_by_month"):
        t = figs[fid].table
        assert figs[fid].available, fid
        at_gap = t[t["month"] == gap]
        assert at_gap.empty or at_gap["suppressed"].all() or at_gap["value"].isna().all(), fid
    # the charts: each line has a point without a value at the gap, where Vega-Lite breaks it (the line was drawn
    # straight from the month before to the month after)
    from codecensus.report.charts import chart_specs

    for fid in ("work_modes_by_month", "success_trend", "value_by_month"):
        rows = [r for spec in chart_specs(figs[fid]) for d in spec.get("datasets", {}).values() for r in d]
        at_gap = [r for r in rows if str(r.get("month", "")) == gap]
        assert at_gap and all(r.get("value") is None for r in at_gap), fid
        assert any(r.get("value") is not None for r in rows), fid
    comp = compute(store, ReportOptions(bootstrap=20))
    assert comp.sessions == store.one("SELECT count(*) FROM sessions")[0]
    store.close()


def test_a_session_stamped_far_outside_plausible_time_is_one_without_a_time(tmp_path: Path) -> None:
    """One session stamped 9999 made the month axis 95,000 months long (every month from the first to the last is
    kept): a two-session report took 254 s. A start before 2000 or in the future is now a damaged timestamp."""
    import sys

    from codecensus.aggregate.figures import load_report_data
    from codecensus.ingest import ingest
    from codecensus.measure import build_sessions

    sys.path.insert(0, str(Path(__file__).parent))
    from ccbuild import standard_session

    root = tmp_path / "p"
    for sid, year in (("88888888-8888-4888-8888-888888888888", None), ("99999999-9999-4999-8999-999999999999", b"9999"),
                      ("77777777-7777-4777-8777-777777777777", b"1970")):
        f = root / f"{sid}.jsonl"
        standard_session(sid).write(f)
        if year:
            f.write_bytes(re.sub(rb'("timestamp": ?")20\d\d', rb"\g<1>" + year, f.read_bytes()))
    store = Store(tmp_path / "c.duckdb")
    ingest(store, [root], workers=0)
    build_sessions(store)
    data = load_report_data(store)
    store.close()
    assert len(data.df) == 3
    assert data.months == ["2026-01"] and data.sessions_without_time == 2


def test_one_session_of_one_user_is_said_in_the_singular(tmp_path: Path) -> None:
    """An individual report of one session read "1 coding-agent sessions from 1 users"."""
    import sys

    from codecensus.ingest import ingest
    from codecensus.measure import build_sessions

    sys.path.insert(0, str(Path(__file__).parent))
    from ccbuild import standard_session

    root = tmp_path / "p"
    standard_session("88888888-8888-4888-8888-888888888888").write(root / "s.jsonl")
    store = Store(tmp_path / "c.duckdb")
    ingest(store, [root], workers=0)
    build_sessions(store)
    res = write_report(store, ReportOptions(out=tmp_path / "out", bootstrap=20, seed=1, individual=True))
    store.close()
    page = res.html.read_text()
    lede = " ".join(page.partition('class="lede"')[2].partition("</p>")[0].split())
    assert "1 coding-agent session from 1 user," in lede and "fewer than 1 user or 1 session." in lede, lede
    # the rest of the page too: cards read "n = 1 sessions from 1 users · 1 cells released", the banner "1 user(s)"
    body = page.partition("<body>")[2].partition("<script")[0]
    text = " ".join(re.sub(r"<[^>]+>", " | ", body).split())  # a table cell ends at a bar
    assert not re.findall(r"\b1 (?:cells|sessions|users|months|repositories|commits)\b|\w\(s\)", text)
    assert "1 user and 1 session per cell" in text and "n = 1 session from 1 user" in text


def test_terminal_share_intervals_are_as_precise_as_their_value() -> None:
    """`summary` printed a 1.2% share with its interval rounded to whole percent: '1.2% 0–2'."""
    from codecensus.report.terminal import _cell

    t = pd.DataFrame([{"k": "a", "value": 0.012, "ci_low": 0.003, "ci_high": 0.024},
                      {"k": "b", "value": 0.45, "ci_low": 0.401, "ci_high": 0.497}])
    assert _cell(t, "share", k="a") == "1.2% [dim]0.3–2.4[/dim]"
    assert _cell(t, "share", k="b") == "45% [dim]40–50[/dim]"


def test_sessions_whose_expertise_abstained_are_in_no_expertise_level(tmp_path: Path) -> None:
    """The offline backend stores expertise NULL (not abstained as a whole) for a session with no human prompt:
    the by-expertise figures count it at no level, every other figure keeps it, and report, summary and the
    sessions export run and show it as empty (guard for the consumers of a NULL expertise)."""
    from codecensus.cli import app

    db = tmp_path / "e.duckdb"
    with Store(db) as store:
        load_into(store, synthetic_corpus(users=80, sessions=600, seed=5), clusters=False, git=False)
        store.con.execute("UPDATE facets SET expertise = NULL WHERE hash(session_key) % 4 = 0")
        n_null = store.one("SELECT count(*) FROM facets WHERE expertise IS NULL")
        assert n_null is not None and n_null[0] > 100
        data = load_report_data(store)
        ctx = Context(data, ReleasePolicy(), B=20)
        figs = {f.id: f for f in build_figures(ctx, only=["work_modes", "expertise_shape", "outcomes_by_expertise"])}
    assert set(figs["outcomes_by_expertise"].table["expertise"]) <= {1, 2, 3, 4, 5}
    assert int(data.df["expertise"].isna().sum()) == n_null[0] and data.df["mode"].notna().all()
    runner = CliRunner()
    r = runner.invoke(app, ["report", "--db", str(db), "--out", str(tmp_path / "o"), "--bootstrap", "20"])
    assert r.exit_code == 0, r.output
    s = runner.invoke(app, ["summary", "--db", str(db), "--bootstrap", "20"])
    assert s.exit_code == 0 and "By expertise" in s.output, s.output
    out = tmp_path / "sessions.jsonl"  # (the synthetic store's list column `models` has no CSV form)
    e = runner.invoke(app, ["sessions", "--db", str(db), "--format", "jsonl", "--out", str(out)])
    assert e.exit_code == 0, e.output
    rows = [json.loads(line)["expertise"] for line in out.read_text().splitlines()]
    assert sum(v is None for v in rows) == n_null[0]


def test_the_regression_withholds_its_n_beside_few_unclear_sessions_without_a_level(tmp_path: Path) -> None:
    """The store above (a quarter of the sessions without a level): the regression's n (the sessions with a known
    outcome and a level, 424) was printed beside the expertise figures' n (those with an outcome and a level, 462):
    462 - 424 are the 38 unclear sessions with a level, and the abstentions' unclear line less them the 9 unclear
    ones without a level (below the thresholds). The regression withholds its n now, with a note, and the release
    passes the audit (which refused the 9 before)."""
    from codecensus.aggregate.figures import EXPERTISE_LEVELS
    from codecensus.report.build import audit_release

    with Store(tmp_path / "e.duckdb") as store:
        load_into(store, synthetic_corpus(users=80, sessions=600, seed=5), clusters=False, git=False)
        store.con.execute("UPDATE facets SET expertise = NULL WHERE hash(session_key) % 4 = 0")
        ctx = Context(load_report_data(store), ReleasePolicy(), B=20)
    only = ["coverage", "abstentions", "expertise_shape", "expertise_shape_by_mode", "outcomes_by_expertise",
            "recovery_by_expertise", "regression", "success_trend"]
    figs = build_figures(ctx, only=only)
    by = {f.id: f for f in figs}
    df = ctx.data.df
    unclear = (df["outcome"].astype("string") == "unclear").fillna(False).to_numpy()
    level = df["expertise"].isin(list(EXPERTISE_LEVELS)).to_numpy()
    assert 0 < int((unclear & ~level).sum()) < ctx.policy.min_sessions  # the small group the n would give
    assert by["outcomes_by_expertise"].n_sessions >= ctx.policy.min_sessions  # printed: the other side of it
    reg = by["regression"]
    assert reg.n_sessions == 0 and reg.n_users == 0
    assert any("n withheld" in n and "unclear ones without a level" in n for n in reg.notes), reg.notes
    assert audit_release(figs, ctx.policy, users=ctx.boot.codes) == []
