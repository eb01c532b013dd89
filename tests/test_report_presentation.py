"""What a reader of the report sees next to each figure: why cells are withheld, what n counts, which interval, bins."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pandas as pd
import pytest

from codecensus.aggregate.figures import _bin_labels
from codecensus.aggregate.synthetic import load_into, synthetic_corpus
from codecensus.report.build import ReportOptions, write_report
from codecensus.report.terminal import _cell
from codecensus.store import Store


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, object]]:
    root = tmp_path_factory.mktemp("pres")
    store = Store(root / "r.duckdb")
    load_into(store, synthetic_corpus(users=160, sessions=1600, months=7, seed=3))
    res = write_report(store, ReportOptions(out=root / "out", bootstrap=20, seed=1))
    store.close()
    text = res.html.read_text(encoding="utf-8")
    return text, {f.id: f for f in res.computed.figures}


def _card(page: str, fid: str) -> str:
    """The visible text of one figure's card (tags dropped, entities decoded)."""
    part = page.partition(f'id="fig-{fid}"')[2].partition("</article>")[0]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", part)).split())


def test_suppressed_text_says_why_cells_were_withheld() -> None:
    """Every withheld cell was called 'below the thresholds': in the demo, Outcome by expertise read '16 suppressed
    (below the thresholds)' while 12 of them (Intermediate: 100 verified successes from 64 users) were withheld
    only so that the 4 small ones could not be worked out from totals released elsewhere."""
    from codecensus.report.findings import suppressed_text

    t = pd.DataFrame({"suppressed": [True] * 5 + [False],
                      "suppression": ["threshold", "complementary", "derived", "group_total", "complementary", None]})
    assert suppressed_text([t]) == ("5 suppressed (1 below the thresholds, 1 computed from a withheld cell, 3 withheld "
                                    "so that a small cell cannot be worked out from a released total)")
    only_small = pd.DataFrame({"suppressed": [True, False], "suppression": ["threshold", None]})
    assert suppressed_text([only_small]) == "1 suppressed (below the thresholds)"
    assert suppressed_text([pd.DataFrame({"suppressed": [False], "suppression": [None]})]) == ""


def test_each_figure_counts_its_withheld_cells_by_reason(built: tuple[str, dict[str, object]]) -> None:
    page, figs = built
    checked = 0
    for fid, f in figs.items():
        t = f.table  # type: ignore[attr-defined]
        if not f.available or "suppression" not in t:  # type: ignore[attr-defined]
            continue
        sup = t["suppressed"].astype(bool)
        other = int((sup & t["suppression"].isin(["complementary", "group_total"])).sum())
        card = _card(page, fid)
        if other:
            checked += 1
            assert f"{other:,} withheld so that a small cell cannot be worked out" in card, fid
            assert f"{int(sup.sum()):,} suppressed (below the thresholds)" not in card, fid
    assert checked, "the corpus gave no complementary suppression to check"


def test_git_adoption_n_counts_repositories_not_sessions(built: tuple[str, dict[str, object]]) -> None:
    """The demo's git figure read 'n = 948 sessions from 12 users': 948 commits in 12 repositories."""
    page, figs = built
    f = figs["git_adoption"]
    assert f.available  # type: ignore[attr-defined]
    card = _card(page, "git_adoption")
    assert f"n = {f.n_users:,} repositories ({f.n_sessions:,} commits)" in card  # type: ignore[attr-defined]
    assert "sessions from" not in card
    assert "95% CI repositories repositories" in card  # the table's n columns
    from codecensus.report.charts import chart_specs

    tips = [t.get("title") for spec in chart_specs(f) for layer in spec.get("layer", [spec])  # type: ignore[arg-type]
            for t in layer.get("encoding", {}).get("tooltip", [])]
    assert "repositories" in tips and "sessions" not in tips and "users" not in tips, tips


def test_bin_labels_name_the_values_a_bin_holds() -> None:
    """Prompts 3 and 4 were labelled '3–5' beside '5–9' (5 in both), and a cost of $1.00–1.99 (bin [1, 2)) '1'."""
    assert _bin_labels([1, 2, 3, 5, 9, 17, 33], integer=True) == ["1", "2", "3–4", "5–8", "9–16", "17–32", "33+"]
    assert _bin_labels([0, 0.1, 0.5, 1, 2, 5]) == ["0–0.1", "0.1–0.5", "0.5–1", "1–2", "2–5", "5+"]


