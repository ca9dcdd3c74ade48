"""The measurement columns in results rows, timing protocol, the time limit."""

import time

import numpy as np
import pandas as pd
import pytest

from adbench.measure import harness
from adbench.measure.metrics import timing
from adbench.measure.metrics.timing import time_callable
from adbench.methods import DEFAULT_METHODS


@pytest.fixture(scope="module")
def survey_rows():
    saved = timing.settings()["budget_s"]
    timing.configure(budget_s=0.02)
    try:
        df = harness.run(problems=["survey-example"], isolate=False)
    finally:
        timing.configure(budget_s=saved)
    return df.set_index("method")


def test_every_method_gets_ops_times_and_passes(survey_rows):
    df = survey_rows
    assert list(df.index) == DEFAULT_METHODS
    assert (df["status"] == "ok").all()
    assert (df["ops_f"] == 5).all() and (df["ops_f_transcendental"] == 2).all()
    np.testing.assert_allclose(df["ops_ratio"], df["ops_derivative"] / df["ops_f"])
    assert df.loc["ad-reverse", "ops_derivative"] == 17  # the hand count of test_measure_counting
    passes = df["passes"].to_dict()
    assert passes["fd-forward"] == 3 and passes["fd-central"] == 4 and passes["fd-complex"] == 2
    assert passes["ad-forward"] == 2 and passes["ad-reverse"] == 1
    assert passes["fd-richardson"] == 2 * 9 * 2 + 1
    assert pd.isna(passes["manual"]) and pd.isna(passes["symbolic"])
    for col in ("time_f_s", "time_derivative_s", "time_f_median_s", "time_derivative_median_s"):
        assert (df[col] > 0).all(), col
    assert (df["time_f_s"] <= df["time_f_median_s"]).all()
    np.testing.assert_allclose(df["time_ratio"], df["time_derivative_s"] / df["time_f_s"])
    assert (df["time_spread"] >= 0).all()
    # peak memory, for every method: the Jacobian allocates at least what f does
    assert (df["mem_f_bytes"] > 0).all() and (df["mem_derivative_bytes"] > 0).all()
    np.testing.assert_allclose(df["mem_ratio"], df["mem_derivative_bytes"] / df["mem_f_bytes"])


def test_method_specific_columns_are_filled_only_where_they_mean_something(survey_rows):
    df = survey_rows
    # x[0] and x[1] are read once each (a read is recorded once per element), then
    # log, mul, add, sin, sub
    assert df.loc["ad-reverse", "tape_length"] == 7
    assert df.loc["ad-reverse", "tape_bytes"] > 0
    assert df["tape_length"].notna().sum() == 1
    assert df.loc["symbolic", "compiled_bytes"] > 0 and df["compiled_bytes"].notna().sum() == 1
    assert df.loc["symbolic", "expr_ops"] == 4 and df["expr_ops"].notna().sum() == 1
    assert 0 < df.loc["fd-richardson", "error_estimate"] < 1e-10
    assert df["error_estimate"].notna().sum() == 1


def test_budget_zero_skips_timing():
    saved = timing.settings()["budget_s"]
    timing.configure(budget_s=0)
    try:
        df = harness.run(problems=["survey-example"], methods=["ad-reverse"], isolate=False)
    finally:
        timing.configure(budget_s=saved)
    assert df["time_derivative_s"].isna().all() and df["ops_ratio"].notna().all()


def test_a_callable_slower_than_its_budget_gets_one_sample():
    t = time_callable(lambda: time.sleep(0.03), budget_s=0.04)
    assert len(t.samples) == 1 and t.repeats == 1 and t.spread == 0.0
    fast = time_callable(lambda: None, budget_s=0.05, max_samples=4)
    assert 1 <= len(fast.samples) <= 4 and fast.repeats > 1
    assert fast.min <= fast.median


SLOW_PROBLEM = """
import time
from adbench import problem

@problem(name="slows-down", sizes={"k": [1, 2, 3]}, n=1, m=1, x0=[0.5])
def slows_down(x, xp, k):
    if k >= 2 and xp.name != "mpmath":  # the reference stays quick
        time.sleep(30)
    return xp.exp(x[0]) * k
"""


def test_timeout_kills_a_measurement_and_skips_larger_sizes(tmp_path):
    (tmp_path / "slow.py").write_text(SLOW_PROBLEM)
    df = harness.run(problems=["slows-down"], methods=["ad-reverse"], timeout=2,
                     problems_dirs=[tmp_path])
    status = df.set_index("sizes")["status"].to_dict()
    assert status == {"k=1": "ok", "k=2": "timeout", "k=3": "timeout"}
    rows = df.set_index("sizes")
    assert "skipped: the smaller size k=2 timed out" in rows.loc["k=3", "message"]
    assert rows.loc["k=1", "ops_ratio"] > 0 and rows.loc["k=1", "time_derivative_s"] > 0
