"""``--engine ray`` on a real local Ray cluster: the same rows as the single-machine path.

The fixture starts a head node on 127.0.0.1 (``ray start --head --block``) with
free ports and its own temp dir, connects by address, and on teardown ends the
processes it started (and only those: ``ray stop`` would also stop any other
Ray cluster on a shared machine).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")
pytest.importorskip("fsspec")

import psutil  # noqa: E402

from codecensus.engine.ray_engine import ray_ingest  # noqa: E402
from codecensus.ingest import ingest  # noqa: E402
from codecensus.measure import build_sessions  # noqa: E402
from codecensus.store import Store  # noqa: E402
from test_engine import assert_same  # noqa: E402

pytestmark = pytest.mark.slow


def _free_ports(n: int) -> list[int]:
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def _ray_cli() -> str:
    cand = Path(sys.executable).parent / "ray"
    return str(cand) if cand.exists() else (shutil.which("ray") or "ray")


def _stop(proc: subprocess.Popen[bytes], temp_dir: str) -> None:
    """End the head node's whole process tree (SIGTERM, then SIGKILL for stragglers)."""
    try:
        procs = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        procs = []
    # Ray also starts processes that re-parent to init; they are found by their session dir.
    for p in psutil.process_iter(["cmdline"]):
        try:
            if p not in procs and any(temp_dir in a for a in (p.info["cmdline"] or [])):
                procs.append(p)
        except psutil.Error:
            continue
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.send_signal(signal.SIGTERM)
    _gone, alive = psutil.wait_procs(procs, timeout=5)
    for p in alive:
        with contextlib.suppress(psutil.Error):
            p.kill()
    psutil.wait_procs(alive, timeout=5)


def _refresh_ray_config() -> None:
    from ray._raylet import Config

    Config.initialize("")


