"""Compare every table of two codecensus databases row for row (as multisets).

    python scripts/compare_db.py BASE.duckdb NEW.duckdb          # exit 0 when identical
    python scripts/compare_db.py --copy-salt BASE.duckdb NEW.duckdb   # give a fresh NEW the salt of BASE first

For checking that a parser or measure change leaves the stored data unchanged: ingest the same corpus with
the old code (e.g. `git archive HEAD | tar -x -C /tmp/base`, run with PYTHONPATH=/tmp/base/src) and with
the new, after `--copy-salt` so the salted user/project hashes compare too. Ignored: `files.ingested_at`,
and the `runs` and `meta` tables. Prints counts only, never row contents.
"""

from __future__ import annotations

import sys

import duckdb

IGNORE: dict[str, list[str] | None] = {"files": ["ingested_at"], "runs": None, "meta": None}


def copy_salt(base: str, new: str) -> None:
    from codecensus.store import Store

    b = duckdb.connect(base, read_only=True)
    salt = b.sql("SELECT value FROM meta WHERE key = 'salt'").fetchall()[0][0]
    b.close()
    s = Store(new)
    s.set_meta("salt", salt)
    s.close()


def _columns(con: duckdb.DuckDBPyConnection, db: str, table: str) -> list[str]:
    sql = "SELECT column_name FROM duckdb_columns() WHERE database_name = ? AND table_name = ? ORDER BY column_index"
    return [r[0] for r in con.execute(sql, [db, table]).fetchall()]


def compare(base: str, new: str) -> int:
    """Number of tables that differ (0: identical)."""
    con = duckdb.connect()
    con.execute("ATTACH ? AS a (READ_ONLY)", [base])
    con.execute("ATTACH ? AS b (READ_ONLY)", [new])
    tables = {
        db: {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [db]).fetchall()}
        for db in ("a", "b")
    }
    bad = 0
    if tables["a"] != tables["b"]:
        print("table sets differ:", sorted(tables["a"] ^ tables["b"]))
        bad += 1
    for t in sorted(tables["a"] & tables["b"]):
        if t in IGNORE and IGNORE[t] is None:
            continue
        ca, cb = _columns(con, "a", t), _columns(con, "b", t)
        if ca != cb:
            print(f"DIFF {t}: columns differ")
            bad += 1
            continue
        cols = ", ".join(f'"{c}"' for c in ca if c not in (IGNORE.get(t) or []))
        na = con.sql(f"SELECT count(*) FROM a.{t}").fetchall()[0][0]
        nb = con.sql(f"SELECT count(*) FROM b.{t}").fetchall()[0][0]
        d1 = con.sql(f"SELECT count(*) FROM (SELECT {cols} FROM a.{t} EXCEPT ALL SELECT {cols} FROM b.{t})").fetchall()[0][0]
        d2 = con.sql(f"SELECT count(*) FROM (SELECT {cols} FROM b.{t} EXCEPT ALL SELECT {cols} FROM a.{t})").fetchall()[0][0]
        ok = na == nb and d1 == 0 and d2 == 0
        bad += not ok
        print(f"{'OK  ' if ok else 'DIFF'} {t:14s} rows {na} vs {nb}; only in base {d1}, only in new {d2}")
    print("IDENTICAL" if not bad else f"{bad} TABLE(S) DIFFER")
    return bad


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "--copy-salt":
        copy_salt(argv[1], argv[2])
        return 0
    if len(argv) != 2:
        print(__doc__)
        return 2
    return 1 if compare(argv[0], argv[1]) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
