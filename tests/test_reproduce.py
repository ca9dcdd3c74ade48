"""`adbench reproduce survey`: every claim measured, PASS with its criterion."""

import pytest

from adbench.studies.reproduce import CLAIMS, Evidence, render, reproduce

#: Claims whose verdict rests on timings: their plumbing is tested at small sizes in
#: test_reproduce_claims.py, never their verdict.
TIMED = ("overhead", "checkpoint-time")
UNTIMED = [c.key for c in CLAIMS if c.key not in TIMED]
#: The three slowest of the others (SymPy's derivatives of the logistic map to depth 7,
#: the four ways on one DAG, the control-flow programs: about 25 of their 32 s on a
#: loaded 2-core machine) are run by the tests marked ``study``
#: (``pytest -m study tests/test_reproduce.py``); the default run has the rest.
SLOW = ("table-1", "control-flow", "dag-equivalence")
#: The plot each claim writes beside REPORT.md.
PLOTS = {"table-1": "swell-logistic-map.png", "figure-3": "fd-sweep-logistic-map.png",
         "crossover": "crossover-tanh-layer.png",
         "dag-equivalence": "dag-equivalence-logistic-map.png"}


def _reproduce(tmp_path_factory, keys):
    out = tmp_path_factory.mktemp("survey")
    path, results = reproduce(out, only=keys)
    return out, path, {claim.key: ev for claim, ev in results}


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    """The untimed claims but the slow ones."""
    return _reproduce(tmp_path_factory, [k for k in UNTIMED if k not in SLOW])


@pytest.fixture(scope="module")
def slow_survey(tmp_path_factory):
    """The slow untimed claims."""
    return _reproduce(tmp_path_factory, [k for k in UNTIMED if k in SLOW])


@pytest.mark.parametrize("which", ["survey", pytest.param("slow_survey", marks=pytest.mark.study)])
def test_every_claim_of_the_survey_passes(which, request):
    out, path, evidence = request.getfixturevalue(which)
    keys = [k for k in UNTIMED if (k in SLOW) == (which == "slow_survey")]
    failed = {key: ev.body for key, ev in evidence.items() if ev.failed}
    assert not failed, failed
    for key, ev in evidence.items():  # only a missing peer library skips a claim
        if ev.skipped:
            library = ev.skipped.split("[")[1].split("]")[0]
            with pytest.raises(ImportError):
                __import__(library)
    assert list(evidence) == keys
    text = path.read_text()
    for claim in CLAIMS:
        if claim.key in keys:
            assert claim.quote[:40] in text
            assert f"(p. {claim.page})" in text
    skipped = sum(bool(ev.skipped) for ev in evidence.values())
    assert text.count("**PASS**") == len(keys) - skipped
    pngs = [png for key, png in PLOTS.items() if key in keys and not evidence[key].skipped]
    assert pngs
    for png in pngs:
        assert (out / png).stat().st_size > 10_000
        assert f"({png})" in text


def test_perturbation_confusion_claim_shows_the_untagged_bug(survey):
    values = dict(survey[2]["perturbation-confusion"].values)
    assert values.pop("untagged dual numbers (for contrast)") == 2.0
    assert values == {"forward in forward": 1.0, "reverse in reverse": 1.0,
                      "forward outside, reverse inside": 1.0,
                      "reverse outside, forward inside": 1.0}


@pytest.mark.study
def test_table_1_counts(slow_survey):
    table1 = slow_survey[2]["table-1"]
    # SymPy 1.14, count_ops of the unsimplified derivative (survey-facts, Table 1)
    assert {d: table1.values["count_ops"][d] for d in (4, 6, 7)} == {4: 82, 6: 768, 7: 2096}
    assert [table1.values["cse"][d] for d in range(2, 8)] == [2, 12, 27, 45, 67, 93]


def test_figure_3_slopes(survey):
    figure3 = survey[2]["figure-3"]
    assert abs(figure3.values["slope_forward"] - 1) < 0.1
    assert abs(figure3.values["slope_central"] - 2) < 0.1


def test_reverse_gradient_cost_and_crossover(survey):
    cheap, cross = survey[2]["cheap-gradient"], survey[2]["crossover"]
    assert cheap.values["worst_reverse"] < 6 and cheap.values["worst_jvp"] < 6
    assert 2 <= cheap.values["median_reverse"] <= 3
    assert cross.values["agreement"] == 1.0


def test_reverse_mode_memory_grows_with_the_tape_and_forward_mode_does_not(survey):
    values = survey[2]["memory"].values
    for problem, slope in values["slopes"].items():
        assert 0.9 <= slope <= 1.15, (problem, slope)  # measured 1.04 and 1.01
    for problem, growth in values["forward_growth"].items():
        assert growth <= 1.5, (problem, growth)
    trade = values["checkpointing"]
    assert trade["memory saved"] >= 0.8  # measured 0.94
    assert trade["extra ops / segment ops"] == 1.0  # the segments run once more, no more


def test_a_failing_claim_renders_as_fail():
    claim = CLAIMS[0]
    text = render([(claim, Evidence(False, "an impossible criterion", "numbers"))])
    assert "**0 of 1 claims pass.**" in text
    assert "**FAIL**. Criterion: an impossible criterion." in text


def test_tables_2_and_3_match_the_survey(survey):
    assert survey[2]["table-2"].passed and survey[2]["table-3"].passed
    assert "| vbar_0 (first contribution)  |   -0.284 |    -0.284 | True    |" in \
        survey[2]["table-3"].body


@pytest.mark.study
def test_control_flow_symbolic_is_right_only_on_its_path(slow_survey):
    values = slow_survey[2]["control-flow"].values
    assert values["refused"] == ["piecewise", "babylonian-sqrt", "fixed-point"]
    assert values["ad_worst"] <= 4 * 2.0 ** -52
    for problem, (at_a, at_b) in values["path_errors"].items():
        assert at_a <= 4 * 2.0 ** -52 and at_b > 1e6 * 2.0 ** -52, problem


def test_define_by_run_recompiles_exactly_when_the_path_changes(survey):
    values = survey[2]["define-by-run"].values
    assert values["recorded"] == values["expected"] == [1, 0, 1, 0, 1, 1, 1, 1, 1]
    assert len(set(values["tape_lengths"])) > 1
    assert values["stats"]["compiled"] == 2


def test_training_claims(survey):
    fd = survey[2]["fd-training"].values
    assert fd["fd_evaluations"] == [fd["n"] + 1] and fd["ad_passes"] == [1]
    assert fd["gap"] <= 0.02
    assert survey[2]["backpropagation"].values["error"] <= 4 * 2.0 ** -52
    low = survey[2]["lower-precision"].values
    assert low["ad_error"] <= 1e-5 and 10 * low["ad_error"] <= low["best_central"]
    assert low["train_gap"] <= 0.01


def test_implicit_claim(survey):
    implicit = survey[2]["implicit"].values
    assert implicit["worst"] <= 1e-12
    assert len(set(implicit["implicit_tape"])) == 2  # one length per fixed point
    assert survey[2]["numerical-trouble"].values["cases"] == 4


@pytest.mark.study
def test_dag_equivalence_claim(slow_survey):
    pytest.importorskip("casadi")
    dag = slow_survey[2]["dag-equivalence"].values
    assert all(0.5 <= r <= 2 for r in dag["dag_over_tape"])
    assert dag["cse"][1:7] == [2, 12, 27, 45, 67, 93]  # as the Table 1 claim counts them
