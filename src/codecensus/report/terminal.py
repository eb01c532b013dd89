"""`codecensus summary`: the key figures in the terminal (rich), from the same released rows as the report."""

from __future__ import annotations

from typing import Any

import pandas as pd
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from codecensus.aggregate.figures import Figure
from codecensus.report.build import Computed
from codecensus.report.findings import count_noun, fmt_ci, fmt_value, index_base, suppressed_text
from codecensus.report.html import WITHHELD_ENDS, abstention_lines


def _released(fig: Figure | None, **eq: Any) -> pd.DataFrame:
    if fig is None or not fig.available or fig.table.empty:
        return pd.DataFrame()
    t = fig.table[~fig.table["suppressed"].astype(bool)]
    for k, v in eq.items():
        t = t[t[k] == v]
    return t


def _cell(t: pd.DataFrame, unit: str, **eq: Any) -> str:
    for k, v in eq.items():
        t = t[t[k] == v]
    if t.empty:
        return "[dim]suppressed[/dim]"
    r = t.iloc[0]
    lo, hi = r["ci_low"], r["ci_high"]
    if lo != lo or hi != hi:  # NaN
        return fmt_value(r["value"], unit)
    if unit == "share":  # each bound as precise as a value of its size (as the HTML): "1.2% 0.3–2.4", "9.5% 7.3–12"
        ci = "–".join(fmt_value(b, "share").removesuffix("%") for b in (lo, hi))
    elif unit == "index":
        ci = f"{lo:.0f}–{hi:.0f}"
    else:
        ci = f"{fmt_value(lo, unit)}–{fmt_value(hi, unit)}"
    return f"{fmt_value(r['value'], unit)} [dim]{ci}[/dim]"


def _not_classified(rest: int, abstentions: Figure | None) -> str:
    """What the sessions without classified facets are: not classified yet (`codecensus classify` classifies them),
    or classified but not answered at all (every facet abstains: classifying again gives the same). It said "run
    `codecensus classify` for the rest" of a store classify had gone through, for its 50 empty sessions."""
    t = _released(abstentions, facet="session", variable="abstained")
    if t.empty:  # none, or their count withheld
        return ("the others are not classified yet, or the classifier could not answer them: `codecensus classify` "
                "classifies the first")
    unanswered = int(t["value"].iloc[0])
    if unanswered >= rest:
        return f"the classifier could not answer the other {count_noun(rest, 'session')}: see why below"
    if unanswered == 0:
        return "run `codecensus classify` for the rest"
    return (f"the classifier could not answer {count_noun(unanswered, 'session')}; run `codecensus classify` for the "
            f"other {count_noun(rest - unanswered, 'session')}")


