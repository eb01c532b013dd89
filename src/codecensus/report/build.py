"""Build the report: figures → HTML + one CSV/Parquet per figure + the long table + a manifest."""

from __future__ import annotations

import contextlib
import itertools
import math
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from codecensus.aggregate.figures import (
    AUDITED_VARIABLES,
    FIGURES,
    RELEASE_DIFFERENCES,
    RELEASE_GROUP_TOTALS,
    RELEASE_KEY_PARTS,
    RELEASE_KEY_TOTALS,
    RELEASE_LINE_TOTALS,
    RELEASE_LINE_WHOLES,
    RELEASE_MONTH_GAPS,
    RELEASE_MONTH_GROUPS,
    RELEASE_MONTH_INSIDE,
    RELEASE_MONTHLY_COUNTS,
    RELEASE_NESTED,
    RELEASE_NESTED_CELLS,
    RELEASE_NESTED_MONTHS,
    RELEASE_NESTED_NS,
    RELEASE_NESTED_TOTALS,
    RELEASE_PARTITIONS,
    RELEASE_RATE_REGIONS,
    RELEASE_RATES,
    RELEASE_SAME_MONTHS,
    RELEASE_SUMS,
    RELEASE_TREES,
    RELEASE_WITHHELD_WITH,
    Context,
    Figure,
    ReportData,
    _unavailable,
    build_figures,
    load_report_data,
    long_table,
    nested_populations,
    public_table,
)
from codecensus.aggregate.privacy import TEAM_MIN_SESSIONS, TEAM_MIN_USERS, ReleasePolicy, check_release
from codecensus.report.findings import Finding, count_noun, key_findings
from codecensus.report.html import ReleaseView, render_html
from codecensus.store import Store


@dataclass(slots=True)
class ReportOptions:
    out: Path = Path("report")
    since: str | None = None
    until: str | None = None
    min_users: int | None = None  # default: 5 (individual mode: 1)
    min_sessions: int | None = None  # default: 10 (individual mode: 1)
    individual: bool = False
    epsilon: float | None = None
    # the sessions' total, set by the first DP report (default: its epsilon); a first report refused whole and
    # refunded (nothing released) does not set it (PrivacyLedger.refund)
    epsilon_budget: float | None = None
    delta: float | None = None
    bootstrap: int = 200
    seed: int = 0
    title: str = "codecensus report"


@dataclass(slots=True)
class Computed:
    figures: list[Figure]
    findings: list[Finding]
    release: ReleaseView
    policy: ReleasePolicy
    seconds: float
    sessions: int
    users: int


@dataclass(slots=True)
class ReportResult:
    html: Path
    tables: list[Path]
    long: pa.Table
    computed: Computed
    extra: dict[str, Any] = field(default_factory=dict)


class ReleaseAuditFailed(RuntimeError):
    """The final audit found a released cell that breaks the release policy: nothing is written."""


def _unauditable(f: Figure) -> str:
    """Why the audit cannot read figure ``f`` (a column it needs is missing); empty when it can."""
    t = f.table
    ok = "suppressed" in t and "n_users" in t and "n_sessions" in t
    return "" if ok else f"figure {f.id}: no suppressed / n_users / n_sessions column"


def audit_release(figures: list[Figure], policy: ReleasePolicy, *, dp_floor: int | None = None,
                  users: npt.NDArray[np.int64] | None = None) -> list[str]:
    """The last check before anything leaves: every released cell of every figure (the rows behind the HTML, the
    CSV/Parquet tables and the long table, which are all written from these tables) against the policy.

    Without differential privacy each released row goes through :func:`check_release` (counts present, at least
    ``min_users`` users and ``min_sessions`` sessions, or an empty 0/0 cell). Under differential privacy
    (``dp_floor``: the smallest noisy session count a released cell may show) no exact user count may be released
    and a shown noisy session count must reach ``dp_floor``. Returns the problems (empty: the release is clean).

    ``users`` (the user code of each of the report's sessions, ``UserBootstrap.codes``) makes the groups that
    subtraction of released counts gives pass the user threshold too: each such group is worked out as a set of
    sessions from the sessions behind the released rows (``figures.SESSION_COLUMNS_AUDITED``) and must be empty or
    have ``min_users`` distinct users (one user can be on both sides of a difference, so its users do not follow from
    the two counts of users). Without it only their sessions are checked. With it, a released row the audit reads that
    carries no sessions (or a figure n that is a line's total) is a problem itself: the check would pass unlooked.
    """
    problems: list[str] = []
    for f in figures:
        if not f.available:
            continue
        t = f.table
        if _unauditable(f):
            problems.append(_unauditable(f))
            continue
        keys = [k for k in f.keys if k in t.columns and not k.endswith("_label")]
        # numbers a withheld row must not carry (its counts, value and interval: apply_release_policy nulls them)
        # (every number outside the figure's keys; a figure that names no keys: the standard columns)
        numeric = [c for c in t.select_dtypes(include="number").columns if not str(c).startswith("_") and (
            c not in f.keys if f.keys else c in ("value", "ci_low", "ci_high", "n_users", "n_sessions"))]
        for r in t.to_dict("records"):
            if bool(r["suppressed"]):
                kept = [c for c in numeric if pd.notna(r[c])]
                if kept:
                    where = ", ".join(f"{k}={r[k]}" for k in keys) + (f", {r['variable']}" if "variable" in r else "")
                    problems.append(f"figure {f.id} ({where}): a withheld cell still carries {', '.join(kept)}")
                continue
            where = ", ".join(f"{k}={r[k]}" for k in keys) + (f", {r['variable']}" if "variable" in r else "")
            nu = None if pd.isna(r["n_users"]) else int(r["n_users"])
            ns = None if pd.isna(r["n_sessions"]) else int(r["n_sessions"])
            if dp_floor is not None:
                if nu is not None:
                    problems.append(f"figure {f.id} ({where}): an exact user count ({nu}) released under "
                                    "differential privacy")
                if ns is not None and ns < dp_floor:
                    problems.append(f"figure {f.id} ({where}): noisy count {ns} released below {dp_floor}")
                continue
            for p in check_release([{"n_users": nu, "n_sessions": ns, "suppressed": False}], policy, group_by=()):
                problems.append(f"figure {f.id} ({where}): {p.removeprefix('row 0: ')}")
    if dp_floor is None and not policy.individual:
        problems += _audit_partitions(figures)
        problems += _audit_derived(figures, policy, _Users(users, policy) if users is not None else None)
        problems += _audit_abstentions(figures)
        by_id = {f.id: f.table for f in figures if f.available and len(f.table) and "suppressed" in f.table
                 and "variable" in f.table}
        problems += _audit_figure_ns(figures, policy, _Users(users, policy) if users is not None else None, by_id)
        if users is not None:
            problems += _audit_sessions_carried(figures, policy)
    if dp_floor is not None:
        problems += _audit_dp_months(figures)
    return problems


def _audit_figure_ns(figures: list[Figure], policy: ReleasePolicy, users: _Users | None = None,
                     by_id: dict[str, pd.DataFrame] | None = None) -> list[str]:
    """Two released totals, one population inside the other: their difference must be none or pass (sessions; with
    ``users``, distinct users too). The totals are the figures' released n (the sessions each counts,
    ``Figure.sessions``) and the totals a reader derives from a share line's released cells (:func:`_share_totals`:
    a cell's n / share is its line's sessions, released or not as an n: a decision kind's bins, a shape metric's). Work
    modes by month's n was the classified sessions with a time: work modes' n less it gave the classified sessions
    without a time (on the real corpus 353 less 346: 7 sessions of 1 user). A difference that holds sessions not
    classified is not checked, as :data:`RELEASE_NESTED_NS` leaves them out (their count is released wherever
    classification is partial: session shape's n less work modes' is the sessions with a prompt not classified).

    A total whose sessions are all in the groups (n / share) work modes by month gives of the months
    (:data:`RELEASE_MONTH_GAPS`: its sessions all have a time, and each of their months has a group) is read against
    the groups of the months it has sessions in too: their sum less the total is those months' classified sessions it
    leaves out (decisions' n less them: the months' classified sessions without a planning share), which must be none
    or pass (figures withhold such an n: ``_month_group_population``).

    Worked out on the regions of the totals' sets of sessions (the sessions in the same of them): one total is inside
    another when none of its regions is outside it, and their difference is the regions of the one not in the other."""
    classified = _all_classified(figures)
    totals: list[tuple[str, str, np.ndarray]] = [
        (f.id, f"{f.id}'s n", f.sessions) for f in figures if f.available and f.sessions is not None
        and len(f.sessions) and f.n_users >= policy.min_users and f.n_sessions >= policy.min_sessions]
    if by_id is not None:
        totals += _share_totals(by_id)
    totals = _distinct_totals(totals)
    series, svar = RELEASE_MONTH_GAPS
    groups = _month_groups(by_id[series], svar) if by_id is not None and series in by_id else {}
    if any(x is None or not len(x) for x in groups.values()):
        groups = {}  # a group whose sessions are not known (_audit_sessions_carried)
    months = sorted(groups)
    if len(totals) < (1 if months else 2):
        return []
    sets = ([x for _f, _n, x in totals] + ([classified] if classified is not None else [])
            + [x for m in months if (x := groups[m]) is not None])
    every, region, member = _set_regions(sets)
    sizes = np.bincount(region[every], minlength=member.shape[0]).astype(np.int64)
    T = len(totals)
    m = member[:, :T].astype(np.float32)
    outside = m.T @ (1.0 - m)  # [a, b]: regions of total a outside total b
    n_of = sizes @ member[:, :T]
    region_users: np.ndarray | None = None
    if users is not None:
        ru = pd.DataFrame({"r": region[every], "u": users.codes[every]}).drop_duplicates()
        region_users = np.bincount(ru["r"].to_numpy(), minlength=member.shape[0])
    not_classified = ~member[:, T] if classified is not None else None
    problems: list[str] = []
    seen: set[bytes] = set()
    for b in range(T):
        for a in range(T):
            if n_of[a] >= n_of[b] or outside[a, b] > 0.5:
                continue  # not a strict part of total b
            rest = member[:, b] & ~member[:, a]
            key = rest.tobytes()
            if key in seen:
                continue  # the same sessions as a difference read before
            if not_classified is not None and bool((rest & not_classified).any()):
                continue  # holds sessions not classified (see above)
            seen.add(key)
            n = int(sizes[rest].sum())
            few_users = region_users is not None and int(region_users[rest].max(initial=0)) < policy.min_users
            if not _small(n, policy) and not few_users:
                continue
            x = every[rest[region[every]]]
            problems += _derived_problems(f"figure {totals[a][0]}", f"{totals[b][1]} less {totals[a][1]}", x, policy,
                                          users)
    in_month = member[:, len(sets) - len(months):]  # regions x months: the regions of each month's group
    dated = in_month.any(axis=1)
    for a in range(T if months else 0):  # each total against the groups of its months
        mine = member[:, a]
        if bool((mine & ~dated).any()):
            continue  # sessions without a time, or of a month with no group (or not classified): no count of a gap
        touched = (in_month & mine[:, None]).any(axis=0)
        rest = in_month[:, touched].any(axis=1) & ~mine
        key = rest.tobytes()
        if not rest.any() or key in seen:
            continue  # none left out, or the same sessions as a difference read before
        seen.add(key)
        few_users = region_users is not None and int(region_users[rest].max(initial=0)) < policy.min_users
        if not _small(int(sizes[rest].sum()), policy) and not few_users:
            continue
        what = (f"the groups of {', '.join(m for m, t in zip(months, touched, strict=True) if t)} ({series}'s {svar}, "
                f"n / share) less {totals[a][1]}")
        problems += _derived_problems(f"figure {totals[a][0]}", what, every[rest[region[every]]], policy, users)
    return problems


def _share_totals(by_id: dict[str, pd.DataFrame]) -> list[tuple[str, str, np.ndarray]]:
    """The totals a reader derives from share lines (:data:`RELEASE_RATES`), as (figure, name, sessions): a released
    cell above 0 of a share whose n counts its sessions gives its line's sessions (n / share, ``_den_sessions``); a
    share whose n is its line's sessions releases them as its n (``_sessions``). A line is the cells of one value of
    the figure's group columns (a decision kind, a shape metric, a month, a level; a topic's parent); each line once.
    Rows without their sessions are left to :func:`_audit_sessions_carried`."""
    out: list[tuple[str, str, np.ndarray]] = []
    for fid, rates in RELEASE_RATES.items():
        t = by_id.get(fid)
        if t is None:
            continue
        for var, kind in rates.items():
            x = _released(t, var)
            if kind == "numerator":
                x = x[x["value"].astype(float) > 0]
            if x.empty:
                continue
            col = "_den_sessions" if kind == "numerator" else "_sessions"
            series = [c for c in _GROUP_COLUMNS if c in x]
            read: set[int] = set()
            for r, s in zip(x[series].to_dict("records") if series else [{}] * len(x), _col(x, col), strict=True):
                if s is None or not len(s) or id(s) in read:
                    continue
                read.add(id(s))
                where = ", ".join(f"{c}={v}" for c, v in r.items() if pd.notna(v))
                what = "total (n / share)" if kind == "numerator" else "n"
                out.append((fid, f"{fid}'s {var}{f' ({where})' if where else ''} {what}", s))
    return out


