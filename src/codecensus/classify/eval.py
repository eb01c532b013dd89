"""Agreement between stored facets and a labels file (taxonomy §10).

A labels file is a CSV (``#`` comment lines allowed) keyed by ``session_id``
or by transcript ``path`` (matched as a path suffix of an ingested file), with
any of the facet columns ``mode``, ``occupation``, ``expertise``, ``outcome``,
``outcome_evidence``, or a ``resolved`` column (0/1, e.g. benchmark runs:
resolved ⇔ outcome at least ``success``). Empty cells are "not labelled".
Ground truth stored by parsers (``events`` rows with kind ``outcome_truth``,
detail ``resolved``/``unresolved``) can be used instead of, or beside, a file.

Every figure is printed next to the best constant guess (always answering the
most common label): accuracy and macro-F1 for mode, occupation (with
``not_inferable`` as a class) and outcome; occupation also precision where it
does not abstain and the abstention rate; expertise exact accuracy, within ±1
and quadratic weighted kappa over the sessions where it does not abstain (NULL: no human prompt to judge
from), beside its abstention rate; outcome success-vs-not accuracy; AUC of the
outcome score against ``resolved``.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codecensus.store import Store
from codecensus.taxonomy import (
    AT_LEAST_SUCCESS,
    EXPERTISE_LEVELS,
    MODE_KEYS,
    NOT_INFERABLE,
    OCCUPATION_KEYS,
    OUTCOME_KEYS,
)

FACET_LABELS = ("mode", "occupation", "expertise", "outcome", "outcome_evidence", "resolved")
KEY_COLUMNS = ("session_id", "path", "transcript", "transcript_path", "file")
_TRUE = {"1", "true", "yes", "y", "resolved", "t"}
_FALSE = {"0", "false", "no", "n", "unresolved", "f"}
# A session key '<format>:<run name>:<8 hex of the file id>' (SWE-agent, OpenHands, terminal-bench, mini-swe-agent,
# ...): the run's name (instance, task trial) without the file's path. Session ids of those formats are the file's
# id (no name is exported), so copies of one run in two folders share only this; keys are never exported.
_RUN_KEY = re.compile(r"([a-z_]+):(.+):[0-9a-f]{8}")


def _run_name(session_key: str) -> tuple[str, str] | None:
    """(key prefix, run name) of a session key made of a run's name and its file id, else None."""
    m = _RUN_KEY.fullmatch(session_key)
    return (m.group(1), m.group(2)) if m else None


@dataclass(slots=True)
class Label:
    key: str  # session_id or path, as given
    by: str  # 'session_id' | 'path'
    values: dict[str, str]
    extra: dict[str, str] = field(default_factory=dict)  # other columns (e.g. a split), for filtering


class Labels(list[Label]):
    """The labels of one file, with its name and header columns (``--only`` must name one of them)."""

    path: str = ""
    columns: tuple[str, ...] = ()


