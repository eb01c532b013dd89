"""The self-contained HTML report: Jinja2 (autoescaped) + Vega-Lite specs + inlined Vega JavaScript.

Nothing is fetched when the file is opened: the Vega, Vega-Lite and
vega-embed libraries are inlined from the ``vl-convert-python`` package, chart
specs sit in a ``<script type="application/json">`` block with ``<``, ``>``
and ``&`` escaped, and a Content-Security-Policy forbids every network
request. Transcript-derived text (cluster names and descriptions) only ever
reaches the page through autoescaped template variables or JSON data.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import platformdirs
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from codecensus import __version__
from codecensus.aggregate.figures import Figure, public_table
from codecensus.report.charts import BUILDERS, chart_specs
from codecensus.report.findings import Finding, count_noun, fmt_ci, fmt_value, suppressed_text

SECTIONS: list[tuple[str, str, list[str]]] = [
    ("who", "Who uses the agent, for what", ["occupations", "occupations_by_month", "work_modes",
                                             "work_modes_by_month", "topics"]),
    ("expertise", "Expertise and outcomes", ["expertise_shape", "expertise_shape_by_mode", "outcomes_by_expertise",
                                             "recovery_by_expertise", "regression", "success_by_occupation"]),
    ("trends", "Value and trends", ["value_by_month", "value_by_mode", "success_trend"]),
    ("decisions", "Who decides", ["decisions", "actions_by_decisions"]),
    ("shape", "Sessions and usage", ["session_shape", "usage_intensity", "git_adoption"]),
    ("data", "Data and privacy", ["coverage", "abstentions"]),
]

_VARIABLE_WORDS = {
    "share_of_sessions": "share of sessions", "share_where_inferable": "share where inferable",
    "share_of_sessions_rollup": "share (roll-up)", "raw": "as observed", "reweighted": "mix held fixed",
    "mean": "mean", "median": "median", "mean_usd": "mean (USD)", "median_usd": "median (USD)", "index": "index",
    "strict_success": "strict success", "at_least_partial": "at least partial", "failure": "failure",
    "unclear": "unclear", "trouble": "trouble", "recovered": "recovered", "abandoned": "abandoned",
    "difference_vs_software_pp": "vs software (points)", "strict_success_pp": "effect (points)",
    "median_pct": "median %", "mean_pct": "mean %", "actions_per_prompt": "actions / prompt",
    "words_per_prompt": "words / prompt", "visible_words_per_prompt": "visible words / prompt",
    "mean_per_user_week": "mean per user-week", "median_per_user_week": "median per user-week",
    "share_of_user_weeks": "share of user-weeks", "share_of_repositories": "share of repositories",
    "sessions": "sessions", "users": "users", "classified sessions": "classified sessions",
    "abstained": "sessions without a finding",
}


# What the report's dates say when sessions of months withheld at the ends of the range are counted but not dated
WITHHELD_ENDS = ("the dates are of the months released; the count also holds sessions in months withheld at the ends "
                 "of the range")


def _unit_for(fig: Figure, variable: str) -> str:
    if variable.startswith("share") or variable in ("strict_success", "at_least_partial", "failure", "unclear",
                                                    "trouble", "recovered", "abandoned"):
        return "share"
    if variable in ("raw", "reweighted"):
        return "index" if fig.id == "value_by_month" else "share"
    if variable == "index":
        return "index"
    if variable in ("mean", "median") and fig.id == "value_by_month":
        return "usd"
    if variable.endswith("_usd"):
        return "usd"
    if variable.endswith("_pp"):
        return "pp"
    if variable.endswith("_pct"):
        return "number"
    if fig.unit == "count":
        return "count"
    return "number"


@dataclass(slots=True)
class ReleaseView:
    """What the report says about privacy: thresholds, mode, and the DP ledger."""

    min_users: int
    min_sessions: int
    individual: bool = False
    epsilon: float | None = None
    delta: float | None = None
    ledger: list[dict[str, Any]] = field(default_factory=list)
    bootstrap: str = ""
    notes: list[str] = field(default_factory=list)
    sessions_per_user: int | None = None  # differential privacy: the cap on each user's sessions before counting

    @property
    def mode(self) -> str:
        if self.epsilon is not None:
            return "differential privacy"
        return "individual" if self.individual else "standard"


def _json_for_script(obj: Any) -> Markup:
    """JSON safe inside <script>: no '<', '>', '&' or line separators survive literally."""
    s = json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    s = (s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
         .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))
    return Markup(s)  # noqa: S704 - escaped above for the script context


def _clean(obj: Any) -> Any:
    """Replace NaN/inf (not valid JSON) by None, recursively."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj


