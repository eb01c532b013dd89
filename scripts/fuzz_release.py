"""Fuzz the report's release: many small synthetic stores, each through the figures and the final audit.

    python scripts/fuzz_release.py                       # 200 stores from seed 0
    python scripts/fuzz_release.py --stores 500 --seed 3 --show 2

Each store is :func:`codecensus.aggregate.synthetic.synthetic_corpus` (users 10-200, sessions 100-3000, months 2-12)
with perturbations drawn at random that make small cells likely: few unclear outcomes kept, many abstentions (whole
sessions the backend could not answer), rare expertise levels and occupations, sessions without a time, abstention
reasons; and (``focus``) the gaps (no decision shares, no value, no time, abstentions, unclear outcomes) all in one
month, two months, one work mode, one mode's sessions of one month or one user's sessions. The report is computed
as :func:`codecensus.report.build.compute` does (no differential privacy), and every problem of the final audit
(``audit_release`` with the users) is recorded: a refusal of valid data is a fault in a figure. Printed: counts only
(stores tried, stores refused, problems by kind, where a kind is the problem with its numbers and key values taken
out), and with ``--show`` the arguments of the first stores of each kind (to rebuild them: ``--only SEED``). Exit code
1 when any store was refused.
"""

from __future__ import annotations

import argparse
import collections
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from codecensus.aggregate.figures import Context, Figure, build_figures, load_report_data
from codecensus.aggregate.privacy import ReleasePolicy
from codecensus.aggregate.synthetic import load_into, synthetic_corpus
from codecensus.report.build import ReportOptions, audit_release, resolve_policy
from codecensus.store import Store
from codecensus.taxonomy import NOT_INFERABLE


@dataclass(slots=True)
class Case:
    """One store: the corpus's arguments and the perturbations applied to it."""

    users: int
    sessions: int
    months: int
    seed: int
    unclear_kept: int | None = None  # keep only this many unclear outcomes, of as many users (the others: failure)
    abstain_every: int | None = None  # every n-th session abstained (the backend could not answer it)
    rare_expertise: int | None = None  # only this many sessions at expertise 1 and at 5 (the others moved to 2 / 4)
    rare_occupation: int | None = None  # this many sessions of one user moved to an occupation nobody else has
    untimed: int = 0  # this many sessions without a start time
    reasons: bool = False  # the abstention reasons classify stores
    # (drawn after the fields above, so an older seed keeps those; its store differs only where one of these is drawn)
    undecided: int = 0  # this many classified sessions without decision shares (planning and execution)
    unvalued: int = 0  # this many classified sessions without a value estimate
    all_inferable: bool = False  # every occupation inferable (each user's most common one; abstentions excepted)
    # (drawn after the fields above; a store differs only where these are drawn): the gaps in ``focus_on`` (comma-
    # separated: undecided, unvalued, untimed, abstained, unclear) all in the sessions of one place, ``focus``: a month,
    # two months, a work mode, one mode's sessions of one month (cell), or one user; ``focus_n`` of each (untimed,
    # undecided, unvalued: their own count where it is drawn); abstained: instead of every n-th session; unclear: the
    # only classified sessions with an unclear outcome
    focus: str | None = None
    focus_on: str | None = None
    focus_n: int = 0

    def text(self) -> str:
        return " ".join(f"{k}={getattr(self, k)}" for k in self.__slots__ if getattr(self, k) not in (None, 0, False))


