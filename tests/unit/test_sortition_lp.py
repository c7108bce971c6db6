"""The warm-started master LP: scipy's sign conventions, the same optimum, and no output."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy.optimize import linprog

from isegoria.algorithms.sortition_lp import MasterLP, MasterRows

PROFILES = 6


def _instance(seed: int) -> tuple[MasterRows, np.ndarray, list[np.ndarray]]:
    """Maximin rows (every profile's share >= z) over random compositions of four seats."""
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.5, 2.0, PROFILES)
    columns = [rng.multinomial(4, np.full(PROFILES, 1 / PROFILES)) for _ in range(12)]
    columns += [np.eye(PROFILES, dtype=np.int64)[p] * 4 for p in range(PROFILES)]
    rows = MasterRows.of([(p, -1.0, 1.0, 0.0) for p in range(PROFILES)])
    return rows, scale, [np.asarray(c, dtype=np.int64) for c in columns]


def _check_duals(rows: MasterRows, scale: np.ndarray, columns: list[np.ndarray]) -> None:
    lp = MasterLP(rows, -1.0, scale)
    lp.add(columns)
    x, pi, marginals, eq = lp.solve()
    # scipy's convention: the objective's derivative in each right-hand side, <= 0 here.
    assert np.all(marginals <= 1e-12)
    assert x * -1.0 == pytest.approx(float(rows.b @ marginals) + eq, abs=1e-9)  # strong duality
    shares = np.column_stack(columns) * scale[:, None]
    reduced = -(rows.sigma[:, None] * shares[rows.profile]).T @ marginals - eq
    assert reduced.min() >= -1e-9  # no column improves: the optimum is proven
    assert pi.sum() == pytest.approx(1.0) and pi.min() >= -1e-12


@pytest.mark.parametrize("seed", range(5))
def test_the_master_matches_scipys_optimum_and_duals(seed: int) -> None:
    rows, scale, columns = _instance(seed)
    _check_duals(rows, scale, columns)
    lp = MasterLP(rows, -1.0, scale)
    lp.add(columns)
    x, _, _, _ = lp.solve()
    shares = np.column_stack(columns) * scale[:, None]
    m = len(columns)
    reference = linprog(
        np.concatenate([np.zeros(m), [-1.0]]),
        A_ub=np.hstack([-shares, np.ones((PROFILES, 1))]),
        b_ub=np.zeros(PROFILES),
        A_eq=np.concatenate([np.ones(m), [0.0]])[None, :],
        b_eq=[1.0],
        bounds=[(0, None)] * m + [(None, None)],
        method="highs-ds",
    )
    assert x == pytest.approx(reference.x[-1], abs=1e-9)


def test_columns_added_later_give_the_optimum_of_all_columns_at_once() -> None:
    rows, scale, columns = _instance(7)
    warm = MasterLP(rows, -1.0, scale)
    warm.add(columns[:8])
    first, _, _, _ = warm.solve()
    warm.add(columns[8:])
    assert warm.columns == len(columns)
    later, _, _, _ = warm.solve()
    cold = MasterLP(rows, -1.0, scale)
    cold.add(columns)
    assert later == pytest.approx(cold.solve()[0], abs=1e-10)
    assert later >= first - 1e-12  # more columns can only help the maximin


def test_preparing_a_lottery_prints_nothing() -> None:
    # HiGHS prints its banner once per process, so only a fresh process shows it.
    code = (
        "from isegoria.algorithms import sortition as s\n"
        "pool = s.JuryPool(['r'], {('a',): ['1', '2', '3'], ('b',): ['4', '5']})\n"
        "quotas = s.quotas_from_shares({'r': {'a': 0.5, 'b': 0.5}}, 2)\n"
        "s.prepare_portfolio(pool, 2, quotas)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout == ""
    assert "HiGHS" not in result.stderr


def test_retargeted_rows_give_the_optimum_of_a_fresh_master() -> None:
    rows, scale, columns = _instance(3)
    lp = MasterLP(rows, -1.0, scale)
    lp.add(columns)
    level, _, _, _ = lp.solve()
    # Leximin's next level: profile 0 fixed at the level, the others raised above it.
    fixed = MasterRows.of(
        [(0, -1.0, 0.0, 1e-9 - level)] + [(p, -1.0, 1.0, 0.0) for p in range(1, PROFILES)]
    )
    assert lp.retarget(fixed)
    fresh = MasterLP(fixed, -1.0, scale)
    fresh.add(columns)
    assert lp.solve()[0] == pytest.approx(fresh.solve()[0], abs=1e-10)
    other = MasterRows.of([(p, 1.0, -1.0, 0.0) for p in range(PROFILES)])
    assert not lp.retarget(other)  # different signs: a new master is needed
    assert lp.rows is fixed
