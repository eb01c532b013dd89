"""Canary suite: plant secrets and identifying details in transcripts, run every stage and export,
and prove that none of them reaches any output file, log, or derived database column.

Raw-transcript tables (prompts, messages, actions, results, events, files, session_files,
ingest_log) may hold the text: they are the input, never released. Everything else is checked.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import unicodedata
import urllib.parse
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from codecensus.store.db import RAW_TEXT_TABLES
from local_server import closed_url

from ccbuild import Session

# Canaries: realistic values of every kind the brief lists. Unique strings, so a hit is a leak.
CANARIES: dict[str, str] = {
    "email": "zebulon.quackenbush@quokkaflux-labs.io",
    "aws_key": "AKIAQZ7WQ4XK2M9PL3RT",
    "aws_secret": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYQZ7WQ4XK2M",
    "github_token": "ghp_Qz7Wq4Xk2M9pL3rTv8Yb1Nc6Hd0Jf5Gs2Ka9",
    "github_pat": "github_pat_11AQZ7WQ4_Xk2M9pL3rTv8Yb1Nc6Hd0Jf5Gs2Ka9Qz7Wq4Xk2M9pL3rTv8Yb1Nc6Hd0Jf5Gs2Ka9QzWq",
    "anthropic_key": "sk-ant-api03-Qz7Wq4Xk2M9pL3rTv8Yb1Nc6Hd0Jf5Gs2Ka9Qz7Wq4Xk2M9pL3rTv8Yb1Nc6Hd0Jf5Gs2Ka9Qz7Wq4Xk2M9pL-AA",
    "openai_key": "sk-proj-Qz7Wq4Xk2M9pL3rTv8Yb1Nc6Hd0Jf5Gs2Ka9T3BlbkFJQz7Wq4Xk2M9pL3rTv8Yb1Nc6Hd0",
    "slack_token": "xoxb-2847561930-4728391056-Qz7Wq4Xk2M9pL3rTv8Yb1Nc6",
    "gitlab_token": "glpat-Qz7Wq4Xk2M9pL3rTv8Yb",
    "google_key": "AIzaSyQz7Wq4Xk2M9pL3rTv8Yb1Nc6Hd0Jf5Gs2",
    "stripe_key": "sk_live_51Qz7Wq4Xk2M9pL3rTv8Yb1Nc6Hd0Jf5Gs2Ka9",
    "person": "Zebulon Quackenbush",
    "phone": "+1 415 555 0199",
    "address": "742 Evergreen Terrace",
    "home_user": "zquackenbush",
    "codename": "Quokkaflux",
    # written the way text hides them: glued to Chinese, percent-encoded, split by a zero-width
    # space, base64-encoded, a German name spelled plainly in its e-mail address
    "cn_phone": "+86 139 2718 4406",
    "urlenc_email": "ottilie.vanderkamp@fjordwise.io",
    "zw_key": "AKIAQ3XW7KZP2M4NB6RT",
    "b64_key": "sk_live_51Hx7Qm2Rk9Lp4Vz8Tn3Wb6Yc1Df5Gh0Js2Ka7",
    "umlaut_name": "Jürgen Quellmüller",
    # colleagues named without an introduction or an e-mail: a listed given name and its surname (the rules find
    # it), and a rare given name that only the NER model finds (on by default for the LLM backends)
    "colleague": "Priya Raghunathan",
    "colleague_rare": "Cornelius Vandermeer",
    # the kinds added later: identity documents and dates, postcodes, devices, wallets and their seed phrases, a
    # short bearer token and a password in JSON text with escaped quotes
    "passport": "X7294816",
    "dob": "1983-07-29",
    "postcode": "EC1V 9HX",
    "mac": "3c:22:fb:9a:41:7e",
    "wallet": "1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
    "seed": "legal winner thank year wave sausage worth useful legal winner thank yellow",
    "bearer": "pelicanmoonbeam",
    "json_password": "hunter2quokka",
}
# Case-insensitive needles (a codename may be lower-cased by keyword extraction).
NEEDLES = {k: v.lower() for k, v in CANARIES.items()}
NEEDLES["person_last"] = "quackenbush"
NEEDLES["umlaut_name"] = "quellmüller"
NEEDLES["colleague"] = "raghunathan"
NEEDLES["colleague_rare"] = "vandermeer"
B64_ENV = base64.b64encode(f"STRIPE_KEY={CANARIES['b64_key']}\n".encode()).decode()
NEEDLES["b64_env"] = B64_ENV[:24].lower()
ZW = "\u200b"


def _canary_session(sid: str, user_i: int, t0: int) -> Session:
    c = CANARIES
    s = Session(sid, cwd=f"/Users/{c['home_user']}/code/{c['codename']}", t0=t0)
    s.prompt(
        f"Hi, my name is {c['person']} ({c['email']}, {c['phone']}, {c['address']}). In the {c['codename']} "
        f"repo, wire the billing service to Stripe with {c['stripe_key']} and deploy; the AWS key is "
        f"{c['aws_key']} / {c['aws_secret']}."
    )
    (t1,) = s.reply(
        f"Sure {c['person'].split()[0]}, I will configure {c['codename']} now.",
        [("Write", {"file_path": f"/Users/{c['home_user']}/code/{c['codename']}/.env",
                    "content": f"GITHUB_TOKEN={c['github_token']}\nANTHROPIC_API_KEY={c['anthropic_key']}\n"
                               f"OPENAI_API_KEY={c['openai_key']}\nSLACK={c['slack_token']}\n"})],
    )
    s.result(t1, "File created", tur={"type": "create", "filePath": f"/Users/{c['home_user']}/code/.env"})
    (t2,) = s.reply(None, [("Bash", {"command": f"git remote add origin https://oauth2:{c['gitlab_token']}@gitlab.com/"
                                                f"{c['home_user']}/{c['codename']}.git && git push -u origin main"})])
    s.result(t2, f"pushed as {c['email']}; maps key {c['google_key']} PAT {c['github_pat']}")
    zw = c["zw_key"][:9] + ZW + c["zw_key"][9:]
    disguised = json.dumps({"log": f"GET /auth?login_hint={urllib.parse.quote(c['urlenc_email'], safe='')}\n"
                                   f"联系人电话{c['cn_phone']}谢谢",
                            "author": f"{c['umlaut_name']} <juergen.quellmueller@fjordwise.io>"}, ensure_ascii=False)
    (t3,) = s.reply(None, [("Bash", {"command": f"echo {B64_ENV} | base64 -d > .env && export AWS_ACCESS_KEY_ID={zw}"})])
    s.result(t3, disguised)
    s.prompt(f"Great, thanks! Please also email {c['email']} about {c['codename']} and send the release notes to "
             f"{c['colleague']} and {c['colleague_rare']} before friday. Works now. The env was "
             f"`echo {B64_ENV} | base64 -d`, the key {zw}, and the log said {disguised}. For the visa form: passport "
             f"no: {c['passport']}, DOB: {c['dob']}, postcode {c['postcode']}; the laptop's MAC is {c['mac']}; refunds go "
             f"to {c['wallet']}, seed phrase: {c['seed']}\ncurl -H 'Authorization: Bearer {c['bearer']}' and the "
             f"config was {json.dumps(json.dumps({'password': c['json_password']}))}")
    s.reply(f"Done. {c['codename']} is deployed.")
    return s


@pytest.fixture(scope="module")
def canary_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    from codecensus.sample import generate_corpus

    root = tmp_path_factory.mktemp("canary")
    corpus = root / "corpus"
    generate_corpus(corpus / "generated", users=12, sessions=48, months=2, seed=5)
    # Canary sessions for 8 users, 3 each: enough users that an unredacted value would pass thresholds.
    for u in range(8):
        for j in range(3):
            sid = f"99999999-9999-4999-8999-{u:06d}{j:06d}"
            _canary_session(sid, u, 1767225600 + 86400 * (u * 3 + j)).write(
                corpus / "canaries" / f"user{u}" / ".claude" / "projects" / "-Users-x" / f"{sid}.jsonl"
            )
    # Copies of real sample transcripts (when present) with canaries appended.
    from conftest import shared_dir

    shared = shared_dir()
    if shared is not None:
        real = sorted((shared / "data" / "transcripts").glob("claude_code__*/**/*.jsonl"))[:6]
        for i, src in enumerate(real):
            if src.name.startswith("agent-") or "subagents" in src.parts:
                continue
            dst = corpus / "real" / f"realuser{i}" / "projects" / "-r" / src.name
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
            extra = _canary_session(src.stem if len(src.stem) == 36 else f"88888888-8888-4888-8888-{i:012d}", i,
                                    1767225600)
            with open(dst, "ab") as fh:
                for rec in extra.lines:
                    fh.write(json.dumps(rec).encode() + b"\n")

    db = root / "db.duckdb"
    out = root / "out"
    env = {**os.environ, "CODECENSUS_DB": str(db), "NO_COLOR": "1", "COLUMNS": "200"}
    logs: list[str] = []

    def cc(*args: str) -> None:
        p = subprocess.run([sys.executable, "-m", "codecensus", *args], env=env, capture_output=True, text=True,
                           timeout=900)
        logs.append(p.stdout + p.stderr)
        assert p.returncode == 0, f"codecensus {args[0]} failed with exit {p.returncode}"  # never print its output

    cc("ingest", str(corpus / "generated"), "--user-from-dir")
    cc("ingest", str(corpus / "canaries"), "--user-from-dir")
    if (corpus / "real").exists():
        cc("ingest", str(corpus / "real"), "--user-from-dir")
    cc("classify")
    cc("cluster")
    cc("report", "--out", str(out / "team"))
    cc("report", "--out", str(out / "individual"), "--individual")
    cc("summary")
    cc("summary", "--individual")
    for fmt in ("jsonl", "csv", "parquet"):
        cc("sessions", "--format", fmt, "--out", str(out / f"sessions.{fmt}"))
    cc("sessions")
    cc("eval", str(_labels(root)), "--json")
    return {"db": db, "out": out, "logs": logs}


def _labels(root: Path) -> Path:
    p = root / "labels.csv"
    p.write_text("session_id,mode\n99999999-9999-4999-8999-000000000000,build\n")
    return p


def _hits(text: str) -> set[str]:
    """Canary kinds in ``text`` as a reader sees it (percent escapes decoded, zero-width characters dropped)."""
    low = text.lower()
    seen = unicodedata.normalize("NFKC", urllib.parse.unquote(text)).replace(ZW, "").lower()
    return {k for k, v in NEEDLES.items() if v in low or v in seen}


def _file_text(p: Path) -> str:
    if p.suffix == ".parquet":
        return json.dumps(pq.read_table(p).to_pylist(), default=str)
    return p.read_text(errors="replace")


def test_no_canary_in_any_output_file(canary_run: dict[str, object]) -> None:
    out = canary_run["out"]
    assert isinstance(out, Path)
    files = [p for p in out.rglob("*") if p.is_file()]
    assert any(p.name == "report.html" for p in files) and any(p.suffix == ".parquet" for p in files)
    leaks = {str(p.relative_to(out)): sorted(h) for p in files if (h := _hits(_file_text(p)))}
    assert leaks == {}, f"canary kinds leaked into output files: {leaks}"  # names only, never values


def test_no_canary_in_logs(canary_run: dict[str, object]) -> None:
    logs = canary_run["logs"]
    assert isinstance(logs, list) and logs
    leaks = sorted({k for log in logs for k in _hits(log)})
    assert leaks == [], f"canary kinds leaked into command output: {leaks}"


def test_no_canary_in_derived_database_columns(canary_run: dict[str, object]) -> None:
    con = duckdb.connect(str(canary_run["db"]), read_only=True)
    cols = con.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE data_type IN ('VARCHAR', 'JSON') OR data_type LIKE '%[]' OR data_type LIKE 'STRUCT%'"
    ).fetchall()
    checked: list[str] = []
    leaks: dict[str, list[str]] = {}
    for table, col in cols:
        if table in RAW_TEXT_TABLES:
            continue
        checked.append(f"{table}.{col}")
        values = con.execute(f'SELECT DISTINCT CAST("{col}" AS VARCHAR) FROM "{table}"').fetchall()
        hits = sorted({k for (v,) in values if v for k in _hits(v)})
        if hits:
            leaks[f"{table}.{col}"] = hits
    con.close()
    assert any(c.startswith("facets.") for c in checked) and any(c.startswith("clusters.") for c in checked)
    assert leaks == {}, f"canary kinds leaked into derived columns: {leaks}"


def test_no_canary_in_the_llm_digest(canary_run: dict[str, object], tmp_path: Path) -> None:
    """What an LLM backend receives (the condensed digest of each canary session) holds no canary."""
    from codecensus.classify.condense import condense
    from codecensus.classify.evidence import load_evidence
    from codecensus.store import Store

    db = tmp_path / "copy.duckdb"
    shutil.copyfile(str(canary_run["db"]), db)
    with Store(db) as st:
        keys = [r[0] for r in st.con.execute("SELECT session_key FROM sessions WHERE session_id LIKE '99999999-%'")
                .fetchall()]
        evs = load_evidence(st, keys)
    assert len(evs) == 24
    from codecensus.classify.llm import make_backend
    from codecensus.redact.engines import ner_model_path

    if ner_model_path() is None:
        pytest.skip("the NER model (codecensus[llm]) is not installed: an LLM backend would warn and send names")
    llm = make_backend("openai", "m", base_url=closed_url(), cache=False)
    assert llm.uses_ner  # on by default when the model is installed
    digests = [llm.condense(ev) for ev in evs]
    plain = {k for ev in evs for k in _hits(condense(ev))}
    assert "colleague_rare" in plain  # without NER that name does reach the digest: the test can fail
    assert all("[AWS_KEY]" in d and "[EMAIL]" in d for d in digests)  # the canaries were there to be redacted
    # the project's codename is what the work is about: the LLM reads it (no rule can tell it from a word);
    # the released outputs above are what must not carry it
    leaks = sorted({k for d in digests for k in _hits(d)} - {"codename"})
    assert leaks == [], f"canary kinds leaked into the LLM digest: {leaks}"


def test_raw_tables_did_hold_the_canaries(canary_run: dict[str, object]) -> None:
    """The test can fail: the canaries really went in (so their absence elsewhere means something)."""
    con = duckdb.connect(str(canary_run["db"]), read_only=True)
    text = " ".join(str(v) for (v,) in con.execute("SELECT text FROM prompts").fetchall())
    con.close()
    assert {"email", "aws_key", "person", "codename", "phone", "address"} <= _hits(text)


def test_canary_sessions_were_classified(canary_run: dict[str, object]) -> None:
    con = duckdb.connect(str(canary_run["db"]), read_only=True)
    n = con.execute("SELECT count(*) FROM facets WHERE session_key LIKE '99999999-%' AND summary IS NOT NULL").fetchall()
    con.close()
    assert n[0][0] == 24