@functools.lru_cache(maxsize=2)
def vega_bundle() -> str:
    """Vega + Vega-Lite + vega-embed as one script (from vl-convert-python; no network)."""
    import altair as alt
    import vl_convert as vlc

    want = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    versions = vlc.get_vegalite_versions()
    vl = want if want in versions else versions[-1]
    # bundling takes seconds: keep one copy per vl-convert and Vega-Lite version in the user cache
    cache = Path(platformdirs.user_cache_dir("codecensus")) / f"vega-bundle-{metadata.version('vl-convert-python')}-{vl}.js"
    js: str | None = None
    try:
        js = cache.read_text(encoding="utf-8") if cache.is_file() else None
    except OSError:
        js = None
    if not js:
        js = vlc.javascript_bundle(vl_version=vl)
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(js, encoding="utf-8")
            tmp.replace(cache)
        except OSError:
            pass
    # the bundle is inlined in a <script>: it must not contain a closing tag
    return js.replace("</script", "<\\/script")


def _table_rows(fig: Figure) -> tuple[list[str], list[list[str]]]:
    t = fig.table
    keys = [k for k in fig.keys if k in t.columns and k not in ("order", "parent_id", "depth", "description")]
    label_keys = [k for k in keys if k.endswith("_label")]
    show_keys = [k for k in keys if f"{k}_label" not in label_keys]
    # git adoption counts repositories in both columns (the method says so), not sessions and users
    n_cols = ["repositories", "repositories"] if fig.id == "git_adoption" else ["sessions", "users"]
    header = [k.removesuffix("_label").replace("_", " ") for k in show_keys] + ["measure", "value", "95% CI", *n_cols]
    rows = []
    for r in t.to_dict("records"):
        unit = _unit_for(fig, r["variable"])
        cells = []
        for k in show_keys:
            v = r.get(k)
            cells.append("" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v))
        cells.append(_VARIABLE_WORDS.get(r["variable"], r["variable"].replace("_", " ")))
        if r["suppressed"]:
            cells += ["suppressed", "", "", ""]
        else:
            cells += [fmt_value(r["value"], unit), fmt_ci(r["ci_low"], r["ci_high"], unit),
                      fmt_value(r["n_sessions"], "count"), fmt_value(r["n_users"], "count")]
        rows.append(cells)
    return header, rows


def _regression_rows(fig: Figure) -> list[dict[str, str]]:
    out = []
    for r in fig.table.to_dict("records"):
        if r["suppressed"]:
            out.append({"level": r["expertise_label"], "effect": "suppressed", "ci": "", "p": "", "or": "",
                        "n": "", "u": ""})
            continue
        if r.get("reference"):
            out.append({"level": r["expertise_label"], "effect": "reference", "ci": "", "p": "", "or": "1.00",
                        "n": fmt_value(r["n_sessions"], "count"), "u": fmt_value(r["n_users"], "count")})
            continue
        p = r.get("p_value")
        p_txt = "" if p is None or p != p else ("< 0.001" if p < 0.001 else f"{p:.3f}")
        o = r.get("odds_ratio")
        out.append({"level": r["expertise_label"], "effect": fmt_value(r["value"], "pp"),
                    "ci": fmt_ci(r["ci_low"], r["ci_high"], "pp"), "p": p_txt,
                    "or": "" if o is None or o != o else f"{o:.2f}",
                    "n": fmt_value(r["n_sessions"], "count"), "u": fmt_value(r["n_users"], "count")})
    return out