def test_session_shape_bins_as_shown(built: tuple[str, dict[str, object]]) -> None:
    _, figs = built
    t = figs["session_shape"].table  # type: ignore[attr-defined]
    bins = {m: list(t[(t["metric"] == m) & (t["bin"] != "all")].sort_values("order")["bin"])
            for m in ("prompts", "cost_usd", "actions_per_prompt")}
    assert bins["prompts"][2:4] == ["3–4", "5–8"]
    assert "1–2" in bins["cost_usd"] and "1" not in bins["cost_usd"]
    assert bins["actions_per_prompt"][:2] == ["0–1", "1–2"]


def test_method_line_names_intervals_that_are_not_the_bootstrap(built: tuple[str, dict[str, object]]) -> None:
    """A released 0.0% share showed '0.0% – 1.8%' under a method line naming only the user-clustered bootstrap;
    the interval was Wilson's with the users as n (said only by the CSV's ci_method column)."""
    page, figs = built
    hit = 0
    for fid, f in figs.items():
        t = f.table  # type: ignore[attr-defined]
        if not f.available or "ci_method" not in t:  # type: ignore[attr-defined]
            continue
        used = set(t.loc[~t["suppressed"].astype(bool), "ci_method"].dropna())
        card = _card(page, fid)
        if "wilson on units (degenerate bootstrap)" in used:
            hit += 1
            assert "exactly 0% or 100% has a Wilson interval" in card, fid
        else:
            assert "exactly 0% or 100% has a Wilson interval" not in card, fid
    assert hit


def test_value_index_names_each_modes_base_month(built: tuple[str, dict[str, object]]) -> None:
    """The method said 'its first released month = 100' while Operate's first released month read 81: its base
    month passed the thresholds but was then withheld with a smaller cell. Each mode's base month is now named, and
    it is a month released (naming a withheld base told that it passed the thresholds): its row reads 100."""
    _, figs = built
    f = figs["value_by_mode"]
    t = f.table  # type: ignore[attr-defined]
    idx = t[(t["variable"] == "index") & ~t["suppressed"].astype(bool)]
    assert len(idx)
    for label, g in idx.groupby("mode_label"):
        base = re.search(rf"{re.escape(str(label))} (\d{{4}}-\d{{2}})", f.method)  # type: ignore[attr-defined]
        assert base, (label, f.method)  # type: ignore[attr-defined]
        at = g[g["month"] == base.group(1)]
        assert len(at) and base.group(1) == min(g["month"]), (label, base.group(1))
        assert float(at.iloc[0]["value"]) == pytest.approx(100.0)


def test_terminal_share_bounds_are_as_precise_as_the_html() -> None:
    """`summary` printed '9.5% 7–12' where the HTML says '9.5% (7.3% – 12%)'."""
    t = pd.DataFrame([{"k": "a", "value": 0.095, "ci_low": 0.0729, "ci_high": 0.1202}])
    assert _cell(t, "share", k="a") == "9.5% [dim]7.3–12[/dim]"


