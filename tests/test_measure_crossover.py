"""Forward against reverse mode over n x m: the crossover API."""

import math

import pandas as pd
import pytest

from adbench.measure import crossover as C


def _synthetic(forward, reverse, sizes=(1, 2, 4, 8, 16)):
    rows = []
    for n in sizes:
        for m in sizes:
            rows.append({"n": n, "m": m, "method": "ad-forward", "status": "ok",
                         "ops_derivative": forward(n, m)})
            rows.append({"n": n, "m": m, "method": "ad-reverse", "status": "ok",
                         "ops_derivative": reverse(n, m)})
    rows.append({"n": 1, "m": 1, "method": "ad-reverse", "status": "error",
                 "ops_derivative": None})
    return pd.DataFrame(rows)


SURVEY_LIKE = _synthetic(lambda n, m: 3 * n * m + 1, lambda n, m: 3 * m * m + n)


def test_against_gives_one_column_per_method_at_a_fixed_dimension():
    line = C.against(SURVEY_LIKE, "n", fixed=4)
    assert list(line.index) == [1, 2, 4, 8, 16]
    assert list(line.columns) == ["ad-forward", "ad-reverse"]
    assert line.loc[8, "ad-forward"] == 3 * 8 * 4 + 1
    assert C.default_fixed(SURVEY_LIKE, "n") == 4


def test_crossover_finds_the_swap_and_compares_with_n_equals_m():
    c = C.crossover(SURVEY_LIKE, "n", fixed=4)
    # forward 12n + 1 against reverse 48 + n: forward cheaper up to n = 4, reverse from 8
    assert (c.cheaper_below, c.cheaper_above) == ("ad-forward", "ad-reverse")
    assert (c.low, c.high) == (4, 8) and c.expected == 4
    # log-log: forward 49 -> 97, reverse 52 -> 56 between n = 4 and 8
    ratio = (49 / 52) / (97 / 56)
    assert c.at == pytest.approx(4 * 2 ** (math.log(49 / 52) / math.log(ratio)))
    assert c.as_predicted is True
    along_m = C.crossover(SURVEY_LIKE, "m", fixed=4)
    assert (along_m.cheaper_below, along_m.cheaper_above) == ("ad-reverse", "ad-forward")


def test_no_swap_means_no_crossover():
    always_forward = _synthetic(lambda n, m: 1, lambda n, m: 2)
    c = C.crossover(always_forward, "n", fixed=2)
    assert c.at is None and c.low is None and c.cheaper_below == c.cheaper_above == "ad-forward"
    assert c.as_predicted is None


def test_missing_metric_or_rows_are_clear_errors():
    with pytest.raises(ValueError, match="no column 'time_derivative_s'"):
        C.cost_table(SURVEY_LIKE, "time_derivative_s")
    with pytest.raises(ValueError, match="no rows with m = 3"):
        C.against(SURVEY_LIKE, "n", fixed=3)


def test_measured_ops_on_a_tanh_layer_cross_where_the_survey_says():
    from adbench.measure import harness
    from adbench.measure.metrics import timing

    saved = timing.settings()["budget_s"]
    timing.configure(budget_s=0)
    try:
        df = harness.run(problems=["tanh-layer"], sizes={"n": [1, 2, 4, 8], "m": [1, 2, 4, 8]},
                         methods=["ad-forward", "ad-reverse", "fd-central"], isolate=False)
    finally:
        timing.configure(budget_s=saved)
    assert C.agreement(df) == 1.0  # every cell with n != m
    grid = C.winner_grid(df)
    assert grid.loc[8, 1] == "ad-reverse" and grid.loc[1, 8] == "ad-forward"
    table = C.crossovers(df)
    interior = table[table.fixed.isin(["m=2", "m=4", "n=2", "n=4"])]
    assert interior.as_predicted.all()
    line = C.against(df, "n", fixed=1)
    assert list(line.columns) == ["ad-forward", "ad-reverse", "fd-central"]
    assert line["ad-reverse"].iloc[-1] < line["ad-forward"].iloc[-1] < line["fd-central"].iloc[-1]
