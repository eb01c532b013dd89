"""Recall of the Redactor on real credentials in the Claude Code sample transcripts.

A deliberately strict, independent pattern set (written here, not imported from
codecensus.redact) finds credential-shaped strings in every string leaf of the transcripts;
the Redactor must remove >= 95% of them. Only counts are printed, never values.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from codecensus.redact import Redactor

pytestmark = pytest.mark.shared

# Independent strict patterns: vendor prefixes with the documented body lengths.
STRICT: dict[str, re.Pattern[str]] = {
    "aws_access_key": re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Za-z0-9])"),
    "github": re.compile(
        r"(?<![A-Za-z0-9])(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{70,})(?![A-Za-z0-9])"
    ),
    "anthropic": re.compile(r"sk-ant-(?:api|admin|oat|ort)\d\d-[A-Za-z0-9_-]{32,}"),
    "openai": re.compile(r"(?<![A-Za-z0-9-])sk-(?:proj-|svcacct-|admin-)?(?!ant-)[A-Za-z0-9_-]{32,}"),
    "slack": re.compile(r"xox[abposr]-\d+-[A-Za-z0-9-]{10,}"),
    "gitlab": re.compile(r"glpat-[A-Za-z0-9_-]{20,}"),
    "gcp": re.compile(r"AIza[0-9A-Za-z_-]{35}"),
    "pem": re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----"),
    "jwt": re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{20,}"),
    "huggingface": re.compile(r"(?<![A-Za-z0-9_])hf_[A-Za-z]{34}(?![A-Za-z0-9])"),
}
PREFIXES = (
    b"AKIA",
    b"ASIA",
    b"gh",
    b"github_pat_",
    b"sk-",
    b"xox",
    b"glpat-",
    b"AIza",
    b"PRIVATE KEY",
    b"eyJ",
    b"hf_",
)
PLACEHOLDER = re.compile(r"(?i)x{4}|example|your|placeholder|redacted|\*{3}|\.\.\.|<")
WINDOW = 3000


def _real_looking(kind: str, s: str) -> bool:
    if PLACEHOLDER.search(s):
        return False
    if kind == "pem":
        return True
    return any(c.isdigit() for c in s) and any(c.isupper() for c in s) and any(c.islower() for c in s)


def _leaves(v: Any) -> Iterator[str]:
    if isinstance(v, str):
        yield v
    elif isinstance(v, dict):
        for x in v.values():
            yield from _leaves(x)
    elif isinstance(v, list):
        for x in v:
            yield from _leaves(x)


def _documents(root: Path) -> Iterator[Any]:
    for f in sorted(root.glob("claude_code__*/**/*.json*")):
        if f.suffix not in (".json", ".jsonl") or not f.is_file():
            continue
        data = f.read_bytes()
        chunks = data.splitlines() if f.suffix == ".jsonl" else [data]
        for chunk in chunks:
            if not any(p in chunk for p in PREFIXES):  # cheap pre-filter on the raw bytes
                continue
            try:
                yield orjson.loads(chunk)
            except orjson.JSONDecodeError:
                continue


def test_redactor_recall_on_real_credentials(shared: Path) -> None:
    root = shared / "data" / "transcripts"
    if not any(root.glob("claude_code__*")):
        pytest.skip("no Claude Code sample transcripts")
    redactor = Redactor()
    found: Counter[str] = Counter()
    caught: Counter[str] = Counter()
    found_all = caught_all = 0
    distinct_found: set[int] = set()
    distinct_missed: set[int] = set()
    for doc in _documents(root):
        for leaf in _leaves(doc):
            for kind, rx in STRICT.items():
                for m in rx.finditer(leaf):
                    secret = m.group(0)
                    window = leaf[max(0, m.start() - WINDOW) : m.end() + WINDOW]
                    ok = secret not in redactor.redact(window)
                    found_all += 1
                    caught_all += ok
                    if not _real_looking(kind, secret):
                        continue
                    found[kind] += 1
                    caught[kind] += ok
                    distinct_found.add(hash(secret))
                    if not ok:
                        distinct_missed.add(hash(secret))
    n, c = sum(found.values()), sum(caught.values())
    # counts only: never the values
    print(
        f"\nstrict credential scan: found {n}, caught {c} (distinct values {len(distinct_found)}, "
        f"missed distinct {len(distinct_missed)}); all shapes incl. placeholders: found {found_all}, "
        f"caught {caught_all}"
    )
    print("per kind (found/caught): " + ", ".join(f"{k} {found[k]}/{caught[k]}" for k in sorted(found)))
    if n == 0:
        pytest.skip("no credential-shaped strings in the sample")
    assert c / n >= 0.95
    assert caught_all / found_all >= 0.95