def test_report_manifest_names_what_classified_the_sessions(tmp_path: Path) -> None:
    """manifest-report.json had thresholds, packages and seeds but not the backend, model or rubric hash of the
    facets behind the figures: reports from two rubric versions could not be told apart afterwards."""
    import json

    from typer.testing import CliRunner

    from codecensus.cli import app

    db = tmp_path / "m.duckdb"
    store = Store(db)
    load_into(store, synthetic_corpus(users=60, sessions=400, seed=4), clusters=False, git=False)
    with store.con.cursor() as cur:  # one month classified by a second rubric version
        first = cur.execute("SELECT min(started_at) FROM sessions").fetchone()[0]
        cur.execute("UPDATE facets SET rubric_hash = 'r2' WHERE session_key IN (SELECT session_key FROM sessions "
                    "WHERE started_at >= ? + INTERVAL 60 DAY)", [first])
    store.close()
    r = CliRunner().invoke(app, ["report", "--db", str(db), "--out", str(tmp_path / "o"), "--bootstrap", "20"])
    assert r.exit_code == 0, r.output
    man = json.loads((tmp_path / "o" / "manifest-report.json").read_text())
    got = {(c["backend"], c["model"], c["rubric_hash"]) for c in man["classified_by"]}
    assert {h for _, _, h in got} == {"synthetic", "r2"}, got
    day = str(first)[:10]
    r = CliRunner().invoke(app, ["report", "--db", str(db), "--out", str(tmp_path / "o2"), "--bootstrap", "20",
                                 "--until", day])
    assert r.exit_code == 0, r.output
    man = json.loads((tmp_path / "o2" / "manifest-report.json").read_text())
    assert [c["rubric_hash"] for c in man["classified_by"]] == ["synthetic"]


def test_coverage_lists_agent_versions_in_version_order() -> None:
    """The demo listed agent versions as strings: 1.0.100 ... 1.0.128 before 1.0.51, 2.1.100 before 2.1.11."""
    from codecensus.aggregate.figures import Figure
    from codecensus.report.html import _coverage_view

    levels = ["1.0.100", "1.0.51", "2.1.10", "2.1.9", "unknown"]
    t = pd.DataFrame([{"dimension": "agent version", "level": lv, "variable": "sessions", "value": 20.0,
                       "n_users": 6, "suppressed": False} for lv in levels]
                     + [{"dimension": "all", "level": "all", "variable": "sessions", "value": 100.0, "n_users": 30,
                         "suppressed": False}])
    view = _coverage_view(Figure("coverage", "Data coverage", "", t, ["dimension", "level"], "count"))
    assert [r["level"] for r in view["dims"]["agent version"]] == ["1.0.51", "1.0.100", "2.1.9", "2.1.10", "unknown"]


def test_small_numbers_are_not_shown_as_zero() -> None:
    """Usage intensity read 'active hours median per user-week 0.0 (0.0 – 0.0)' for 0.041 h (about 2.5 minutes)."""
    from codecensus.report.findings import fmt_ci, fmt_value

    assert fmt_value(0.0411, "number") == "0.041"
    assert fmt_ci(0.0368, 0.0469, "number") == "0.037 – 0.047"
    assert fmt_value(0.0, "number") == "0.0" and fmt_value(3.14159, "number") == "3.1"


def test_a_month_missing_from_one_small_multiple_breaks_its_line() -> None:
    """A panel's month withheld while another panel released it was not filled: Write's line in the demo's value index
    ran straight from November to January across its withheld December."""
    from codecensus.report.charts import _month_gaps

    df = pd.DataFrame({"mode_label": ["Build"] * 3 + ["Write"] * 2,
                       "month": ["2025-10", "2025-11", "2025-12", "2025-10", "2025-12"],
                       "value": [1.0, 2.0, 3.0, 4.0, 5.0]})
    out = _month_gaps(df, ["mode_label"])
    gap = out[(out["mode_label"] == "Write") & (out["month"] == "2025-11")]
    assert len(gap) == 1 and gap["value"].isna().all()
    assert len(out) == 6
    full = df[df["mode_label"] == "Build"]
    assert _month_gaps(full, ["mode_label"]) is full  # nothing missing: unchanged


def test_counts_agree_with_their_nouns() -> None:
    """The regression card read '1 cells released'; the individual banner '1 user(s) and 1 session(s)'."""
    from codecensus.report.findings import count_noun

    assert count_noun(1, "cell") == "1 cell" and count_noun(2, "cell") == "2 cells"
    assert count_noun(1500, "session") == "1,500 sessions" and count_noun(0, "user") == "0 users"
    assert count_noun(1, "repository", "repositories") == "1 repository"
    assert count_noun(3.0, "repository", "repositories") == "3 repositories"
    assert count_noun(None, "session") == "– sessions"