def _distinct_totals(totals: list[tuple[str, str, np.ndarray]]) -> list[tuple[str, str, np.ndarray]]:
    """``totals`` with one of each set of sessions (the first)."""
    out: list[tuple[str, str, np.ndarray]] = []
    by_key: dict[tuple[int, int, int], list[np.ndarray]] = {}
    for fid, name, x in totals:
        k = (len(x), int(x[0]), int(x[-1]))
        same = by_key.setdefault(k, [])
        if any(y is x or np.array_equal(y, x) for y in same):
            continue
        same.append(x)
        out.append((fid, name, x))
    return out


def _set_regions(sets: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The regions of sets of sessions (non-empty): the sessions in any of them (ascending), each session's region
    (an array over the session indices, -1 outside them) and the regions' membership (regions x sets, bool)."""
    every = _union(sets)
    assert every is not None
    n = int(every[-1]) + 1
    keys = np.random.default_rng(0).integers(1, 2 ** 63, size=len(sets), dtype=np.uint64)
    sig = np.zeros(n, dtype=np.uint64)  # each session's sets, hashed (a xor of a random key per set)
    for j, x in enumerate(sets):
        sig[x] ^= keys[j]
    codes = pd.factorize(sig[every])[0].astype(np.int64)
    region = np.full(n, -1, dtype=np.int64)
    region[every] = codes
    member = np.zeros((int(codes.max()) + 1, len(sets)), dtype=bool)
    for j, x in enumerate(sets):
        member[region[x], j] = True
    sizes = np.bincount(codes, minlength=member.shape[0])
    if any(int(sizes[member[:, j]].sum()) != len(x) for j, x in enumerate(sets)):  # two signatures hashed alike
        bits = np.zeros((n, len(sets)), dtype=bool)
        for j, x in enumerate(sets):
            bits[x, j] = True
        packed = np.packbits(bits[every], axis=1)
        codes = np.unique(packed, axis=0, return_inverse=True)[1].reshape(-1).astype(np.int64)
        region[every] = codes
        member = np.zeros((int(codes.max()) + 1, len(sets)), dtype=bool)
        for j, x in enumerate(sets):
            member[region[x], j] = True
    return every, region, member


def _all_classified(figures: list[Figure]) -> np.ndarray | None:
    """The sessions classified (coverage's 'classified sessions' row, released or not), None where not known."""
    cov = next((f for f in figures if f.id == "coverage" and f.available), None)
    if cov is None or not {"dimension", "variable", "_sessions"} <= set(cov.table.columns):
        return None
    t = cov.table
    x = _col(t[(t["dimension"] == "all") & (t["variable"] == "classified sessions")])
    return x[0] if x and x[0] is not None else None


def _audit_dp_months(figures: list[Figure]) -> list[str]:
    """Under differential privacy the months shown run from the first to the last month with a released cell, and
    'N months' counts them: a month at either end without one came from the exact data (one session's month)."""
    tables = [f.table for f in figures if f.available and "month" in f.table and len(f.table)]
    shown = {str(m) for t in tables for m in t["month"].dropna()}
    released = {str(m) for t in tables for m in t.loc[~t["suppressed"].astype(bool), "month"].dropna()}
    problems = [f"months {', '.join(sorted(m for m in shown if released and not min(released) <= m <= max(released)))}"
                " shown without a released cell at the ends of the range"] if shown and (
        not released or min(shown) < min(released) or max(shown) > max(released)) else []
    cov = next((f for f in figures if f.id == "coverage" and f.available), None)
    span = len(pd.period_range(min(shown), max(shown), freq="M")) if shown else 0
    return problems + _months_count_problem(cov, span)


def _months_count_problem(coverage: Figure | None, span: int) -> list[str]:
    """'N months' (coverage) must count the ``span`` months the report shows."""
    said = coverage.extra.get("months") if coverage is not None else None
    return [] if said is None or int(said) == span else [
        f"figure coverage: the report says {said} months, but shows {span}"]


def _audit_abstentions(figures: list[Figure]) -> list[str]:
    """The abstentions figure's lines that other figures' withheld cells give back: its occupation line where the
    occupations figure withholds its not-inferable cell (the same sessions), and its outcome line where its own
    whole-session line is withheld (the unclear sessions the success trend's months add up to, less the outcome
    line's, are those sessions). Such a line releases no cell (``fig_abstentions``, ``withhold_linked``)."""
    by = {f.id: f.table for f in figures if f.available and len(f.table) and "suppressed" in f.table}
    ab = by.get("abstentions")
    if ab is None or "facet" not in ab:
        return []
    occ = by.get("occupations")
    gone: list[tuple[str, str]] = []
    if occ is not None and "occupation" in occ:
        ni = occ[(occ["occupation"] == "not_inferable") & (occ["variable"] == "share_of_sessions")]
        if bool(ni["suppressed"].astype(bool).any()):
            gone.append(("occupation", "occupations withholds its not-inferable cell"))
    whole = ab[(ab["facet"] == "session") & (ab["variable"] == "abstained")]
    if bool(whole["suppressed"].astype(bool).any()):
        gone.append(("outcome", "the whole-session line is withheld"))
    return [f"figure abstentions (facet={facet}): released, but {why}, which subtraction then recovers"
            for facet, why in gone if bool((~ab.loc[ab["facet"] == facet, "suppressed"].astype(bool)).any())]


def _audit_sessions_carried(figures: list[Figure], policy: ReleasePolicy) -> list[str]:
    """The distinct-user check of derived groups needs the sessions behind every released row it reads
    (:data:`AUDITED_VARIABLES`: ``_sessions``; a share's group, ``_den_sessions``; a rate whose n is its group, the
    sessions it counts, ``_num_sessions``) and of every figure n that is a line's total (:data:`RELEASE_LINE_WHOLES`).
    Where they are missing the check would pass without looking: each such figure and variable is a problem."""
    problems: list[str] = []
    wholes = {tfig for totals in RELEASE_LINE_WHOLES.values() for total in totals
              for tfig, tvar, _c, _v in total if tvar is None}
    wholes |= {tfig for totals in RELEASE_KEY_TOTALS.values() for tfig, tvar, _c, _v, _s in totals if tvar is None}
    wholes |= {tfig for pair in RELEASE_NESTED_TOTALS.values() for totals in pair
               for tfig, tvar, _c, _v, _s in totals if tvar is None}
    wholes |= {tfig for totals in RELEASE_MONTH_GROUPS.values() for tfig, tvar, _c, _v, _s in totals if tvar is None}
    wholes |= {tfig for totals, _in in RELEASE_NESTED_NS.values() for tfig, tvar, _c, _v in totals if tvar is None}
    for f in figures:
        if not f.available:
            continue
        t = f.table
        if f.id in wholes and f.sessions is None and f.n_users >= policy.min_users \
                and f.n_sessions >= policy.min_sessions:
            problems.append(f"figure {f.id}: its n carries no sessions; the distinct-user check cannot run")
        audited = AUDITED_VARIABLES.get(f.id, frozenset())
        if not audited or "variable" not in t or "suppressed" not in t:
            continue
        rates = RELEASE_RATES.get(f.id, {})
        for var in sorted(audited):
            rows = t[(t["variable"] == var) & ~t["suppressed"].astype(bool)]
            if rows.empty:
                continue
            need = ["_sessions"] + {"numerator": ["_den_sessions"], "denominator": ["_num_sessions"]}.get(
                rates.get(var, ""), [])
            for c in need:
                if any(x is None for x in _col(rows, c)):
                    problems.append(f"figure {f.id} variable {var}: released rows carry no sessions ({c}); the "
                                    "distinct-user check cannot run")
    return problems


class _Problem(str):
    """A problem of the audit about a group of sessions a reader works out (its text), with that group: its
    sessions' key (``sessions``, the ascending row indices' bytes) and size. A refusal reports each group once, with the
    ways the released numbers give it (:func:`_refusal`); as text it is the problem's words."""

    sessions: bytes | None
    size: int

    def __new__(cls, text: str, sessions: np.ndarray | None = None) -> _Problem:
        self = super().__new__(cls, text)
        # (None: a copy, which str's pickling makes from the text alone)
        self.sessions = None if sessions is None else np.asarray(sessions, dtype=np.int64).tobytes()
        self.size = 0 if sessions is None else len(sessions)
        return self


def _about(text: str, sessions: np.ndarray | None) -> str:
    """``text``, a problem about the group ``sessions`` when they are known (:class:`_Problem`)."""
    return _Problem(text, sessions) if sessions is not None else text


def _derived_problems(head: str, what: str, rest: np.ndarray | None, policy: ReleasePolicy,
                      users: _Users | None) -> list[str]:
    """The problems of a group of sessions ``rest`` a reader derives (``what``, in ``head``): too few sessions, and
    with ``users`` too few distinct users; none when it is none or passes (``rest`` None: not known)."""
    out = ([_Problem(f"{head}: {what} gives {len(rest)} sessions, below the thresholds", rest)]
           if rest is not None and _small(len(rest), policy) else [])
    return out + (users.problem(head, what, rest) if users is not None else [])


def _small(n: float, policy: ReleasePolicy) -> bool:
    """A derived count of sessions that is neither none nor enough: below ``min_sessions`` (its users are not
    released, so only the sessions are checked; fewer sessions than ``min_sessions`` is too few whatever the users)."""
    return 0.5 <= n < policy.min_sessions - 0.5


class _Users:
    """The distinct users of sets of the report's sessions (row indices, as ``figures.SESSION_COLUMNS_AUDITED``
    holds them), against the policy's ``min_users``: the audit of derived groups."""

    def __init__(self, codes: npt.NDArray[np.int64], policy: ReleasePolicy) -> None:
        self.codes = np.asarray(codes, dtype=np.int64)
        self.policy = policy

    def few(self, sessions: np.ndarray | None) -> int | None:
        """The number of users of ``sessions`` when they are some and fewer than ``min_users``; else None (also when
        the sessions are not known)."""
        if sessions is None or not len(sessions):
            return None
        codes = self.codes[sessions]
        # (hashing, not sorting; most groups show enough users in their first sessions)
        if len(pd.unique(codes[:1000])) >= self.policy.min_users:
            return None
        u = len(pd.unique(codes))
        return u if u < self.policy.min_users else None

    def problem(self, where: str, what: str, sessions: np.ndarray | None) -> list[str]:
        """The problem of a derived group ``sessions`` with too few users (empty list when none)."""
        u = self.few(sessions)
        if u is None or sessions is None:
            return []
        return [_Problem(f"{where}: {what}: {count_noun(len(sessions), 'session')} of {count_noun(u, 'user')}, "
                         f"below {count_noun(self.policy.min_users, 'user')}", sessions)]


def _ix(v: Any) -> np.ndarray | None:
    """A row's sessions (a ``_sessions``-like cell): the array, or None where the row carries none."""
    return v if isinstance(v, np.ndarray) else None


def _col(rows: pd.DataFrame, col: str = "_sessions") -> list[np.ndarray | None]:
    return [_ix(v) for v in rows[col]] if col in rows else [None] * len(rows)


# Sets of sessions are ascending arrays of row indices; their arithmetic goes through a mask over the rows (linear:
# sorting them, as np.setdiff1d does, made the audit a quarter of a 40K-session report's time).


def _union(parts: Iterable[np.ndarray | None]) -> np.ndarray | None:
    """The sessions in any of ``parts`` (None when one of them is not known)."""
    ps = list(parts)
    if any(p is None for p in ps):
        return None
    ps = [p for p in ps if p is not None and len(p)]
    if not ps:
        return np.zeros(0, np.int64)
    if len(ps) == 1:
        return ps[0]
    mask = np.zeros(max(int(p[-1]) for p in ps) + 1, dtype=bool)
    for p in ps:
        mask[p] = True
    return np.flatnonzero(mask)


def _minus(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    """The sessions of ``a`` not in ``b`` (None when either is not known)."""
    if a is None or b is None:
        return None
    if not len(a) or not len(b):
        return a
    mask = np.zeros(int(a[-1]) + 1, dtype=bool)
    mask[a] = True
    mask[b[b <= a[-1]]] = False
    return np.flatnonzero(mask)


def _released(t: pd.DataFrame, var: str) -> pd.DataFrame:
    x = t[(t["variable"] == var) & ~t["suppressed"].astype(bool)]
    return x[pd.to_numeric(x["n_sessions"], errors="coerce").notna() & pd.to_numeric(x["value"], errors="coerce").notna()]


def _audit_derived(figures: list[Figure], policy: ReleasePolicy, users: _Users | None = None) -> list[str]:
    """Counts that arithmetic on released numbers gives, each of which must be none or pass ``min_sessions``: the rest
    of a rate's group (n / share - n, or share x n: :data:`RELEASE_RATES`), the withheld cells under a released total
    of the same figure (:data:`RELEASE_SUMS`), a tree node's n less its released children (:data:`RELEASE_TREES`), the difference of two released counts (:data:`RELEASE_DIFFERENCES`),
    and the difference of two series' totals (:data:`RELEASE_NESTED`), with each series' total less the cells either
    releases, and that difference month by month across figures (:data:`RELEASE_NESTED_MONTHS`), and a row another
    figure releases less the rate groups that add up to it (:data:`RELEASE_GROUP_TOTALS`).

    With ``users``, each of those groups is also worked out as a set of sessions (from the sessions behind the rows)
    and must be empty or have ``min_users`` distinct users."""
    problems: list[str] = _audit_topics_total(figures, policy, users)
    by_id = {f.id: f.table for f in figures if f.available and len(f.table) and "suppressed" in f.table
             and "variable" in f.table}

    def where(r: dict[str, Any], keys: list[str]) -> str:
        return ", ".join(f"{k}={r[k]}" for k in keys if k in r)

    for (month_fig, month_var), (level_fig, level_var) in RELEASE_MONTHLY_COUNTS:
        mt, lt = by_id.get(month_fig), by_id.get(level_fig)
        if mt is None or lt is None:
            continue
        levels = lt[lt["variable"] == level_var]
        months = _released(mt, month_var)
        if levels.empty or levels["suppressed"].astype(bool).any() or months.empty:
            continue  # a level withheld: the levels' total is not known
        level_n = pd.to_numeric(levels["n_sessions"]).astype(float)
        month_n = pd.to_numeric(months["n_sessions"]).astype(float)
        hits = (months["value"].astype(float) * month_n).round()
        rests = [("counted", float(level_n.sum()) - float(hits.sum()))]
        shares = levels["value"].astype(float)
        if bool((shares > 0).all()):  # each level's n / share: its sessions, whose rest is the uncounted ones
            rests.append(("uncounted", float((level_n / shares - level_n).sum()) - float((month_n - hits).sum())))
        for what, rest in rests:
            if _small(round(rest), policy):
                problems.append(f"figure {month_fig} ({month_var}): {level_fig}'s {level_var} over its levels minus the "
                                f"released months gives {round(rest)} {what} sessions in the months not released")
        if users is not None:  # the same two groups as sets: the levels' counted (and uncounted) less the months'
            lv_num, lv_den = _col(levels), _col(levels, "_den_sessions")
            m_num, m_all = _col(months, "_num_sessions"), _col(months)
            sets = [("counted", _minus(_union(lv_num), _union(m_num))),
                    ("uncounted", _minus(_union(_minus(d, n) for d, n in zip(lv_den, lv_num, strict=True)),
                                         _union(_minus(a, n) for a, n in zip(m_all, m_num, strict=True))))]
            for what, x in sets:
                problems += users.problem(f"figure {month_fig} ({month_var})", f"{level_fig}'s {level_var} over its "
                                          f"levels minus the released months ({what} sessions)", x)
    for f in figures:
        t = by_id.get(f.id)
        if t is None:
            continue
        keys = [k for k in f.keys if k in t.columns and not k.endswith("_label")]
        for var, kind in RELEASE_RATES.get(f.id, {}).items():
            for r in _released(t, var).to_dict("records"):
                v, n = float(r["value"]), float(r["n_sessions"])
                if not 0 < v <= 1:
                    continue
                num, rest = (v * n, n - v * n) if kind == "denominator" else (n, n / v - n)
                group, part = ((_ix(r.get("_sessions")), _ix(r.get("_num_sessions"))) if kind == "denominator"
                               else (_ix(r.get("_den_sessions")), _ix(r.get("_sessions"))))
                for what, x in (("numerator", num), ("rest of its group", rest)):
                    if _small(x, policy):
                        problems.append(_about(f"figure {f.id} ({where(r, keys)}, {var}): its share and n give its "
                                               f"{what}, {round(x)} sessions, below the thresholds",
                                               part if what == "numerator" else _minus(group, part)))
                if users is not None:  # the same two groups as sets of sessions
                    for what, xs in (("numerator", part), ("rest of its group", _minus(group, part))):
                        problems += users.problem(f"figure {f.id} ({where(r, keys)}, {var})",
                                                  f"its share and n give its {what}", xs)
        for cells_var, col, total_var in RELEASE_SUMS.get(f.id, ()):
            if col not in t:
                continue
            totals = _released(t, total_var)
            for _, tot in totals.iterrows():
                cells = t[(t["variable"] == cells_var) & (t[col] == tot[col])]
                sup = cells["suppressed"].astype(bool)
                rest = float(tot["n_sessions"]) - float(pd.to_numeric(cells.loc[~sup, "n_sessions"]).sum())
                if rest >= 0.5 and (int(sup.sum()) < 2 or _small(rest, policy)):
                    problems.append(_about(
                        f"figure {f.id} ({col}={tot[col]}): {total_var}'s n minus the released {cells_var} cells "
                        f"gives {round(rest)} sessions in {count_noun(int(sup.sum()), 'withheld cell')}",
                        _minus(_ix(tot.get("_sessions")), _union(_col(cells.loc[~sup])))))
                if users is not None:
                    problems += users.problem(f"figure {f.id} ({col}={tot[col]})", f"{total_var}'s n minus the "
                                              f"released {cells_var} cells",
                                              _minus(_ix(tot.get("_sessions")), _union(_col(cells.loc[~sup]))))
        if f.id in RELEASE_TREES:
            var, id_col, parent_col = RELEASE_TREES[f.id]
            if id_col in t and parent_col in t:
                nodes = t[t["variable"] == var]
                for _, node in _released(t, var).iterrows():
                    kids = nodes[(nodes[parent_col] == node[id_col]) & (nodes[id_col] != node[id_col])]
                    if kids.empty:
                        continue
                    shown = pd.to_numeric(kids.loc[~kids["suppressed"].astype(bool), "n_sessions"]).sum()
                    rest = float(node["n_sessions"]) - float(shown)
                    if _small(rest, policy):
                        problems.append(_about(f"figure {f.id} ({id_col}={node[id_col]}): its n minus its released "
                                               f"children gives {round(rest)} sessions, below the thresholds",
                                               _minus(_ix(node.get("_sessions")), _union(_col(
                                                   kids.loc[~kids["suppressed"].astype(bool)])))))
                    if users is not None:
                        shown_kids = kids.loc[~kids["suppressed"].astype(bool)]
                        problems += users.problem(f"figure {f.id} ({id_col}={node[id_col]})", "its n minus its "
                                                  "released children", _minus(_ix(node.get("_sessions")),
                                                                              _union(_col(shown_kids))))
        for big, small, col in RELEASE_DIFFERENCES.get(f.id, ()):
            a, b = _released(t, big).set_index(col), _released(t, small).set_index(col)
            for k in a.index.intersection(b.index):
                d = float(a.loc[k, "n_sessions"]) - float(b.loc[k, "n_sessions"])
                if _small(d, policy):
                    problems.append(_about(f"figure {f.id} ({col}={k}): {big}'s n minus {small}'s gives {round(d)} "
                                           "sessions, below the thresholds", _minus(
                                               _ix(a.loc[k, "_sessions"]), _ix(b.loc[k, "_sessions"]))
                                           if "_sessions" in a and "_sessions" in b else None))
                if users is not None and "_sessions" in a and "_sessions" in b:
                    problems += users.problem(f"figure {f.id} ({col}={k})", f"{big}'s n minus {small}'s",
                                              _minus(_ix(a.loc[k, "_sessions"]), _ix(b.loc[k, "_sessions"])))
        if f.id in RELEASE_RATE_REGIONS:
            problems += _rate_regions(f.id, t, RELEASE_RATE_REGIONS[f.id], policy, users)
        for outer, inner in RELEASE_NESTED.get(f.id, ()):
            tot = [_series_total(t, outer), _series_total(t, inner)]
            if tot[0] is not None and tot[1] is not None and _small(tot[0] - tot[1], policy):
                problems.append(f"figure {f.id}: the totals of {outer} and {inner} (n / share) differ by "
                                f"{round(tot[0] - tot[1])} sessions, below the thresholds")
            if users is not None:
                problems += users.problem(f"figure {f.id}", f"the difference of the totals of {outer} and {inner} "
                                          "(n / share)", _minus(_series_group(t, outer), _series_group(t, inner)))
            if keys:
                problems += _nested_rests(f.id, t, keys[0], outer, inner, tot, policy, users)
    return (problems + _audit_nested_months(by_id, policy, users) + _audit_group_totals(by_id, policy, users)
            + _audit_line_totals(by_id, policy, users) + _audit_line_wholes(figures, by_id, policy, users)
            + _audit_share_groups(by_id, policy, users) + _audit_key_totals(figures, by_id, policy, users)
            + _audit_nested_totals(figures, by_id, policy, users) + _audit_month_groups(figures, by_id, policy, users)
            + _audit_nested_ns(figures, by_id, policy, users) + _audit_nested_cells(by_id, policy, users))


def _rate_regions(fid: str, t: pd.DataFrame, col: str, policy: ReleasePolicy, users: _Users | None) -> list[str]:
    """The regions of a key value's released rate groups (:data:`RELEASE_RATE_REGIONS`): each rate's numerator and
    group (``_sessions``, ``_den_sessions``) as sets of sessions; the sessions in the same of them form a region, which
    must be none or pass (sessions, and with ``users`` distinct users). Rows without their sessions are left to
    :func:`_audit_sessions_carried`."""
    problems: list[str] = []
    if col not in t or not RELEASE_RATES.get(fid):
        return problems
    rows = pd.concat([_released(t, var) for var in RELEASE_RATES[fid]])
    for k, at in rows.groupby(col, sort=True):
        sets = [x for c in ("_sessions", "_den_sessions") for x in _col(at, c)]
        if not sets or any(x is None for x in sets):
            continue
        for ix in _regions([x for x in sets if x is not None]):
            if _small(len(ix), policy):
                problems.append(_Problem(f"figure {fid} ({col}={k}): its released rates give a group of {len(ix)} "
                                         "sessions (the sessions in the same of their numerators and groups), below "
                                         "the thresholds", ix))
            if users is not None:
                problems += users.problem(f"figure {fid} ({col}={k})", "a group its released rates give", ix)
    return problems


def _regions(sets: list[np.ndarray]) -> list[np.ndarray]:
    """The regions of sets of sessions: the sessions in the same of them, one array each (none: no sessions)."""
    every = _union(sets)
    if every is None or not len(every):
        return []
    sig = np.zeros(int(every[-1]) + 1, dtype=np.int64)  # each session's sets, one bit per set
    for j, x in enumerate(sets):
        sig[x] |= 1 << j
    return [region.to_numpy(dtype=np.int64) for _s, region in pd.Series(every).groupby(sig[every])]


_SESSION_WORDS = {"_sessions": "", "_num_sessions": ", counted (share x n)", "_den_sessions": ", groups (n / share)"}


def _key_total(figs: dict[str, Figure], by_id: dict[str, pd.DataFrame], policy: ReleasePolicy, tfig: str,
               tvar: str | None, tcol: str | None, tvalue: Any, scol: str) -> tuple[str, np.ndarray | None]:
    """A total of :data:`RELEASE_KEY_TOTALS`: its name and its sessions, None where it is not released (or its
    sessions are not known: :func:`_audit_sessions_carried`)."""
    if tvar is None or tcol is None:  # the figure's n, printed when it passes the thresholds
        f = figs.get(tfig)
        if f is None or f.n_users < policy.min_users or f.n_sessions < policy.min_sessions:
            return f"{tfig}'s n", None
        return f"{tfig}'s n", f.sessions
    t = by_id.get(tfig)
    if tvalue is None:  # the union of the variable's released rows (with the lines of the same months)
        name = f"{tfig}'s {tvar} over its released {tcol}s{_SESSION_WORDS.get(scol, ' ' + scol)}"
        same = next((g for g in RELEASE_SAME_MONTHS.get(tfig, ()) if tvar in g), (tvar,)) if scol == "_sessions" \
            else (tvar,)
        rows = pd.concat([_released(t, v) for v in same]) if t is not None else None
        if rows is not None and scol == "_den_sessions":  # a group is n / share: a share of 0 gives none
            rows = rows[rows["value"].astype(float) > 0]
        return name, None if rows is None or rows.empty else _union(_col(rows, scol))
    name = f"{tfig}'s {tvar} ({tcol}={tvalue})"
    row = _released_row(by_id, tfig, tvar, tcol, tvalue) if scol == "_sessions" else None
    return name, None if row is None else row[1]


def _audit_key_totals(figures: list[Figure], by_id: dict[str, pd.DataFrame], policy: ReleasePolicy,
                      users: _Users | None = None) -> list[str]:
    """A figure's rates at each value of a key column against totals over the values that other figures release
    (:data:`RELEASE_KEY_TOTALS`: outcome by expertise's levels against strict success by month, the regression's n
    and the abstentions' outcome line). At each value the released rows of one family of :data:`RELEASE_KEY_PARTS`
    (the released rates' numerators and groups with the regression's; recovery's; expertise shape by mode's cells),
    with the value's whole (its sessions, which other figures release), are nested or apart, so their regions are
    groups a reader knows the size of; the families are worked out one at a time, as groups of different families
    overlap and their intersections are no released sizes (unclear sessions with trouble in a work mode at a level:
    before, an 8-session "group" of a report that gave none). A reader adds or subtracts
    totals (each once) and subtracts any of those groups: each group of sessions that is left must be none or pass
    (sessions; with ``users``, distinct users too). Worked out as sets of sessions, whatever the figure decided.

    A value's whole (its sessions) is read only where a figure releases it (:data:`RELEASE_KEY_PARTS`: expertise
    shape, by mode, recovery; or a released rate's group), and every group is checked, those the totals and the wholes
    give without any of the figure's rates too: the classified sessions less the sessions with a level are the
    abstentions' 'expertise: no level' line (the real corpus: 353 less 344, the 9 of the withheld line), which the
    expertise figures' n (withheld then) and their released levels must not give.

    Not checked: a reader who mixes families value by value (one family's regions at one level, another's at the next).
    Blocks at different values are apart, so under one weight of the totals each value's leftover depends on its own
    family only, and the group such a reader is left with is the union of each value's leftover with the sessions in no
    block. Each family is read here over all values, and a weight some family does not fit at some value (its blocks'
    weights differing by more than 1) is dropped for that family whole, so a mix (family A at level 1, B at level 2,
    each fitting only there, or leaving few sessions only together) is a group no check reads."""
    figs = {f.id: f for f in figures if f.available}
    problems: list[str] = []
    for (fid, col), specs in RELEASE_KEY_TOTALS.items():
        t, rates = by_id.get(fid), RELEASE_RATES.get(fid, {})
        if t is None or col not in t or not rates:
            continue
        totals: list[tuple[str, np.ndarray]] = []
        for spec in specs:
            name, x = _key_total(figs, by_id, policy, *spec)
            if x is None or not len(x):
                continue
            same = next((j for j, (_, y) in enumerate(totals) if np.array_equal(x, y)), None)
            if same is None:
                totals.append((name, x))
            else:  # the same sessions: read once
                totals[same] = (f"{totals[same][0]} (= {name})", x)
        if not totals:
            continue
        parts = [(by_id.get(pf), pv, fam) for pf, pv, fam in RELEASE_KEY_PARTS.get((fid, col), ())]
        families = [fid, *sorted({fam for _pt, _pv, fam in parts if fam is not None and fam != fid})]
        rows = t[t["variable"].isin(list(rates))]
        seen: set[str] = set()
        for family in families:  # the regions of one family's groups at a time (never their intersections)
            blocks: list[tuple[Any, np.ndarray]] = []
            for k, at in rows.groupby(col, sort=True):
                sets: list[np.ndarray | None] = []
                if family == fid:
                    shown = pd.concat([_released(at, v) for v in rates])
                    sets += [x for c in ("_sessions", "_den_sessions") for x in _col(shown, c)]
                for pt, pv, fam in parts:
                    if pt is not None and col in pt and fam in (None, family):
                        x = _released(pt, pv)
                        sets += [y for c in ("_sessions", "_den_sessions") for y in _col(x[x[col] == k], c)]
                blocks += [(k, ix) for ix in _regions([x for x in sets if x is not None and len(x)])]
            for _x, ps in _key_total_groups(fid, col, totals, blocks, policy, users):
                problems += [p for p in ps if p not in seen]
                seen.update(ps)
    return problems


def _audit_nested_totals(figures: list[Figure], by_id: dict[str, pd.DataFrame], policy: ReleasePolicy,
                         users: _Users | None = None) -> list[str]:
    """A nested pair's populations against the totals of them other figures release (:data:`RELEASE_NESTED_TOTALS`,
    with the pair's own totals, n / share of a released cell): each outer total less each inner total (the classified
    sessions less occupations by month's n: those whose occupation is not inferable, when no session lacks a time),
    and each inner total less the cells either series releases (the inferable occupations the share of sessions
    withholds beside its not-inferable cell), must be none or pass (sessions; with ``users``, distinct users too)."""
    figs = {f.id: f for f in figures if f.available}
    problems: list[str] = []
    for (fid, outer, inner), (outer_totals, inner_totals) in RELEASE_NESTED_TOTALS.items():
        t = by_id.get(fid)
        if t is None:
            continue
        own = {outer: _series_group(t, outer), inner: _series_group(t, inner)}
        outs = [(name, x) for name, x in (_key_total(figs, by_id, policy, *spec) for spec in outer_totals)
                if x is not None]
        ins = [(name, x) for name, x in (_key_total(figs, by_id, policy, *spec) for spec in inner_totals)
               if x is not None]
        if own[outer] is not None:
            outs.append((f"{fid}'s {outer} total (n / share)", own[outer]))
        shown = _union(x for x in _col(pd.concat([_released(t, v) for v in (outer, inner)])) if x is not None)
        head = f"figure {fid} ({outer}, {inner})"
        for iname, i in ins:  # (the pair's own inner total against its cells: RELEASE_NESTED)
            for oname, o in outs:
                rest = _minus(o, i)
                if rest is not None and _small(len(rest), policy):
                    problems.append(_Problem(f"{head}: {oname} less {iname} gives {len(rest)} sessions, below the "
                                             "thresholds", rest))
                if users is not None:
                    problems += users.problem(head, f"{oname} less {iname}", rest)
            # counts give the inner total less the released cells only when those cells are all inside it (the
            # occupations figure's cells over every month hold sessions of months occupations by month withholds:
            # its released months' groups less them is no number a reader has; refused as 6 sessions of 4 users)
            outside = _minus(shown, i)
            rest = _minus(i, shown) if outside is None or not len(outside) else None
            if rest is not None and _small(len(rest), policy):
                problems.append(_Problem(f"{head}: {iname} less the cells {outer} or {inner} releases gives "
                                         f"{len(rest)} sessions, below the thresholds", rest))
            if users is not None:
                problems += users.problem(head, f"{iname} less the cells {outer} or {inner} releases", rest)
    return problems


def _audit_month_groups(figures: list[Figure], by_id: dict[str, pd.DataFrame], policy: ReleasePolicy,
                        users: _Users | None = None) -> list[str]:
    """A share series over the months against totals of its population other figures release
    (:data:`RELEASE_MONTH_GROUPS`): each month it gives a group of (a released cell's n / share) is that month's
    sessions of the population, so a total less those groups is the sessions without a time with those of the months
    it gives none of, which must be none or pass (sessions; with ``users``, distinct users too). A month it gives no
    group of that lines inside its groups release (:data:`RELEASE_MONTH_INSIDE`) takes one line's sessions of it, each
    line in turn (:func:`_month_line_choices`: their counts give no union). Worked out as sets of sessions; a total
    the months' groups are not all in gives nothing by subtraction and is skipped."""
    figs = {f.id: f for f in figures if f.available}
    problems: list[str] = []
    for (fid, var), specs in RELEASE_MONTH_GROUPS.items():
        t = by_id.get(fid)
        if t is None:
            continue
        groups = _month_groups(t, var)
        if any(g is None for g in groups.values()):
            continue
        head = f"figure {fid} ({var})"
        # the lines whose released months are sessions inside the series' groups (RELEASE_MONTH_INSIDE): a month's
        # group less a line's sessions of it, and the largest of the sessions each month gives
        lines = _month_lines(by_id, RELEASE_MONTH_INSIDE.get((fid, var), ()))
        if lines is None:
            continue
        options: dict[str, list[tuple[str, np.ndarray]]] = {}  # a month it gives no group of: each line's sessions
        for lname, by_month in lines:
            for m, x in by_month.items():
                if m in groups:
                    assert groups[m] is not None
                    rest = _minus(groups[m], x) if not len(_minus(x, groups[m])) else None
                    what = f"month {m}'s group (n / share) less {lname}"
                    problems += _derived_problems(head, what, rest, policy, users)
                else:
                    options.setdefault(m, []).append((lname, x))
        problems += _withheld_line_gaps(figs, by_id, policy, users, head, groups,
                                        RELEASE_MONTH_INSIDE.get((fid, var), ()))
        if not groups and not options:
            continue
        seen: list[np.ndarray] = []
        for spec in specs:
            name, total = _key_total(figs, by_id, policy, *spec)
            if total is None or not len(total) or any(np.array_equal(total, x) for x in seen):
                continue  # not released, or the same sessions as a total read before
            seen.append(total)
            base = f"{name} less the groups of its {count_noun(len(groups), 'released month')} (n / share)"
            for chosen in _month_line_choices(options):
                shown = _union([*groups.values(), *(x for _m, _l, x in chosen)])
                if len(_minus(shown, total)):
                    continue
                rest = _minus(total, shown)
                of: dict[str, list[str]] = {}
                for m, lname, _x in chosen:
                    of.setdefault(lname, []).append(m)
                what = base + "".join(f" and {lname} of {', '.join(ms)}" for lname, ms in of.items())
                found: list[str] = []
                if rest is not None and _small(len(rest), policy):
                    found.append(_Problem(f"{head}: {what} gives {len(rest)} sessions (without a time or in the "
                                          "other months), below the thresholds", rest))
                if users is not None:
                    found += users.problem(head, what, rest)
                if found:  # (one combination that leaks names the total's problem)
                    problems += found
                    break
    return problems


def _withheld_line_gaps(figs: dict[str, Figure], by_id: dict[str, pd.DataFrame], policy: ReleasePolicy,
                        users: _Users | None, head: str, groups: dict[str, np.ndarray | None],
                        lines: Iterable[tuple[str, str]]) -> list[str]:
    """A line inside a share series' month groups (:data:`RELEASE_MONTH_INSIDE`) whose total another count gives
    (:data:`RELEASE_LINE_WHOLES`: value by month's n): the total less the line's released months is its sessions of
    the months it withholds (and of those without a time); where those are all inside the groups the series gives of
    those months, the groups less them are the months' sessions the line leaves out (their classified sessions without
    a value), which must be none or pass (sessions; with ``users``, distinct users too)."""
    problems: list[str] = []
    done: set[tuple[str, tuple[str, ...]]] = set()
    for lfig, lvar in lines:
        same = next((g for g in RELEASE_SAME_MONTHS.get(lfig, ()) if lvar in g), (lvar,))
        if (lfig, same) in done or (lfig, lvar) not in RELEASE_LINE_WHOLES:
            continue
        done.add((lfig, same))
        by_month = _month_lines(by_id, [(lfig, v) for v in same])
        if by_month is None:
            continue
        released = _union(x for _name, xs in by_month for x in xs.values())
        months = {m for _name, xs in by_month for m in xs}
        hidden = sorted(m for m in groups if m not in months)
        if not hidden or released is None:
            continue
        inside = _union(groups[m] for m in hidden)
        for total in RELEASE_LINE_WHOLES[(lfig, lvar)]:
            parts = [_key_total(figs, by_id, policy, tf, tv, tc, tval, "_sessions") for tf, tv, tc, tval in total]
            if any(x is None for _n, x in parts):
                continue
            rest_of_line = _minus(_union(x for _n, x in parts), released)
            if rest_of_line is None or not len(rest_of_line) or inside is None or len(_minus(rest_of_line, inside)):
                continue  # nothing withheld, or sessions outside those groups: no count of the months' gap
            what = (f"the groups of {', '.join(hidden)} (n / share) less {' with '.join(n for n, _x in parts)} less "
                    f"{lfig}'s released months")
            problems += _derived_problems(head, what, _minus(inside, rest_of_line), policy, users)
    return problems


def _month_line_choices(options: dict[str, list[tuple[str, np.ndarray]]], most: int = 729,
                        ) -> Iterator[list[tuple[str, str, np.ndarray]]]:
    """The ways a reader takes one line's sessions of each month a share series gives no group of (``options``: each
    month's lines, named, with their sessions there), as (month, line, sessions): a count of one line beside the
    total gives the rest, but two lines' counts of a month give no union (their overlap is not released). Only the
    lines' largest sessions matter (one inside another leaves more: it passes where the larger does), so each month
    offers those no other line of it holds; beyond ``most`` combinations, the largest line of each month, then each
    month's union of them (which every combination leaves more than: a superset that passes)."""
    per: list[list[tuple[str, str, np.ndarray]]] = []
    for m in sorted(options):
        xs = [(lname, x) for lname, x in options[m] if len(x)]
        top: list[tuple[str, np.ndarray]] = []
        for lname, x in sorted(xs, key=lambda lx: -len(lx[1])):
            if not any(not len(_minus(x, y)) for _l, y in top):
                top.append((lname, x))
        if top:
            per.append([(m, lname, x) for lname, x in top])
    if math.prod(len(p) for p in per) <= most:
        yield from (list(c) for c in itertools.product(*per))
        return
    yield [p[0] for p in per]
    yield [(p[0][0], " or ".join(lname for _m, lname, _x in p), _union(x for _m, _l, x in p)) for p in per]


def _nested_n(figs: dict[str, Figure], by_id: dict[str, pd.DataFrame], policy: ReleasePolicy, tfig: str,
              tvar: str | None, tcol: str | None, tvalue: Any) -> tuple[str, np.ndarray | None]:
    """A total of :data:`RELEASE_NESTED_NS`: its name and its sessions, None where it is not released (or its sessions
    are not known: :func:`_audit_sessions_carried`)."""
    if tvar is None or tcol is None:  # the figure's n, printed when it passes the thresholds
        f = figs.get(tfig)
        if f is None or f.n_users < policy.min_users or f.n_sessions < policy.min_sessions:
            return f"{tfig}'s n", None
        return f"{tfig}'s n", f.sessions
    name = f"{tfig}'s {tvar} ({tcol}={tvalue})"
    t = by_id.get(tfig)
    if t is None or tcol not in t:
        return name, None
    rows = _released(t, tvar)
    rows = rows[rows[tcol] == tvalue]
    return name, None if rows.empty else _union(_col(rows))


def _audit_nested_ns(figures: list[Figure], by_id: dict[str, pd.DataFrame], policy: ReleasePolicy,
                     users: _Users | None = None) -> list[str]:
    """Released n's of populations nested by definition (:data:`RELEASE_NESTED_NS`: all sessions, those with a time,
    the classified ones, those with a time among them, ...): each total less one of the same population or of one
    inside it is a group a reader works out by subtraction (coverage's sessions less usage intensity's n: the sessions
    without a time), which must be none or pass (sessions; with ``users``, distinct users too). Worked out as sets of
    sessions; an inner total that is not all inside the outer one gives nothing by subtraction and is skipped."""
    figs = {f.id: f for f in figures if f.available}
    totals = {p: [(spec[0], name, x) for spec in specs for name, x in (_nested_n(figs, by_id, policy, *spec),)
                  if x is not None] for p, (specs, _inside) in RELEASE_NESTED_NS.items()}
    for p, (specs, _inside) in RELEASE_NESTED_NS.items():  # the share lines of the same figure and value
        for tfig, tvar, tcol, tvalue in specs:
            if tvar is not None and tcol is not None:
                totals[p] += [(tfig, name, x) for name, x in _share_lines(by_id, tfig, tcol, tvalue)
                              if not any(y is x or np.array_equal(y, x) for _f, _n, y in totals[p])]
    problems: list[str] = []
    seen: set[tuple[int, int]] = set()
    for outer in RELEASE_NESTED_NS:
        for inner in nested_populations(outer):
            for _ofig, oname, o in totals[outer]:
                for ifig, iname, i in totals[inner]:
                    key = (id(o), id(i))
                    if key in seen or len(i) >= len(o) or len(_minus(i, o)):
                        continue  # read before, or not a strict part of the outer total: no count it gives
                    seen.add(key)
                    rest = _minus(o, i)
                    what = f"{oname} less {iname} ({outer} sessions less {inner} ones)"
                    head = f"figure {ifig}"
                    problems += _derived_problems(head, what, rest, policy, users)
    return problems


def _share_lines(by_id: dict[str, pd.DataFrame], fid: str, col: str, value: Any) -> list[tuple[str, np.ndarray]]:
    """The totals a reader derives from figure ``fid``'s share lines (:data:`RELEASE_RATES`, n its numerator) at
    ``col`` = ``value`` (a decision kind's bins beside its median's n: the same sessions): a released cell above 0
    gives its line's sessions (n / share, ``_den_sessions``), named; one per share variable."""
    t = by_id.get(fid)
    out: list[tuple[str, np.ndarray]] = []
    if t is None or col not in t:
        return out
    for var, kind in RELEASE_RATES.get(fid, {}).items():
        if kind != "numerator":
            continue
        x = _released(t, var)
        x = x[(x[col] == value) & (x["value"].astype(float) > 0)]
        group = next((g for g in _col(x, "_den_sessions") if g is not None and len(g)), None)
        if group is not None:
            out.append((f"{fid}'s {var} ({col}={value}) total (n / share)", group))
    return out


def _audit_nested_cells(by_id: dict[str, pd.DataFrame], policy: ReleasePolicy, users: _Users | None = None,
                        ) -> list[str]:
    """Cells of two figures at one value of a key column (or of several), nested by definition
    (:data:`RELEASE_NESTED_CELLS`: a mode's classified sessions, work modes, and its sessions with a value, value by
    mode; the same of a mode in a month, work modes by month and value by mode's index): where both are released, the
    outer cell's sessions less the inner one's must be none or pass (sessions; with ``users``, distinct users too)."""
    problems: list[str] = []
    for (ofig, ovar, key, scol), inners in RELEASE_NESTED_CELLS.items():
        cols = [key] if isinstance(key, str) else list(key)
        ot = by_id.get(ofig)
        if ot is None or any(c not in ot for c in cols):
            continue
        ort = _released(ot, ovar)
        outer = {k: x for k, x in zip(zip(*(ort[c] for c in cols), strict=True), _col(ort, scol), strict=True)}
        for ifig, ivar in inners:
            it = by_id.get(ifig)
            if it is None or any(c not in it for c in cols):
                continue
            rows = _released(it, ivar)
            for k, i in zip(zip(*(rows[c] for c in cols), strict=True), _col(rows), strict=True):
                o = outer.get(k)
                if o is None or i is None or len(_minus(i, o)):
                    continue  # not released in both, or not inside: no count gives the difference
                rest = _minus(o, i)
                at = ", ".join(f"{c}={v}" for c, v in zip(cols, k, strict=True))
                head, what = f"figure {ifig} ({at}, {ivar})", f"{ofig}'s {ovar} less it"
                problems += _derived_problems(head, what, rest, policy, users)
    return problems


def _month_lines(by_id: dict[str, pd.DataFrame], lines: Iterable[tuple[str, str]],
                 ) -> list[tuple[str, dict[str, np.ndarray]]] | None:
    """Each line's released sessions by month (the union of its released rows of the month; of a share series over
    the months, :data:`RELEASE_MONTH_GROUPS`: the month's group, n / share of a released cell above 0), named; None
    when a released row carries no sessions (:func:`_audit_sessions_carried`)."""
    out: list[tuple[str, dict[str, np.ndarray]]] = []
    for lfig, lvar in lines:
        t = by_id.get(lfig)
        if t is None or "month" not in t:
            continue
        if (lfig, lvar) in RELEASE_MONTH_GROUPS:
            groups = _month_groups(t, lvar)
            if any(g is None for g in groups.values()):
                return None
            out.append((f"{lfig}'s {lvar} (n / share)", {m: g for m, g in groups.items() if g is not None}))
            continue
        x = _released(t, lvar)
        x = x[x["month"].notna() & (pd.to_numeric(x["n_sessions"], errors="coerce") > 0)]
        by_month: dict[str, np.ndarray] = {}
        for m, g in x.groupby("month"):
            u = _union(_col(g))
            if u is None:
                return None
            by_month[str(m)] = u
        out.append((f"{lfig}'s {lvar}", by_month))
    return out


def _weights(n: int, chunk: int = 3 ** 9) -> Iterator[np.ndarray]:
    """Every weight of ``n`` totals in -1, 0, 1 but all 0, in chunks (rows of ``n`` weights)."""
    for start in range(1, 3 ** n, chunk):
        i = np.arange(start, min(start + chunk, 3 ** n), dtype=np.int64)
        yield ((i[:, None] // 3 ** np.arange(n, dtype=np.int64)) % 3 - 1).astype(np.int16)


def _key_total_groups(fid: str, col: str, totals: list[tuple[str, np.ndarray]], blocks: list[tuple[Any, np.ndarray]],
                      policy: ReleasePolicy, users: _Users | None) -> list[tuple[np.ndarray, list[str]]]:
    """The groups of :func:`_audit_key_totals` that fail the thresholds, each with its problems: a weight per total
    (-1, 0, 1) gives each session a weight; a known group (a block: the sessions of one region at one value) is
    subtracted as often as its smallest weight, which leaves each session 0 or 1 only where a block's weights differ by
    at most 1 and a session in no block weighs 0 or 1. The sessions left at 1 are the group the combination counts."""
    T = len(totals)
    n = max(int(x[-1]) for _, x in totals + blocks) + 1
    block = np.full(n, -1, dtype=np.int64)
    for b, (_k, ix) in enumerate(blocks):
        block[ix] = b
    kind = np.zeros(n, dtype=np.int64)
    for j, (_name, x) in enumerate(totals):
        kind[x] |= 1 << j
    univ = np.flatnonzero((kind > 0) | (block >= 0))
    cells, inv, size = np.unique(((block[univ] + 1) << T) | kind[univ], return_inverse=True, return_counts=True)
    inv = inv.reshape(-1)
    cblock = (cells >> T) - 1
    member = ((cells[:, None] >> np.arange(T)) & 1).astype(np.int16)  # cells x totals
    free = np.flatnonzero(cblock < 0)
    by_block = [np.flatnonzero(cblock == b) for b in np.unique(cblock[cblock >= 0])]
    by_block = [ix for ix in by_block if len(ix) > 1]  # a block of one cell: its weights never differ
    found: dict[bytes, np.ndarray] = {}  # a group's cells -> the first weights that give it
    for w in _weights(T):
        v = w @ member.T  # combinations x cells: each cell's weight
        ok = np.ones(len(w), dtype=bool)
        left = np.zeros(v.shape, dtype=bool)
        if len(free):
            vf = v[:, free]
            ok &= ((vf == 0) | (vf == 1)).all(axis=1)
            left[:, free] = vf == 1
        for ix in by_block:
            vb = v[:, ix]
            lo = vb.min(axis=1)
            ok &= vb.max(axis=1) - lo <= 1
            left[:, ix] = vb > lo[:, None]
        left, w = left[ok], w[ok]
        keep = left.any(axis=1)
        left, w = left[keep], w[keep]
        if not len(left):
            continue
        packed = np.packbits(left, axis=1)
        _u, first = np.unique(packed, axis=0, return_index=True)
        for i in first:
            found.setdefault(packed[i].tobytes(), w[i])
    if not found:
        return []
    cell_users: np.ndarray | None = None
    if users is not None:
        cu = pd.DataFrame({"c": inv, "u": users.codes[univ]}).drop_duplicates()
        cell_users = np.bincount(cu["c"].to_numpy(), minlength=len(cells))
    out: list[tuple[np.ndarray, list[str]]] = []
    for key, w in found.items():
        g = np.flatnonzero(np.unpackbits(np.frombuffer(key, dtype=np.uint8))[:len(cells)])
        s = int(size[g].sum())
        few = _small(s, policy)
        sessions = None
        if users is not None and cell_users is not None and int(cell_users[g].max()) < policy.min_users:
            sessions = univ[np.isin(inv, g)]
            few = few or users.few(sessions) is not None
        if not few:
            continue
        if sessions is None:
            sessions = univ[np.isin(inv, g)]
        problems: list[str] = []
        combo = " ".join(f"{'+' if x > 0 else '-'}{name}" for x, (name, _) in zip(w, totals, strict=True) if x)
        at = sorted({str(blocks[int(b)][0]) for b in cblock[g] if b >= 0})
        where = ", ".join([*(f"{col}={k}" for k in at), *([f"no {col} of the figure"] if (cblock[g] < 0).any()
                                                            else [])])
        head = f"figure {fid} ({col}, across the values)"
        what = (f"{combo}, with the groups the released rates give at each {col} (and its sessions) added or "
                f"subtracted, leaves sessions at {where}")
        if _small(s, policy):
            problems.append(_Problem(f"{head}: {what}: {s} sessions, below the thresholds", sessions))
        if users is not None:
            problems += users.problem(head, what, sessions)
        out.append((sessions, problems))
    return out


def _audit_line_wholes(figures: list[Figure], by_id: dict[str, pd.DataFrame], policy: ReleasePolicy,
                       users: _Users | None = None) -> list[str]:
    """Lines over all the months whose total another count gives (:data:`RELEASE_LINE_WHOLES`: a figure's n, or rows
    another figure releases): the total less the line's released months is the sessions of its withheld months and
    of those without a time, which must be none or pass (sessions; with ``users``, distinct users too). The other way
    round, where the released months are the whole total, they less the parts of it released give the one part
    withheld (the unclear months less the whole-session line: the outcome line), which must be none or pass too.

    Where lines of the figure have the same sessions each month (:data:`RELEASE_SAME_MONTHS`), a month released in
    any of them gives its n: the months read as released are those any of the lines releases, read once (with the
    first line the figure has)."""
    figs = {f.id: f for f in figures if f.available}
    problems: list[str] = []

    def withheld(tfig: str, tvar: str | None, tcol: str | None, tvalue: Any) -> np.ndarray | None:
        """The sessions of a part of a total that is not released (a withheld row, a figure n below the thresholds)."""
        if tvar is None or tcol is None:
            f = figs.get(tfig)
            return f.sessions if f is not None else None
        t = by_id.get(tfig)
        x = t[(t["variable"] == tvar) & (t[tcol] == tvalue)] if t is not None and tcol in t else None
        return _col(x)[0] if x is not None and len(x) else None

    def part(tfig: str, tvar: str | None, tcol: str | None, tvalue: Any) -> tuple[float | None, np.ndarray | None]:
        if tvar is None or tcol is None:  # the figure's n, printed when it passes the thresholds
            f = figs.get(tfig)
            if f is None or f.n_users < policy.min_users or f.n_sessions < policy.min_sessions:
                return None, None
            return float(f.n_sessions), f.sessions
        row = _released_row(by_id, tfig, tvar, tcol, tvalue)
        return (None, None) if row is None else row

    for (fid, var), totals in RELEASE_LINE_WHOLES.items():
        t = by_id.get(fid)
        if t is None:
            continue
        same = next((g for g in RELEASE_SAME_MONTHS.get(fid, ()) if var in g), (var,))
        here = [v for v in same if bool((t["variable"] == v).any())]
        if var not in here or var != here[0]:
            continue  # not in the figure, or read with the first of its lines (the months any of them releases)
        shown = pd.concat([_released(t, v) for v in (var, *(v for v in same if v != var))])
        if "month" in shown:
            shown = shown[shown["month"].notna()]
            own = set(shown.loc[shown["variable"] == var, "month"])
            shown = shown.drop_duplicates("month")  # (a month's rows of those lines: the same n and sessions)
            months = "the released months" if set(shown["month"]) == own else \
                f"the months {' or '.join(same)} releases"
        else:
            months = "the released months"
        shown_n = float(pd.to_numeric(shown["n_sessions"]).sum())
        shown_set: np.ndarray | None = None
        for total in totals:
            parts = [part(*p) for p in total]
            what = " with ".join(f"{tf}'s n" if tv is None else f"{tf}'s {tv} ({tc}={tval})"
                                 for tf, tv, tc, tval in total)
            unknown = [j for j, (n, _) in enumerate(parts) if n is None]
            if len(unknown) == 1:  # the released months against the released parts: the withheld part?
                w = withheld(*total[unknown[0]])
                known_n = sum(float(n) for n, _ in parts if n is not None)
                if w is None or round(shown_n - known_n) != len(w):
                    continue
                if shown_set is None:
                    shown_set = _union(_col(shown))
                whole = _union([*(x for j, (_, x) in enumerate(parts) if j != unknown[0]), w])
                if shown_set is None or whole is None or len(_minus(shown_set, whole)) or len(_minus(whole, shown_set)):
                    continue  # the released months are not the total
                tf, tv, tc, tval = total[unknown[0]]
                gone = f"{tf}'s n" if tv is None else f"{tf}'s {tv} ({tc}={tval})"
                its = "its released months" if months == "the released months" else months
                if _small(len(w), policy):
                    problems.append(f"figure {fid} ({var}): {its}, the whole of {what}, less the parts released "
                                    f"give {gone}, withheld: {len(w)} sessions, below the thresholds")
                if users is not None:
                    problems += users.problem(f"figure {fid} ({var})", f"{its}, the whole of {what}, less the "
                                              f"parts released give {gone}, withheld", w)
                continue
            if unknown:
                continue  # not released: no total
            rest = sum(float(n) for n, _ in parts if n is not None) - shown_n
            if _small(rest, policy):
                problems.append(f"figure {fid} ({var}): {what} less {months} gives {round(rest)} "
                                "sessions in the others, below the thresholds")
            if users is not None:
                if shown_set is None:
                    shown_set = _union(_col(shown))
                problems += users.problem(f"figure {fid} ({var})", f"{what} less {months}",
                                          _minus(_union(x for _, x in parts), shown_set))
    return problems


# columns that tell apart two share series over the same sessions (decisions' planning and execution bins, session
# shape's metrics) or name a group (a month, a level, a topic's parent): the cells of one group differ in the category
_GROUP_COLUMNS = ("kind", "metric", "month", "expertise", "parent_id")


def _audit_share_groups(by_id: dict[str, pd.DataFrame], policy: ReleasePolicy, users: _Users | None = None,
                        ) -> list[str]:
    """The cells of one group of a share series (:data:`RELEASE_RATES`, n the share's numerator: a month's modes, a
    month's occupations): any released cell gives the group (n / share), and the group less the released cells is the
    union of its withheld cells, which must be none or pass (sessions; with ``users``, distinct users too). A group
    of one cell is the rest of its group (:func:`_audit_derived`)."""
    problems: list[str] = []
    for fid, rates in RELEASE_RATES.items():
        t = by_id.get(fid)
        if t is None or "_den_sessions" not in t:
            continue
        for var, kind in rates.items():
            if kind != "numerator":
                continue
            rows = t[t["variable"] == var]
            series = [c for c in _GROUP_COLUMNS if c in rows]
            names = list(zip(*(rows[c].astype(str) for c in series), strict=True)) if series else [()] * len(rows)
            keys: dict[int, tuple[int, int]] = {}  # id of a group's array -> its content's key
            groups: dict[tuple[Any, ...], list[int]] = {}
            for i, d in enumerate(_col(rows, "_den_sessions")):
                if d is None:
                    continue
                k = keys.get(id(d))
                if k is None:
                    k = keys[id(d)] = (len(d), hash(d.tobytes()))
                groups.setdefault((*k, *names[i]), []).append(i)
            sup = rows["suppressed"].astype(bool).to_numpy()
            for at in groups.values():
                g = rows.iloc[at]
                shown = _released(g, var)
                pos = shown[shown["value"].astype(float) > 0]
                if len(at) < 2 or pos.empty:
                    continue  # one cell (the rest of its group is checked), or no group given
                r = pos.iloc[0]
                rest = float(r["n_sessions"]) / float(r["value"]) - float(pd.to_numeric(shown["n_sessions"]).sum())
                where = ", ".join(f"{c}={r[c]}" for c in _GROUP_COLUMNS if c in g and pd.notna(r[c]))
                head = f"figure {fid} ({var}{', ' + where if where else ''})"
                if _small(round(rest), policy):
                    problems.append(_about(f"{head}: its group (n / share) less its released cells gives "
                                           f"{round(rest)} sessions in {count_noun(int(sup[at].sum()), 'withheld cell')}"
                                           ", below the thresholds",
                                           _minus(_ix(r["_den_sessions"]), _union(_col(shown)))))
                if users is not None:
                    problems += users.problem(head, "its group (n / share) less its released cells",
                                              _minus(_ix(r["_den_sessions"]), _union(_col(shown))))
    return problems


def _audit_line_totals(by_id: dict[str, pd.DataFrame], policy: ReleasePolicy, users: _Users | None = None,
                       ) -> list[str]:
    """Lines of cells whose total another figure releases (:data:`RELEASE_LINE_TOTALS`): the total less the line's
    released cells is its withheld cells' sum, which must be none or pass (recomputed from released numbers, whatever
    the withheld cells were: empty ones add nothing)."""
    problems: list[str] = []
    for line, (tfig, _tvar) in RELEASE_LINE_TOTALS.items():
        fid, var, col = line
        t, totals = by_id.get(fid), _line_totals(by_id, line)
        if t is None or totals is None or col not in t:
            continue
        total_sets = _line_totals(by_id, line, "_sessions")
        for k, g in t[t["variable"] == var].groupby(col, sort=False):
            if k not in totals.index:
                continue
            shown = pd.to_numeric(g.loc[~g["suppressed"].astype(bool), "n_sessions"], errors="coerce").fillna(0)
            rest = float(totals[k]) - float(shown.sum())
            if _small(rest, policy):
                problems.append(_about(f"figure {fid} ({col}={k}, {var}): {tfig}'s n ({int(totals[k])}) less the "
                                       f"released cells gives {round(rest)} sessions in the withheld ones, below the "
                                       "thresholds", _minus(_ix(total_sets[k]) if total_sets is not None else None,
                                                            _union(_col(g.loc[~g["suppressed"].astype(bool)])))))
            if users is not None:
                problems += users.problem(f"figure {fid} ({col}={k}, {var})", f"{tfig}'s n less the released cells",
                                          _minus(_ix(total_sets[k]) if total_sets is not None else None,
                                                 _union(_col(g.loc[~g["suppressed"].astype(bool)]))))
    return problems


def _released_row(by_id: dict[str, pd.DataFrame], fid: str, var: str, col: str, value: Any,
                  ) -> tuple[float, np.ndarray | None] | None:
    """The n of figure ``fid``'s row (``var``, ``col`` = ``value``) and its sessions (None when not known): released,
    or the sum of its cells when the figure releases them all (:data:`RELEASE_SUMS`); None when neither."""
    t = by_id.get(fid)
    if t is None or col not in t:
        return None
    x = _released(t, var)
    x = x[x[col] == value]
    if len(x):
        return float(x["n_sessions"].iloc[0]), _col(x)[0]
    for cells_var, cells_col, total_var in RELEASE_SUMS.get(fid, ()):
        cells = t[(t["variable"] == cells_var) & (t[cells_col] == value)] if cells_col == col and total_var == var \
            else t.iloc[:0]
        if len(cells) and not bool(cells["suppressed"].astype(bool).any()):
            return float(pd.to_numeric(cells["n_sessions"]).sum()), _union(_col(cells))
    return None


def _audit_group_totals(by_id: dict[str, pd.DataFrame], policy: ReleasePolicy, users: _Users | None = None,
                        ) -> list[str]:
    """Rate groups that add up to a row another figure releases (:data:`RELEASE_GROUP_TOTALS`): a key's whole group is
    known from the whole rate (n / share, or its part rate's n / share plus the whole rate's n when both are released);
    the total less the known groups is the others' (and the sessions in none), which must be none, or over two or more
    groups and pass."""
    problems: list[str] = []
    for (fid, col, whole, part), (tfig, tvar, tcol, tvalue) in RELEASE_GROUP_TOTALS:
        t = by_id.get(fid)
        row = _released_row(by_id, tfig, tvar, tcol, tvalue)
        if t is None or col not in t or row is None:
            continue
        total, total_sessions = row
        w, p = (_released(t, v).drop_duplicates(col).set_index(col) for v in (whole, part))
        known, unknown = 0.0, []
        known_sets: list[np.ndarray | None] = []  # the sessions of the groups the released rows give

        def at(x: pd.DataFrame, k: Any, c: str) -> np.ndarray | None:
            return _ix(x.loc[k, c]) if c in x else None

        for k in dict.fromkeys(t.loc[t["variable"].isin([whole, part]), col]):
            wv = float(w.loc[k, "value"]) if k in w.index else None
            pv = float(p.loc[k, "value"]) if k in p.index else None
            if wv is not None and wv > 0:
                known += float(w.loc[k, "n_sessions"]) / wv
                known_sets.append(at(w, k, "_den_sessions"))
                continue
            if pv is not None and pv > 0:
                known += float(p.loc[k, "n_sessions"]) / pv + (float(w.loc[k, "n_sessions"]) if wv is not None else 0)
                known_sets.append(at(p, k, "_den_sessions"))
                if wv is not None:
                    known_sets.append(at(w, k, "_sessions"))
                    continue
            unknown.append(k)
        rest = total - known
        if rest >= 0.5 and (len(unknown) < 2 or _small(rest, policy)):
            problems.append(f"figure {fid} ({whole}): {tfig}'s {tcol}={tvalue} ({round(total)}) less the groups its "
                            f"released rows give gives {round(rest)} sessions in {count_noun(len(unknown), 'withheld group')}")
        if users is not None:
            problems += users.problem(f"figure {fid} ({whole})", f"{tfig}'s {tcol}={tvalue} less the groups its "
                                      "released rows give", _minus(total_sessions, _union(known_sets)))
    return problems


def _series_group(t: pd.DataFrame, var: str) -> np.ndarray | None:
    """The sessions of the total :func:`_series_total` gives (a released cell's group; None: not known)."""
    x = _released(t, var)
    x = x[x["value"].astype(float) > 0]
    return _col(x, "_den_sessions")[0] if len(x) else None


def _series_total(t: pd.DataFrame, var: str) -> float | None:
    """The total a share series gives: a released cell's n / share (None: no released cell above 0)."""
    x = _released(t, var)
    x = x[x["value"].astype(float) > 0]
    return float(x["n_sessions"].iloc[0]) / float(x["value"].iloc[0]) if len(x) else None


def _nested_rests(fid: str, t: pd.DataFrame, col: str, outer: str, inner: str, tot: list[float | None],
                  policy: ReleasePolicy, users: _Users | None = None) -> list[str]:
    """The cells of two nested share series (:data:`RELEASE_NESTED`) that their totals give back: a cell's count is
    known where either series releases it, and the outer cells outside the inner series (not inferable) sum to the
    difference of the totals. Each series' total less its known cells is its unknown cells' sum: it must be none, or
    over two or more cells and pass (occupations withholding not inferable with a small occupation, but releasing
    the other occupations' share where inferable: n / share less their n is that occupation alone)."""
    known: dict[Any, float] = {}
    known_sets: dict[Any, np.ndarray | None] = {}
    for var in (outer, inner):
        for r in _released(t, var).to_dict("records"):
            known.setdefault(r[col], float(r["n_sessions"]))
            known_sets.setdefault(r[col], _ix(r.get("_sessions")))
    cells = {var: list(dict.fromkeys(t.loc[t["variable"] == var, col])) for var in (outer, inner)}
    extra = [k for k in cells[outer] if k not in set(cells[inner])]
    groups = {var: _series_group(t, var) for var in (outer, inner)}
    if tot[0] is not None and tot[1] is not None and len(extra) == 1:
        known.setdefault(extra[0], tot[0] - tot[1])
        known_sets.setdefault(extra[0], _minus(groups[outer], groups[inner]))
    problems = []
    for var, total in zip((outer, inner), tot, strict=True):
        if total is None:
            continue
        unknown = [k for k in cells[var] if k not in known]
        rest = total - sum(known[k] for k in cells[var] if k in known)
        other = outer if var == inner else inner
        if rest >= 0.5 and (len(unknown) < 2 or _small(rest, policy)):
            problems.append(f"figure {fid} ({var}): its total (n / share) less the cells it or {other} releases "
                            f"gives {round(rest)} sessions in {count_noun(len(unknown), 'withheld cell')}")
        if users is not None:
            problems += users.problem(f"figure {fid} ({var})", f"its total (n / share) less the cells it or {other} "
                                      "releases", _minus(groups[var], _union(known_sets[k] for k in cells[var]
                                                                             if k in known_sets)))
    return problems


def _month_groups(t: pd.DataFrame, var: str) -> dict[str, np.ndarray | None]:
    """The sessions of each month's total :func:`_month_totals` gives."""
    if "month" not in t:
        return {}
    x = _released(t, var)
    x = x[(x["value"].astype(float) > 0) & x["month"].notna()]
    return {str(m): _col(g, "_den_sessions")[0] for m, g in x.groupby("month")}


def _month_totals(t: pd.DataFrame, var: str) -> dict[str, float]:
    """Each month's total that a share series over the months gives (a released cell's n / share)."""
    if "month" not in t:
        return {}
    x = _released(t, var)
    x = x[(x["value"].astype(float) > 0) & x["month"].notna()]
    return {str(m): float(g["n_sessions"].iloc[0]) / float(g["value"].iloc[0]) for m, g in x.groupby("month")}


def _audit_nested_months(by_id: dict[str, pd.DataFrame], policy: ReleasePolicy, users: _Users | None = None,
                         ) -> list[str]:
    """Nested populations month by month across figures (:data:`RELEASE_NESTED_MONTHS`): a month's two totals differ
    by its classified sessions whose occupation is not inferable, and the whole figure's difference less the released
    months' is those of the other months (and of the sessions without a time). Each must be none or pass."""
    problems: list[str] = []
    for (ofig, ovar), (ifig, ivar), (tfig, touter, tinner) in RELEASE_NESTED_MONTHS:
        ot, it = by_id.get(ofig), by_id.get(ifig)
        if ot is None or it is None:
            continue
        om, im = _month_totals(ot, ovar), _month_totals(it, ivar)
        both = sorted(set(om) & set(im))
        for m in both:
            if _small(round(om[m] - im[m]), policy):
                problems.append(f"figure {ifig} (month={m}): its total (n / share) against {ofig}'s gives "
                                f"{round(om[m] - im[m])} sessions in neither, below the thresholds")
        tt = by_id.get(tfig)
        a, b = (_series_total(tt, touter), _series_total(tt, tinner)) if tt is not None else (None, None)
        if a is not None and b is not None and both:
            rest = (a - b) - sum(om[m] - im[m] for m in both)
            if _small(round(rest), policy):
                problems.append(f"figure {ifig}: {tfig}'s totals less the released months' (against {ofig}) give "
                                f"{round(rest)} sessions in the other months, below the thresholds")
        if users is None:
            continue
        og, ig = _month_groups(ot, ovar), _month_groups(it, ivar)
        for m in both:
            problems += users.problem(f"figure {ifig} (month={m})", f"its total (n / share) against {ofig}'s",
                                      _minus(og[m], ig[m]))
        if a is not None and b is not None and both and tt is not None:
            problems += users.problem(f"figure {ifig}", f"{tfig}'s totals less the released months' (against {ofig})",
                                      _minus(_minus(_series_group(tt, touter), _series_group(tt, tinner)),
                                             _union(_minus(og[m], ig[m]) for m in both)))
    return problems


# figures whose n (printed when it passes the thresholds) is the classified sessions (taxonomy: mode known)
_CLASSIFIED_N = ("work_modes", "occupations")


def _classified_released(figures: list[Figure], policy: ReleasePolicy) -> set[int]:
    """The classified-session counts the report releases: coverage's 'classified sessions' row and the n of the
    figures over every classified session (:data:`_CLASSIFIED_N`), when printed (it passes the thresholds)."""
    out: set[int] = set()
    for f in figures:
        if not f.available:
            continue
        if f.id == "coverage" and {"dimension", "variable", "suppressed", "n_sessions"} <= set(f.table.columns):
            t = f.table
            x = t[(t["dimension"] == "all") & (t["variable"] == "classified sessions") & ~t["suppressed"].astype(bool)]
            out |= {int(v) for v in pd.to_numeric(x["n_sessions"], errors="coerce").dropna()}
        elif f.id in _CLASSIFIED_N and f.n_users >= policy.min_users and f.n_sessions >= policy.min_sessions:
            out.add(int(f.n_sessions))
    return out


def _classified_sets(figures: list[Figure], policy: ReleasePolicy) -> list[np.ndarray]:
    """The sessions of the classified-session counts :func:`_classified_released` finds (those known)."""
    out: list[np.ndarray | None] = []
    for f in figures:
        if not f.available:
            continue
        t = f.table
        if f.id == "coverage" and {"dimension", "variable", "suppressed", "_sessions"} <= set(t.columns):
            x = t[(t["dimension"] == "all") & (t["variable"] == "classified sessions") & ~t["suppressed"].astype(bool)]
            out += _col(x)
        elif f.id in _CLASSIFIED_N and f.n_users >= policy.min_users and f.n_sessions >= policy.min_sessions:
            x = t[t["variable"] == "share_of_sessions"] if "variable" in t else t.iloc[:0]
            out += _col(x, "_den_sessions")[:1]
    return [x for x in out if x is not None]


def _audit_topics_total(figures: list[Figure], policy: ReleasePolicy, users: _Users | None = None) -> list[str]:
    """The topics figure's total (its n, and each released top-level topic's n / share) against the classified
    sessions other figures release: their difference is the classified sessions in no released topic, which must be
    none or pass ``min_sessions`` (the figure over the clustered sessions only gave 1,500 - 1,497 = 3 sessions)."""
    topics = next((f for f in figures if f.id == "topics" and f.available), None)
    classified = _classified_released(figures, policy)
    if topics is None or not classified:
        return []
    totals: list[tuple[str, float]] = []
    if topics.n_sessions > 0:
        totals.append(("its n", float(topics.n_sessions)))
    t = topics.table
    if {"parent_id", "variable", "value", "n_sessions", "suppressed"} <= set(t.columns):
        top = _released(t, "share_of_sessions")
        top = top[top["parent_id"].isna() & (top["value"].astype(float) > 0)]
        totals += [(f"cluster_id={r['cluster_id']}'s n / share", float(r["n_sessions"]) / float(r["value"]))
                   for r in top.to_dict("records")]
    problems: list[str] = []
    for what, total in totals:
        for c in sorted(classified):
            rest = round(abs(c - total))
            if _small(rest, policy):
                problems.append(f"figure topics ({what}): {round(total)} sessions, against {c} classified sessions "
                                f"released elsewhere, gives {rest} sessions in no released topic, below the thresholds")
    if users is not None and "_den_sessions" in t and "parent_id" in t and totals:
        top = _col(t[t["parent_id"].isna()], "_den_sessions")  # the top level's group: every total above
        group = next((x for x in top if x is not None), None)
        for c in _classified_sets(figures, policy):
            problems += users.problem("figure topics", "its total against the classified sessions released elsewhere",
                                      _union([_minus(c, group), _minus(group, c)]))
    return problems


def _audit_partitions(figures: list[Figure]) -> list[str]:
    """Cells that subtraction across figures recovers: a month coverage withholds but another figure shows, or a
    line of cells whose total another figure releases (:data:`RELEASE_PARTITIONS`) with one cell suppressed beside
    released non-empty ones, or a cell released beside another figure's withheld cell that it gives back by
    subtraction (:data:`RELEASE_WITHHELD_WITH`)."""
    problems: list[str] = []
    avail = [f for f in figures if f.available and len(f.table) and "suppressed" in f.table]
    cov_fig = next((f for f in avail if f.id == "coverage"), None)
    cov = cov_fig.table if cov_fig is not None else None
    hidden: set[str] = set()
    untimed = 0
    untimed_released = False
    by_id = {f.id: f.table for f in avail}
    # withheld months the report leaves out at the ends of its range: withheld cells of every line over the months
    n_hidden = int(cov_fig.extra.get("hidden_months", 0) or 0) if cov_fig is not None else 0
    if cov is not None and "dimension" in cov:
        m = cov[cov["dimension"] == "month"]
        hidden = set(m.loc[m["suppressed"].astype(bool), "level"].astype(str))
        # the sessions without a time: a withheld cell of the lines whose totals count them (no figure shows it)
        unknown = m[m["level"].astype(str) == "unknown"]
        untimed = int(len(unknown) > 0)
        # released: the sessions without a time pass as a whole, and a line without any of them has no such cell
        # (figures._untimed_cells), which its total less its months shows as 0
        untimed_released = bool(len(unknown)) and not bool(unknown["suppressed"].astype(bool).any())
        problems += _audit_month_range(avail, m, cov_fig)
    for f in avail:
        t = f.table
        if hidden and "month" in t:
            shown = t[t["month"].isin(hidden) & ~t["suppressed"].astype(bool)]
            for m in sorted(set(shown["month"])):
                problems.append(f"figure {f.id}: month {m} is released, but coverage withholds it")
        for col in RELEASE_PARTITIONS.get(f.id, ()):
            if col not in t:
                continue
            by = ["variable"] if col == "variable" else ["variable", col]
            for key, g in t[t[col].notna()].groupby(by, sort=False):
                sup = g["suppressed"].astype(bool)
                shown_n = pd.to_numeric(g.loc[~sup, "n_sessions"], errors="coerce").fillna(0)
                by_month = col != "month" and "month" in g and bool(g["month"].notna().any())
                over_months = n_hidden if by_month else 0
                line = (f.id, key[0] if isinstance(key, tuple) else key, col)
                if by_month and line in RELEASE_LINE_TOTALS:
                    rest = _line_rest(by_id, line, key[-1] if isinstance(key, tuple) else key, float(shown_n.sum()))
                    if not (untimed_released and int(sup.sum()) == 0 and rest is not None and abs(rest) < 0.5):
                        over_months += untimed  # (figures._untimed_cells)
                if int(sup.sum()) + over_months == 1 and bool((shown_n > 0).any()):
                    problems.append(f"figure {f.id} ({', '.join(map(str, key if isinstance(key, tuple) else (key,)))}):"
                                    " a single suppressed cell, recovered by subtraction from a total another figure "
                                    "releases")
    for (fid, var, col), others in RELEASE_WITHHELD_WITH.items():
        t = by_id.get(fid)
        if t is None or col not in t or "variable" not in t:
            continue
        gone = set(t.loc[(t["variable"] == var) & t["suppressed"].astype(bool), col])
        for oid in others:
            o = by_id.get(oid)
            if o is None or col not in o or not gone:
                continue
            for v in sorted(set(o.loc[o[col].isin(gone) & ~o["suppressed"].astype(bool), col]), key=str):
                problems.append(f"figure {oid} ({col}={v}): released, but {fid} withholds its {var} cell, which "
                                "subtraction from the totals other figures release then recovers")
    return problems


def _line_totals(by_id: dict[str, pd.DataFrame], line: tuple[str, str, str], what: str = "n_sessions",
                 ) -> pd.Series | None:
    """The n (``what``: or the sessions, ``_sessions``) of each of a line's totals (:data:`RELEASE_LINE_TOTALS`) that
    another figure releases, by the line's key value; None when that figure is not in the report."""
    tfig, tvar = RELEASE_LINE_TOTALS[line]
    tt = by_id.get(tfig)
    col = line[2]
    if tt is None or col not in tt or what not in tt:
        return None
    return _released(tt, tvar).drop_duplicates(col).set_index(col)[what]


def _line_rest(by_id: dict[str, pd.DataFrame], line: tuple[str, str, str], value: Any, shown: float) -> float | None:
    """A line's total (:data:`RELEASE_LINE_TOTALS`, released by another figure) less its released cells ``shown``;
    None when the total is not released."""
    totals = _line_totals(by_id, line)
    return float(totals[value]) - shown if totals is not None and value in totals.index else None


def _audit_month_range(figures: list[Figure], months: pd.DataFrame, coverage: Figure | None) -> list[str]:
    """The report's months run from the first to the last month coverage releases: a withheld month at either end
    (its row, its label, one more in 'N months') says that some session happened then. Every month between them
    has a row, 'N months' counts them, and no figure shows a month outside the released ones."""
    problems: list[str] = []
    m = months[months["level"].astype(str) != "unknown"]
    if m.empty:
        return problems
    order = m.sort_values("level")
    levels = order["level"].astype(str).tolist()
    released = [lv for lv, s in zip(levels, order["suppressed"].astype(bool), strict=True) if not s]
    for end in (levels[0], levels[-1]):
        if end not in released:
            problems.append(f"figure coverage (month={end}): a withheld month at the end of the report's months")
    span = pd.period_range(levels[0], levels[-1], freq="M").strftime("%Y-%m").tolist()
    missing = sorted(set(span) - set(levels))
    if missing:
        problems.append(f"figure coverage: months {', '.join(missing)} have no row between months it shows (an "
                        "empty month is withheld: without a row it tells a withheld month had sessions)")
    problems += _months_count_problem(coverage, len(span))
    if released:
        lo, hi = released[0], released[-1]
        for f in figures:
            if "month" in f.table:
                out = sorted({str(x) for x in f.table["month"].dropna() if not lo <= str(x) <= hi})
                if out:
                    problems.append(f"figure {f.id}: months {', '.join(out)} outside the months coverage releases")
    return problems


def noise_free_problems(figures: list[Figure]) -> list[str]:
    """What refuses a differentially private release whatever its noise drew: a figure without the columns the audit
    reads, or exact user counts in any of its rows (released or withheld, so the answer does not depend on which
    noisy cells passed the release rule)."""
    problems: list[str] = []
    for f in figures:
        if not f.available:
            continue
        t = f.table
        if _unauditable(f):
            problems.append(_unauditable(f))
        elif bool(t["n_users"].notna().any()):
            problems.append(f"figure {f.id}: exact user counts under differential privacy")
    return problems


def _refusal(problems: list[str], policy: ReleasePolicy, dp: bool, tail: str = "") -> ReleaseAuditFailed:
    """The refusal of a release: its problems, one per group of sessions a reader works out (the problems about the
    same sessions, :class:`_Problem`, are one: a leak that many pairs of totals give was as many lines), each with the
    ways the released numbers give it and the figures they come from."""
    groups: dict[Any, list[str]] = {}
    for p in problems:
        groups.setdefault(p.sessions if isinstance(p, _Problem) and p.sessions is not None else ("text", p),
                          []).append(p)
    texts = [_grouped(ways) for ways in groups.values()]
    shown = "; ".join(texts[:5]) + (f"; and {len(texts) - 5} more" if len(texts) > 5 else "")
    return ReleaseAuditFailed(
        f"release audit failed, nothing was written: {count_noun(len(texts), 'released cell')} "
        f"{'breaks' if len(texts) == 1 else 'break'} the release policy "
        f"({count_noun(policy.min_users, 'user')} / {count_noun(policy.min_sessions, 'session')} per cell"
        + (", differential privacy" if dp else "") + f"): {shown}. "
        "This is a fault in codecensus's suppression, not in your data or options: please report it." + tail
    )


def _grouped(ways: list[str], shown: int = 3) -> str:
    """One refusal line for the problems about one group of sessions: the problem itself when it is one; else the
    group's size, how many ways give it and in which figures, and the first ``shown`` of them in full."""
    if len(ways) == 1:
        return ways[0]
    size = ways[0].size if isinstance(ways[0], _Problem) and ways[0].sessions is not None else None
    figs = sorted({w.split(" ", 2)[1].split(":")[0] for w in ways if w.startswith("figure ")})
    head = (f"the same {count_noun(size, 'session')}" if size is not None else "the same problem") + \
        f", given {len(ways)} ways (in {'figure' if len(figs) == 1 else 'figures'} {', '.join(figs)})"
    more = f" | and {len(ways) - shown} more ways" if len(ways) > shown else ""
    return f"{head}: " + " | ".join(ways[:shown]) + more


def _audit(figures: list[Figure], policy: ReleasePolicy, dp_floor: int | None = None,
           users: npt.NDArray[np.int64] | None = None) -> None:
    problems = audit_release(figures, policy, dp_floor=dp_floor, users=users)
    if problems:
        raise _refusal(problems, policy, dp_floor is not None)


def _audit_dp(figures: list[Figure], policy: ReleasePolicy, dp_floor: int, ledger: Any) -> None:
    """The final audit of a differentially private report. A refusal that does not depend on the noise
    (:func:`noise_free_problems`) gives the report's ε back: nothing noisy left the process (the message names
    figures only). Any other refusal was decided by the noisy values, so it tells something of them: it stays
    charged (a refund would let reruns draw fresh noise for free until the refusals average it out)."""
    fixed = noise_free_problems(figures)
    if fixed:
        ledger.refund("the report was refused by the release audit (a fault that does not depend on the noise)")
        raise _refusal(fixed, policy, True, " This report's ε was given back: nothing of it was released.")
    problems = audit_release(figures, policy, dp_floor=dp_floor)
    if problems:
        raise _refusal(problems, policy, True, " This report's ε stays charged: the refusal depends on its noisy "
                       "values.")


def _one_blas_thread() -> contextlib.AbstractContextManager[Any]:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(1)


def resolve_policy(opts: ReportOptions) -> ReleasePolicy:
    """The release policy: team thresholds (default 5 users / 10 sessions), or individual mode.

    Raises ``ValueError`` for a team policy that would release single people's data.
    """
    if opts.individual:
        return ReleasePolicy(individual=True)
    min_users = opts.min_users if opts.min_users is not None else TEAM_MIN_USERS
    # Not given: the default, or as many sessions as users when more users are asked for (each has at least one).
    min_sessions = opts.min_sessions if opts.min_sessions is not None else max(TEAM_MIN_SESSIONS, min_users)
    return ReleasePolicy(min_users=min_users, min_sessions=min_sessions)


def compute(store: Store, opts: ReportOptions) -> Computed:
    t0 = time.perf_counter()
    policy = resolve_policy(opts)
    data = load_report_data(store, opts.since, opts.until)
    if opts.epsilon is not None:
        return _compute_dp(store, opts, policy, data, t0)
    # small dense algebra: BLAS threads only contend (a logit's Hessians ran 100x slower on a busy 2-core box)
    with _one_blas_thread():
        ctx = Context(data, policy, B=opts.bootstrap, seed=opts.seed, resample_sessions=opts.individual)
        figs = build_figures(ctx)
    _audit(figs, policy, users=ctx.boot.codes)
    for f in figs:  # the sessions behind each row (and a figure's n) were the audit's: nothing after it reads them
        f.table = public_table(f.table)
        f.sessions = None
    release = ReleaseView(
        min_users=int(policy.min_users), min_sessions=int(policy.min_sessions), individual=opts.individual,
        epsilon=opts.epsilon, delta=opts.delta, bootstrap=ctx.ci_text.replace("95% CI: ", ""),
    )
    if opts.individual:
        release.notes.append("Individual mode: intervals resample sessions rather than users, since one person's "
                             "sessions have no between-user variation to capture.")
    return Computed(figs, key_findings(figs), release, policy, time.perf_counter() - t0, len(data.df),
                    int(data.df["user"].nunique()))


def _compute_dp(store: Store, opts: ReportOptions, policy: ReleasePolicy, data: ReportData, t0: float) -> Computed:
    """Differential-privacy release: noisy figures from the DP engine, charged to the store's ledger."""
    from codecensus.aggregate.dp import PrivacyLedger
    from codecensus.aggregate.dpfigures import (
        DEFAULT_WINDOW_MONTHS,
        DP_FIGURES,
        DP_LEFT_OUT,
        MAX_REPORT_EPSILON,
        MAX_WINDOW_MONTHS,
        dp_figures,
        release_floor,
    )

    assert opts.epsilon is not None
    if not 0 < opts.epsilon <= MAX_REPORT_EPSILON:  # 1e300 released the exact counts: no privacy at all
        raise ValueError(f"ε = {opts.epsilon:g} is above the most a report may spend (ε ≤ {MAX_REPORT_EPSILON:g}): "
                         "larger values add too little noise to hide anyone")
    ledger = PrivacyLedger(store)
    with _one_blas_thread():
        figs, rep = dp_figures(data, policy, ledger, epsilon=opts.epsilon, delta=opts.delta, seed=opts.seed,
                               budget_epsilon=opts.epsilon_budget)
    _audit_dp(figs, policy, release_floor(policy, rep.k), ledger)
    have = {f.id for f in figs}
    for f in FIGURES:
        fid = f.__name__.removeprefix("fig_")
        if fid not in have:
            figs.append(_unavailable(fid, fid.replace("_", " ").capitalize(), DP_LEFT_OUT.get(
                fid, "not released in differential-privacy mode" if fid not in DP_FIGURES else "not enough data")))
    order = [f.__name__.removeprefix("fig_") for f in FIGURES]
    figs.sort(key=lambda f: order.index(f.id) if f.id in order else len(order))
    spent = ledger.spent(rep.dataset)
    budget = ledger.budget(rep.dataset)
    raw = ledger.entries(rep.dataset)
    charged = sum(1 if e["epsilon"] >= 0 else -1 for e in raw)  # a refund entry (−ε) takes its query back
    entries = [{"query": e["query"], "ε": f"{e['epsilon']:.4g}", "δ": f"{e['delta']:.3g}",
                "mechanism": e["mechanism"], "at": str(e["at"])[:19]} for e in raw]
    release = ReleaseView(
        min_users=int(policy.min_users), min_sessions=int(policy.min_sessions), individual=opts.individual,
        epsilon=opts.epsilon, delta=opts.delta, ledger=entries, sessions_per_user=rep.k,
        bootstrap=f"noise intervals from the DP mechanism ({rep.mechanism}); no bootstrap in DP mode",
    )
    release.notes.append(
        f"Dataset {rep.dataset}: budget ε = {budget[0] if budget else opts.epsilon:g}, δ = "
        f"{budget[1] if budget else (opts.delta or 0):g}; spent so far ε = {spent[0]:.4g}, δ = {spent[1]:.3g} "
        f"over {charged} queries ({rep.n_queries} in this report, ε = {rep.eps_each:.3g} each). "
        "Every later report on the same sessions spends from the same budget."
    )
    # the months are a public choice (the date range given), so that which figures exist and the ε of each query say
    # nothing of the sessions (dpfigures.public_months)
    if data.facets_table:
        release.notes.append(
            f"The monthly figures range over {rep.months[0]} to {rep.months[-1]}: the months of the date range given "
            f"(--since to --until, or to today; --until alone: the {DEFAULT_WINDOW_MONTHS} months ending with it; at "
            f"most the last {MAX_WINDOW_MONTHS}, since every month adds noisy cells that can show sessions nobody had), "
            "not the months the sessions fall in, so that which figures exist and the ε of each query do not depend "
            "on the sessions; months at the ends without a released noisy cell are left out." if rep.months else
            "The monthly figures are not released: under differential privacy their months come from the date range "
            "given, not from the sessions (which months have sessions would otherwise decide which figures exist and "
            "the ε of each query). Run with --since or --until to release them.")
    # no headline sentences under DP: each figure is read with its noise interval
    return Computed(figs, [], release, policy, time.perf_counter() - t0, len(data.df), int(data.df["user"].nunique()))


def released_totals(figures: list[Figure], *, sessions_per_user: int | None = None) -> dict[str, Any]:
    """The report's total sessions and users as the coverage figure released them, for what goes beside the
    report (its manifest): ``None`` when withheld (below the thresholds). Under differential privacy
    (``sessions_per_user``: the cap on each user's sessions) neither exact total is released (both ``None``) and
    ``sessions_noisy`` holds the noisy count of the capped sessions (``value``, ``None`` when withheld), its cap
    and a note saying so."""
    out: dict[str, Any] = {"sessions": None, "users": None}
    cov = next((f for f in figures if f.id == "coverage" and f.available), None)
    t = cov.table if cov is not None else None
    for var in out:
        if t is None:
            break
        x = t[(t["dimension"] == "all") & (t["variable"] == var)]
        if len(x) and not bool(x.iloc[0]["suppressed"]) and pd.notna(x.iloc[0]["value"]):
            out[var] = int(round(float(x.iloc[0]["value"])))
    if sessions_per_user is not None:
        out["sessions_noisy"] = {
            "value": out["sessions"], "sessions_per_user_cap": sessions_per_user,
            "note": f"differentially private count of the sessions kept after capping each user at "
                    f"{sessions_per_user} (not the number of sessions in the store)",
        }
        out["sessions"] = out["users"] = None
    return out


def _arrow(df: pd.DataFrame) -> pa.Table:
    d = df.copy()
    for c in d.columns:
        if d[c].dtype == object:
            vals = [v for v in d[c] if v is not None and v == v]
            if vals and not all(isinstance(v, str) for v in vals):
                d[c] = d[c].map(lambda v: None if v is None or v != v else str(v))
    return pa.Table.from_pandas(d, preserve_index=False)


def write_report(store: Store, opts: ReportOptions) -> ReportResult:
    """Compute every figure and write ``report.html``, ``tables/*.csv|parquet`` and ``tables/long.*``."""
    comp = compute(store, opts)
    out = Path(opts.out)
    tdir = out / "tables"
    tdir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for f in comp.figures:
        if not f.available:
            continue
        tbl = _arrow(public_table(f.table))
        for ext in ("csv", "parquet"):
            p = tdir / f"{f.id}.{ext}"
            if ext == "csv":
                pacsv.write_csv(tbl, p)
            else:
                pq.write_table(tbl, p)
            written.append(p)
    lt = long_table(comp.figures)
    pacsv.write_csv(lt, tdir / "long.csv")
    pq.write_table(lt, tdir / "long.parquet")
    written += [tdir / "long.csv", tdir / "long.parquet"]
    html = render_html(comp.figures, comp.findings, comp.release, title=opts.title)
    path = out / "report.html"
    path.write_text(html, encoding="utf-8")
    return ReportResult(path, written, lt, comp)


__all__ = ["Computed", "ReportOptions", "ReportResult", "compute", "released_totals", "resolve_policy", "write_report"]
