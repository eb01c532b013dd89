from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1] / "scripts"))  # scripts/fuzz_parsers.py's mutations

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path | None:
    env = os.environ.get("CODECENSUS_SHARED")
    cand = Path(env) if env else REPO.parent / "shared"
    return cand if (cand / "data").is_dir() else None


@pytest.fixture
def shared() -> Path:
    d = shared_dir()
    if d is None:
        pytest.skip("../shared data not present")
    return d


@pytest.fixture(autouse=True)
def _no_racy_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests write a file and ingest it within milliseconds, then expect a re-ingest to skip it: on this machine's
    ns timestamps no write of the same tick can hide. ``paths.RACY_NS`` (2 s) would read such files again; the
    tests of that window (tests/test_ingest_racy.py, tests/test_quickcheck.py) set it back."""
    from codecensus import paths

    monkeypatch.setattr(paths, "RACY_NS", 0, raising=False)


@pytest.fixture
def store(tmp_path: Path):
    from codecensus.store import Store

    s = Store(tmp_path / "t.duckdb")
    yield s
    s.close()


# Offline classifiers shared by the offline-backend test files: built once per module that asks.
@pytest.fixture(scope="module")
def structural():
    from codecensus.classify.offline import OfflineBackend

    return OfflineBackend(embedder=None)


@pytest.fixture(scope="module")
def embedded():
    from codecensus.classify.offline import OfflineBackend

    return OfflineBackend(embedder="use")