def read_labels(path: Path | str) -> Labels:
    """The labels of a CSV file: UTF-8 (with or without the BOM spreadsheets write), separated by commas, or by
    semicolons or tabs when the header has no comma (a spreadsheet's CSV in many locales)."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text (byte {exc.start}); save it as CSV UTF-8") from exc
    except FileNotFoundError as exc:
        raise ValueError(f"labels file {path} not found; give the path of a CSV file") from exc
    except IsADirectoryError as exc:
        raise ValueError(f"labels file {path} is a folder; give the path of a CSV file") from exc
    except OSError as exc:  # no permission, an I/O error: the system's reason, in words
        raise ValueError(f"labels file {path} cannot be read ({exc.strerror or exc})") from exc
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise ValueError(f"{path}: empty; it needs a header row naming a session_id or path column and facet columns")
    head = lines[0]
    delim = next((d for d in (",", ";", "\t") if d in head), ",")
    reader = csv.DictReader(io.StringIO("\n".join(lines)), delimiter=delim)
    fields = [c.strip() for c in (reader.fieldnames or [])]
    key_col = next((c for c in KEY_COLUMNS if c in fields), None)
    if key_col is None:
        raise ValueError(f"{path}: needs a session_id or path column (have {fields})")
    if not any(c in fields for c in FACET_LABELS):
        raise ValueError(f"{path}: no facet column among {FACET_LABELS}")
    out = Labels()
    out.path, out.columns = str(path), tuple(fields)
    for row in reader:
        if None in row:  # more cells than the header: a value with the separator in it, unquoted
            raise ValueError(
                f"{path}: the row {delim.join(str(v) for v in row.values() if isinstance(v, str))!r}... has more "
                f"cells than the header ({len(fields)}); put quotes around values that hold a {delim!r}"
            )
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        key = row.get(key_col, "")
        if not key:
            continue
        vals = {c: row[c] for c in FACET_LABELS if row.get(c, "") != ""}
        extra = {c: v for c, v in row.items() if c not in FACET_LABELS and c != key_col}
        out.append(Label(key, "session_id" if key_col == "session_id" else "path", vals, extra))
    return out


def filter_labels(labels: list[Label], where: str | None) -> list[Label]:
    """Keep labels whose extra column matches ``COLUMN=VALUE`` (e.g. ``split=B``)."""
    if not where:
        return labels
    col, _, val = where.partition("=")
    if not col or not _:
        raise ValueError(f"--only expects COLUMN=VALUE, got {where!r}")
    col, val = col.strip(), val.strip()
    columns = getattr(labels, "columns", ())
    if columns and col not in columns:  # else every row was left out: "labels 0", and exit 0
        raise ValueError(f"--only {where}: {getattr(labels, 'path', 'the labels file')} has no column {col!r} "
                         f"(its columns: {', '.join(columns)})")
    return [lab for lab in labels if lab.extra.get(col, lab.values.get(col)) == val]


def _resolve_keys(store: Store, labels: list[Label]) -> dict[int, str]:
    """Label index -> session_key (labels that match no session are left out)."""
    out: dict[int, str] = {}
    by_sid: dict[str, str] = {}
    names: dict[str, str] = {}
    for sid, key in store.con.execute(
        "SELECT session_id, session_key FROM sessions ORDER BY started_at NULLS LAST, session_key"
    ).fetchall():
        by_sid.setdefault(str(sid), key)
        by_sid.setdefault(str(key), key)
        run = _run_name(str(key))
        if run:  # a label keyed by the run's name (an instance id) when no session has that id
            names.setdefault(run[1], key)
    for name, key in names.items():
        by_sid.setdefault(name, key)
    paths = None
    for i, lab in enumerate(labels):
        if lab.by == "session_id":
            if lab.key in by_sid:
                out[i] = by_sid[lab.key]
            continue
        if paths is None:
            paths = store.con.execute(
                "SELECT path, session_key FROM files WHERE session_key IS NOT NULL AND coalesce(role, 'main') = 'main' "
                "ORDER BY path"  # the first match of a path suffix is the same on every run
            ).fetchall()
        want = lab.key.replace("\\", "/").lstrip("./")
        for p, key in paths:
            pp = str(p).replace("\\", "/")
            if pp == want or pp.endswith("/" + want):
                out[i] = key
                break
    return out


def store_truth(store: Store) -> dict[str, str]:
    """session_key -> '1'/'0' from parser ground truth (``events`` kind ``outcome_truth``).

    A run copied into another folder without its harness report (same source and session id, or the same run
    name in its session key (:func:`_run_name`), e.g. the same SWE-bench trajectory file in two places) is the
    same run: it gets the label too, when every labelled copy agrees.
    """
    if not store.table_exists("events"):
        return {}
    rows = store.con.execute(
        "SELECT session_key, arg_max(detail, line) FROM events WHERE kind = 'outcome_truth' GROUP BY session_key"
    ).fetchall()
    out = {}
    for key, detail in rows:
        d = str(detail or "").lower()
        if d in _TRUE:
            out[key] = "1"
        elif d in _FALSE:
            out[key] = "0"
    if out and {"source", "session_id"} <= _columns(store, "sessions"):
        ids = store.con.execute(
            "SELECT session_key, source, session_id FROM sessions WHERE session_id IS NOT NULL"
        ).fetchall()
        def run_of(key: str, src: str, sid: str) -> tuple[str, str]:
            run = _run_name(str(key))
            return (str(src), f"{run[0]}:{run[1]}") if run else (str(src), str(sid))

        by_id: dict[tuple[str, str], set[str]] = {}
        for key, src, sid in ids:
            if key in out:
                by_id.setdefault(run_of(key, src, sid), set()).add(out[key])
        for key, src, sid in ids:
            vals = by_id.get(run_of(key, src, sid))
            if key not in out and vals is not None and len(vals) == 1:
                out[key] = next(iter(vals))
    return out


def _columns(store: Store, table: str) -> set[str]:
    if not store.table_exists(table):
        return set()
    return {str(r[0]) for r in store.con.execute(f"DESCRIBE {table}").fetchall()}


# --- metrics ---------------------------------------------------------------------------------------------
def accuracy(gold: list[Any], pred: list[Any]) -> float | None:
    if not gold:
        return None
    return sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold)


def macro_f1(gold: list[Any], pred: list[Any]) -> float | None:
    """Macro-F1 over the classes present in the gold labels."""
    if not gold:
        return None
    f1s = []
    for c in sorted(set(gold), key=str):
        tp = sum(g == c and p == c for g, p in zip(gold, pred, strict=True))
        fp = sum(g != c and p == c for g, p in zip(gold, pred, strict=True))
        fn = sum(g == c and p != c for g, p in zip(gold, pred, strict=True))
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return sum(f1s) / len(f1s)


def confusion(gold: list[Any], pred: list[Any]) -> dict[str, dict[str, int]]:
    """gold -> pred -> count."""
    out: dict[str, dict[str, int]] = {}
    for g, p in zip(gold, pred, strict=True):
        out.setdefault(str(g), {}).setdefault(str(p), 0)
        out[str(g)][str(p)] += 1
    return out


def within_one(gold: list[int], pred: list[int]) -> float | None:
    if not gold:
        return None
    return sum(abs(g - p) <= 1 for g, p in zip(gold, pred, strict=True)) / len(gold)


def quadratic_kappa(gold: list[int], pred: list[int], levels: tuple[int, ...] = EXPERTISE_LEVELS) -> float | None:
    """Cohen's kappa with quadratic weights over ordinal ``levels`` (0 for a constant answer)."""
    n = len(gold)
    if n == 0:
        return None
    k = len(levels)
    idx = {lv: i for i, lv in enumerate(levels)}
    obs = [[0.0] * k for _ in range(k)]
    for g, p in zip(gold, pred, strict=True):
        obs[idx[g]][idx[p]] += 1
    row = [sum(r) for r in obs]
    col = [sum(obs[i][j] for i in range(k)) for j in range(k)]
    num = den = 0.0
    for i in range(k):
        for j in range(k):
            w = ((i - j) ** 2) / ((k - 1) ** 2)
            num += w * obs[i][j]
            den += w * row[i] * col[j] / n
    if den == 0:
        return 0.0
    return 1.0 - num / den