def _regression_sentence(fig: Figure) -> str:
    t = fig.table[~fig.table["suppressed"].astype(bool)]
    if t.empty:
        return ""
    # the reference level is the model's baseline (0 points): named even when its row (its n) is withheld
    ref = fig.table[fig.table["reference"].astype(bool)]
    rest = t[~t["reference"].astype(bool)].sort_values("expertise")
    if ref.empty or rest.empty:
        return ""
    top = rest.iloc[-1]
    ctl = ", ".join({"mode": "work mode", "month": "month", "occupation": "occupation",
                     "value_band": "value band"}[c] for c in fig.extra.get("controls", []))
    lo, hi = top["ci_low"], top["ci_high"]
    sig = "an interval that excludes zero" if (lo > 0 or hi < 0) else "an interval that includes zero"
    return (f"Holding {ctl or 'nothing'} fixed, sessions of level-{top['expertise']} ({top['expertise_label'].split(' ', 1)[1]}) "
            f"users were a verified success {abs(top['value']):.1f} points {'more' if top['value'] >= 0 else 'less'} often "
            f"than those of level-{ref.iloc[0]['expertise']} users (95% CI {fmt_ci(lo, hi, 'pp')}, {sig}).")


def _topic_tree(fig: Figure) -> list[dict[str, Any]]:
    t = fig.table[(~fig.table["suppressed"].astype(bool)) & (fig.table["variable"] == "share_of_sessions")]
    if t.empty:
        return []
    nodes = {r["cluster_id"]: {**r, "children": []} for r in t.to_dict("records")}
    roots = []
    for n in nodes.values():
        p = n.get("parent_id")
        if p is not None and p in nodes:
            nodes[p]["children"].append(n)
        else:
            roots.append(n)

    def prep(n: dict[str, Any]) -> dict[str, Any]:
        kids = n["children"]
        # a sole subtopic of exactly its parent's sessions is the same group (the cluster stage gives it the parent's
        # name): no separate subtopic, its own subtopics show directly under the parent (topics.csv keeps its row)
        while len(kids) == 1 and int(kids[0]["n_sessions"]) == int(n["n_sessions"]):
            kids = kids[0]["children"]
        n["children"] = sorted((prep(c) for c in kids), key=lambda c: -c["value"])
        n["value_txt"] = fmt_value(n["value"], "share")
        n["ci_txt"] = fmt_ci(n["ci_low"], n["ci_high"], "share")
        n["width"] = f"{max(1.0, min(100.0, 100 * float(n['value']))):.1f}"
        n["n_txt"] = f"{count_noun(n['n_sessions'], 'session')} · {count_noun(n['n_users'], 'user')}"
        return n

    return sorted((prep(r) for r in roots), key=lambda c: -c["value"])


# intervals that are not the figure's bootstrap (stats.Estimate.ci names them in the tables' ci_method column)
_OTHER_INTERVALS = {
    "wilson on units (degenerate bootstrap)": "a share of exactly 0% or 100% has a Wilson interval with its users as n "
                                              "(every bootstrap replicate would repeat it)",
    "wilson": "a share whose users have one session each has a Wilson interval (nothing to cluster)",
    "no interval (one unit)": "a value from a single user has no interval",
}


def _method_text(fig: Figure) -> str:
    """The method line, naming the intervals it shows that are not the bootstrap it names.

    A released 0.0% share read "0.0% (0.0% – 1.8%)" under "95% CI: user-clustered bootstrap": the interval was
    Wilson's over the users, which only the CSV's ci_method column said.
    """
    t = fig.table
    if "ci_method" not in t or not len(t):
        return fig.method
    used = set(t.loc[~t["suppressed"].astype(bool), "ci_method"].dropna().astype(str))
    notes = [text for key, text in _OTHER_INTERVALS.items() if key in used and key not in fig.method.lower()]
    return fig.method if not notes else f"{fig.method.rstrip('.')}; {'; '.join(notes)}."