# refusals found before (each fixed, with its test in tests/test_report_release_fuzz.py)
KNOWN: list[Case] = [
    Case(users=60, sessions=1500, months=6, seed=4, unclear_kept=3, abstain_every=5, reasons=True),
    Case(users=14, sessions=948, months=8, seed=339, rare_expertise=10, untimed=8, reasons=True),
    Case(users=13, sessions=2383, months=8, seed=343, abstain_every=4, rare_expertise=4, rare_occupation=9, untimed=3,
         reasons=True),
    Case(users=63, sessions=2418, months=5, seed=2029, rare_occupation=9, untimed=6, unvalued=12, focus="cell",
         focus_on="undecided,unvalued", focus_n=20),
    Case(users=44, sessions=952, months=10, seed=2088, untimed=11, all_inferable=True, focus="months",
         focus_on="undecided,untimed,abstained", focus_n=21),
    Case(users=119, sessions=2507, months=10, seed=2129, unclear_kept=1, abstain_every=2, rare_occupation=13,
         unvalued=6, all_inferable=True, focus="month", focus_on="undecided,untimed,unclear", focus_n=11),
    Case(users=100, sessions=1672, months=4, seed=6038, reasons=True, focus="cell",
         focus_on="undecided,unvalued,untimed,abstained,unclear", focus_n=20),
    Case(users=101, sessions=1327, months=3, seed=9042, unclear_kept=4, focus="cell",
         focus_on="untimed,abstained,unclear", focus_n=15),
    Case(users=183, sessions=1290, months=9, seed=9052, abstain_every=2, reasons=True, focus="month",
         focus_on="unvalued,untimed,unclear", focus_n=22),
]


FOCUS_PLACES = ("month", "months", "mode", "cell", "user")
FOCUS_GAPS = ("undecided", "unvalued", "untimed", "abstained", "unclear")


def _focus_target(c: Case, s: pd.DataFrame, f: pd.DataFrame, user: np.ndarray,
                  rng: np.random.Generator) -> np.ndarray:
    """A mask over ``f``: the sessions of case ``c``'s focus (a place drawn from ``rng``)."""
    month = f[["session_key"]].merge(s[["session_key", "started_at"]], on="session_key", how="left")[
        "started_at"].dt.strftime("%Y-%m").to_numpy(dtype=object)
    mode = f["mode"].to_numpy(dtype=object)
    months = sorted({m for m in month if isinstance(m, str)})
    modes = sorted({m for m in mode if isinstance(m, str)})
    if c.focus == "user":
        return user == rng.choice(pd.unique(user))
    if c.focus in ("month", "months"):
        at = rng.choice(months, size=min(len(months), 1 if c.focus == "month" else 2), replace=False)
        return np.isin(month, at)
    at = mode == rng.choice(modes)
    if c.focus == "cell":
        at &= month == rng.choice(sorted({m for m in month[at] if isinstance(m, str)}))
    return at


def draw(rng: np.random.Generator, seed: int) -> Case:
    c = Case(users=int(rng.integers(10, 201)), sessions=int(rng.integers(100, 3001)), months=int(rng.integers(2, 13)),
             seed=seed)
    if rng.random() < 0.5:
        c.unclear_kept = int(rng.integers(0, 8))
    if rng.random() < 0.4:
        c.abstain_every = int(rng.choice([2, 3, 4, 5, 7, 10, 20]))
    if rng.random() < 0.3:
        c.rare_expertise = int(rng.integers(1, 12))
    if rng.random() < 0.3:
        c.rare_occupation = int(rng.integers(1, 15))
    if rng.random() < 0.3:
        c.untimed = int(rng.integers(1, 15))
    c.reasons = bool(rng.random() < 0.5)
    if rng.random() < 0.3:
        c.undecided = int(rng.integers(1, 15))
    if rng.random() < 0.3:
        c.unvalued = int(rng.integers(1, 15))
    c.all_inferable = bool(rng.random() < 0.2)
    if rng.random() < 0.5:
        c.focus = str(rng.choice(FOCUS_PLACES))
        on = [k for k in FOCUS_GAPS if rng.random() < 0.4]
        c.focus_on = ",".join(on or [str(rng.choice(FOCUS_GAPS))])
        c.focus_n = int(rng.integers(1, 25))
    return c


