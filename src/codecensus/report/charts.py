"""Vega-Lite specs (built with Altair) for each figure; only released rows reach a chart."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import altair as alt
import pandas as pd

from codecensus.aggregate.figures import Figure
from codecensus.report.findings import index_base
from codecensus.taxonomy import WORK_MODES

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
INK = "#1f2933"
MUTED = "#616e7c"
GRID = "#e4e7eb"
ACCENT = "#2f6fdb"
# Okabe-Ito, colour-blind safe, then a few extra
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000", "#999999",
           "#7A5195", "#2F4B7C", "#FFA600"]
ROLLUP_COLORS = {"code": "#0072B2", "operate": "#E69F00", "plan/understand": "#009E73", "analysis/writing": "#CC79A7"}
MODE_ORDER = [m.name for m in WORK_MODES]
W = 680  # default width of a single chart


def _cfg(chart: alt.TopLevelMixin) -> dict[str, Any]:
    c = (
        chart.configure(font=FONT, background="transparent")
        .configure_view(stroke=None)
        .configure_axis(labelColor=MUTED, titleColor=INK, gridColor=GRID, domainColor="#9aa5b1", tickColor="#9aa5b1",
                        labelFontSize=12, titleFontSize=12, titleFontWeight=600)
        .configure_legend(labelColor=INK, titleColor=INK, labelFontSize=12, titleFontSize=12, orient="bottom",
                          direction="horizontal", columns=3, symbolType="circle", labelLimit=320)
        .configure_header(labelColor=INK, labelFontSize=12, labelFontWeight=600, titleFontSize=0, labelLimit=170)
        .configure_title(color=INK, fontSize=13, anchor="start", fontWeight=600)
    )
    return c.to_dict()


def _rel(fig: Figure, variable: str | list[str] | None = None, *, keep_empty: bool = False) -> pd.DataFrame:
    """Released rows; empty cells (no sessions, released as zeros) are left out unless ``keep_empty``."""
    t = fig.table
    t = t[~t["suppressed"].astype(bool)]
    if not keep_empty and "n_sessions" in t:
        t = t[t["n_sessions"].fillna(0).astype(float) > 0]
    if variable is not None:
        vs = [variable] if isinstance(variable, str) else variable
        t = t[t["variable"].isin(vs)]
    t = t.copy()
    for c in ("n_users", "n_sessions"):
        if c in t:
            t[c] = t[c].astype("float").astype("Int64").astype(object).where(t[c].notna(), None)
    return t


_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_LABEL_PX_PER_CHAR = 8.0  # a generous width of one character of a 12 px axis label
_LABEL_GAP_PX = 4.0
_ROTATED_LABEL_PX = 17.0  # the spacing that labels turned by 45 degrees need (12 px text / sin 45)


def _month_axis(months: list[str], width: int, *, short: bool) -> alt.Axis:
    """A month axis on which every month gets its own label ("Oct", or "Oct 2025"), none dropped or run together.

    The time axis it replaces let Vega thin labels greedily and pin the last one to the edge: the small multiples read
    "Oct  Dec Jan Feb MarApr" (Nov dropped, Mar and Apr run together). Labels are turned by 45 degrees when they do not
    fit side by side, and only when even turned labels would collide is every k-th month labelled.
    """
    labels = {m: _MONTH_NAMES[int(m[5:7]) - 1] + ("" if short else f" {m[:4]}") if _MONTH.fullmatch(m) else m
              for m in months}
    step = width / max(1, len(months))  # a point scale with the default padding of half a step each side
    widest = max((len(v) for v in labels.values()), default=3) * _LABEL_PX_PER_CHAR
    angle = 0 if step >= widest + _LABEL_GAP_PX else -45
    every = 1 if angle == 0 else max(1, math.ceil(_ROTATED_LABEL_PX / step))
    expr = "{" + ", ".join(f"'{m}': '{v}'" for m, v in labels.items()) + "}[datum.value]"
    return alt.Axis(labelExpr=expr, values=months[::every], labelAngle=angle, labelOverlap=False, grid=False)


def _x_enc(df: pd.DataFrame, x: str, title: str, *, short: bool = False, width: int = W) -> tuple[pd.DataFrame, alt.X]:
    """An x encoding; months are an ordinal axis of "YYYY-MM" values, every month in order (see ``_month_axis``)."""
    if x == "month":
        df = df.assign(month=df["month"].astype(str))
        months = sorted(df["month"].unique())
        return df, alt.X("month:O", title=title, scale=alt.Scale(domain=months),
                         axis=_month_axis(months, width, short=short))
    return df, alt.X(f"{x}:O", title=title, axis=alt.Axis(labelAngle=0, labelOverlap=True))


def _month_gaps(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """``df`` with an empty row (no value) for every month a series skips between its first and last month.

    A month with nothing released (no sessions, or suppressed) was simply absent, and the line was drawn straight
    across it as if the neighbouring months were adjacent; Vega-Lite breaks a line at a missing value, so the gap
    shows. Each series is filled on its own: a small multiple's month withheld for one panel but released for another
    was still drawn across."""
    if df.empty or "month" not in df:
        return df
    dated = df["month"].astype(str).map(lambda m: bool(_MONTH.fullmatch(m)))
    if not dated.all():  # a row of no month ('unknown': the sessions without a time) has no place between two months
        return pd.concat([_month_gaps(df[dated], by), df[~dated]], ignore_index=True) if dated.any() else df
    months = pd.period_range(str(df["month"].min()), str(df["month"].max()), freq="M").strftime("%Y-%m").tolist()
    keys = df[by].drop_duplicates() if by else pd.DataFrame(index=[0])
    if len(df[[*by, "month"]].drop_duplicates()) == len(keys) * len(months):
        return df
    full = keys.merge(pd.DataFrame({"month": months}), how="cross")
    return full.merge(df.assign(month=df["month"].astype(str)), on=[*by, "month"], how="left")


def _pct_tooltip(extra: list[alt.Tooltip] | None = None, fmt: str = ".1%", *,
                 counts: str | None = None) -> list[alt.Tooltip]:
    """Value, interval and n; ``counts`` names the one unit both n columns count (git adoption: repositories)."""
    n = ([alt.Tooltip("n_users:Q", title=counts, format=",")] if counts else
         [alt.Tooltip("n_sessions:Q", title="sessions", format=","), alt.Tooltip("n_users:Q", title="users", format=",")])
    return [*(extra or []), alt.Tooltip("value:Q", title="value", format=fmt),
            alt.Tooltip("ci_low:Q", title="95% CI from", format=fmt),
            alt.Tooltip("ci_high:Q", title="95% CI to", format=fmt), *n]


def _bars_with_ci(df: pd.DataFrame, cat: str, cat_title: str, *, fmt: str = ".0%", color: alt.Color | None = None,
                  sort: Any = "-x", x_title: str = "share of sessions", height_per: int = 22) -> alt.LayerChart:
    if isinstance(sort, str) and sort == "-x":  # an explicit order: layers must agree on it
        sort = df.sort_values("value", ascending=False)[cat].tolist()
    base = alt.Chart(df)
    y = alt.Y(f"{cat}:N", title=cat_title, sort=sort, axis=alt.Axis(labelLimit=260))
    bars = base.mark_bar(cornerRadiusEnd=3, height={"band": 0.7}).encode(
        y=y, x=alt.X("value:Q", title=x_title, axis=alt.Axis(format=fmt)),
        color=color if color is not None else alt.value(ACCENT),
        tooltip=_pct_tooltip([alt.Tooltip(f"{cat}:N", title=cat_title)], ".1%" if "%" in fmt else ",.1f"),
    )
    err = base.mark_rule(color=INK, strokeWidth=1.5).encode(y=y, x="ci_low:Q", x2="ci_high:Q")
    return (bars + err).properties(width=W - 200, height=max(80, height_per * df[cat].nunique()))


def _lines_with_band(df: pd.DataFrame, x: str, x_title: str, series: str | None, series_title: str, *,
                     fmt: str = ".0%", y_title: str = "share of sessions", colors: dict[str, str] | None = None,
                     sort: list[str] | None = None, width: int = W, height: int = 260, zero: bool = True,
                     dash: str | None = None, counts: str | None = None) -> alt.LayerChart:
    if x == "month":
        df = _month_gaps(df, [c for c in (series, dash) if c])
    df, xenc = _x_enc(df, x, x_title, width=width)
    enc: dict[str, Any] = {"x": xenc}
    scale = alt.Scale(domain=list(colors), range=list(colors.values())) if colors else alt.Scale(range=PALETTE)
    band_enc = dict(enc)
    if series:
        single = df[series].nunique() <= 1
        enc["color"] = alt.Color(f"{series}:N", title=series_title, scale=scale, sort=sort,
                                 legend=None if single else alt.Legend())
        # the band is coloured through a copy of the series field, so that only the lines make the legend
        df = df.assign(band_series=df[series])
        band_enc["color"] = alt.Color("band_series:N", scale=scale, sort=sort, legend=None)
    y = alt.Y("value:Q", title=y_title, axis=alt.Axis(format=fmt), scale=alt.Scale(zero=zero))
    base = alt.Chart(df)
    band = base.mark_area(opacity=0.13).encode(y="ci_low:Q", y2="ci_high:Q", **band_enc)
    line_kw: dict[str, Any] = {}
    if dash:
        line_kw["strokeDash"] = alt.StrokeDash(f"{dash}:N", title=None, legend=None)
    line = base.mark_line(point=alt.OverlayMarkDef(size=40, filled=True), strokeWidth=2.2).encode(
        y=y, tooltip=_pct_tooltip([alt.Tooltip(f"{x}:N", title=x_title)]
                                  + ([alt.Tooltip(f"{series}:N", title=series_title)] if series else []),
                                  ".1%" if "%" in fmt else ",.1f", counts=counts),
        **enc, **line_kw)
    return (band + line).resolve_scale(color="independent").properties(width=width, height=height)


def _small_multiples(df: pd.DataFrame, x: str, x_title: str, facet: str, facet_sort: list[str], *,
                     fmt: str = ".0%", y_title: str = "share", columns: int = 3, color: str = ACCENT,
                     zero: bool = True, x_type: str = "O") -> alt.FacetChart:
    base = alt.Chart()
    if x == "month":
        df, enc_x = _x_enc(_month_gaps(df, [facet]), x, x_title, short=True, width=(W - 110) // columns)
    else:
        enc_x = alt.X(f"{x}:{x_type}", title=x_title, axis=alt.Axis(labelAngle=0, labelOverlap=True))
    band = base.mark_area(opacity=0.18, color=color).encode(x=enc_x, y="ci_low:Q", y2="ci_high:Q")
    line = base.mark_line(point=alt.OverlayMarkDef(size=25, filled=True, color=color), color=color,
                          strokeWidth=2).encode(
        x=enc_x, y=alt.Y("value:Q", title=y_title, axis=alt.Axis(format=fmt, tickCount=4),
                         scale=alt.Scale(zero=zero)),
        tooltip=_pct_tooltip([alt.Tooltip(f"{facet}:N"), alt.Tooltip(f"{x}:N", title=x_title)],
                             ".1%" if "%" in fmt else ",.1f"))
    return alt.layer(band, line, data=df).properties(width=(W - 110) // columns, height=110).facet(
        facet=alt.Facet(f"{facet}:N", sort=facet_sort, title=None), columns=columns, spacing={"row": 14, "column": 12})


# --- per figure ------------------------------------------------------------------------------


def _coverage(fig: Figure) -> list[dict[str, Any]]:
    t = _rel(fig)
    m = t[(t["dimension"] == "month") & (t["variable"] == "sessions")]
    if m.empty:
        return []
    # every month of the range has its slot; sessions without a time ("unknown") keep their bar after the last month
    dated = m["level"].astype(str)
    dated = dated[dated.str.fullmatch(_MONTH.pattern)]
    months = (pd.period_range(dated.min(), dated.max(), freq="M").strftime("%Y-%m").tolist() if len(dated) else [])
    months += sorted(set(m["level"].astype(str)) - set(months))
    c = alt.Chart(m).mark_bar(color=ACCENT, cornerRadiusEnd=2).encode(
        x=alt.X("level:O", title="month", scale=alt.Scale(domain=months), axis=_month_axis(months, W, short=False)),
        y=alt.Y("value:Q", title="sessions"),
        tooltip=[alt.Tooltip("level:N", title="month"), alt.Tooltip("value:Q", title="sessions", format=","),
                 alt.Tooltip("n_users:Q", title="users", format=",")],
    ).properties(width=W, height=160)
    return [_cfg(c)]


def _occupations(fig: Figure) -> list[dict[str, Any]]:
    t = _rel(fig, ["share_of_sessions", "share_where_inferable"])
    if t.empty:
        return []
    t["series"] = t["variable"].map({"share_of_sessions": "of all sessions",
                                     "share_where_inferable": "where an occupation was inferable"})
    order = (t[t["variable"] == "share_where_inferable"].sort_values("value", ascending=False)["occupation_label"]
             .tolist())
    order += [x for x in t["occupation_label"].unique() if x not in order]
    base = alt.Chart(t)
    y = alt.Y("occupation_label:N", title=None, sort=order, axis=alt.Axis(labelLimit=300))
    color = alt.Color("series:N", title=None, scale=alt.Scale(range=[ACCENT, "#9db7e6"]),
                      sort=["where an occupation was inferable", "of all sessions"])
    bars = base.mark_bar(cornerRadiusEnd=2).encode(
        y=y, yOffset=alt.YOffset("series:N", sort=["where an occupation was inferable", "of all sessions"]),
        x=alt.X("value:Q", title="share of sessions", axis=alt.Axis(format=".0%")), color=color,
        tooltip=_pct_tooltip([alt.Tooltip("occupation_label:N", title="occupation"),
                              alt.Tooltip("series:N", title="share")]))
    err = base.mark_rule(color=INK).encode(
        y=y, yOffset=alt.YOffset("series:N", sort=["where an occupation was inferable", "of all sessions"]),
        x="ci_low:Q", x2="ci_high:Q")
    c = (bars + err).properties(width=W - 260, height=alt.Step(11))
    return [_cfg(c)]


def _occupations_by_month(fig: Figure) -> list[dict[str, Any]]:
    shown = fig.extra.get("shown", [])
    t = _rel(fig, "share_where_inferable", keep_empty=True)  # a released 0% is a point of the line, not a gap
    t = t[t["occupation"].isin(shown)]
    # an occupation whose every released month is 0% gets no panel: its months with sessions are all withheld, and a
    # flat line at zero read as "none" (the demo: five panels of zeros beside software's 97 %, withheld every month)
    some = t.groupby("occupation")["value"].transform(lambda v: bool((v.fillna(0).astype(float) > 0).any()))
    t = t[some.astype(bool)]
    if t.empty:
        return []
    order = [t[t["occupation"] == s]["occupation_label"].iloc[0] for s in shown if (t["occupation"] == s).any()]
    c = _small_multiples(t, "month", "month", "occupation_label", order, y_title="share", zero=True)
    return [_cfg(c)]


def _work_modes(fig: Figure) -> list[dict[str, Any]]:
    t = _rel(fig, "share_of_sessions")
    if t.empty:
        return []
    color = alt.Color("rollup:N", title="roll-up", scale=alt.Scale(domain=list(ROLLUP_COLORS),
                                                                   range=list(ROLLUP_COLORS.values())))
    return [_cfg(_bars_with_ci(t, "mode_label", "work mode", color=color))]


def _work_modes_by_month(fig: Figure) -> list[dict[str, Any]]:
    t = _rel(fig, "share_of_sessions", keep_empty=True)  # a released 0% is a point of the line, not a gap
    if t.empty:
        return []
    return [_cfg(_small_multiples(t, "month", "month", "mode_label", [m for m in MODE_ORDER], y_title="share"))]


def _value_by_month(fig: Figure) -> list[dict[str, Any]]:
    t = _rel(fig, ["raw", "reweighted"])
    if t.empty:
        return []
    t["series"] = t["variable"].map({"raw": "as observed", "reweighted": "work-mode mix held fixed"})
    c = _lines_with_band(t, "month", "month", "series", "value per session",
                         fmt=",.1~f", y_title=f"index ({index_base(fig)} = 100)",
                         colors={"as observed": ACCENT, "work-mode mix held fixed": "#E69F00"}, zero=False)
    rule = alt.Chart(pd.DataFrame({"y": [100]})).mark_rule(color="#9aa5b1", strokeDash=[4, 3]).encode(y="y:Q")
    return [_cfg(alt.layer(c, rule))]


def _value_by_mode(fig: Figure) -> list[dict[str, Any]]:
    t = _rel(fig, ["mean_usd", "median_usd"])
    out = []
    if not t.empty:
        mean = t[t["variable"] == "mean_usd"]
        med = t[t["variable"] == "median_usd"]
        order = mean.sort_values("value", ascending=False)["mode_label"].tolist()
        bars = _bars_with_ci(mean, "mode_label", "work mode", fmt="$,.0f", sort=order,
                             x_title="estimated value per session (USD): bar = mean, dot = median")
        dots = alt.Chart(med).mark_point(filled=True, color="#E69F00", size=60, shape="diamond").encode(
            y=alt.Y("mode_label:N", sort=order), x="value:Q",
            tooltip=_pct_tooltip([alt.Tooltip("mode_label:N", title="median, work mode")], "$,.0f"))
        out.append(_cfg(alt.layer(bars, dots)))
    idx = _rel(fig, "index")
    if not idx.empty and idx["month"].nunique() > 1:
        order = [m for m in MODE_ORDER if m in set(idx["mode_label"])]
        c = _small_multiples(idx, "month", "month", "mode_label", order, fmt=",.1~f", y_title="index", zero=False,
                             color="#009E73")
        out.append(_cfg(c))
    return out


def _expertise_shape(fig: Figure) -> list[dict[str, Any]]:
    t = _rel(fig)
    if t.empty:
        return []
    charts = []
    for var, title in (("actions_per_prompt", "actions per prompt"), ("words_per_prompt", "words of output per prompt")):
        d = t[t["variable"].isin([var] + (["visible_words_per_prompt"] if var == "words_per_prompt" else []))].copy()
        if d.empty:
            continue
        d["series"] = d["variable"].map({"actions_per_prompt": "actions", "words_per_prompt": "all output",
                                         "visible_words_per_prompt": "visible replies only"})
        colors = {"actions": ACCENT} if var == "actions_per_prompt" else {"all output": ACCENT,
                                                                           "visible replies only": "#9aa5b1"}
        charts.append(_lines_with_band(d, "expertise_label", "expertise", "series", "", fmt=",.1~f", y_title=title,
                                       colors=colors, width=(W - 60) // 2, height=240))
    if not charts:
        return []
    return [_cfg(alt.hconcat(*charts).resolve_scale(color="independent"))]


def _expertise_shape_by_mode(fig: Figure) -> list[dict[str, Any]]:
    t = _rel(fig, "actions_per_prompt")
    if t.empty:
        return []
    t["expertise"] = t["expertise"].astype(int)
    order = [m for m in MODE_ORDER if m in set(t["mode_label"])]
    c = _small_multiples(t, "expertise", "expertise", "mode_label", order, fmt=",.1~f",
                         y_title="actions / prompt", zero=True)
    return [_cfg(c)]


_OUTCOME_NAMES = {"strict_success": "strict success", "at_least_partial": "at least partial",
                  "failure": "failure", "unclear": "unclear (share of all)"}
_OUTCOME_COLORS = {"at least partial": "#009E73", "strict success": "#0072B2", "failure": "#D55E00",
                   "unclear (share of all)": "#9aa5b1"}


def _outcomes(fig: Figure) -> list[dict[str, Any]]:
    t = _rel(fig, keep_empty=True)
    if t.empty:
        return []
    t["series"] = t["variable"].map(_OUTCOME_NAMES)
    c = _lines_with_band(t, "expertise_label", "expertise", "series", "outcome", colors=_OUTCOME_COLORS,
                         y_title="share of sessions", height=280)
    return [_cfg(c)]


def _recovery(fig: Figure) -> list[dict[str, Any]]:
    t = _rel(fig, keep_empty=True)
    if t.empty:
        return []
    # "abandoned" read as failure: it also counts partial outcomes left unresolved (the method line says so)
    names = {"trouble": "had trouble", "recovered": "recovered (of those in trouble)",
             "abandoned": "abandoned, partial included (of those in trouble)"}
    t["series"] = t["variable"].map(names)
    c = _lines_with_band(t, "expertise_label", "expertise", "series", "", y_title="share of sessions",
                         colors={names["trouble"]: "#9aa5b1", names["recovered"]: "#009E73",
                                 names["abandoned"]: "#D55E00"}, height=260)
    return [_cfg(c)]


def _success_by_occupation(fig: Figure) -> list[dict[str, Any]]:
    t = _rel(fig, "strict_success")
    if t.empty:
        return []
    t["is_software"] = t["occupation"].eq("15").map({True: "Computer and Mathematical", False: "other groups"})
    order = t.sort_values("value", ascending=False)["occupation_label"].tolist()
    base = alt.Chart(t)
    y = alt.Y("occupation_label:N", title=None, sort=order, axis=alt.Axis(labelLimit=300))
    pts = base.mark_point(filled=True, size=80).encode(
        y=y, x=alt.X("value:Q", title="strict success (share of code-producing sessions)", axis=alt.Axis(format=".0%")),
        color=alt.Color("is_software:N", title=None, scale=alt.Scale(domain=["Computer and Mathematical", "other groups"],
                                                                     range=["#D55E00", ACCENT])),
        tooltip=_pct_tooltip([alt.Tooltip("occupation_label:N", title="occupation")]))
    err = base.mark_rule(color=INK).encode(y=y, x="ci_low:Q", x2="ci_high:Q")
    layers: list[Any] = [err, pts]
    sw = t[t["occupation"] == "15"]
    if not sw.empty:
        layers.insert(0, alt.Chart(sw).mark_rule(color="#D55E00", strokeDash=[4, 3], opacity=0.6).encode(x="value:Q"))
    c = alt.layer(*layers).properties(width=W - 260, height=alt.Step(22))
    return [_cfg(c)]


def _success_trend(fig: Figure) -> list[dict[str, Any]]:
    t = _rel(fig, ["raw", "reweighted"])
    if t.empty:
        return []
    t["series"] = t["variable"].map({"raw": "as observed", "reweighted": "work-mode mix held fixed"})
    c = _lines_with_band(t, "month", "month", "series", "strict success",
                         colors={"as observed": ACCENT, "work-mode mix held fixed": "#E69F00"}, zero=False)
    return [_cfg(c)]


def _regression(fig: Figure) -> list[dict[str, Any]]:
    t = _rel(fig)
    if t.empty:
        return []
    base = alt.Chart(t)
    y = alt.Y("expertise_label:N", title=None, sort=t.sort_values("expertise")["expertise_label"].tolist())
    pts = base.mark_point(filled=True, size=80, color=ACCENT).encode(
        y=y, x=alt.X("value:Q", title="points of strict success vs the reference level"),
        tooltip=[alt.Tooltip("expertise_label:N", title="expertise"),
                 alt.Tooltip("value:Q", title="points", format="+.1f"),
                 alt.Tooltip("ci_low:Q", title="95% CI from", format="+.1f"),
                 alt.Tooltip("ci_high:Q", title="95% CI to", format="+.1f"),
                 alt.Tooltip("n_sessions:Q", title="sessions", format=","),
                 alt.Tooltip("n_users:Q", title="users", format=",")])
    err = base.mark_rule(color=INK).encode(y=y, x="ci_low:Q", x2="ci_high:Q")
    zero = alt.Chart(pd.DataFrame({"x": [0]})).mark_rule(color="#9aa5b1", strokeDash=[4, 3]).encode(x="x:Q")
    return [_cfg(alt.layer(zero, err, pts).properties(width=W - 200, height=alt.Step(26)))]


def _decisions(fig: Figure) -> list[dict[str, Any]]:
    t = _rel(fig, "share_of_sessions")
    if t.empty:
        return []
    t["kind"] = t["kind"].map({"planning": "planning decisions", "execution": "execution decisions"})
    bins = [b for b in t["bin"].unique()]
    c = alt.Chart(t).mark_bar(cornerRadiusEnd=2).encode(
        x=alt.X("bin:O", title="share of the session's decisions made by the user", sort=bins,
                axis=alt.Axis(labelAngle=0, labelOverlap=True)),
        xOffset=alt.XOffset("kind:N", sort=["planning decisions", "execution decisions"]),
        y=alt.Y("value:Q", title="share of sessions", axis=alt.Axis(format=".0%")),
        color=alt.Color("kind:N", title=None, scale=alt.Scale(domain=["planning decisions", "execution decisions"],
                                                              range=[ACCENT, "#E69F00"])),
        tooltip=_pct_tooltip([alt.Tooltip("kind:N"), alt.Tooltip("bin:N", title="user's share")]),
    ).properties(width=W, height=220)
    return [_cfg(c)]


def _actions_by_decisions(fig: Figure) -> list[dict[str, Any]]:
    t = _rel(fig)
    if t.empty:
        return []
    t["series"] = t["kind"].map({"planning": "by the user's share of planning",
                                 "execution": "by the user's share of execution"})
    c = _lines_with_band(t, "bin", "share of decisions made by the user", "series", "",
                         fmt=",.1~f", y_title="actions per prompt",
                         colors={"by the user's share of planning": ACCENT,
                                 "by the user's share of execution": "#E69F00"})
    return [_cfg(c)]


def _session_shape(fig: Figure) -> list[dict[str, Any]]:
    t = _rel(fig, "share_of_sessions")
    if t.empty:
        return []
    charts = []
    for metric in t["metric"].unique():
        d = t[t["metric"] == metric]
        base = alt.Chart(d)
        order = d.sort_values("order")["bin"].tolist()
        xs = alt.X("bin:O", title=None, sort=order, axis=alt.Axis(labelAngle=0, labelOverlap=True))
        bars = base.mark_bar(color=ACCENT, cornerRadiusEnd=2).encode(
            x=xs, y=alt.Y("value:Q", title=None, axis=alt.Axis(format=".0%", tickCount=3)),
            tooltip=_pct_tooltip([alt.Tooltip("bin:N")]))
        err = base.mark_rule(color=INK).encode(x=xs, y="ci_low:Q", y2="ci_high:Q")
        charts.append((bars + err).properties(width=(W - 40) // 2, height=110, title=str(d["metric_label"].iloc[0])))
    rows = [alt.hconcat(*charts[i:i + 2]) for i in range(0, len(charts), 2)]
    return [_cfg(alt.vconcat(*rows))]


def _usage(fig: Figure) -> list[dict[str, Any]]:
    t = _rel(fig, "share_of_user_weeks")
    if t.empty:
        return []
    base = alt.Chart(t)
    xs = alt.X("bin:O", title="active hours in the week", sort=None, axis=alt.Axis(labelAngle=0))
    bars = base.mark_bar(color=ACCENT, cornerRadiusEnd=2).encode(
        x=xs, y=alt.Y("value:Q", title="share of user-weeks", axis=alt.Axis(format=".0%")),
        tooltip=_pct_tooltip([alt.Tooltip("bin:N", title="hours")]))
    err = base.mark_rule(color=INK).encode(x=xs, y="ci_low:Q", y2="ci_high:Q")
    return [_cfg((bars + err).properties(width=W, height=200))]


def _topics(fig: Figure) -> list[dict[str, Any]]:
    t = _rel(fig)
    top = t[t["depth"] == 0]
    if top.empty:
        return []
    top = top.assign(label=top["name"].astype(str))
    return [_cfg(_bars_with_ci(top, "label", "topic", x_title="share of clustered sessions"))]


def _git(fig: Figure) -> list[dict[str, Any]]:
    t = _rel(fig)
    t = t[t["agent"] == "any"]
    if t.empty:
        return []
    # its n columns both count repositories: the tooltip said "sessions 12, users 12"
    c = _lines_with_band(t, "period", "half-year", None, "", y_title="share of active repositories",
                         counts="repositories")
    return [_cfg(c)]


BUILDERS: dict[str, Callable[[Figure], list[dict[str, Any]]]] = {
    "coverage": _coverage,
    "occupations": _occupations,
    "occupations_by_month": _occupations_by_month,
    "work_modes": _work_modes,
    "work_modes_by_month": _work_modes_by_month,
    "value_by_month": _value_by_month,
    "value_by_mode": _value_by_mode,
    "expertise_shape": _expertise_shape,
    "expertise_shape_by_mode": _expertise_shape_by_mode,
    "outcomes_by_expertise": _outcomes,
    "recovery_by_expertise": _recovery,
    "success_by_occupation": _success_by_occupation,
    "success_trend": _success_trend,
    "regression": _regression,
    "decisions": _decisions,
    "actions_by_decisions": _actions_by_decisions,
    "session_shape": _session_shape,
    "usage_intensity": _usage,
    "topics": _topics,
    "git_adoption": _git,
}


def chart_specs(fig: Figure) -> list[dict[str, Any]]:
    """Vega-Lite specs for a figure (empty when nothing is released or the figure is a table)."""
    if not fig.available:
        return []
    b = BUILDERS.get(fig.id)
    return b(fig) if b else []


__all__ = ["BUILDERS", "chart_specs"]
