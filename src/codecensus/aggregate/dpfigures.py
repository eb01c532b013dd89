"""The report's figures under differential privacy (``codecensus report --epsilon``).

Every number comes from :class:`codecensus.aggregate.dp.DPEngine` (privacy unit: one user, at
most ``max_sessions_per_user`` sessions each), charged to the store's ``privacy_ledger`` before
any noise is drawn. The total ε (and δ) is split evenly over the queries below; figures that
need other statistics (bootstrap medians, regressions, per-cell user counts) are not released in
this mode. Shares are ratios of noisy counts, so they are post-processing and cost nothing more.
Intervals are the 95% intervals of the noise (they treat the bounded data as fixed). A cell is
shown only when its noisy count exceeds ``min_sessions`` plus the 95% noise half-width (a
post-processing rule, DP-safe, that keeps pure-noise categories out);
``n_users`` is not measured in this mode and ``n_sessions`` is the rounded noisy count.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from codecensus.aggregate.dp import BudgetExceeded, DPEngine, DPHistogram, PrivacyLedger
from codecensus.aggregate.figures import STD_COLUMNS, Figure, PolicyLike, ReportData, _unavailable
from codecensus.taxonomy import (
    EXPERTISE,
    EXPERTISE_LEVELS,
    MODE_KEYS,
    MODE_ROLLUP,
    OCCUPATION_KEYS,
    WORK_MODES,
    label,
    soc_name,
)

DP_FIGURES = ("coverage", "occupations", "work_modes", "work_modes_by_month", "outcomes_by_expertise",
              "expertise_shape", "success_trend")
# clamping bounds for means (a DP mean needs bounds fixed before seeing the data)
APP_BOUNDS = (0.0, 40.0)
VALUE_BOUNDS = (0.0, 3000.0)


DATASET = "sessions"
# Ledgers once charged each date window as its own dataset, named "sessions:<since>:<until>:<hash>".
_WINDOW_DATASETS = "sessions:%"


def dataset_name(data: ReportData) -> str:
    """The ledger's dataset: the sessions table, whatever --since/--until window a report releases from it.

    Windows overlap (``--since 2000-01-01`` covers the same sessions as no --since at all), so a budget per
    window would let every shifted window spend a whole new budget on the same users.
    """
    return DATASET


def _adopt_window_spending(ledger: PrivacyLedger) -> None:
    """Before the sessions' budget is first set: count what per-window datasets of an older ledger spent.

    Their releases were of the same sessions, so their ε and δ are spent from the one budget (copied once
    into the ledger under :data:`DATASET`, with the old dataset's name in the query)."""
    if ledger.budget(DATASET) is not None:
        return
    t = ledger.TABLE
    ledger.con.execute(
        f"""INSERT INTO {t} SELECT ?, dataset || ' ' || query, epsilon, delta, mechanism, "at"
            FROM {t} WHERE dataset LIKE ?""",
        [DATASET, _WINDOW_DATASETS],
    )


def _row(keys: dict[str, Any], variable: str, value: float, lo: float, hi: float, n: float,
         min_sessions: int, method: str, n_show: float | None = None) -> dict[str, Any]:
    """A cell: released when its noisy count ``n`` reaches ``min_sessions``; ``n_show`` is the count shown."""
    ok = bool(np.isfinite(value)) and n >= min_sessions
    shown = n if n_show is None else n_show
    return {**keys, "variable": variable, "value": value if ok else np.nan, "ci_low": lo if ok else np.nan,
            "ci_high": hi if ok else np.nan, "n_users": pd.NA, "n_sessions": int(round(shown)) if ok else pd.NA,
            "suppressed": not ok, "ci_method": method if ok else None,
            "suppression": None if ok else "dp_threshold"}


def _table(rows: list[dict[str, Any]], keys: list[str]) -> pd.DataFrame:
    t = pd.DataFrame(rows)
    if t.empty:
        return pd.DataFrame(columns=[*keys, *STD_COLUMNS])
    t["n_users"] = t["n_users"].astype("Int64")
    t["n_sessions"] = t["n_sessions"].astype("Int64")
    rest = [c for c in t.columns if c not in keys and c not in STD_COLUMNS and c != "suppression"]
    return t[[*keys, *rest, *STD_COLUMNS, "suppression"]]


def _shares(h: DPHistogram, cats: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shares of a noisy histogram restricted to ``cats``, with intervals from the counts' noise."""
    idx = [h.categories.index(c) for c in cats]
    counts = np.array([h.counts[i] for i in idx])
    total = max(float(counts.sum()), 1.0)
    lo = np.clip((counts - h.half_width) / total, 0, 1)
    hi = np.clip((counts + h.half_width) / total, 0, 1)
    return counts, counts / total, lo, hi


class DPReport:
    """Runs the DP queries for one report."""

    def __init__(self, data: ReportData, policy: PolicyLike, ledger: PrivacyLedger, *, epsilon: float,
                 delta: float | None, max_sessions_per_user: int = 10, seed: int = 0) -> None:
        self.data = data
        self.policy = policy
        self.ledger = ledger
        self.dataset = dataset_name(data)
        self.k = max_sessions_per_user
        self.mechanism = "gaussian" if delta else "laplace"
        _adopt_window_spending(ledger)
        self.engine = DPEngine(epsilon, delta or 0.0, max_sessions_per_user, seed, ledger, dataset=self.dataset,
                               mechanism=self.mechanism)
        # the whole report must fit: refused query by query, a report spent budget on the figures before the one
        # that did not fit and released none of them
        left_e, left_d = ledger.remaining(self.dataset)
        if left_e < epsilon * (1 - 1e-9) or (delta and left_d < delta * (1 - 1e-9)):
            spent_e, spent_d = ledger.spent(self.dataset)
            budget_e, budget_d = self.engine.epsilon_total, self.engine.delta
            raise BudgetExceeded(
                f"privacy budget of the sessions exhausted: earlier reports spent ε = {spent_e:.4g} (δ = {spent_d:.3g}) of "
                f"the budget ε = {budget_e:.4g} (δ = {budget_d:.3g}), and this "
                f"report needs ε = {epsilon:g}" + (f", δ = {delta:g}" if delta else "") + ". Nothing was released. "
                "The budget covers every --since/--until window of these sessions; a further differentially "
                "private report on them would weaken the guarantee the earlier ones gave."
            )
        self.n_queries = self._count_queries()
        self.eps_each = epsilon / self.n_queries
        # δ is a budget too: split evenly like ε (sequential composition adds both).
        self.delta_each = (delta / self.n_queries) if delta else None
        df = data.df
        self.users = df["user"].astype(str).tolist()
        self.sessions = df["session_key"].astype(str).tolist()

    def _count_queries(self) -> int:
        n = 1  # coverage
        if self.data.has_facets:
            n += 4  # occupations, modes, modes x month, expertise x outcome
            n += len(EXPERTISE_LEVELS)  # actions per prompt by level
            if len(self.data.months) >= 2:
                n += 1  # strict success x month
        return n

    @property
    def method(self) -> str:
        return (f"differential privacy ({self.mechanism}, ε = {self.eps_each:.3g} for this query, user-level, "
                f"≤ {self.k} sessions per user); 95% interval of the noise")

    def _floor(self, half_width: float) -> float:
        """A noisy count is shown only above the threshold plus its noise: noise alone rarely gets there."""
        return self.policy.min_sessions + half_width

    def _hist(self, values: Sequence[str], cats: Sequence[str], query: str) -> DPHistogram:
        return self.engine.histogram(list(values), self.users, list(cats), epsilon=self.eps_each,
                                     delta=self.delta_each, query=query,
                                     session_ids=self.sessions)

    def figures(self) -> list[Figure]:
        figs = [self.coverage()]
        if self.data.has_facets:
            figs += [self.occupations(), self.work_modes(), self.work_modes_by_month(), self.outcomes(),
                     self.expertise_shape()]
            if len(self.data.months) >= 2:
                figs += [self.success_trend()]
        return figs

    # -- figures -----------------------------------------------------------------------------
    def coverage(self) -> Figure:
        r = self.engine.count(self.users, epsilon=self.eps_each, delta=self.delta_each, query="report:coverage:sessions",
                              session_ids=self.sessions)
        rows = [_row({"dimension": "all", "level": "all"}, "sessions", r.value, r.ci_low, r.ci_high, r.value,
                     self.policy.min_sessions, self.method)]
        return Figure("coverage", "Data coverage", f"Noisy number of sessions; {self.method}.",
                      _table(rows, ["dimension", "level"]), ["dimension", "level"], "count",
                      subtitle="What the figures are computed from (noisy).", n_sessions=int(r.value), n_users=0,
                      extra={"months": len(self.data.months), "first_day": None, "last_day": None,
                             "damaged_lines": 0, "files": 0, "sessions_without_time": 0})

    def _categorical(self, fid: str, title: str, col: str, cats: Sequence[str], keyf: Any, query: str,
                     subtitle: str, variable: str = "share_of_sessions") -> Figure:
        vals = self.data.df[col].fillna("__none__").astype(str).tolist()
        h = self._hist(vals, cats, query)
        counts, share, lo, hi = _shares(h, cats)
        rows = [_row(keyf(c), variable, share[i], lo[i], hi[i], counts[i], self._floor(h.half_width), self.method)
                for i, c in enumerate(cats)]
        keys = list(keyf(cats[0]))
        return Figure(fid, title, f"Share of sessions from noisy counts per category; {self.method}.",
                      _table(rows, keys), keys, "share", subtitle=subtitle, n_sessions=int(counts.sum()))

    def occupations(self) -> Figure:
        return self._categorical("occupations", "Occupations", "occupation", list(OCCUPATION_KEYS),
                                 lambda k: {"occupation": k, "occupation_label": soc_name(k)},
                                 "report:occupations", "Whose work the sessions do (noisy shares).")

    def work_modes(self) -> Figure:
        return self._categorical("work_modes", "Work modes", "mode", list(MODE_KEYS),
                                 lambda k: {"mode": k, "mode_label": label(WORK_MODES, k).name,
                                            "rollup": MODE_ROLLUP[k]}, "report:work_modes",
                                 "What the sessions mainly did.")

    def work_modes_by_month(self) -> Figure:
        df = self.data.df
        cats = [f"{m}::{k}" for m in self.data.months for k in MODE_KEYS]
        vals = (df["month"].fillna("-") + "::" + df["mode"].fillna("-")).tolist()
        h = self._hist(vals, cats, "report:work_modes_by_month")
        rows = []
        for m in self.data.months:
            sub = [f"{m}::{k}" for k in MODE_KEYS]
            counts, share, lo, hi = _shares(h, sub)
            for i, k in enumerate(MODE_KEYS):
                rows.append(_row({"month": m, "mode": k, "mode_label": label(WORK_MODES, k).name},
                                 "share_of_sessions", share[i], lo[i], hi[i], counts[i], self._floor(h.half_width),
                                 self.method))
        return Figure("work_modes_by_month", "Work modes by month",
                      f"Each month, shares of noisy counts per work mode; {self.method}.",
                      _table(rows, ["month", "mode", "mode_label"]), ["month", "mode", "mode_label"], "share",
                      subtitle="How the mix of work shifts over time (noisy).")

    def outcomes(self) -> Figure:
        df = self.data.df
        outs = ["verified_success", "success", "partial", "failure", "unclear"]
        cats = [f"{e}::{o}" for e in EXPERTISE_LEVELS for o in outs]
        ex = df["expertise"].map(lambda v: str(int(v)) if v == v and v is not None else "-")
        vals = (ex + "::" + df["outcome"].fillna("-")).tolist()
        h = self._hist(vals, cats, "report:outcomes_by_expertise")
        rows = []
        for e in EXPERTISE_LEVELS:
            c = {o: h.counts[h.categories.index(f"{e}::{o}")] for o in outs}
            known = max(sum(c[o] for o in outs if o != "unclear"), 1.0)
            every = max(known + c["unclear"], 1.0)
            hw = h.half_width
            keys = {"expertise": e, "expertise_label": f"{e} {label(EXPERTISE, e).name}"}
            for var, num, den, k in (("strict_success", c["verified_success"], known, 1),
                                     ("at_least_partial", c["verified_success"] + c["success"] + c["partial"], known, 3),
                                     ("failure", c["failure"], known, 1), ("unclear", c["unclear"], every, 1)):
                v = num / den
                rows.append(_row(keys, var, v, max(0.0, (num - k * hw) / den), min(1.0, (num + k * hw) / den), num,
                                 self._floor(k * hw), self.method))
        return Figure("outcomes_by_expertise", "Outcome by expertise",
                      f"Strict success, at least partial and failure over sessions with a known outcome, unclear over "
                      f"all, from noisy counts per expertise × outcome; {self.method}.",
                      _table(rows, ["expertise", "expertise_label"]), ["expertise", "expertise_label"], "share",
                      subtitle="How often the work gets done, by expertise (noisy).")

    def expertise_shape(self) -> Figure:
        df = self.data.df
        rows = []
        for e in EXPERTISE_LEVELS:
            m = (df["expertise"] == e).to_numpy()
            vals = df.loc[m, "actions_per_prompt"].to_numpy(dtype=float)
            users = [u for u, k in zip(self.users, m, strict=True) if k]
            sess = [s for s, k in zip(self.sessions, m, strict=True) if k]
            r = self.engine.mean(list(vals), *APP_BOUNDS, users, epsilon=self.eps_each,
                                 query=f"report:actions_per_prompt:{e}", session_ids=sess)
            # released or not on the mean's own noisy count: a decision on the true count would disclose it
            noisy_n = r.count if r.count is not None else 0.0
            rows.append(_row({"expertise": e, "expertise_label": f"{e} {label(EXPERTISE, e).name}"},
                             "actions_per_prompt", r.value, r.ci_low, r.ci_high, noisy_n,
                             self.policy.min_sessions, self.method))
        # the noisy count decides suppression; the table does not show it
        t = _table(rows, ["expertise", "expertise_label"])
        t["n_sessions"] = pd.array([pd.NA] * len(t), dtype="Int64")
        return Figure("expertise_shape", "Expertise and actions per prompt",
                      f"Noisy mean of actions per prompt (clamped to {APP_BOUNDS[0]:g}–{APP_BOUNDS[1]:g}) by expertise; "
                      f"{self.method}.", t, ["expertise", "expertise_label"], "number",
                      subtitle="Experts delegate bigger steps (noisy).")

    def value_by_month(self) -> Figure:
        df = self.data.df
        if "value_usd" not in df or df["value_usd"].isna().all():
            return _unavailable("value_by_month", "Value per session by month", "needs value estimates")
        means = []
        for m in self.data.months:
            mask = (df["month"] == m).to_numpy()
            vals = df.loc[mask, "value_usd"].to_numpy(dtype=float)
            users = [u for u, k in zip(self.users, mask, strict=True) if k]
            sess = [s for s, k in zip(self.sessions, mask, strict=True) if k]
            r = self.engine.mean(list(vals), *VALUE_BOUNDS, users, epsilon=self.eps_each,
                                 query=f"report:value_usd:{m}", session_ids=sess)
            means.append(r)
        base = means[0].value or 1.0
        rows = [_row({"month": m}, "raw", 100 * r.value / base, 100 * r.ci_low / base, 100 * r.ci_high / base,
                     float((df["month"] == m).sum()), self.policy.min_sessions, self.method)
                for m, r in zip(self.data.months, means, strict=True)]
        t = _table(rows, ["month"])
        t["n_sessions"] = pd.array([pd.NA] * len(t), dtype="Int64")
        return Figure("value_by_month", "Value per session by month",
                      f"Noisy mean estimated value per session (clamped to ${VALUE_BOUNDS[1]:,.0f}) each month as an "
                      f"index (first month = 100; the interval ignores the base month's noise); {self.method}.",
                      t, ["month"], "index", subtitle="An estimate of value, with noise added (not reweighted in DP mode).")

    def success_trend(self) -> Figure:
        df = self.data.df
        out = df["outcome"].astype("string")
        # each session falls in one cell (the unclear ones too: taxonomy §3 reports their share beside), so the
        # histogram's sensitivity is what it was without the unclear cells
        conds = [out == "verified_success", out.isin(["success", "partial", "failure"]), out == "unclear"]
        lab = np.select([c.fillna(False).to_numpy(dtype=bool) for c in conds], ["strict", "other", "unclear"], "-")
        cats = [f"{m}::{x}" for m in self.data.months for x in ("strict", "other", "unclear")]
        vals = (df["month"].fillna("-") + "::" + pd.Series(lab, index=df.index)).tolist()
        h = self._hist(vals, cats, "report:success_trend")
        rows = []
        for m in self.data.months:
            s = h.counts[h.categories.index(f"{m}::strict")]
            o = h.counts[h.categories.index(f"{m}::other")]
            den = max(s + o, 1.0)
            rows.append(_row({"month": m}, "raw", s / den, max(0.0, (s - h.half_width) / den),
                             min(1.0, (s + h.half_width) / den), min(s, o), self._floor(h.half_width), self.method,
                             n_show=s + o))
            u = h.counts[h.categories.index(f"{m}::unclear")]
            every = max(s + o + u, 1.0)
            rows.append(_row({"month": m}, "unclear", u / every, max(0.0, (u - h.half_width) / every),
                             min(1.0, (u + h.half_width) / every), min(u, s + o), self._floor(h.half_width),
                             self.method, n_show=s + o + u))
        return Figure("success_trend", "Strict success by month",
                      f"Each month, noisy strict successes over noisy sessions with a known outcome, and the noisy share "
                      f"of sessions whose outcome is unclear; {self.method}.",
                      _table(rows, ["month"]), ["month"], "share", subtitle="Strict success over time (noisy).")


def dp_figures(data: ReportData, policy: PolicyLike, ledger: PrivacyLedger, *, epsilon: float,
               delta: float | None, seed: int = 0, max_sessions_per_user: int = 10) -> tuple[list[Figure], DPReport]:
    rep = DPReport(data, policy, ledger, epsilon=epsilon, delta=delta, seed=seed,
                   max_sessions_per_user=max_sessions_per_user)
    figs = rep.figures()
    return figs, rep


__all__ = ["DP_FIGURES", "DPReport", "dataset_name", "dp_figures"]