def auc(scores: list[float], positive: list[bool]) -> float | None:
    """ROC AUC (Mann-Whitney, ties count half); None without both classes."""
    pos = [s for s, y in zip(scores, positive, strict=True) if y]
    neg = [s for s, y in zip(scores, positive, strict=True) if not y]
    if not pos or not neg:
        return None
    ranked = sorted((s, y) for s, y in zip(scores, positive, strict=True))
    ranks: list[float] = [0.0] * len(ranked)
    i = 0
    while i < len(ranked):
        j = i
        while j + 1 < len(ranked) and ranked[j + 1][0] == ranked[i][0]:
            j += 1
        r = (i + j) / 2 + 1
        for t in range(i, j + 1):
            ranks[t] = r
        i = j + 1
    r_pos = sum(r for r, (_, y) in zip(ranks, ranked, strict=True) if y)
    return (r_pos - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def _constant(gold: list[Any]) -> Any:
    c = Counter(gold)
    return sorted(c.items(), key=lambda kv: (-kv[1], str(kv[0])))[0][0]


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


# --- evaluation ----------------------------------------------------------------------------------------
def evaluate(
    store: Store, labels: list[Label] | None = None, *, use_store_truth: bool = False
) -> dict[str, Any]:
    """Per-facet agreement figures (each with its best-constant baseline) for the stored facets."""
    labels = list(labels or [])
    if not store.table_exists("facets"):
        raise ValueError("no facets table: run `codecensus classify` first")
    keymap = _resolve_keys(store, labels) if labels else {}
    gold: dict[str, dict[str, str]] = {}
    for i, key in keymap.items():
        gold.setdefault(key, {}).update(labels[i].values)
    duplicates = len(keymap) - len(set(keymap.values()))  # rows for a session labelled before: the last counts
    if use_store_truth:
        for key, v in store_truth(store).items():
            gold.setdefault(key, {}).setdefault("resolved", v)
    facets = {
        r[0]: r[1:]
        for r in store.con.execute(
            "SELECT session_key, mode, occupation, expertise, outcome, outcome_score, outcome_evidence, backend, "
            "model, rubric_hash FROM facets"
        ).fetchall()
    }
    report: dict[str, Any] = {
        "labels": len(labels),
        "matched_sessions": len(keymap),
        "unmatched_labels": len(labels) - len(keymap),
        "store_truth": sum(1 for g in gold.values() if "resolved" in g) if use_store_truth else 0,
        "classified": sum(1 for k in gold if k in facets),
        "not_classified": sum(1 for k in gold if k not in facets),
        "backends": sorted({f"{v[6]}/{v[7]}/{v[8]}" for k, v in facets.items() if k in gold}),
        "duplicate_labels": duplicates,
        "ignored_values": {},
        "facets": {},
    }
    ignored: dict[str, Counter[str]] = {}
    pairs = [(gold[k], facets[k]) for k in gold if k in facets]

    def col(name: str, idx: int, valid: tuple[Any, ...] | None = None, cast: Any = str) -> tuple[list, list]:
        g, p = [], []
        for lab, fc in pairs:
            if name not in lab:
                continue
            try:
                gv = cast(lab[name])
            except ValueError:
                gv = None
            if gv is None or (valid is not None and gv not in valid):
                ignored.setdefault(name, Counter())[lab[name]] += 1
                continue
            g.append(gv)
            p.append(cast(fc[idx]) if fc[idx] is not None else None)
        return g, p

    out = report["facets"]
    for name, idx, valid in (("mode", 0, MODE_KEYS), ("occupation", 1, OCCUPATION_KEYS), ("outcome", 3, OUTCOME_KEYS)):
        g, p = col(name, idx, valid)
        if not g:
            continue
        const = _constant(g)
        cp = [const] * len(g)
        fig: dict[str, Any] = {
            "n": len(g),
            "accuracy": _r(accuracy(g, p)),
            "accuracy_constant": _r(accuracy(g, cp)),
            "macro_f1": _r(macro_f1(g, p)),
            "macro_f1_constant": _r(macro_f1(g, cp)),
            "constant": const,
            "confusion": confusion(g, p),
        }
        if name == "occupation":
            kept = [(a, b) for a, b in zip(g, p, strict=True) if b != NOT_INFERABLE]
            fig["abstention_rate"] = _r(sum(b == NOT_INFERABLE for b in p) / len(p))
            fig["abstention_rate_gold"] = _r(sum(a == NOT_INFERABLE for a in g) / len(g))
            fig["precision_where_inferred"] = _r(accuracy([a for a, _ in kept], [b for _, b in kept])) if kept else None
            fig["n_inferred"] = len(kept)
            best = _constant([a for a in g if a != NOT_INFERABLE]) if any(a != NOT_INFERABLE for a in g) else None
            fig["precision_where_inferred_constant"] = _r(sum(a == best for a in g) / len(g)) if best else None
            fig["constant_inferred"] = best
        if name == "outcome":
            gs = [a in AT_LEAST_SUCCESS for a in g]
            ps = [b in AT_LEAST_SUCCESS for b in p]
            const_s = _constant(gs)
            fig["success_vs_not_accuracy"] = _r(accuracy(gs, ps))
            fig["success_vs_not_accuracy_constant"] = _r(accuracy(gs, [const_s] * len(gs)))
            fig["unclear_rate"] = _r(sum(b == "unclear" for b in p) / len(p))
            fig["unclear_rate_gold"] = _r(sum(a == "unclear" for a in g) / len(g))
        out[name] = fig
    g_all, p_all = col("expertise", 2, EXPERTISE_LEVELS, int)
    # a session whose expertise abstained (NULL: no human prompt to judge from) is scored like occupation's
    # not_inferable: counted in abstention_rate, and the figures (and their constant) are over the others
    g = [a for a, b in zip(g_all, p_all, strict=True) if b is not None]
    p = [b for b in p_all if b is not None]
    if g_all:
        out["expertise"] = {"n": 0, "abstention_rate": _r(1 - len(p) / len(p_all)), "n_inferred": len(p)}
    if g:
        const = _constant(g)
        cp = [const] * len(g)
        out["expertise"] = {
            "abstention_rate": _r(1 - len(p) / len(p_all)),
            "n_inferred": len(p),
            "n": len(g),
            "accuracy": _r(accuracy(g, p)),
            "accuracy_constant": _r(accuracy(g, cp)),
            "within_1": _r(within_one(g, p)),
            "within_1_constant": _r(within_one(g, cp)),
            "quadratic_kappa": _r(quadratic_kappa(g, p)),
            "quadratic_kappa_constant": 0.0,
            "macro_f1": _r(macro_f1(g, p)),
            "macro_f1_constant": _r(macro_f1(g, cp)),
            "constant": const,
            "confusion": confusion(g, p),
        }
    report["ignored_values"] = {k: dict(v.most_common()) for k, v in ignored.items()}
    # outcome evidence: per kind, precision/recall of the stored evidence against labelled kinds
    ev_pairs = [(lab["outcome_evidence"], fc[5]) for lab, fc in pairs if "outcome_evidence" in lab]
    if ev_pairs:
        kinds: dict[str, Any] = {}
        for kind in ("commit", "tests_pass", "user_confirmed"):
            g_ = [kind in (a or "").split(",") for a, _ in ev_pairs]
            p_ = [kind in (b or "").split(",") for _, b in ev_pairs]
            kinds[kind] = {"accuracy": _r(accuracy(g_, p_)), "accuracy_constant": _r(accuracy(g_, [_constant(g_)] * len(g_)))}
        out["outcome_evidence"] = {"n": len(ev_pairs), "kinds": kinds}
    res = []
    fam_of = _families(store, labels, keymap)
    for key, (lab, fc) in zip((k for k in gold if k in facets), pairs, strict=True):
        if "resolved" not in lab:
            continue
        v = lab["resolved"].lower()
        if v in _TRUE or v in _FALSE:
            res.append((v in _TRUE, float(fc[4] if fc[4] is not None else 0.5), fc[3], fam_of.get(key, "?")))
    if res:
        y = [r[0] for r in res]
        s = [r[1] for r in res]
        pred = [r[2] in AT_LEAST_SUCCESS for r in res]
        const_y = _constant(y)
        out["resolved"] = {
            "n": len(res),
            "positives": sum(y),
            "auc": _r(auc(s, y)),
            "auc_constant": 0.5,
            "accuracy_at_least_success": _r(accuracy(y, pred)),
            "accuracy_at_least_success_constant": _r(accuracy(y, [const_y] * len(y))),
        }
        fams: dict[str, list[tuple[bool, float]]] = {}
        for r in res:
            fams.setdefault(r[3], []).append((r[0], r[1]))
        if len(fams) > 1:
            out["resolved"]["by_family"] = {
                fam: {"n": len(xs), "positives": sum(x[0] for x in xs),
                      "auc": _r(auc([x[1] for x in xs], [x[0] for x in xs]))}
                for fam, xs in sorted(fams.items())
            }
    return report


def _families(store: Store, labels: list[Label], keymap: dict[int, str]) -> dict[str, str]:
    """session_key -> family for the per-family AUC: a ``family`` column of the labels file, else the source."""
    out: dict[str, str] = {}
    if "source" in _columns(store, "sessions"):
        out = {str(k): str(src or "?") for k, src in store.con.execute("SELECT session_key, source FROM sessions").fetchall()}
    for i, key in keymap.items():
        fam = labels[i].extra.get("family")
        if fam:
            out[key] = fam
    return out


def render(report: dict[str, Any]) -> str:
    """A plain-text report (what `codecensus eval` prints)."""
    lines = [
        f"labels {report['labels']}, matched {report['matched_sessions']}, unmatched {report['unmatched_labels']}, "
        f"classified {report['classified']}, not classified {report['not_classified']}"
        + (f", ground truth from store {report['store_truth']}" if report.get("store_truth") else ""),
        f"backend/model/rubric: {', '.join(report['backends']) or '-'}",
    ]
    if report.get("duplicate_labels"):
        lines.append(f"{report['duplicate_labels']} label row(s) for a session labelled in an earlier row: "
                     "the last row's values count")
    for name, vals in report.get("ignored_values", {}).items():
        shown = ", ".join(f"{v!r} ×{n}" for v, n in list(vals.items())[:8]) + (", …" if len(vals) > 8 else "")
        lines.append(f"{sum(vals.values())} {name} label(s) ignored, not a {name} of the taxonomy: {shown}")
    if not report["facets"]:
        why = ("no label matched a stored session_id or ingested path" if not report["matched_sessions"]
               else "no matched session is classified yet (`codecensus classify`)" if not report["classified"]
               else "no label of a classified session is a value of the taxonomy")
        lines.append(f"no figures: {why}")

    def row(name: str, a: Any, b: Any) -> str:
        fa = "-" if a is None else f"{a:.3f}" if isinstance(a, float) else str(a)
        fb = "-" if b is None else f"{b:.3f}" if isinstance(b, float) else str(b)
        return f"  {name:<30} {fa:>8}   (constant {fb})"

    for name, fig in report["facets"].items():
        lines.append("")
        lines.append(f"{name}  n={fig['n']}" + (f"  constant={fig['constant']!r}" if "constant" in fig else ""))
        for metric in ("accuracy", "macro_f1", "within_1", "quadratic_kappa", "success_vs_not_accuracy",
                       "precision_where_inferred", "abstention_rate", "unclear_rate", "auc",
                       "accuracy_at_least_success"):
            if metric in fig:
                base = fig.get(f"{metric}_constant", fig.get(f"{metric}_gold"))
                lines.append(row(metric, fig[metric], base))
        if "n_inferred" in fig:
            lines.append(f"  {'inferred (not abstained)':<30} {fig['n_inferred']:>8}")
        for fam, v in fig.get("by_family", {}).items():
            lines.append(row(f"auc {fam} (n={v['n']}, pos={v['positives']})", v["auc"], 0.5))
        if "kinds" in fig:
            for k, v in fig["kinds"].items():
                lines.append(row(f"evidence {k} accuracy", v["accuracy"], v["accuracy_constant"]))
        if "confusion" in fig:
            conf = fig["confusion"]
            cols = sorted({p for r in conf.values() for p in r}, key=str)
            lines.append("  confusion (rows gold, columns predicted):")
            lines.append("    " + " " * 18 + " ".join(f"{c[:8]:>8}" for c in cols))
            for gk in sorted(conf, key=str):
                lines.append(f"    {gk[:18]:<18}" + " ".join(f"{conf[gk].get(c, 0):>8}" for c in cols))
    return "\n".join(lines)


__all__ = [
    "Label",
    "Labels",
    "accuracy",
    "auc",
    "confusion",
    "evaluate",
    "filter_labels",
    "macro_f1",
    "quadratic_kappa",
    "read_labels",
    "render",
    "store_truth",
    "within_one",
]