def test_coverage_counts_withheld_levels_instead_of_listing_them() -> None:
    """The demo's coverage card listed ~330 withheld agent versions one per row, each 'suppressed'."""
    from codecensus.aggregate.figures import Figure
    from codecensus.report.html import _coverage_view

    rows = [("agent version", "1.0.51", False), ("agent version", "2.0.1", False)]
    rows += [("agent version", f"1.0.{i}", True) for i in range(52, 382)]
    rows += [("entrypoint", "cli", False), ("entrypoint", "sdk", True)]
    rows += [("model", f"m{i}", True) for i in range(3)]
    t = pd.DataFrame([{"dimension": d, "level": lv, "variable": "sessions", "value": None if s else 20.0,
                       "n_users": None if s else 6, "suppressed": s} for d, lv, s in rows])
    dims = _coverage_view(Figure("coverage", "Data coverage", "", t, ["dimension", "level"], "count"))["dims"]
    assert [r["level"] for r in dims["agent version"]] == ["1.0.51", "2.0.1", "and 330 other versions"]
    assert dims["agent version"][-1]["sessions"] == "suppressed"
    assert [r["level"] for r in dims["entrypoint"]] == ["cli", "sdk"]  # one withheld level keeps its row
    assert [r["level"] for r in dims["model"]] == ["3 models"]


def test_abandonment_says_it_counts_partial_outcomes(built: tuple[str, dict[str, object]]) -> None:
    """The demo's 'abandoned unresolved' held 324 partial outcomes of 485 (the taxonomy's flag: trouble the user
    stopped with unresolved, whatever part of the goal was reached), while the card read like a failure rate."""
    page, figs = built
    card = _card(page, "recovery_by_expertise")
    assert "partial outcomes left with the problem open as well as failures" in card
    assert "not the failure rate" in card and "success, verified or not (recovered)" in card
    specs = page.partition('id="cc-specs">')[2].partition("</script>")[0]
    assert "abandoned, partial included (of those in trouble)" in specs


def test_an_occupation_released_only_as_zeros_gets_no_panel() -> None:
    """The demo's occupations by month drew five panels of 0 % lines: each occupation's months with sessions were all
    withheld (to protect software's cells), and only its empty months (0 sessions, released) were left, so the chart
    said "none" where the truth was withheld. Such an occupation gets no panel; with none left there is no chart, and
    the card says why."""
    from codecensus.aggregate.figures import Figure
    from codecensus.report.charts import chart_specs
    from codecensus.report.html import ReleaseView, _figure_view

    def row(occ: str, month: str, value: float | None, n: int, sup: bool) -> dict[str, object]:
        return {"occupation": occ, "occupation_label": occ.title(), "month": month, "variable": "share_where_inferable",
                "value": value, "ci_low": 0.0, "ci_high": 0.05, "n_sessions": n, "n_users": min(n, 5),
                "suppressed": sup}

    zeros = [row("legal", m, 0.0, 0, False) for m in ("2025-10", "2025-11")] + [row("legal", "2025-12", None, 0, True)]
    some = [row("sales", "2025-10", 0.2, 12, False), row("sales", "2025-11", 0.0, 0, False)]
    fig = Figure("occupations_by_month", "Occupations by month", "m", pd.DataFrame(zeros + some), ["occupation", "month"],
                 "share", extra={"shown": ["legal", "sales"]})
    spec = chart_specs(fig)
    assert len(spec) == 1
    labels = set(pd.DataFrame(next(iter(spec[0]["datasets"].values())))["occupation_label"])
    assert labels == {"Sales"}
    only_zeros = Figure("occupations_by_month", "Occupations by month", "m", pd.DataFrame(zeros), ["occupation", "month"],
                        "share", extra={"shown": ["legal"]})
    assert chart_specs(only_zeros) == []
    view = _figure_view(only_zeros, ReleaseView(min_users=5, min_sessions=10), [], {})
    assert view["charts"] == [] and "No chart" in view["no_chart"]


def test_regression_subtitle_reads_as_a_sentence(built: tuple[str, dict[str, object]]) -> None:
    """It read 'relative to 1 Novice users'."""
    _, figs = built
    reg = figs["regression"]
    if not reg.available:  # type: ignore[attr-defined]
        pytest.skip("no regression on this corpus")
    sub = reg.subtitle  # type: ignore[attr-defined]
    assert "reference level (" in sub and not re.search(r"\d \w+ users", sub), sub


