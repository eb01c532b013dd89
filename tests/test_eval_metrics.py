"""`codecensus eval`: metrics, constant baselines, label matching, JSON output."""

from __future__ import annotations

from pathlib import Path

import orjson
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from codecensus.classify.eval import (
    accuracy,
    auc,
    confusion,
    evaluate,
    macro_f1,
    quadratic_kappa,
    read_labels,
    render,
    within_one,
)


def test_basic_metrics() -> None:
    g = ["a", "a", "b", "c"]
    p = ["a", "b", "b", "c"]
    assert accuracy(g, p) == 0.75
    assert macro_f1(g, p) == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
    assert macro_f1(g, ["a"] * 4) == pytest.approx((2 * 2 / (2 * 2 + 2)) / 3)
    assert confusion(g, p) == {"a": {"a": 1, "b": 1}, "b": {"b": 1}, "c": {"c": 1}}
    assert accuracy([], []) is None


def test_ordinal_metrics() -> None:
    g = [1, 2, 3, 4, 5]
    assert within_one(g, [2, 3, 4, 5, 5]) == 1.0
    assert within_one(g, [3, 3, 3, 3, 3]) == 0.6
    assert quadratic_kappa(g, g) == pytest.approx(1.0)
    assert quadratic_kappa(g, [3] * 5) == pytest.approx(0.0)
    assert quadratic_kappa(g, [5, 4, 3, 2, 1]) == pytest.approx(-1.0)
    assert quadratic_kappa(g, [1, 2, 3, 5, 4]) < 1.0


def test_auc() -> None:
    assert auc([0.9, 0.8, 0.3, 0.1], [True, True, False, False]) == 1.0
    assert auc([0.1, 0.2, 0.8, 0.9], [True, True, False, False]) == 0.0
    assert auc([0.5, 0.5], [True, False]) == 0.5  # ties count half
    assert auc([0.9, 0.4, 0.6, 0.2], [True, True, False, False]) == 0.75
    assert auc([0.3], [True]) is None


def _labels(tmp_path: Path, text: str, name: str = "labels.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8", newline="")
    return p


def _facets_store(store, rows: list[dict]) -> None:  # type: ignore[no-untyped-def]
    from codecensus.classify.run import ensure_facets_table

    sessions = pa.table({
        "session_key": [r["key"] for r in rows],
        "session_id": [r["sid"] for r in rows],
        "started_at": pa.array([None] * len(rows), type=pa.timestamp("ms", tz="UTC")),
    })
    store.replace_table("sessions", sessions)
    ensure_facets_table(store)
    tbl = pa.table({
        "session_key": [r["key"] for r in rows],
        "mode": [r.get("mode", "build") for r in rows],
        "occupation": [r.get("occupation", "15") for r in rows],
        "expertise": pa.array([r.get("expertise", 3) for r in rows], type=pa.int32()),
        "outcome": [r.get("outcome", "success") for r in rows],
        "outcome_score": [r.get("score", 0.5) for r in rows],
        "outcome_evidence": [r.get("evidence", "") for r in rows],
        "backend": ["offline"] * len(rows),
        "model": ["m"] * len(rows),
        "rubric_hash": ["h"] * len(rows),
    })
    store.con.register("_t", tbl)
    cols = ", ".join(tbl.schema.names)
    store.con.execute(f"INSERT INTO facets ({cols}) SELECT {cols} FROM _t")
    store.con.unregister("_t")