def render_summary(comp: Computed, console: Console) -> None:
    by = {f.id: f for f in comp.figures}
    rel = comp.release
    cov = by.get("coverage")
    first = cov.extra.get("first_day") if cov else None
    last = cov.extra.get("last_day") if cov else None
    head = Text()
    head.append("codecensus summary\n", style="bold")
    ok = cov is not None and cov.n_users >= rel.min_users and cov.n_sessions >= rel.min_sessions
    if ok and cov is not None:
        head.append(f"{count_noun(cov.n_sessions, 'session')} from {count_noun(cov.n_users, 'user')}")
        if first:
            head.append(f", {first} to {last}")
            if cov.extra.get("hidden_months"):  # counted above, but outside these dates (Context._months_to_show)
                head.append(f" ({WITHHELD_ENDS})")
        cls = _released(cov, variable="classified sessions")
        n_cls = int(cls["value"].iloc[0]) if not cls.empty else None
        if n_cls is not None and n_cls < cov.n_sessions:  # the facet figures cover only these
            head.append(f"\nclassified: {n_cls:,} of them; work modes, occupations, outcomes and value cover only "
                        f"those ({_not_classified(cov.n_sessions - n_cls, by.get('abstentions'))})", style="yellow")
    else:
        head.append("fewer sessions or users than the release thresholds: no figure can be released")
        if not rel.individual:
            head.append("\none person's own sessions: add --individual (thresholds lowered; not for publishing)",
                        style="yellow")
    head.append(f"\nthresholds: ≥{count_noun(rel.min_users, 'user')} and ≥{count_noun(rel.min_sessions, 'session')} per cell · intervals: "
                f"{rel.bootstrap}")
    parts: list[Any] = [head]
    if rel.individual:
        parts.append(Text("INDIVIDUAL MODE: thresholds lowered for one person's own data; do not publish.",
                          style="bold yellow"))
    console.print(Panel(Group(*parts), border_style="blue"))

    if comp.findings:
        t = Table(title="Key findings", show_header=False, title_justify="left", box=None, pad_edge=False)
        for f in comp.findings:
            t.add_row(f"• [bold]{f.headline}.[/bold] {f.detail}")
        console.print(t)

    wm = _released(by.get("work_modes"), variable="share_of_sessions")
    if not wm.empty:
        t = Table(title="Work modes", title_justify="left")
        t.add_column("mode")
        t.add_column("share of sessions (95% CI)", justify="right")
        t.add_column("sessions", justify="right")
        for r in wm.sort_values("value", ascending=False).itertuples():
            t.add_row(r.mode_label, _cell(wm, "share", mode=r.mode), fmt_value(r.n_sessions, "count"))
        console.print(t)

    out = _released(by.get("outcomes_by_expertise"))
    shape = _released(by.get("expertise_shape"))
    if not out.empty or not shape.empty:
        # two tables: the seven columns of one were cut to "suppres…" and "996–1,2…" in an 80-column terminal
        fig = by.get("outcomes_by_expertise") or by.get("expertise_shape")
        labels = fig.table[["expertise", "expertise_label"]].drop_duplicates() if fig is not None else pd.DataFrame()
        levels = list(labels.sort_values("expertise").itertuples())
        for title, frame, unit, cols in (
            ("By expertise: outcomes (share, then its 95% CI)", out, "share",
             (("strict success", "strict_success"), ("at least partial", "at_least_partial"), ("failure", "failure"),
              ("unclear", "unclear"))),
            ("By expertise: session shape (value, then its 95% CI)", shape, "number",
             (("actions / prompt", "actions_per_prompt"), ("words / prompt", "words_per_prompt"))),
        ):
            if frame.empty:
                continue
            t = Table(title=title, title_justify="left")
            t.add_column("expertise", overflow="fold")
            for head, _var in cols:
                t.add_column(head, justify="right", overflow="fold")
            for r in levels:
                t.add_row(r.expertise_label, *(_cell(frame, unit, expertise=r.expertise, variable=v) for _h, v in cols))
            console.print(t)

    reg = by.get("regression")
    rr = _released(reg)
    if reg is not None and not rr.empty:
        words = {"mode": "work mode", "month": "month", "occupation": "occupation", "value_band": "value band"}
        ctl = ", ".join(words.get(c, c) for c in reg.extra.get("controls", [])) or "none"
        se = "user-clustered SE" if reg.extra.get("clustered", True) else "robust SE"
        t = Table(title=f"Strict success on expertise (controls: {ctl}; {se})", title_justify="left")
        t.add_column("expertise")
        t.add_column("points vs reference", justify="right")
        t.add_column("95% CI", justify="right")
        t.add_column("p", justify="right")
        for r in rr.sort_values("expertise").itertuples():
            if r.reference:
                t.add_row(r.expertise_label, "reference", "", "")
                continue
            p = "< 0.001" if r.p_value < 0.001 else f"{r.p_value:.3f}"
            t.add_row(r.expertise_label, fmt_value(r.value, "pp"), fmt_ci(r.ci_low, r.ci_high, "pp"), p)
        console.print(t)

    base = index_base(by.get("value_by_month"))
    for fid, title, unit in (("value_by_month", f"Value per session (index, {base} = 100)", "index"),
                             ("success_trend", "Strict success by month", "share")):
        v = _released(by.get(fid))
        # only the two columns shown: a month whose unclear share alone was released printed a row of two
        # "suppressed" cells (the real corpus: a table of 2026-01 and 2026-04, every cell withheld)
        v = v[v["variable"].isin(["raw", "reweighted"])] if not v.empty else v
        if v.empty:
            fig = by.get(fid)
            if fig is not None and fig.available and not fig.table.empty:
                console.print(Text(f"{title}: every month withheld by the release rules.", style="dim"))
            continue
        t = Table(title=title, title_justify="left")
        t.add_column("month")
        t.add_column("as observed", justify="right")
        t.add_column("work-mode mix held fixed", justify="right")
        t.add_column("sessions", justify="right")
        for m in sorted(v["month"].unique()):
            row = v[(v["month"] == m) & (v["variable"] == "raw")]
            t.add_row(m, _cell(v, unit, month=m, variable="raw"), _cell(v, unit, month=m, variable="reweighted"),
                      fmt_value(row.iloc[0]["n_sessions"], "count") if len(row) else "")
        console.print(t)

    shp = by.get("session_shape")
    cost = _released(shp, metric="cost_usd", bin="all")
    if shp is not None and not cost.empty:
        n = cost[cost["variable"] == "median"]
        line = (f"Cost per session: median {_cell(cost, 'usd', variable='median')}, mean "
                f"{_cell(cost, 'usd', variable='mean')}"
                + (f" ({count_noun(n.iloc[0]['n_sessions'], 'session')})" if len(n) else ""))
        left = shp.extra.get("unknown_cost_sessions", 0)
        if left:  # the figure's caption says the same
            line += (f"; {count_noun(left, 'session')} left out: "
                     f"{'its model has' if left == 1 else 'their models have'} no known price")
        console.print(line)
    elif ok and shp is not None and shp.available and shp.extra.get("unknown_cost_sessions", 0) is None:
        console.print("Cost per session: withheld (the sessions whose model has no known price, which it would leave "
                      "out, are too few to release their number)")

    ab = by.get("abstentions")
    lines = abstention_lines(ab)
    if ab is not None and lines:
        t = Table(title="Why facets have no finding (sessions)", title_justify="left")
        t.add_column("facet without a finding")
        t.add_column("sessions", justify="right")
        t.add_column("why (sessions)")
        for a in lines:
            why = [f"{r} {n}" for r, n in a["reasons"]]
            if a["withheld"]:
                why.append(f"[dim]{a['withheld']} reason{'' if a['withheld'] == 1 else 's'} withheld[/dim]")
            t.add_row(a["facet"], a["total"], " · ".join(why) or "–")
        console.print(t)
        for note in ab.notes[1:]:  # (the first says what the lines count: in the table's title and the report)
            console.print(Text(note, style="yellow"))

    sup = suppressed_text([f.table for f in comp.figures if f.available])
    relc = sum(f.released_cells for f in comp.figures if f.available)
    missing = [f.title for f in comp.figures if not f.available]
    msg = f"{count_noun(relc, 'cell')} released" + (f", {sup}." if sup else ".")
    if missing:
        msg += f" Not available for this data: {', '.join(missing)}."
    console.print(Text(msg, style="dim"))


__all__ = ["render_summary"]
