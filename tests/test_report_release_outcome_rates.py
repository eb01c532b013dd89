"""Outcome by expertise releases, level by level, the rates whose groups (and every group the released rates give
together, at the level and against the totals over the levels other figures release) pass the thresholds, instead
of withholding a whole level for one small outcome cell.

Real corpus (123 users): failures by level 1/3/0/1/0 withheld every level; level 2 now releases strict success and
unclear, its 3 failures staying hidden among its partial outcomes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from codecensus.aggregate.figures import Context, Figure, build_figures
from codecensus.aggregate.privacy import ReleasePolicy
from codecensus.aggregate.synthetic import load_into, synthetic_corpus
from codecensus.report.build import audit_release, load_report_data
from codecensus.store import Store

_ATOMS = (("verified_success",), ("success", "partial"), ("failure",), ("unclear",))
_NUMERATOR = {"strict_success": (0,), "at_least_partial": (0, 1), "failure": (2,), "unclear": (3,)}
_ONLY = ["coverage", "abstentions", "expertise_shape", "outcomes_by_expertise", "regression", "success_trend"]


def _keep_few(s: pd.DataFrame, f: pd.DataFrame, level: int, outcomes: tuple[str, ...], into: str) -> pd.DataFrame:
    """Facets with the ``outcomes`` sessions of ``level`` moved to ``into`` but for 3 of them (3 users)."""
    f = f.copy()
    m = f.merge(s[["session_key", "user"]], on="session_key")
    m = m[(m["expertise"] == level) & m["outcome"].isin(list(outcomes))]
    keep = set(m.drop_duplicates("user").head(3)["session_key"])
    at = f["session_key"].isin(set(m["session_key"]) - keep)
    f.loc[at, "outcome"] = into
    return f


def _no_unclear(f: pd.DataFrame, level: int) -> pd.DataFrame:
    """Facets with the unclear outcomes of ``level`` made failures (the corpus has 3 at level 5, which would take
    another level's unclear cell with them)."""
    f = f.copy()
    f.loc[(f["expertise"] == level) & (f["outcome"] == "unclear"), "outcome"] = "failure"
    return f


def _figures(tmp_path: Path, edit: Any) -> tuple[Context, dict[str, Figure]]:  # noqa: ANN401
    """60 users, 1500 sessions (seed 4) with ``edit(sessions, facets)`` applied: the context and the figures that
    release a level's outcomes or their totals, with the sessions behind their rows (as the final audit reads them)."""
    c = synthetic_corpus(users=60, sessions=1500, seed=4)
    c.facets = pa.Table.from_pandas(edit(c.sessions.to_pandas(), c.facets.to_pandas()), preserve_index=False)
    store = Store(tmp_path / "d.duckdb")
    load_into(store, c, clusters=False, git=False)
    ctx = Context(load_report_data(store), ReleasePolicy(), B=20)
    store.close()
    return ctx, {f.id: f for f in build_figures(ctx, only=_ONLY)}


def _released(t: pd.DataFrame, level: int) -> set[str]:
    at = t[(t["expertise"] == level) & ~t["suppressed"].astype(bool)]
    return set(at["variable"])


def _attack(ctx: Context, figs: dict[str, Figure]) -> list[str]:
    """Every group of sessions a reader can compute from the released numbers, recomputed by linear algebra.

    The unknowns are the level x outcome-atom cells (5 x 4). The reader knows each level's sessions (other figures),
    the totals over the levels of strict success, of the other known outcomes and of unclear (success by month, the
    regression's n, abstentions), the empty cells, and from each released rate its numerator (n) and its group
    (n / share), from each released regression level its sessions with a known outcome. A group is any 0/1
    combination of cells in the span of what is known; each one that the numbers of other figures alone do not give
    must be none or pass (sessions and distinct users)."""
    df = ctx.data.df
    levels = sorted(int(x) for x in df["expertise"].dropna().unique())
    out = df["outcome"].astype("string")
    codes = np.asarray(ctx.boot.codes)
    masks = [(df["expertise"] == lv).to_numpy() & out.isin(list(a)).fillna(False).to_numpy()
             for lv in levels for a in _ATOMS]
    n_cells = len(masks)
    sessions = np.array([m.sum() for m in masks], dtype=np.float64)
    users = np.zeros((n_cells, int(codes.max()) + 1))
    for i, m in enumerate(masks):
        users[i, codes[m]] = 1

    def vec(lv: int, atoms: tuple[int, ...]) -> np.ndarray:
        v = np.zeros(n_cells)
        v[[levels.index(lv) * 4 + a for a in atoms]] = 1
        return v

    given = [vec(lv, (0, 1, 2, 3)) for lv in levels] + [np.eye(n_cells)[i] for i in np.flatnonzero(sessions == 0)]
    given += [sum(vec(lv, atoms) for lv in levels) for atoms in ((0,), (1, 2), (3,))]
    known = list(given)
    ob = figs["outcomes_by_expertise"].table
    for r in ob[~ob["suppressed"].astype(bool)].to_dict("records"):
        known += [vec(r["expertise"], _NUMERATOR[r["variable"]]),
                  vec(r["expertise"], (0, 1, 2, 3) if r["variable"] == "unclear" else (0, 1, 2))]
    rg = figs["regression"].table
    if figs["regression"].available:
        known += [vec(int(lv), (0, 1, 2)) for lv in rg.loc[~rg["suppressed"].astype(bool), "expertise"]]

    def outside(vectors: list[np.ndarray]) -> np.ndarray:
        """A basis of what is orthogonal to the span of ``vectors``: x is in the span when x @ it is 0."""
        u, s, _vt = np.linalg.svd(np.array(vectors).T, full_matrices=True)
        return u[:, int((s > 1e-9).sum()):]

    off_known, off_given = outside(known), outside(given)
    problems = []
    for chunk in range(0, 2 ** n_cells, 2 ** 16):
        x = ((np.arange(chunk, min(chunk + 2 ** 16, 2 ** n_cells))[:, None] >> np.arange(n_cells)) & 1).astype(float)
        derivable = (np.abs(x @ off_known).sum(axis=1) < 1e-6) & (np.abs(x @ off_given).sum(axis=1) > 1e-6)
        x = x[derivable]
        s = x @ sessions
        u = ((x @ users) > 0).sum(axis=1)
        bad = (s > 0) & ~ctx.passes(u, s)
        problems += [f"cells {np.flatnonzero(v).tolist()}: {int(a)} sessions of {int(b)} users"
                     for v, a, b in zip(x[bad], s[bad], u[bad], strict=True)]
    return problems


def test_a_level_with_a_few_failures_releases_strict_success_and_unclear(tmp_path: Path) -> None:
    """Level 3 with 3 failures (3 users) and its other outcomes plenty: its failure rate (and at least partial, whose
    group less it gives the failures) is withheld, strict success and unclear are released. Before, the whole level
    was withheld (and another level with it)."""
    ctx, figs = _figures(tmp_path, lambda s, f: _keep_few(s, _no_unclear(f, 5), 3, ("failure",), "partial"))
    ob = figs["outcomes_by_expertise"]
    assert _released(ob.table, 3) == {"strict_success", "unclear"}
    assert any(n.startswith("3 ") and "at least partial, failure withheld" in n for n in ob.notes), ob.notes
    # the regression releases the level's sessions with a known outcome (the unclear share gives them anyway)
    assert not bool(figs["regression"].table.set_index("expertise").loc[3, "suppressed"])
    assert _attack(ctx, figs) == []
    assert audit_release(list(figs.values()), ctx.policy, users=ctx.boot.codes) == []


def test_a_recomputation_attack_finds_no_small_group(tmp_path: Path) -> None:
    """A small cell of each kind at some level (3 failures at level 3, 3 successes or partial outcomes at level 2,
    unclear at level 5 left as few as the corpus has): every group the released numbers give, by linear algebra over
    the level x outcome cells, is none or passes; and the figure releases something at the levels with a small cell
    (the attack has something to attack)."""
    def edit(s: pd.DataFrame, f: pd.DataFrame) -> pd.DataFrame:
        f = _keep_few(s, f, 3, ("failure",), "partial")
        return _keep_few(s, f, 2, ("success", "partial"), "verified_success")

    ctx, figs = _figures(tmp_path, edit)
    ob = figs["outcomes_by_expertise"].table
    assert _released(ob, 3) or _released(ob, 2), ob[["expertise", "variable", "suppressed"]]
    assert _attack(ctx, figs) == []


def test_the_audit_refuses_a_failure_rate_beside_strict_success(tmp_path: Path) -> None:
    """Level 2 with 3 successes or partial outcomes (3 users): strict success and unclear are released and pass the
    audit. Releasing its failure rate too passes each rate's own check (failures and the rest of their group are
    plenty, and at least partial is not there to be differenced), but the known sessions less the successes less the
    failures are the 3: the audit works out the regions of a level's released groups and refuses it."""
    ctx, figs = _figures(tmp_path, lambda s, f: _keep_few(s, _no_unclear(f, 5), 2, ("success", "partial"),
                                                           "verified_success"))
    ob = figs["outcomes_by_expertise"]
    assert _released(ob.table, 2) == {"strict_success", "unclear"}
    assert audit_release(list(figs.values()), ctx.policy, users=ctx.boot.codes) == []
    df = ctx.data.df
    out = df["outcome"].astype("string")
    at = (df["expertise"] == 2).to_numpy()
    fail = np.flatnonzero(at & (out == "failure").fillna(False).to_numpy())
    known = np.flatnonzero(at & (out.notna() & (out != "unclear")).fillna(False).to_numpy())
    leak = ob.table.copy()
    i = leak.index[(leak["expertise"] == 2) & (leak["variable"] == "failure")][0]
    leak.loc[i, ["suppressed", "n_users", "n_sessions", "value"]] = [
        False, len(set(np.asarray(ctx.boot.codes)[fail])), len(fail), len(fail) / len(known)]
    leak.at[i, "_sessions"], leak.at[i, "_den_sessions"] = fail, known
    leaky = [x if x.id != ob.id else Figure(x.id, x.title, x.method, leak, x.keys, x.unit) for x in figs.values()]
    problems = audit_release(leaky, ctx.policy, users=ctx.boot.codes)
    assert any("expertise=2" in p and "group of 3 sessions" in p for p in problems), problems
    # and the recomputation attack finds the same 3
    assert any("3 sessions of 3 users" in p for p in _attack(ctx, {**figs, ob.id: leaky[[x.id for x in leaky].index(
        ob.id)]}))



def test_a_regression_with_only_its_reference_level_released_is_withheld(tmp_path: Path, monkeypatch: Any) -> None:
    """Before: when the release rules withheld every level of the regression but its reference, the report printed a
    table of one row ("2 Beginner: reference", the real corpus): 0 points against itself, nothing to compare. That row
    is withheld with them now, with a note saying why."""
    import codecensus.aggregate.figures as F

    c = synthetic_corpus(users=60, sessions=1500, seed=4)
    store = Store(tmp_path / "d.duckdb")
    load_into(store, c, clusters=False, git=False)
    ctx = Context(load_report_data(store), ReleasePolicy(), B=20)
    store.close()
    full = F.fig_regression(ctx)
    shown = full.table[~full.table["suppressed"].astype(bool)]
    assert len(shown) >= 2 and shown["reference"].sum() == 1
    ref = int(shown[shown["reference"].astype(bool)]["expertise"].iloc[0])
    others = frozenset(int(x) for x in full.table["expertise"]) - {ref}
    monkeypatch.setattr(F, "_outcome_levels_to_withhold", lambda _ctx: others)
    fig = F.fig_regression(ctx)
    assert fig.table["suppressed"].astype(bool).all()
    assert fig.table["value"].isna().all() and fig.table["n_sessions"].isna().all()
    assert any("Only the reference level" in n for n in fig.notes)
    monkeypatch.setattr(F, "_outcome_levels_to_withhold", lambda _ctx: others - {max(others)})
    fig = F.fig_regression(ctx)  # another level released beside the reference: both shown
    assert (~fig.table["suppressed"].astype(bool)).sum() == 2