@pytest.mark.parametrize(("unpriced", "min_users", "says"), [
    (0, 5, None),
    (1, 1, "1 session whose model has no known price"),
    (40, 5, "40 sessions whose models have no known price"),
    (2, 5, "cost is withheld"),
])
def test_cost_caption_says_how_many_sessions_have_no_known_price(
    tmp_path: Path, unpriced: int, min_users: int, says: str | None
) -> None:
    """A model with no list price gives a NULL cost: the cost metric leaves those sessions out, and only its n showed
    it (1,560 beside the figure's 1,600); the caption said nothing. Now the caption, and the terminal summary, say how
    many were left out, in the right number. A count below the release thresholds (5 users) is not given, and the
    cost metric is then withheld whole: its n beside the other metrics' gave that count by subtraction."""
    import io

    import pyarrow as pa
    from rich.console import Console

    from codecensus.report.terminal import render_summary

    c = synthetic_corpus(users=160, sessions=1600, months=7, seed=3)
    s = c.sessions.to_pandas()
    users = s.loc[s["prompts"] > 0].drop_duplicates("user")  # one session per user: the count's users = sessions
    s.loc[users.index[:unpriced], "cost_usd"] = None
    c.sessions = pa.Table.from_pandas(s, schema=c.sessions.schema, preserve_index=False)
    store = Store(tmp_path / "r.duckdb")
    load_into(store, c, clusters=False, git=False)
    res = write_report(store, ReportOptions(out=tmp_path / "out", bootstrap=20, seed=1, individual=min_users == 1))
    store.close()
    fig = next(f for f in res.computed.figures if f.id == "session_shape")
    card = _card(res.html.read_text(encoding="utf-8"), "session_shape")
    out = io.StringIO()
    render_summary(res.computed, Console(file=out, width=300, color_system=None))
    term = " ".join(out.getvalue().split())
    assert ("Cost per session: median" in term) == (unpriced != 2)
    if says is None:
        assert "known price" not in fig.method and "known price" not in card and "known price" not in term
        return
    assert says in fig.method and says in card, fig.method
    if unpriced == 1:
        assert "1 session left out: its model has no known price" in term
    elif says.startswith("cost is withheld"):
        # prompts' n minus cost's n gave the 2 unpriced sessions: the cost metric is withheld whole
        assert "Cost per session: withheld" in term and "Cost per session: median" not in term
        assert f"{unpriced} session" not in fig.method
        cost = fig.table[fig.table["metric"] == "cost_usd"]
        assert cost["suppressed"].all() and cost["n_sessions"].isna().all()
        assert not fig.table.loc[fig.table["metric"] == "prompts", "suppressed"].all()
    else:
        assert f"{unpriced} sessions left out: their models have no known price" in term


def test_month_gaps_keeps_a_row_of_no_month() -> None:
    """A trend's rows with the month 'unknown' (sessions without a time) beside real months: the month range ran
    from '2025-10' to 'unknown' and pandas raised (ValueError: could not parse 'unknown' as a period)."""
    from codecensus.report.charts import _month_gaps

    df = pd.DataFrame({"mode_label": ["Build"] * 3, "month": ["2025-10", "2025-12", "unknown"], "value": [1.0, 2.0, 3.0]})
    out = _month_gaps(df, ["mode_label"])
    assert out["month"].tolist() == ["2025-10", "2025-11", "2025-12", "unknown"]
    assert out["value"].isna().tolist() == [False, True, False, False]
    only = df[df["month"] == "unknown"]
    assert _month_gaps(only, ["mode_label"]) is only


