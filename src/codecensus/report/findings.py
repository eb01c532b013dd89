"""Key findings in plain words, read off released figure rows (shared by the HTML report and the terminal)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from codecensus.aggregate.figures import Figure


@dataclass(slots=True)
class Finding:
    figure: str
    headline: str
    detail: str


def fmt_value(v: Any, unit: str, *, signed: bool = False) -> str:
    """Format a released value for display ("–" when missing)."""
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return "–"
    x = float(v)
    if unit == "share":
        s = f"{x * 100:.1f}%" if abs(x) < 0.1 else f"{x * 100:.0f}%"
        return ("+" if signed and x > 0 else "") + s
    if unit == "usd":
        return f"${x:,.0f}" if abs(x) >= 10 else f"${x:,.2f}"
    if unit == "pp":
        return f"{x:+.1f} pts"
    if unit == "index":
        return f"{x:,.0f}"
    if unit == "count":
        return f"{x:,.0f}"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if 0 < abs(x) < 0.1:  # two significant digits: a median of 0.041 active hours per user-week read "0.0"
        return f"{x:.2g}" if abs(x) >= 0.0001 else f"{x:.1e}"
    return f"{x:,.1f}"


def count_noun(n: Any, singular: str, plural: str | None = None) -> str:
    """'1 cell', '2 cells', '1,500 sessions': a count with its noun in the number it needs ("1 cells released")."""
    many = plural or f"{singular}s"
    if n is None or n is pd.NA or (isinstance(n, float) and math.isnan(n)):
        return f"– {many}"
    return f"{fmt_value(n, 'count')} {singular if float(n) == 1 else many}"


def fmt_ci(lo: Any, hi: Any, unit: str) -> str:
    if lo is None or hi is None or (isinstance(lo, float) and math.isnan(lo)) or (isinstance(hi, float) and math.isnan(hi)):
        return ""
    return f"{fmt_value(lo, unit)} – {fmt_value(hi, unit)}"


# the release rules' reasons for a withheld cell (the tables' suppression column): under the thresholds; computed
# from a withheld cell (an index, a difference); or withheld beside a small cell that a released total would give away
_BELOW_THRESHOLDS = ("threshold", "dp_threshold")
_PROTECTING = ("complementary", "group_total")


def suppressed_text(tables: list[pd.DataFrame | None]) -> str:
    """'24 suppressed (4 below the thresholds, 20 withheld so that ...)' for the withheld cells of figure tables.

    Every withheld cell was called 'below the thresholds', also cells of 100 sessions from 64 users withheld beside
    a small one (complementary suppression): the reader could not tell a rule from a fault.
    """
    below = derived = other = 0
    for t in tables:
        if t is None or "suppressed" not in t or not len(t):
            continue
        sup = t["suppressed"].astype(bool)
        reason = t["suppression"] if "suppression" in t else pd.Series(None, index=t.index, dtype=object)
        n_other = int((sup & reason.isin(_PROTECTING)).sum())
        n_derived = int((sup & (reason == "derived")).sum())
        other += n_other
        derived += n_derived
        below += int(sup.sum()) - n_other - n_derived
    if not derived and not other:
        return f"{below:,} suppressed (below the thresholds)" if below else ""
    parts = [f"{below:,} below the thresholds"] if below else []
    if derived:
        parts.append(f"{derived:,} computed from a withheld cell")
    if other:
        parts.append(f"{other:,} withheld so that a small cell cannot be worked out from a released total")
    return f"{below + derived + other:,} suppressed ({', '.join(parts)})"


def _rel(fig: Figure | None, **eq: Any) -> pd.DataFrame:
    if fig is None or not fig.available or fig.table.empty:
        return pd.DataFrame()
    t = fig.table[~fig.table["suppressed"].astype(bool)]
    for k, v in eq.items():
        t = t[t[k] == v]
    return t


def _with_ci(row: pd.Series, unit: str) -> str:
    ci = fmt_ci(row["ci_low"], row["ci_high"], unit)
    return f"{fmt_value(row['value'], unit)}" + (f" (95% CI {ci})" if ci else "")


def _direction(lo: pd.Series, hi: pd.Series) -> str:
    """'rises' / 'falls' when the two intervals do not overlap, else 'is not clearly different'.

    Overlapping intervals do not show a small difference (5% against 50% can overlap when the cells are small),
    only one the data cannot establish: the words say so, not that the value 'barely changes'.
    """
    if lo["ci_high"] == lo["ci_high"] and hi["ci_low"] == hi["ci_low"] and hi["ci_low"] > lo["ci_high"]:
        return "rises"
    if lo["ci_low"] == lo["ci_low"] and hi["ci_high"] == hi["ci_high"] and hi["ci_high"] < lo["ci_low"]:
        return "falls"
    return "is not clearly different"


def index_base(fig: Figure | None, default: str = "first month") -> str:
    """The month an index figure is relative to (its ``base_month``), else ``default``."""
    base = fig.extra.get("base_month") if fig is not None else None
    return str(base) if base else default


def _largest_is_known(t: pd.DataFrame) -> bool:
    """Whether the released shares show which cell is the largest: its share is above zero and at least what the
    suppressed cells hold together (1 - the released shares), so no suppressed cell can be larger."""
    vals = t["value"].astype(float)
    top = float(vals.max())
    return top > 0 and top >= 1 - float(vals.sum()) - 1e-9


def key_findings(figs: list[Figure]) -> list[Finding]:
    by = {f.id: f for f in figs}
    out: list[Finding] = []
    t = _rel(by.get("work_modes"), variable="share_of_sessions")
    if not t.empty:
        top = t.sort_values("value", ascending=False).head(3)
        parts = [f"{r.mode_label.lower()} {fmt_value(r.value, 'share')}" for r in top.itertuples()]
        first = top.iloc[0]
        if _largest_is_known(t):
            out.append(Finding("work_modes", f"{first['mode_label']} is the largest work mode "
                               f"({fmt_value(first['value'], 'share')} of sessions)",
                               "Largest work modes: " + ", ".join(parts) + "."))
        elif first["value"] > 0:  # a suppressed mode may be larger: said of the released ones only
            out.append(Finding("work_modes", f"{first['mode_label']}: {fmt_value(first['value'], 'share')} of "
                               "sessions, the largest of the work modes released",
                               "Largest released work modes: " + ", ".join(parts) + " (the others are below the "
                               "release thresholds)."))
    t = _rel(by.get("outcomes_by_expertise"), variable="strict_success")
    if len(t) >= 2:
        lo, hi = t.sort_values("expertise").iloc[0], t.sort_values("expertise").iloc[-1]
        trend = _direction(lo, hi)
        out.append(Finding("outcomes_by_expertise",
                           f"Strict success {fmt_value(lo['value'], 'share')} at {lo['expertise_label'].split(' ', 1)[1].lower()}"
                           f" level, {fmt_value(hi['value'], 'share')} at {hi['expertise_label'].split(' ', 1)[1].lower()} level",
                           f"Verified success {trend} "
                           f"{'with expertise' if trend in ('rises', 'falls') else 'by expertise (the intervals overlap)'}"
                           f": {_with_ci(lo, 'share')} for level {lo['expertise']} "
                           f"vs {_with_ci(hi, 'share')} for level {hi['expertise']}."))
    t = _rel(by.get("expertise_shape"), variable="actions_per_prompt")
    w = _rel(by.get("expertise_shape"), variable="words_per_prompt")
    if len(t) >= 2:
        a0, a1 = t.sort_values("expertise").iloc[0], t.sort_values("expertise").iloc[-1]
        detail = (f"Actions per prompt: {fmt_value(a0['value'], 'number')} at level {a0['expertise']} vs "
                  f"{fmt_value(a1['value'], 'number')} at level {a1['expertise']}")
        if len(w) >= 2:
            w0, w1 = w.sort_values("expertise").iloc[0], w.sort_values("expertise").iloc[-1]
            detail += (f"; words of output per prompt: {fmt_value(w0['value'], 'number')} vs "
                       f"{fmt_value(w1['value'], 'number')}")
        trend = _direction(a0, a1)
        head = {"rises": "Experts delegate bigger steps", "falls": "Experts take smaller steps per prompt"}.get(
            trend, "Actions per prompt do not clearly differ by expertise (the intervals overlap)")
        out.append(Finding("expertise_shape", head, detail + "."))
    reg = by.get("regression")
    t = _rel(reg)
    is_ref = t["reference"].astype(bool) if "reference" in t else None
    # Small data may leave no reference level or no compared level released: then there is no finding.
    if reg is not None and is_ref is not None and is_ref.any() and (~is_ref).any():
        r = t[~is_ref].sort_values("expertise").iloc[-1]
        ref = t[is_ref].iloc[0]
        ctl = ", ".join({"mode": "work mode", "month": "month", "occupation": "occupation",
                         "value_band": "value band"}[c] for c in reg.extra.get("controls", []))
        out.append(Finding("regression", f"{fmt_value(r['value'], 'pp')} strict success for level {r['expertise']} vs "
                           f"level {ref['expertise']}, with controls",
                           f"Holding {ctl or 'nothing'} fixed: {fmt_value(r['value'], 'pp')} "
                           f"(95% CI {fmt_ci(r['ci_low'], r['ci_high'], 'pp')}), "
                           f"{'errors clustered by user' if reg.extra.get('clustered', True) else 'robust errors'}."))
    t = _rel(by.get("value_by_month"))
    if not t.empty:
        raw = t[t["variable"] == "raw"].sort_values("month")
        rw = t[t["variable"] == "reweighted"].sort_values("month")
        if len(raw) >= 2:
            last = raw.iloc[-1]
            # the figure's base month: the first month shown may not be it (a base withheld after the index was
            # taken; the real corpus's read "Index 120 in 2026-06 (2026-01 = 100)" beside 2026-01 at 92)
            base = index_base(by.get("value_by_month"), raw.iloc[0]["month"])
            txt = f"Index {fmt_value(last['value'], 'index')} in {last['month']} ({base} = 100)"
            # the same month's reweighted index; it may be withheld where the observed one is not (the real corpus
            # read "Index 130 in 2026-06 …; 183 with the work-mode mix held fixed": 183 was 2026-03's)
            same = rw[rw["month"] == last["month"]]
            if len(same):
                txt += f"; {fmt_value(same.iloc[0]['value'], 'index')} with the work-mode mix held fixed"
            elif len(rw):
                txt += (f"; with the work-mode mix held fixed: {fmt_value(rw.iloc[-1]['value'], 'index')} in "
                        f"{rw.iloc[-1]['month']}, the last month it is released")
            moved = last["ci_low"] > 100 or last["ci_high"] < 100
            verb = ("up" if last["value"] > 100 else "down") if moved else "not clearly changed:"
            head = (f"Value per session {verb} {abs(last['value'] - 100):.0f}% over the period" if moved
                    else f"Value per session {verb} index {fmt_value(last['value'], 'index')}, interval includes 100")
            out.append(Finding("value_by_month", head, txt + " (an estimate)."))
    t = _rel(by.get("decisions"), variable="median_pct")
    if len(t) == 2:
        p = t[t["kind"] == "planning"].iloc[0]
        e = t[t["kind"] == "execution"].iloc[0]
        if p["value"] >= 50 > e["value"]:
            gist = "In the median session the user plans and the agent executes."
        elif p["value"] < 50 and e["value"] < 50:
            gist = "In the median session the agent makes most decisions of both kinds."
        else:
            gist = "In the median session the user keeps most execution decisions."
        out.append(Finding("decisions", f"Users make {p['value']:.0f}% of planning and {e['value']:.0f}% of execution "
                           "decisions (median session)", gist))
    t = _rel(by.get("occupations"), variable="share_where_inferable")
    ni = _rel(by.get("occupations"), variable="share_of_sessions", occupation="not_inferable")
    # the groups with no session are released as 0: with the others suppressed, the "largest" was a 0.0% one
    if not t.empty and float(t["value"].max()) > 0:
        top = t.sort_values("value", ascending=False).iloc[0]
        inferable = "" if ni.empty else (
            f" An occupation was inferable in {fmt_value(1 - float(ni.iloc[0]['value']), 'share')} of sessions.")
        which = ("The largest occupation group." if _largest_is_known(t) else
                 "The largest of the occupation groups released (the others are below the release thresholds).")
        out.append(Finding("occupations", f"{top['occupation_label']}: {fmt_value(top['value'], 'share')} of sessions "
                           "with an inferable occupation", which + inferable))
    else:
        # the share where inferable withheld whole (figures._inferable_share_withheld): the share of all classified
        # sessions, of the occupation groups it releases (not inferable is no group; withheld, it may be larger)
        t = _rel(by.get("occupations"), variable="share_of_sessions")
        t = t[t["occupation"] != "not_inferable"] if not t.empty else t
        if not t.empty and float(t["value"].max()) > 0:
            top = t.sort_values("value", ascending=False).iloc[0]
            out.append(Finding("occupations", f"{top['occupation_label']}: {fmt_value(top['value'], 'share')} of "
                               "classified sessions", "The largest of the occupation groups released (the others, and "
                               "the sessions whose occupation is not inferable, are withheld by the release rules)."))
    return out


__all__ = ["Finding", "count_noun", "fmt_ci", "fmt_value", "index_base", "key_findings", "suppressed_text"]
