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