def _figure_view(fig: Figure, release: ReleaseView, chart_ids: list[str], specs: dict[str, Any]) -> dict[str, Any]:
    charts = []
    if fig.available:
        for i, spec in enumerate(chart_specs(fig)):
            cid = f"chart-{fig.id}-{i}"
            specs[cid] = _clean(spec)
            chart_ids.append(cid)
            charts.append(cid)
    header, rows = _table_rows(fig) if fig.available else ([], [])
    no_chart = ""
    if fig.available and not charts and fig.id in BUILDERS:
        no_chart = ("No chart: every cell it would draw is withheld by the release thresholds or empty (0 sessions); "
                    "the data table lists what is released.")
    n_ok = fig.n_users >= release.min_users and fig.n_sessions >= release.min_sessions
    if release.epsilon is not None:
        cap = f", ≤ {release.sessions_per_user} per user" if release.sessions_per_user else ""
        n_text = (f"n ≈ {count_noun(fig.n_sessions, 'session')} (noisy{cap})" if fig.n_sessions >= release.min_sessions
                  else "n: see table")
    elif fig.id == "git_adoption":  # its n: repositories (n_users) and their commits (n_sessions), no sessions
        n_text = f"n = {count_noun(fig.n_users, 'repository', 'repositories')} ({count_noun(fig.n_sessions, 'commit')})"
    else:
        n_text = (f"n = {count_noun(fig.n_sessions, 'session')} from {count_noun(fig.n_users, 'user')}" if n_ok
                  else "n below the release thresholds")
    view: dict[str, Any] = {
        "id": fig.id, "title": fig.title, "subtitle": fig.subtitle, "method": _method_text(fig),
        "available": fig.available,
        "reason": fig.reason, "charts": charts, "no_chart": no_chart, "header": header, "rows": rows,
        "n_text": n_text,
        "released": fig.released_cells, "suppressed": fig.suppressed_cells, "notes": fig.notes,
        "released_text": f"{count_noun(fig.released_cells, 'cell')} released",
        "suppressed_text": suppressed_text([fig.table]),
        "regression": _regression_rows(fig) if fig.id == "regression" and fig.available else [],
        "regression_sentence": _regression_sentence(fig) if fig.id == "regression" and fig.available else "",
        "tree": _topic_tree(fig) if fig.id == "topics" and fig.available else [],
        "abstentions": abstention_lines(fig) if fig.id == "abstentions" else [],
    }
    if fig.id == "regression" and fig.available:
        view["n_text"] += f" · R² {fig.extra.get('r2', float('nan')):.3f}"
    return view


