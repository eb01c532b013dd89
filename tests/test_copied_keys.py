"""The uuid-copy search grouped on hash first finds the same copied keys as the plain grouping."""

from __future__ import annotations

import duckdb

from codecensus.measure import HASH_FIRST_TABLES, copied_keys_select


def test_hash_first_finds_the_same_copied_keys() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE messages (uuid VARCHAR, seq INTEGER, line INTEGER)")
    rows = [("a", 0), ("a", 0), ("a", 1), ("b", None), ("b", None), ("c", 0), (None, 0), (None, 0), (None, None),
            ("d", 2), ("d", 2), ("d", 2), ("e", 0), ("e", 1), ("", 0), ("", 0)]
    rows += [(f"u{i % 700}", i % 3) for i in range(3000)]  # many copies, some seqs met once
    con.executemany("INSERT INTO messages VALUES (?, ?, ?)", [(u, s, i) for i, (u, s) in enumerate(rows)])
    for keys in ("uuid", "uuid, seq"):
        plain = con.execute(f"SELECT * FROM ({copied_keys_select('messages', keys, False)}) ORDER BY ALL").fetchall()
        fast = con.execute(f"SELECT * FROM ({copied_keys_select('messages', keys, True)}) ORDER BY ALL").fetchall()
        assert fast == plain and len(plain) > 700, keys
    assert "messages" in HASH_FIRST_TABLES
