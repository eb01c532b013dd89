"""The report's abstentions table: how many sessions each facet abstained on, and why, as released counts."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from rich.console import Console

from codecensus.aggregate.synthetic import load_into, synthetic_corpus
from codecensus.store import Store


def _compute(tmp_path: Path, edit: Any = None, *, users: int = 60, sessions: int = 1500, months: int | None = None,  # noqa: ANN401
             sessions_edit: Any = None, epsilon: float | None = None, since: str | None = None) -> Any:  # noqa: ANN401
    from codecensus.report.build import ReportOptions, compute

    kw = {"months": months} if months else {}
    c = synthetic_corpus(users=users, sessions=sessions, seed=4, **kw)
    s, f = c.sessions.to_pandas(), c.facets.to_pandas()
    if edit is not None:
        f = edit(s, f)
        c.facets = pa.Table.from_pandas(f, preserve_index=False)
    if sessions_edit is not None:
        c.sessions = pa.Table.from_pandas(sessions_edit(s), preserve_index=False)
    store = Store(tmp_path / "d.duckdb")
    load_into(store, c, clusters=False, git=False)
    comp = compute(store, ReportOptions(bootstrap=10, epsilon=epsilon, since=since))
    store.close()
    return comp


def _reasons(s: pd.DataFrame, f: pd.DataFrame, few: int = 0, few_reason: str = "nothing_done") -> pd.DataFrame:
    """Reasons as classify stores them; ``few`` unclear sessions of ``few`` users get ``few_reason``."""
    f = f.copy()
    f["expertise_reason"] = None
    f["occupation_reason"] = np.where(f["occupation"] == "not_inferable", "thin_evidence", None)
    f["outcome_reason"] = np.where(f["outcome"] == "unclear", "no_result", None)
    if few:
        m = f[f["outcome"] == "unclear"].merge(s[["session_key", "user"]], on="session_key")
        f.loc[f["session_key"].isin(m.drop_duplicates("user").head(few)["session_key"]), "outcome_reason"] = few_reason
    return f


def _by(comp: Any) -> dict[str, Any]:  # noqa: ANN401
    return {x.id: x for x in comp.figures}


def test_the_report_counts_each_facets_abstentions_by_reason(tmp_path: Path) -> None:
    """The facets table stores why each facet abstains; the report did not show it (no figure, no table)."""
    comp = _compute(tmp_path, _reasons)
    t = _by(comp)["abstentions"].table
    occ = t[t["facet"] == "occupation"].set_index("reason")
    out = t[t["facet"] == "outcome"].set_index("reason")
    assert not occ["suppressed"].any() and not out["suppressed"].any()
    assert int(occ.loc["all", "n_sessions"]) == int(occ.loc["thin_evidence", "n_sessions"]) > 0
    assert int(out.loc["all", "n_sessions"]) == int(out.loc["no_result", "n_sessions"]) > 0
    assert out.loc["no_result", "reason_label"] == "the transcript stops before any result"
    # the occupation line is the occupations figure's not-inferable cell: the same sessions
    o = _by(comp)["occupations"].table
    ni = o[(o["occupation"] == "not_inferable") & (o["variable"] == "share_of_sessions")]
    assert int(ni["n_sessions"].iloc[0]) == int(occ.loc["all", "n_sessions"])


def test_a_small_reason_is_withheld_and_not_recovered_from_its_lines_total(tmp_path: Path) -> None:
    """Three unclear sessions (three users) with 'nothing done': withheld, with another reason so that the line's
    total (released) less the released reasons is not those 3; the audit refuses a release that shows the other."""
    from codecensus.aggregate.figures import Figure
    from codecensus.report.build import audit_release

    comp = _compute(tmp_path, lambda s, f: _reasons(s, f, few=3))
    figs = _by(comp)
    t = figs["abstentions"].table
    out = t[t["facet"] == "outcome"]
    cells = out[out["variable"] == "sessions"]
    assert bool(cells.set_index("reason").loc["nothing_done", "suppressed"])
    total = int(out.loc[out["variable"] == "abstained", "n_sessions"].iloc[0])
    rest = total - int(cells.loc[~cells["suppressed"].astype(bool), "n_sessions"].sum())
    assert int(cells["suppressed"].sum()) >= 2 and rest >= comp.policy.min_sessions, (rest, cells)
    assert audit_release(comp.figures, comp.policy) == []
    # the leaky release: the complementary reason shown again beside its line's total
    leak = t.copy()
    i = leak.index[(leak["facet"] == "outcome") & (leak["reason"] == "no_result")][0]
    leak.loc[i, ["suppressed", "n_users", "n_sessions", "value"]] = [False, 40, total - 3, float(total - 3)]
    f = figs["abstentions"]
    bad = [x if x.id != "abstentions" else Figure(f.id, f.title, f.method, leak, f.keys, f.unit)
           for x in comp.figures]
    problems = audit_release(bad, comp.policy)
    assert any("figure abstentions (facet=outcome)" in p and "gives 3 sessions in 1 withheld" in p
               for p in problems), problems


def test_an_old_store_says_reasons_were_not_recorded(tmp_path: Path) -> None:
    """A facets table written before the reasons (no reason columns) reads 'not recorded: re-run classify', in the
    HTML and the terminal, with the line counts as before."""
    from codecensus.report.html import ReleaseView, render_html
    from codecensus.report.terminal import render_summary

    comp = _compute(tmp_path)  # the synthetic facets have no reason columns
    ab = _by(comp)["abstentions"]
    occ = ab.table[ab.table["facet"] == "occupation"].set_index("reason")
    assert int(occ.loc["not_recorded", "n_sessions"]) == int(occ.loc["all", "n_sessions"]) > 0
    assert any("Re-run `codecensus classify`" in n for n in ab.notes)
    html = render_html(comp.figures, comp.findings, ReleaseView(min_users=5, min_sessions=10))
    assert "Why facets have no finding" in html and "not recorded: re-run `codecensus classify`" in html
    buf = io.StringIO()
    render_summary(comp, Console(file=buf, width=200))
    text = buf.getvalue()
    assert "Why facets have no finding" in text and "not recorded: re-run `codecensus classify`" in text


def test_few_whole_session_abstentions_withhold_the_outcome_line(tmp_path: Path) -> None:
    """Three sessions the backend could not answer (three users): the whole-session line is withheld, and the outcome
    line with it (success trend's unclear sessions less the outcome line's are those 3); the audit refuses a release
    of the outcome line beside the withheld whole-session line."""
    from codecensus.aggregate.figures import Figure
    from codecensus.report.build import audit_release

    def edit(s: pd.DataFrame, f: pd.DataFrame) -> pd.DataFrame:
        f = _reasons(s, f)
        f["abstained"] = False
        m = f.merge(s[["session_key", "user"]], on="session_key").drop_duplicates("user").head(3)
        at = f["session_key"].isin(m["session_key"])
        f.loc[at, ["abstained", "outcome", "occupation", "expertise"]] = [True, "unclear", "not_inferable", None]
        f.loc[at, ["expertise_reason", "occupation_reason", "outcome_reason"]] = "empty_session"
        return f

    comp = _compute(tmp_path, edit)
    t = _by(comp)["abstentions"].table
    assert t.loc[t["facet"] == "session", "suppressed"].all(), t
    assert t.loc[t["facet"] == "outcome", "suppressed"].all(), t
    assert not t.loc[t["facet"] == "occupation", "suppressed"].all()
    assert audit_release(comp.figures, comp.policy) == []
    # the success trend's unclear months added up to every unclear session, and with its n (the known ones) to every
    # session with an outcome: less the classified (coverage, or the levels' sessions) the 3 (compute's final audit
    # refused the report before the fix). The unclear share of a month is withheld (with its complements); the months'
    # success shares and the trend's n stay
    m = _by(comp)["success_trend"].table
    gone = m[m["suppressed"].astype(bool)]
    assert len(gone) and set(gone["variable"]) == {"unclear"}, m  # the months' success shares all stay
    assert _by(comp)["success_trend"].n_sessions > 0
    leak = t.copy()
    at = leak["facet"] == "outcome"
    leak.loc[at, ["suppressed", "n_users", "n_sessions", "value"]] = [False, 40, 100, 100.0]
    f = _by(comp)["abstentions"]
    bad = [x if x.id != "abstentions" else Figure(f.id, f.title, f.method, leak, f.keys, f.unit)
           for x in comp.figures]
    assert any("facet=outcome): released, but the whole-session line is withheld" in p
               for p in audit_release(bad, comp.policy))


def test_a_small_outcome_line_withholds_the_known_outcomes_total(tmp_path: Path) -> None:
    """The other way round: 3 unclear sessions among the classified (three users) beside a quarter of the sessions,
    which the backend could not answer. The outcome line is withheld on its thresholds; with every unclear month of
    the success trend released (the months are exactly both lines' sessions) the whole-session line went with it.
    But the classified sessions (coverage, every facet figure's n: 1,126) less the success trend's n (the sessions
    with a known outcome, 1,123: the regression's n, the raw months' n added up) gave the 3 all the same. Those n
    are withheld now, and a month of the trend whole (with its complements; its rows add up to them); the months no longer give the
    outcome line from the whole-session line, which is released again (coverage gives it: all less classified)."""
    from codecensus.report.build import audit_release

    whole: list[int] = []

    def edit(s: pd.DataFrame, f: pd.DataFrame) -> pd.DataFrame:
        f = _reasons(s, f)
        f["abstained"] = False
        unclear = f["outcome"] == "unclear"
        m = f[unclear].merge(s[["session_key", "user"]], on="session_key")
        keep = f["session_key"].isin(m.drop_duplicates("user").head(3)["session_key"])
        f.loc[unclear & ~keep, ["outcome", "outcome_reason"]] = ["failure", None]
        at = ~keep & (np.arange(len(f)) % 4 == 0)
        f.loc[at, ["abstained", "outcome", "occupation", "expertise"]] = [True, "unclear", "not_inferable", None]
        f.loc[at, ["expertise_reason", "occupation_reason", "outcome_reason"]] = "empty_session"
        whole.append(int(at.sum()))
        return f

    comp = _compute(tmp_path, edit, months=6)  # before: ReleaseAuditFailed (the outcome line, 3 sessions)
    figs = _by(comp)
    t = figs["abstentions"].table
    assert t.loc[t["facet"] == "outcome", "suppressed"].all(), t
    assert not t.loc[t["facet"] == "occupation", "suppressed"].any(), t
    session = t[(t["facet"] == "session") & (t["reason"] == "all")]
    assert not session["suppressed"].any() and int(session["n_sessions"].iloc[0]) == whole[0], t
    for fid in ("success_trend", "regression"):
        assert figs[fid].n_sessions == 0 and figs[fid].sessions is None, fid
        assert any("n withheld" in n for n in figs[fid].notes), fid
    assert figs["outcomes_by_expertise"].n_sessions == figs["coverage"].table.set_index("variable").loc[
        "classified sessions", "n_sessions"]  # 1,126: the classified sessions all have a level
    m = figs["success_trend"].table
    gone = m.loc[m["suppressed"].astype(bool)]
    assert len(gone) and all(set(x["variable"]) == set(m["variable"]) for _k, x in gone.groupby("month")), m
    assert audit_release(comp.figures, comp.policy) == []


def _lines(outcome: tuple[int, int, bool], session: tuple[int, int, bool]) -> pd.DataFrame:
    """The outcome and whole-session lines of abstentions (total and one reason), over sessions [a, b)."""
    rows = []
    for facet, (a, b, sup) in (("outcome", outcome), ("session", session)):
        for reason, var in (("all", "abstained"), ("no_result", "sessions")):
            rows.append({"facet": facet, "facet_label": facet, "reason": reason, "reason_label": reason,
                         "variable": var, "value": np.nan if sup else float(b - a), "ci_low": np.nan,
                         "ci_high": np.nan, "n_users": pd.NA if sup else 20, "n_sessions": pd.NA if sup else b - a,
                         "suppressed": sup, "ci_method": "count", "suppression": None,
                         "_sessions": np.arange(a, b, dtype=np.int32)})
    return pd.DataFrame(rows)


def _unclear_months(cuts: list[tuple[str, int, int, bool]]) -> pd.DataFrame:
    return pd.DataFrame([{"month": mo, "variable": "unclear", "value": np.nan if sup else 0.1, "ci_low": np.nan,
                          "ci_high": np.nan, "n_users": pd.NA if sup else 20, "n_sessions": pd.NA if sup else b - a,
                          "suppressed": sup, "ci_method": "x", "_sessions": np.arange(a, b, dtype=np.int32)}
                         for mo, a, b, sup in cuts])


@pytest.mark.parametrize(("months", "outcome_withheld", "withheld"), [
    ([("2025-10", 0, 60, False), ("2025-11", 60, 112, False)], True, True),
    # a month withheld: the released months are not both lines, nothing follows
    ([("2025-10", 0, 60, False), ("2025-11", 60, 112, True)], True, False),
    # unclear sessions without a time (106-111): the months are not both lines either
    ([("2025-10", 0, 60, False), ("2025-11", 60, 106, False)], True, False),
    # the outcome line released: nothing to protect
    ([("2025-10", 0, 60, False), ("2025-11", 60, 112, False)], False, False),
])
def test_the_whole_session_line_is_withheld_only_where_the_months_give_the_outcome_line(
        months: list[tuple[str, int, int, bool]], outcome_withheld: bool, withheld: bool) -> None:
    """The outcome line (6 sessions) withheld: the whole-session line (106) goes with it only where the released
    unclear months are exactly both lines' sessions (112), as the final audit reads them."""
    from codecensus.aggregate.figures import Figure, withhold_linked

    keys = ["facet", "facet_label", "reason", "reason_label"]
    figs = [Figure("abstentions", "a", "", _lines((0, 6, outcome_withheld), (6, 112, False)), keys, "count"),
            Figure("success_trend", "s", "", _unclear_months(months), ["month"], "share")]
    t = withhold_linked(figs)[0].table
    s = t[t["facet"] == "session"]
    assert bool(s["suppressed"].all()) is withheld and bool(s["n_sessions"].isna().all()) is withheld, s


def test_the_occupation_line_goes_with_the_occupations_not_inferable_cell() -> None:
    """Where the occupations figure withholds its not-inferable cell (complementary suppression), the abstentions'
    occupation line, the same sessions, would give it back: it is withheld whole, and the audit refuses it shown."""
    from codecensus.aggregate.figures import Figure, withhold_linked
    from codecensus.report.build import _audit_abstentions

    occ = pd.DataFrame({"occupation": ["not_inferable", "15"], "occupation_label": ["x", "y"],
                        "variable": ["share_of_sessions"] * 2, "value": [np.nan, 0.5], "ci_low": np.nan,
                        "ci_high": np.nan, "n_users": pd.array([pd.NA, 30], "Int64"),
                        "n_sessions": pd.array([pd.NA, 300], "Int64"), "suppressed": [True, False],
                        "ci_method": None, "suppression": ["complementary", None]})
    ab = pd.DataFrame({"facet": ["occupation"] * 2, "facet_label": ["o"] * 2, "reason": ["all", "thin_evidence"],
                       "reason_label": ["all", "thin evidence"], "variable": ["abstained", "sessions"],
                       "value": [40.0, 40.0], "ci_low": np.nan, "ci_high": np.nan,
                       "n_users": pd.array([12, 12], "Int64"), "n_sessions": pd.array([40, 40], "Int64"),
                       "suppressed": [False, False], "ci_method": "count", "suppression": None})
    keys = ["facet", "facet_label", "reason", "reason_label"]
    figs = [Figure("occupations", "o", "", occ, ["occupation", "occupation_label"], "share"),
            Figure("abstentions", "a", "", ab.copy(), keys, "count")]
    assert any("facet=occupation): released, but occupations withholds" in p for p in _audit_abstentions(figs))
    out = withhold_linked(figs)
    t = out[1].table
    assert t["suppressed"].all() and t["n_sessions"].isna().all() and t["value"].isna().all()
    assert _audit_abstentions(out) == []


def test_the_dp_report_leaves_the_abstentions_out_with_its_reason(tmp_path: Path) -> None:
    """Under --epsilon the table is not released (three more noisy queries would take ε from every other figure):
    the report says so, and the query count (each query's ε) is what the options and the schema give."""
    pytest.importorskip("opendp")
    comp = _compute(tmp_path, _reasons, users=60, sessions=600, epsilon=2.0)
    ab = _by(comp)["abstentions"]
    assert not ab.available and "three more noisy queries" in ab.reason
    # coverage, occupations, modes, expertise x outcome and 5 levels' means: no month without --since, none added
    assert "(9 in this report" in " ".join(comp.release.notes), comp.release.notes


def test_the_summary_line_says_its_count_holds_months_outside_its_dates(tmp_path: Path) -> None:
    """One session of one user in 2026-10, months after the others: the terminal said '600 sessions ..., 2025-10-01
    to 2026-07-31', counting that session but not dating it; it now says that the count holds sessions of months
    withheld at the ends of the range (so does the HTML)."""
    from codecensus.report.html import ReleaseView, render_html
    from codecensus.report.terminal import render_summary

    def late(s: pd.DataFrame) -> pd.DataFrame:
        s.loc[s.index[0], "started_at"] = pd.Timestamp("2026-10-10", tz="UTC")
        return s

    comp = _compute(tmp_path, users=40, sessions=600, months=10, sessions_edit=late)
    cov = _by(comp)["coverage"]
    assert cov.extra["hidden_months"] == 1 and cov.extra["last_day"] < "2026-08"
    buf = io.StringIO()
    render_summary(comp, Console(file=buf, width=400))
    head = buf.getvalue().split("thresholds:")[0]
    assert "600 sessions" in head and "months withheld at the ends of the range" in head, head
    html = render_html(comp.figures, comp.findings, ReleaseView(min_users=5, min_sessions=10))
    assert "months withheld at the ends of the range" in html
    # a report without such months says nothing of them
    comp2 = _compute(tmp_path / "b", users=40, sessions=600, months=10)
    buf = io.StringIO()
    render_summary(comp2, Console(file=buf, width=400))
    assert "withheld at the ends" not in buf.getvalue()


@pytest.mark.parametrize(("unanswered", "unclassified", "says"), [
    (40, 0, "the classifier could not answer the other 40 sessions: see why below"),
    (0, 30, "run `codecensus classify` for the rest"),
    (40, 30, "the classifier could not answer 40 sessions; run `codecensus classify` for the other 30 sessions"),
    (3, 0, "the others are not classified yet, or the classifier could not answer them"),  # 3: withheld
])
def test_the_summary_tells_unanswered_sessions_from_unclassified_ones(
    tmp_path: Path, unanswered: int, unclassified: int, says: str
) -> None:
    """A store classify had gone through, with 50 sessions the classifier could not answer (the demo's empty
    sessions and greetings), read "classified: 1,450 of them ... (run `codecensus classify` for the rest)": classify
    skips them (already classified), so the advice did nothing. The summary now says which they are."""
    from codecensus.report.terminal import render_summary

    def edit(s: pd.DataFrame, f: pd.DataFrame) -> pd.DataFrame:
        f = _reasons(s, f)
        f["abstained"] = False
        one_each = f.merge(s[["session_key", "user"]], on="session_key").drop_duplicates("user")["session_key"]
        at = f["session_key"].isin(one_each.head(unanswered))
        f.loc[at, ["abstained", "outcome", "occupation", "expertise"]] = [True, "unclear", "not_inferable", None]
        f.loc[at, ["expertise_reason", "occupation_reason", "outcome_reason"]] = "empty_session"
        return f[~f["session_key"].isin(one_each.iloc[unanswered:unanswered + unclassified])]

    comp = _compute(tmp_path, edit, users=80)
    buf = io.StringIO()
    render_summary(comp, Console(file=buf, width=400))
    text = " ".join(buf.getvalue().replace("│", " ").split())
    assert f"classified: {1500 - unanswered - unclassified:,} of them" in text, text
    assert says in text, text