def _natural_key(level: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key reading digit runs as numbers: versions 1.0.51 < 1.0.100, models -4-5 < -4-10; text after numbers."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"(\d+)", level) if p)


_COVERAGE_NOUNS = {"agent (transcript format)": "agents", "agent version": "versions", "entrypoint": "entrypoints",
                   "model": "models"}


def abstention_lines(fig: Figure | None) -> list[dict[str, Any]]:
    """The abstentions figure as lines for a small table: each facet's sessions without a finding (its released
    total, or 'withheld') and its released reasons, most first, with how many reasons are withheld."""
    if fig is None or not fig.available or fig.table.empty:
        return []
    t = fig.table
    out = []
    for _facet, g in t.groupby("facet", sort=False):
        tot = g[g["variable"] == "abstained"]
        cells = g[g["variable"] == "sessions"]
        shown = cells[~cells["suppressed"].astype(bool)].sort_values(["n_sessions", "reason"], ascending=[False, True])
        out.append({
            "facet": str(g["facet_label"].iloc[0]),
            "total": "withheld" if tot.empty or bool(tot["suppressed"].iloc[0]) else fmt_value(tot["value"].iloc[0],
                                                                                               "count"),
            "reasons": [(str(r["reason_label"]), fmt_value(r["n_sessions"], "count")) for r in shown.to_dict("records")],
            "withheld": int(cells["suppressed"].astype(bool).sum()),
        })
    return out


def _coverage_view(fig: Figure | None) -> dict[str, Any]:
    if fig is None:
        return {}
    t = fig.table
    dims: dict[str, list[dict[str, str]]] = {}
    for r in t.to_dict("records"):
        if r["dimension"] in ("all", "month"):
            continue
        dims.setdefault(r["dimension"], []).append({
            "level": str(r["level"]),
            "sessions": "suppressed" if r["suppressed"] else fmt_value(r["value"], "count"),
            "users": "" if r["suppressed"] else fmt_value(r["n_users"], "count"),
        })
    for dim, rows in dims.items():  # "2.1.9" before "2.1.10" (a string sort put 1.0.100 before 1.0.51)
        rows.sort(key=lambda r: _natural_key(r["level"]))
        # the demo listed ~330 withheld agent versions one per row: the released ones are listed, the rest counted
        withheld = sum(r["sessions"] == "suppressed" for r in rows)
        if withheld > 1:
            noun = _COVERAGE_NOUNS.get(dim, f"{dim}s")
            rows[:] = [r for r in rows if r["sessions"] != "suppressed"]
            rows.append({"level": f"{'and ' if rows else ''}{withheld:,} {'other ' if rows else ''}{noun}",
                         "sessions": "suppressed", "users": ""})

    def total(var: str) -> str:
        x = t[(t["dimension"] == "all") & (t["variable"] == var)]
        if x.empty:
            return "not released"
        if bool(x.iloc[0]["suppressed"]):
            return "below thresholds"
        return fmt_value(x.iloc[0]["value"], "count")

    return {"dims": dims, "sessions": total("sessions"), "users": total("users"),
            "classified": total("classified sessions"), **fig.extra}


def render_html(
    figures: list[Figure],
    findings: list[Finding],
    release: ReleaseView,
    *,
    title: str = "codecensus report",
    tables_dir: str = "tables",
    generated_at: datetime | None = None,
) -> str:
    env = Environment(
        loader=PackageLoader("codecensus.report", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "j2", "html.j2"), default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    css = resources.files("codecensus.report").joinpath("static/report.css").read_text()
    # what the page shows (its tables, and the charts' data, which embed whole tables) never carries the columns only
    # the report's own steps read (the sessions behind each row)
    figures = [dataclasses.replace(f, table=public_table(f.table)) for f in figures]
    by = {f.id: f for f in figures}
    chart_ids: list[str] = []
    specs: dict[str, Any] = {}
    sections = []
    for sid, stitle, ids in SECTIONS:
        views = [_figure_view(by[i], release, chart_ids, specs) for i in ids if i in by]
        if views:
            sections.append({"id": sid, "title": stitle, "figures": views})
    cov = _coverage_view(by.get("coverage"))
    suppressed = [{"id": f.id, "title": f.title, "released": f.released_cells, "suppressed": f.suppressed_cells}
                  for f in figures if f.available]
    unavailable = [{"title": f.title, "reason": f.reason} for f in figures if not f.available]
    tmpl = env.get_template("report.html.j2")
    return tmpl.render(
        title=title, css=Markup(css), vega_js=Markup(vega_bundle()),  # noqa: S704 - package JS, not user data
        specs_json=_json_for_script(specs), chart_ids=chart_ids, sections=sections, findings=findings,
        coverage=cov, release=release, withheld_ends=WITHHELD_ENDS, suppressed=suppressed, unavailable=unavailable, tables_dir=tables_dir,
        version=__version__, generated=(generated_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC"),
        total_suppressed=sum(s["suppressed"] for s in suppressed),
        total_released=sum(s["released"] for s in suppressed),
    )


__all__ = ["SECTIONS", "ReleaseView", "abstention_lines", "render_html", "vega_bundle"]