@pytest.fixture(scope="module")
def ray_address() -> Iterator[str]:
    # Loopback only: Ray otherwise swaps 127.0.0.1 for the machine's outward IP when connecting.
    from ray._private import ray_constants
    from ray._private.authentication.authentication_token_generator import generate_new_authentication_token

    saved = (ray_constants.ENABLE_RAY_CLUSTER, os.environ.get("RAY_AUTH_MODE"), os.environ.get("RAY_AUTH_TOKEN_PATH"))
    ray_constants.ENABLE_RAY_CLUSTER = False
    temp_dir = tempfile.mkdtemp(prefix="ccray", dir="/tmp")  # short: Ray's Unix sockets live under it
    # The head node enables token auth: it and this driver read the token from a file of this test's own (a new
    # machine has no ~/.ray/auth_token, and the test must not write one). Ray caches its config at import, so
    # refresh it after setting the mode.
    token_file = Path(temp_dir) / "auth_token"
    token_file.write_text(generate_new_authentication_token())
    token_file.chmod(0o600)
    os.environ["RAY_AUTH_TOKEN_PATH"] = str(token_file)
    os.environ["RAY_AUTH_MODE"] = "token"
    _refresh_ray_config()
    port, agent, agent_grpc, rt_env, metrics, om, nm = _free_ports(7)
    cmd = [
        _ray_cli(), "start", "--head", "--block",
        f"--port={port}", "--node-ip-address=127.0.0.1", "--include-dashboard=false", "--num-cpus=2",
        f"--dashboard-agent-listen-port={agent}",
        f"--dashboard-agent-grpc-port={agent_grpc}", f"--runtime-env-agent-port={rt_env}",
        f"--metrics-export-port={metrics}", f"--object-manager-port={om}", f"--node-manager-port={nm}",
        f"--temp-dir={temp_dir}", "--disable-usage-stats",
    ]
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
    log = open(Path(temp_dir) / "head.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"ray start exited {proc.returncode}: {(Path(temp_dir) / 'head.log').read_text()[-2000:]}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("Ray head did not come up in 60 s")
            time.sleep(0.5)
        yield address
    finally:
        if ray.is_initialized():
            ray.shutdown()
        _stop(proc, temp_dir)
        log.close()
        shutil.rmtree(temp_dir, ignore_errors=True)
        ray_constants.ENABLE_RAY_CLUSTER = saved[0]
        for name, value in (("RAY_AUTH_MODE", saved[1]), ("RAY_AUTH_TOKEN_PATH", saved[2])):
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        _refresh_ray_config()


@pytest.fixture(scope="module")
def sample_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ray-corpus")
    try:
        from codecensus.sample import generate_corpus
    except ImportError:  # the generator is optional for this test: fall back to the hand-built corpus
        from test_engine import make_corpus

        make_corpus(root)
        return root
    generate_corpus(root / "corpus", users=6, sessions=24, months=2, seed=11)
    return root / "corpus"


@pytest.fixture(scope="module")
def local_db(tmp_path_factory: pytest.TempPathFactory, sample_corpus: Path) -> Iterator[Store]:
    s = Store(tmp_path_factory.mktemp("local") / "local.duckdb")
    ingest(s, [sample_corpus], user_from_dir=True, workers=2, settle_s=0)
    build_sessions(s)
    yield s
    s.close()


def test_ray_ingest_identical_to_local(ray_address: str, sample_corpus: Path, local_db: Store, tmp_path: Path) -> None:
    store = Store(tmp_path / "ray.duckdb")
    store.set_meta("salt", local_db.salt)  # user/project hashes use the database's salt
    out = tmp_path / "parts"
    stats = ray_ingest(store, [sample_corpus], address=ray_address, out=out, user_from_dir=True,
                       files_per_task=4, settle_s=0)
    assert stats.files_failed == 0, stats.errors
    assert stats.files_parsed == local_db.one("SELECT count(*) FROM files")[0] > 0
    n = build_sessions(store)
    assert n == local_db.one("SELECT count(*) FROM sessions")[0] > 0
    # the results were Parquet partitions, one folder per table, kept under --out
    (run,) = list(out.iterdir())
    assert {p.name for p in run.iterdir()} >= {"files", "prompts", "messages", "actions", "results", "session_files"}
    assert_same(local_db, store)
    # a second run over the unchanged corpus parses nothing and changes nothing
    again = ray_ingest(store, [sample_corpus], address=ray_address, out=out, user_from_dir=True, settle_s=0)
    assert (again.files_parsed, again.files_skipped) == (0, stats.files_parsed)
    store.close()


def test_ray_ingest_reads_again_a_same_size_rewrite_with_its_mtime_put_back(ray_address: str, tmp_path: Path) -> None:
    """The Ray planner skipped a file of the same size and mtime without the local ingest's tail check: one
    rewritten in place with its mtime put back (os.utime) kept its old rows. Now it is read again."""
    from ccbuild import standard_session

    sid = "55555555-5555-4555-8555-555555555555"
    path = standard_session(sid).write(tmp_path / "corpus" / f"{sid}.jsonl")
    store = Store(tmp_path / "ray.duckdb")
    first = ray_ingest(store, [tmp_path / "corpus"], address=ray_address, out=tmp_path / "parts", settle_s=0)
    assert (first.files_parsed, first.files_failed) == (1, 0)
    st = path.stat()
    data = path.read_bytes()
    path.write_bytes(data.replace(b"and push it", b"and undo it"))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    again = ray_ingest(store, [tmp_path / "corpus"], address=ray_address, out=tmp_path / "parts", settle_s=0)
    assert (again.files_parsed, again.files_skipped) == (1, 0)
    texts = {r[0] for r in store.con.execute("SELECT text FROM prompts").fetchall()}
    assert "and undo it" in texts and "and push it" not in texts
    store.close()


def test_ray_ingest_hashes_ids_a_user_chose_with_the_stores_salt(ray_address: str, tmp_path: Path) -> None:
    """Ids a user may fill (an ``instance_id``, a renamed Cline folder) are hashed in the Ray tasks with the salt of
    the store they load into (ray_ingest passes it): every row as a local ingest with that salt gives, and a
    second run changes nothing."""
    from test_ingest_odd_inputs import _team_with_chosen_ids

    corpus = tmp_path / "corpus"
    _team_with_chosen_ids(corpus, "acme-secret-merger", "0b6f3c1e-9a7d-4c2b-8e5f-1a2b3c4d5e6f")
    local = Store(tmp_path / "local.duckdb")
    ingest(local, [corpus], settle_s=0)
    build_sessions(local)
    store = Store(tmp_path / "ray.duckdb")
    store.set_meta("salt", local.salt)
    stats = ray_ingest(store, [corpus], address=ray_address, out=tmp_path / "parts", settle_s=0)
    assert (stats.files_parsed, stats.files_failed) == (4, 0), stats.errors
    build_sessions(store)
    assert_same(local, store)
    again = ray_ingest(store, [corpus], address=ray_address, out=tmp_path / "parts", settle_s=0)
    assert (again.files_parsed, again.files_skipped) == (0, 4)
    store.close()
    local.close()


def test_ray_classify_identical_to_local(ray_address: str, local_db: Store, tmp_path: Path) -> None:
    from codecensus.classify.run import classify_store, make_backend
    from codecensus.engine.ray_engine import ray_classify

    local_db.con.execute("CHECKPOINT")
    copy = tmp_path / "ray.duckdb"
    shutil.copy(local_db.path, copy)
    store = Store(copy)
    local = classify_store(local_db, make_backend("offline", embedder="use", store=local_db), batch_size=7)
    stats = ray_classify(store, "offline", embedder="use", address=ray_address, batch_size=5, concurrency=2,
                         out=tmp_path / "parts")
    assert stats.classified == local.classified == stats.selected > 0
    assert stats.stopped is None
    cols = "* EXCLUDE (classified_at)"
    a = local_db.query(f"SELECT {cols} FROM facets ORDER BY session_key")
    b = store.query(f"SELECT {cols} FROM facets ORDER BY session_key")
    assert a.num_rows == b.num_rows == local.classified
    diff = {c: [(x, y) for x, y in zip(a[c].to_pylist(), b[c].to_pylist(), strict=True) if x != y][:3]
            for c in a.column_names if not a[c].equals(b[c])}
    assert not diff, diff
    (run,) = list((tmp_path / "parts").iterdir())
    assert len(list((run / "facets").glob("*.parquet"))) == len(list((run / "evidence").glob("*.parquet"))) > 1
    # already classified with the same backend, model and rubric: nothing is selected again
    again = ray_classify(store, "offline", embedder="use", address=ray_address, out=tmp_path / "parts")
    assert (again.selected, again.skipped_already_classified) == (0, stats.classified)
    store.close()


def test_a_ray_llm_run_reports_what_its_actors_spent_as_a_local_run(ray_address: str, local_db: Store,
                                                                     tmp_path: Path) -> None:
    """On Ray each actor kept its own account and nothing added them up: the summary said no cost and the manifest
    recorded the driver's unused backend (0 calls, $0.0000). Now both give what the actors spent, the figures of a
    local run of the same sessions with the same answers; the manifest's budget is the whole --budget-usd."""
    import json

    from typer.testing import CliRunner

    from codecensus.cli import app
    from local_server import ChatServer

    pytest.importorskip("openai")
    chat = ChatServer()
    chat.release.set()  # answer at once
    local_db.con.execute("CHECKPOINT")
    dbs = {name: tmp_path / f"{name}.duckdb" for name in ("local", "ray")}
    for db in dbs.values():
        shutil.copy(local_db.path, db)
    common = ["classify", "--backend", "openai", "--base-url", chat.url, "--model", "m", "--no-ner",
              "--price-in", "1.5", "--price-out", "6", "--budget-usd", "5", "--limit", "10", "--batch-size", "3"]
    said, acc = {}, {}
    try:
        for name, extra in (("local", []), ("ray", ["--engine", "ray", "--address", ray_address, "--concurrency", "2"])):
            before = chat.requests
            r = CliRunner().invoke(app, [*common, "--db", str(dbs[name]), *extra])
            assert r.exit_code == 0, r.output
            said[name] = " ".join(r.output.replace("\u2502", " ").split())
            with Store(dbs[name], read_only=True) as st:
                row = st.one("SELECT * FROM runs WHERE command = 'classify' ORDER BY 3 DESC LIMIT 1")
            assert row is not None
            acc[name] = json.loads(row[-1])["backend"]["account"]
            assert acc[name]["calls"] == chat.requests - before > 0, name  # every request the server saw
    finally:
        chat.close()
    local, ray_ = acc["local"], acc["ray"]
    assert ray_["calls"] == local["calls"] >= 5 and ray_["sessions"] == local["sessions"]
    assert ray_["input_tokens"] == local["input_tokens"] == 3120 * local["calls"]
    assert ray_["output_tokens"] == local["output_tokens"] == 208 * local["calls"]
    assert ray_["cost_usd"] == pytest.approx(local["cost_usd"]) and local["cost_usd"] == pytest.approx(
        local["calls"] * (3120 * 1.5 + 208 * 6) / 1e6)
    assert ray_["cost"] == local["cost"] != "$0.0000"
    for k in ("repairs", "retries", "abstentions", "failures", "unpriced_calls", "condensed_tokens_median",
              "condensed_tokens_p90", "budget_usd"):
        assert ray_[k] == local[k], k
    assert ray_["budget_usd"] == 5
    row = f"LLM cost {local['cost']} ({local['calls']} calls; tokens {local['input_tokens']:,} in"
    assert row in said["local"] and row in said["ray"], said["ray"]


def test_a_non_utf8_path_on_the_command_line_ingests_as_locally(tmp_path: Path) -> None:
    """A folder named with a Latin-1 byte ('café' from an old archive) anywhere on the command line stopped
    `ingest --engine ray` in ray.init: "'utf-8' codec can't encode character '\\udce9' … surrogates not allowed"
    (Ray encodes the driver's command line as the job's entrypoint). Now the rows equal a local ingest's.
    The command starts its own local Ray (a driver in another process cannot join the fixture's loopback head)."""
    from test_engine import make_corpus

    corpus = Path(os.fsdecode(str(tmp_path).encode() + b"/caf\xe9 corpus"))
    make_corpus(corpus)
    local = Store(tmp_path / "local.duckdb")
    ingest(local, [corpus], user_from_dir=True, settle_s=0)
    build_sessions(local)
    db = tmp_path / "ray.duckdb"
    with Store(db) as st:
        st.set_meta("salt", local.salt)
    cmd = [sys.executable, "-m", "codecensus", "ingest", "--engine", "ray", "--user-from-dir", "--db", str(db), "--parts", str(tmp_path / "parts"), corpus]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    r = subprocess.run(cmd, capture_output=True, env=env, timeout=300)
    err = r.stderr.decode(errors="replace")
    assert r.returncode == 0, err[-2000:]
    with Store(db) as st:
        assert_same(local, st)
    local.close()


def test_an_address_where_no_cluster_runs_fails_at_once(tmp_path: Path) -> None:
    """`--address 127.0.0.1:<nothing>` retried for minutes (still retrying after 5 minutes, measured); now it stops
    in seconds, names the address and says what to do (ingest and classify)."""
    from test_engine import make_corpus

    make_corpus(tmp_path / "corpus")
    (port,) = _free_ports(1)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    for args in (["ingest", str(tmp_path / "corpus")], ["classify", "--embedder", "none"]):
        if args[0] == "classify":
            s = Store(tmp_path / "db.duckdb")
            ingest(s, [tmp_path / "corpus"], settle_s=0)
            build_sessions(s)
            s.close()
        t0 = time.monotonic()
        r = subprocess.run([sys.executable, "-m", "codecensus", *args, "--engine", "ray", "--address",
                            f"127.0.0.1:{port}", "--db", str(tmp_path / "db.duckdb")],
                           capture_output=True, text=True, env=env, timeout=120)
        said = " ".join(r.stderr.split()) + " ".join(r.stdout.split())
        assert r.returncode == 2, said[-2000:]
        assert f"no Ray cluster answers at --address 127.0.0.1:{port}" in said and "ray start --head" in said
        assert "Traceback" not in said and time.monotonic() - t0 < 60


def test_ctrl_c_of_a_ray_classify_is_said(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Ctrl-C of `classify --engine ray` ended with Ray's actor error line and no word from codecensus."""
    from typer.testing import CliRunner

    import codecensus.engine as engine
    from codecensus.cli import app
    from test_engine import make_corpus

    make_corpus(tmp_path / "corpus")
    s = Store(tmp_path / "db.duckdb")
    ingest(s, [tmp_path / "corpus"], settle_s=0)
    build_sessions(s)
    s.close()

    def interrupted(*a: object, **k: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(engine, "classify_with", interrupted)
    r = CliRunner().invoke(app, ["classify", "--engine", "ray", "--embedder", "none", "--db", str(tmp_path / "db.duckdb")])
    said = " ".join(r.output.split())
    assert r.exit_code == 130 and "classify interrupted" in said and "nothing of this run was stored" in said