def test_audit_messages_count_their_cells_in_the_right_number() -> None:
    """The audit said 'in 1 withheld cell(s)' and '1 released cell(s) break the release policy (5 users / 10 sessions
    per cell)', where the rest of the report writes '1 cell' and '2 cells'."""
    from codecensus.aggregate.figures import Figure
    from codecensus.aggregate.privacy import ReleasePolicy
    from codecensus.report.build import _refusal, audit_release

    pol = ReleasePolicy()
    t = pd.DataFrame([{"mode": m, "rollup": "code", "variable": var, "value": v, "ci_low": None, "ci_high": None,
                       "n_users": u, "n_sessions": n, "suppressed": sup, "ci_method": None}
                      for m, var, v, u, n, sup in (("build", "share_of_sessions", 0.5, 30, 100, False),
                                                   ("fix", "share_of_sessions", None, None, None, True),
                                                   ("code", "share_of_sessions_rollup", 0.6, 40, 103, False))])
    problems = audit_release([Figure("work_modes", "x", "", t, ["mode", "rollup"], "share")], pol)
    assert any("gives 3 sessions in 1 withheld cell" in p for p in problems), problems
    text = " ".join(problems)
    assert "(s)" not in text
    msg = str(_refusal(["figure x: one problem"], pol, False))
    assert "1 released cell breaks" in msg and "5 users / 10 sessions per cell" in msg and "(s)" not in msg
    msg = str(_refusal(["a", "b"], pol, False))
    assert "2 released cells break" in msg


def test_a_shape_metric_that_leaves_out_a_small_group_is_withheld(tmp_path: Path) -> None:
    """Active minutes leave out sessions with no recorded turn time: its n beside prompts' n gave their number (3
    sessions of 3 users) by subtraction. Below the thresholds the metric is withheld whole; the others stay."""
    import pyarrow as pa

    from codecensus.aggregate.figures import Context, build_figures
    from codecensus.aggregate.privacy import ReleasePolicy
    from codecensus.report.build import load_report_data

    c = synthetic_corpus(users=160, sessions=1600, months=7, seed=3)
    s = c.sessions.to_pandas()
    users = s.loc[s["prompts"] > 0].drop_duplicates("user")
    s.loc[users.index[:3], "active_s"] = None
    c.sessions = pa.Table.from_pandas(s, schema=c.sessions.schema, preserve_index=False)
    with Store(tmp_path / "r.duckdb") as store:
        load_into(store, c, clusters=False, git=False)
        ctx = Context(load_report_data(store), ReleasePolicy(), B=20)
        t = build_figures(ctx, only=["session_shape"])[0].table
    released = t[~t["suppressed"].astype(bool) & (t["bin"] == "all")]
    assert "active_minutes" not in set(released["metric"])
    assert {"prompts", "actions_per_prompt", "words_per_prompt", "cost_usd"} <= set(released["metric"])


def test_a_sole_subtopic_of_its_parents_sessions_is_not_shown_apart() -> None:
    """Demo: "Explain service" (67 sessions) showed "1 subtopic": "Explain notes", the same 67 sessions. A sole
    subtopic holding exactly its parent's sessions is the same group: its own subtopics show under the parent."""
    from codecensus.aggregate.figures import Figure
    from codecensus.report.html import _topic_tree

    def row(cid: str, parent: str | None, depth: int, n: int) -> dict:
        return {"cluster_id": cid, "parent_id": parent, "depth": depth, "name": cid, "description": "",
                "variable": "share_of_sessions", "value": n / 200, "ci_low": 0.0, "ci_high": 1.0, "n_users": n // 2,
                "n_sessions": n, "suppressed": False}

    t = pd.DataFrame([row("A", None, 0, 67), row("B", "A", 1, 67), row("C", "B", 2, 40), row("D", "B", 2, 27),
                      row("E", None, 0, 30), row("F", "E", 1, 20), row("G", "E", 1, 10),
                      row("H", None, 0, 12), row("I", "H", 1, 12), row("J", None, 0, 45), row("K", "J", 1, 30)])
    tree = {n["cluster_id"]: n for n in _topic_tree(Figure("topics", "Topics", "", t, ["cluster_id"], "share"))}
    assert [c["cluster_id"] for c in tree["A"]["children"]] == ["C", "D"]  # B, the same 67 sessions, not apart
    assert [c["cluster_id"] for c in tree["E"]["children"]] == ["F", "G"]
    assert tree["H"]["children"] == []
    assert [c["cluster_id"] for c in tree["J"]["children"]] == ["K"]  # a sole subtopic of fewer sessions stays