def perturb(c: Case, s: pd.DataFrame, f: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The facets and sessions of case ``c`` (synthetic facets are in the sessions' order after the sort)."""
    rng = np.random.default_rng(c.seed + 1_000_003)
    f = f.copy()
    s = s.copy()
    if c.reasons:
        f["expertise_reason"] = None
        f["occupation_reason"] = np.where(f["occupation"] == NOT_INFERABLE, "thin_evidence", None)
        f["outcome_reason"] = np.where(f["outcome"] == "unclear", "no_result", None)
    user = f[["session_key"]].merge(s[["session_key", "user"]], on="session_key", how="left")["user"].to_numpy()
    on = set(c.focus_on.split(",")) if c.focus and c.focus_on else set()
    rng3 = np.random.default_rng(c.seed + 3_000_017)  # the focus's own draws (older perturbations unchanged)
    target = _focus_target(c, s, f, user, rng3) if on else np.zeros(len(f), dtype=bool)
    if c.unclear_kept is not None:
        unclear = np.flatnonzero((f["outcome"] == "unclear").to_numpy())
        keep = pd.Series(unclear).groupby(user[unclear], sort=False).first().to_numpy()[:c.unclear_kept]
        drop = np.setdiff1d(unclear, keep)
        f.loc[f.index[drop], "outcome"] = "failure"
        if c.reasons:
            f.loc[f.index[drop], "outcome_reason"] = None
    if "unclear" in on:  # the only unclear outcomes: focus_n sessions of the focus
        unclear = (f["outcome"] == "unclear").to_numpy()
        f.loc[unclear, "outcome"] = "failure"
        at = rng3.choice(np.flatnonzero(target), size=min(c.focus_n, int(target.sum())), replace=False)
        f.loc[f.index[at], "outcome"] = "unclear"
        if c.reasons:
            f["outcome_reason"] = np.where(f["outcome"] == "unclear", "no_result", None)
    kept_unclear = (f["outcome"] == "unclear").to_numpy()
    if c.all_inferable:
        known = f["occupation"] != NOT_INFERABLE
        most = f["occupation"][known].groupby(user[known.to_numpy()]).agg(lambda x: x.value_counts().index[0])
        f["occupation"] = pd.Series(user, index=f.index).map(most).fillna("15")
        if c.reasons:
            f["occupation_reason"] = None
    if c.rare_expertise is not None:
        for lv, to in ((1, 2), (5, 4)):
            at = np.flatnonzero((f["expertise"] == lv).to_numpy())
            f.loc[f.index[at[c.rare_expertise:]], "expertise"] = to
    if c.rare_occupation is not None:
        at = np.flatnonzero(user == user[0])[:c.rare_occupation]
        f.loc[f.index[at], "occupation"] = "53"  # transportation: not in the synthetic mix
    if c.abstain_every or "abstained" in on:
        f["abstained"] = False
        at = (np.arange(len(f)) % (c.abstain_every or 1) == 0) & ~kept_unclear
        if "abstained" in on:  # instead: focus_n sessions of the focus
            pick = np.flatnonzero(target & ~kept_unclear)
            at = np.isin(np.arange(len(f)), rng3.choice(pick, size=min(c.focus_n, len(pick)), replace=False))
        f.loc[at, ["abstained", "outcome", "occupation"]] = [True, "unclear", NOT_INFERABLE]
        f.loc[at, "expertise"] = None
        if c.reasons:
            f.loc[at, ["expertise_reason", "occupation_reason", "outcome_reason"]] = "empty_session"
    if c.untimed or "untimed" in on:
        at = rng.choice(len(s), size=min(c.untimed, len(s)), replace=False) if c.untimed else np.zeros(0, np.int64)
        if "untimed" in on:  # instead: as many of the focus (focus_n when none were drawn)
            keys = f.loc[target, "session_key"].to_numpy()
            pick = np.flatnonzero(s["session_key"].isin(keys).to_numpy())
            at = rng3.choice(pick, size=min(c.untimed or c.focus_n, len(pick)), replace=False)
        s["started_at"] = s["started_at"].astype(object)
        s.loc[s.index[at], "started_at"] = None
        s["started_at"] = pd.to_datetime(s["started_at"], utc=True)
    rng2 = np.random.default_rng(c.seed + 2_000_003)  # the new perturbations' own draws (older ones unchanged)
    answered = np.flatnonzero(~f["abstained"].to_numpy(bool)) if "abstained" in f else np.arange(len(f))
    for gap, n, cols in (("undecided", c.undecided, ["user_planning_pct", "user_execution_pct"]),
                         ("unvalued", c.unvalued, ["value_hours", "value_soc", "value_usd"])):
        if n:
            at = rng2.choice(answered, size=min(n, len(answered)), replace=False)
        if gap in on:  # instead: as many of the focus (focus_n when none were drawn)
            pick = np.intersect1d(answered, np.flatnonzero(target))
            at = rng3.choice(pick, size=min(n or c.focus_n, len(pick)), replace=False)
        if n or gap in on:
            f.loc[f.index[at], cols] = None
    return s, f


def problems_of(c: Case, tmp: Path, bootstrap: int = 5) -> list[str]:
    """The final audit's problems of case ``c``'s report (empty: it would be written)."""
    figs, policy, users = figures_of(c, tmp, bootstrap)
    return audit_release(figs, policy, users=users)


def figures_of(c: Case, tmp: Path, bootstrap: int = 5) -> tuple[list[Figure], ReleasePolicy, np.ndarray]:
    """Case ``c``'s figures, with the release policy and each session's user (what the final audit reads)."""
    corpus = synthetic_corpus(users=c.users, sessions=c.sessions, months=c.months, seed=c.seed)
    s, f = perturb(c, corpus.sessions.to_pandas(), corpus.facets.to_pandas())
    corpus.sessions = pa.Table.from_pandas(s, preserve_index=False, schema=corpus.sessions.schema)
    corpus.facets = pa.Table.from_pandas(f, preserve_index=False)
    store = Store(tmp / f"s{c.seed}.duckdb")
    try:
        load_into(store, corpus, clusters=c.seed % 2 == 0, git=False)
        opts = ReportOptions(bootstrap=bootstrap)
        policy = resolve_policy(opts)
        data = load_report_data(store)
        ctx = Context(data, policy, B=opts.bootstrap, seed=opts.seed)
        return build_figures(ctx), policy, ctx.boot.codes
    finally:
        store.close()
        for p in tmp.glob(f"s{c.seed}.duckdb*"):
            p.unlink()


def kind(problem: str) -> str:
    """A problem with its numbers and key values taken out: 'figure F (...): check'."""
    k = re.sub(r"\(([^()]*)\)", lambda m: "(" + ", ".join(
        p.split("=")[0] for p in m.group(1).split(", ")) + ")", problem, count=1)
    k = re.sub(r"\d+(\.\d+)?", "N", k)
    return re.sub(r"\b\d{4}-\d{2}\b", "M", k)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--stores", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0, help="the first store's seed (each store: seed, seed+1, ...)")
    ap.add_argument("--only", type=int, nargs="*", help="only these seeds")
    ap.add_argument("--show", type=int, default=0, help="print the arguments of the first N stores of each kind")
    ap.add_argument("--known", action="store_true", help="also the stores of refusals found (and fixed) before")
    a = ap.parse_args(argv)
    seeds = a.only if a.only else list(range(a.seed, a.seed + a.stores))
    cases = [draw(np.random.default_rng(seed), seed) for seed in seeds] + (KNOWN if a.known else [])
    kinds: collections.Counter[str] = collections.Counter()
    stores_of: dict[str, list[str]] = collections.defaultdict(list)
    refused = errors = 0
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        for c in cases:
            try:
                probs = problems_of(c, Path(d))
            except Exception as e:  # noqa: BLE001 - a crash is a finding too
                probs = [f"crash: {type(e).__name__}"]
                errors += 1
            if probs:
                refused += 1
            for k in sorted({kind(p) for p in probs}):
                kinds[k] += 1
                stores_of[k].append(c.text())
    print(f"stores tried: {len(cases)}, refused: {refused} (crashed: {errors}), {time.perf_counter() - t0:.0f} s")
    for k, n in kinds.most_common():
        print(f"{n:5d}  {k}")
        for st in stores_of[k][:a.show]:
            print(f"         {st}")
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