def test_evaluate_against_labels_and_resolved(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _facets_store(store, [
        {"key": "k1", "sid": "s1", "mode": "build", "occupation": "15", "expertise": 3, "outcome": "success",
         "score": 0.9},
        {"key": "k2", "sid": "s2", "mode": "fix", "occupation": "not_inferable", "expertise": 2,
         "outcome": "failure", "score": 0.1},
        {"key": "k3", "sid": "s3", "mode": "fix", "occupation": "23", "expertise": 5, "outcome": "partial",
         "score": 0.4},
        {"key": "k4", "sid": "s4", "mode": "build", "occupation": "15", "expertise": 1, "outcome": "success",
         "score": 0.7},
    ])
    labels = _labels(tmp_path, (
        "# dev labels\n"
        "session_id,mode,occupation,expertise,outcome,resolved\n"
        "s1,build,15,3,verified_success,1\n"
        "s2,fix,15,2,failure,0\n"
        "s3,build,not_inferable,4,partial,0\n"
        "s4,,15,,success,1\n"
        "missing,build,15,3,success,1\n"
    ))
    rep = evaluate(store, read_labels(labels))
    assert rep["matched_sessions"] == 4 and rep["unmatched_labels"] == 1
    f = rep["facets"]
    assert f["mode"]["n"] == 3 and f["mode"]["accuracy"] == pytest.approx(2 / 3, abs=1e-3)
    assert f["mode"]["accuracy_constant"] == pytest.approx(2 / 3, abs=1e-3)  # 'build' twice of three
    occ = f["occupation"]
    assert occ["abstention_rate"] == 0.25
    assert occ["precision_where_inferred"] == pytest.approx(2 / 3, abs=1e-3)  # k1, k4 right; k3 (23) wrong
    exp = f["expertise"]
    assert exp["within_1"] == 1.0 and exp["quadratic_kappa_constant"] == 0.0
    out = f["outcome"]
    assert out["accuracy"] == 0.75 and out["success_vs_not_accuracy"] == 1.0
    res = f["resolved"]
    assert res["n"] == 4 and res["auc"] == 1.0 and res["auc_constant"] == 0.5
    text = render(rep)
    assert "constant" in text and "auc" in text


def test_an_abstained_expertise_is_scored_as_an_abstention(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A session whose expertise abstained (NULL: no human prompt) made evaluate() fail with a TypeError
    (abs(3 - None) in within_one); now it counts in the abstention rate and the figures are over the others."""
    _facets_store(store, [
        {"key": "k1", "sid": "s1", "expertise": 3},
        {"key": "k2", "sid": "s2", "expertise": 4},
        {"key": "k3", "sid": "s3", "expertise": None},
    ])
    labels = _labels(tmp_path, "session_id,expertise\ns1,3\ns2,2\ns3,2\n")
    rep = evaluate(store, read_labels(labels))
    exp = rep["facets"]["expertise"]
    assert exp["n"] == 2 and exp["n_inferred"] == 2 and exp["abstention_rate"] == pytest.approx(1 / 3, abs=1e-3)
    assert exp["accuracy"] == 0.5 and exp["within_1"] == 0.5
    assert "abstention_rate" in render(rep)
    only = evaluate(store, read_labels(_labels(tmp_path, "session_id,expertise\ns3,2\n")))
    assert only["facets"]["expertise"] == {"n": 0, "abstention_rate": 1.0, "n_inferred": 0}
    render(only)


def test_store_truth_and_path_keys(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _facets_store(store, [{"key": "k1", "sid": "s1", "score": 0.8}, {"key": "k2", "sid": "s2", "score": 0.3}])
    store.con.execute(
        "INSERT INTO files (file_id, path, session_key, role) VALUES ('f1', '/data/runs/a/traj.json', 'k1', 'main')"
    )
    store.con.execute(
        "INSERT INTO events (session_key, file_id, line, seq, kind, detail) VALUES "
        "('k1', 'f1', 9, 0, 'outcome_truth', 'resolved'), ('k2', 'f2', 9, 0, 'outcome_truth', 'unresolved')"
    )
    rep = evaluate(store, [], use_store_truth=True)
    assert rep["facets"]["resolved"]["auc"] == 1.0
    labels = _labels(tmp_path, "path,mode\nruns/a/traj.json,build\n")
    rep = evaluate(store, read_labels(labels))
    assert rep["matched_sessions"] == 1 and rep["facets"]["mode"]["accuracy"] == 1.0


def test_read_labels_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="session_id or path"):
        read_labels(_labels(tmp_path, "id,mode\nx,build\n"))
    with pytest.raises(ValueError, match="no facet column"):
        read_labels(_labels(tmp_path, "session_id,notes\nx,hello\n"))


def test_eval_cli_json(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from codecensus.cli import app

    _facets_store(store, [{"key": "k1", "sid": "s1"}])
    path = store.path
    store.close()
    labels = _labels(tmp_path, "session_id,mode\ns1,build\n")
    r = CliRunner().invoke(app, ["eval", str(labels), "--db", str(path), "--json"])
    assert r.exit_code == 0, r.output
    rep = orjson.loads(r.stdout)
    assert rep["facets"]["mode"]["accuracy"] == 1.0
    r = CliRunner().invoke(app, ["eval", "--db", str(path)])
    assert r.exit_code == 2


def test_eval_only_a_missing_column_and_a_labels_path_that_is_not_a_file(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`eval --only split=B` with no `split` column said "labels 0" and exited 0 (every row left out); a missing
    labels file or a folder gave the raw "[Errno 2] No such file or directory" / "[Errno 21] Is a directory".
    Now each is a plain message naming the column and the file's columns, or the file, with exit 2; --only on a
    facet column (mode=build) keeps the rows with that label instead of none."""
    from codecensus.cli import app

    _facets_store(store, [{"key": "k1", "sid": "s1"}, {"key": "k2", "sid": "s2"}])
    path = store.path
    store.close()
    labels = _labels(tmp_path, "session_id,mode\ns1,build\ns2,fix\n")

    def run(*args: str) -> tuple[int, str]:
        r = CliRunner().invoke(app, ["eval", *args, "--db", str(path), "--json"])
        return r.exit_code, " ".join(r.output.split())

    code, text = run(str(labels), "--only", "split=B")
    assert code == 2 and f"--only split=B: {labels} has no column 'split' (its columns: session_id, mode)" in text, text
    for bad, why in ((tmp_path / "missing.csv", "not found"), (tmp_path, "is a folder")):
        code, text = run(str(bad))
        assert code == 2 and f"labels file {bad} {why}; give the path of a CSV file" in text and "Errno" not in text, text
    code, text = run(str(labels), "--only", "mode=build")
    assert code == 0 and orjson.loads(text)["facets"]["mode"]["n"] == 1, text


def test_store_truth_reaches_identical_copies_and_auc_per_family(store) -> None:  # type: ignore[no-untyped-def]
    """A run copied without its harness report shares the label of its labelled copy; AUC per source."""
    from codecensus.classify.eval import store_truth

    _facets_store(store, [
        {"key": "a1", "sid": "run-1", "score": 0.9}, {"key": "a1-copy", "sid": "run-1", "score": 0.8},
        {"key": "a2", "sid": "run-2", "score": 0.2},
        {"key": "b1", "sid": "x-1", "score": 0.3}, {"key": "b2", "sid": "x-2", "score": 0.6},
        {"key": "c1", "sid": "mixed", "score": 0.5}, {"key": "c2", "sid": "mixed", "score": 0.5},
        {"key": "c3", "sid": "mixed", "score": 0.5},
    ])
    store.con.execute("ALTER TABLE sessions ADD COLUMN source VARCHAR")
    store.con.execute("UPDATE sessions SET source = CASE WHEN session_key LIKE 'b%' THEN 'tb' ELSE 'swe' END")
    store.con.execute(
        "INSERT INTO events (session_key, file_id, line, seq, kind, detail) VALUES "
        "('a1', 'f', 1, 0, 'outcome_truth', 'resolved'), ('a2', 'f', 1, 0, 'outcome_truth', 'unresolved'), "
        "('b1', 'f', 1, 0, 'outcome_truth', 'resolved'), ('b2', 'f', 1, 0, 'outcome_truth', 'unresolved'), "
        "('c1', 'f', 1, 0, 'outcome_truth', 'resolved'), ('c2', 'f', 1, 0, 'outcome_truth', 'unresolved')"
    )
    truth = store_truth(store)
    assert truth["a1-copy"] == "1"  # same source and session id as a labelled run
    assert "c3" not in truth  # its copies disagree: no label
    res = evaluate(store, [], use_store_truth=True)["facets"]["resolved"]
    assert res["n"] == 7
    fam = res["by_family"]
    assert fam["swe"] == {"n": 5, "positives": 3, "auc": pytest.approx(11 / 12, abs=1e-3)}  # one tie
    assert fam["tb"]["auc"] == 0.0  # ranked the wrong way round
    assert "auc swe" in render(evaluate(store, [], use_store_truth=True))


def test_labels_files_as_spreadsheets_save_them(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A BOM (Excel's "CSV UTF-8") and semicolon or tab separators (a spreadsheet's CSV in many locales) made the
    file look keyless ("needs a session_id or path column (have ['\\ufeffsession_id', ...])"); a row with more
    cells than the header ended in an AttributeError traceback; Latin-1 text in a UnicodeDecodeError message
    that named no file; an empty file was said to lack a key column."""
    _facets_store(store, [{"key": "k1", "sid": "s1"}, {"key": "k2", "sid": "s2"}])
    rows = [("session_id", "expertise", "mode"), ("s1", "3", "build"), ("s2", "2", "build")]
    for name, data in (
        ("bom.csv", "\ufeff" + "\n".join(",".join(r) for r in rows)),
        ("semi.csv", "\r\n".join(";".join(r) for r in rows)),
        ("tab.tsv", "# made by hand\n" + "\n".join("\t".join(r) for r in rows)),
    ):
        labs = read_labels(_labels(tmp_path, data, name))
        assert [(lab.key, lab.values) for lab in labs] == [
            ("s1", {"mode": "build", "expertise": "3"}), ("s2", {"mode": "build", "expertise": "2"})], name
    with pytest.raises(ValueError, match=r"more cells than the header \(2\); put quotes"):
        read_labels(_labels(tmp_path, "session_id,mode\ns1,build,extra\n", "ragged.csv"))
    bad = tmp_path / "latin1.csv"
    bad.write_bytes("session_id,mode,note\ns1,build,café\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin1.csv: not UTF-8 text \(byte \d+\); save it as CSV UTF-8"):
        read_labels(bad)
    with pytest.raises(ValueError, match="empty.csv: empty"):
        read_labels(_labels(tmp_path, "# only a comment\n\n", "empty.csv"))


def test_ignored_and_repeated_labels_are_said(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Labels outside the taxonomy ('Build', 'coding', expertise '3.5') vanished from every n without a word, and
    a session labelled twice was counted as two matches with no notice of which row counted."""
    _facets_store(store, [{"key": "k1", "sid": "s1"}, {"key": "k2", "sid": "s2"}, {"key": "k3", "sid": "s3"}])
    labs = read_labels(_labels(tmp_path, "session_id,mode,expertise\ns1,Build,3.5\ns2,coding,\ns3,build,\n"
                                         "s3,fix,2\n"))
    rep = evaluate(store, labs)
    assert rep["ignored_values"] == {"mode": {"Build": 1, "coding": 1}, "expertise": {"3.5": 1}}
    assert rep["duplicate_labels"] == 1 and rep["facets"]["mode"]["n"] == 1
    text = render(rep)
    assert "2 mode label(s) ignored, not a mode of the taxonomy: 'Build' ×1, 'coding' ×1" in text
    assert "1 expertise label(s) ignored" in text and "1 label row(s) for a session labelled in an earlier row" in text
    none = evaluate(store, read_labels(_labels(tmp_path, "session_id,mode\nnope,build\n", "none.csv")))
    assert "no figures: no label matched a stored session_id" in render(none)
    odd = evaluate(store, read_labels(_labels(tmp_path, "session_id,mode\ns1,coding\n", "odd.csv")))
    assert "no figures: no label of a classified session is a value of the taxonomy" in render(odd)


def test_store_truth_and_instance_labels_reach_copies_in_other_folders(tmp_path: Path) -> None:
    """Since session ids of SWE-agent and terminal-bench runs are '<format>-<file id>' (c6f4ae8: no file or folder
    name in exports), two copies of one run in two folders had two ids: the copy without its harness report lost
    the ground truth its twin has (store_truth 2 of 4 sessions), and a label keyed by the instance name matched
    nothing. Copies are linked again by the run's name kept in the session key (never exported)."""
    import shutil

    from codecensus.classify.eval import Label, _resolve_keys, store_truth
    from codecensus.cli import app
    from codecensus.store import Store

    fix = Path(__file__).parent / "fixtures" / "formats"
    team = tmp_path / "team"
    shutil.copytree(fix / "swe_agent" / "run1", team / "a" / "run1")  # with logs/<instance>/report.json
    shutil.copytree(fix / "swe_agent" / "run1" / "trajs", team / "b" / "trajs")  # the same run, no report
    trial = "usaco-101@2025-08-24__16-32-09"
    shutil.copytree(fix / "terminal_bench" / "usaco" / trial, team / "a" / "tb" / "trials" / trial)
    (team / "a" / "tb" / "results.json").write_text('{"resolved_ids": [], "unresolved_ids": ["usaco-101"]}')
    shutil.copytree(fix / "terminal_bench" / "usaco" / trial, team / "b" / "tb" / "trials" / trial)
    db = tmp_path / "c.duckdb"
    r = CliRunner().invoke(app, ["ingest", str(team), "--db", str(db), "-j", "0"])
    assert r.exit_code == 0, r.output
    st = Store(db)
    try:
        sess = st.con.execute("SELECT session_key, source, session_id FROM sessions ORDER BY 1").fetchall()
        assert sorted(s for _, s, _ in sess) == ["swe_agent", "swe_agent", "terminal_bench", "terminal_bench"]
        assert not any("marshmallow" in sid or "usaco" in sid for _, _, sid in sess)  # still no names in ids
        truth = store_truth(st)
        by_source: dict[str, set[str]] = {}
        for key, src, _ in sess:
            by_source.setdefault(src, set()).add(truth.get(key, "none"))
        assert by_source == {"swe_agent": {"1"}, "terminal_bench": {"0"}}, by_source
        labels = [Label("marshmallow__marshmallow-42", "session_id", {"mode": "fix"}, {})]
        assert list(_resolve_keys(st, labels).values())[0] in {k for k, s, _ in sess if s == "swe_agent"}
    finally:
        st.close()
