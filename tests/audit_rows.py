"""Hand-built figure rows for the release-audit tests: sessions as index ranges, a row's defaults, and users."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def ix(a: int, b: int) -> np.ndarray:
    """Sessions ``a`` to ``b - 1`` (as the figures' ``_sessions`` columns hold them)."""
    return np.arange(a, b, dtype=np.int32)


def row(**kw: Any) -> dict[str, Any]:
    """A figure row with no interval, and the given columns."""
    return {"ci_low": None, "ci_high": None, "ci_method": None, **kw}


def users_112(rest_users: int, first_users: int = 50) -> np.ndarray:
    """Users of 112 sessions: 0-99 from ``first_users`` users, 100-111 from ``rest_users`` others."""
    return np.concatenate([np.arange(100) % first_users, 100 + np.arange(12) % rest_users]).astype(np.int64)


def work_modes_112() -> Any:
    """Work modes of 112 classified sessions (0-111), all one mode, released: its n is the classified sessions."""
    from codecensus.aggregate.figures import Figure

    f = Figure("work_modes", "x", "", pd.DataFrame([row(mode="build", rollup="build", variable="share_of_sessions",
                                                        value=1.0, n_users=55, n_sessions=112, suppressed=False,
                                                        _sessions=ix(0, 112), _den_sessions=ix(0, 112))]),
               ["mode", "rollup"], "share", n_sessions=112, n_users=55)
    f.sessions = ix(0, 112)
    return f
