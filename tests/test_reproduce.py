"""`adbench reproduce survey`: every claim measured, PASS with its criterion."""

from adbench.reproduce import CLAIMS, Evidence, render, reproduce


def test_every_claim_of_the_survey_passes(tmp_path):
    path, results = reproduce(tmp_path)
    failed = [(c.key, e.body) for c, e in results if not e.passed]
    assert not failed, failed
    assert len(results) == len(CLAIMS)
    text = path.read_text()
    for claim in CLAIMS:
        assert claim.quote[:40] in text
        assert f"(p. {claim.page})" in text
    assert text.count("**PASS**") == len(CLAIMS)


def test_perturbation_confusion_claim_shows_the_untagged_bug(tmp_path):
    _, [(claim, ev)] = reproduce(tmp_path, only=["perturbation-confusion"])
    assert ev.passed
    assert ev.values.pop("untagged dual numbers (for contrast)") == 2.0
    assert ev.values == {"forward in forward": 1.0, "reverse in reverse": 1.0,
                         "forward outside, reverse inside": 1.0,
                         "reverse outside, forward inside": 1.0}


def test_a_failing_claim_renders_as_fail():
    claim = CLAIMS[0]
    text = render([(claim, Evidence(False, "an impossible criterion", "numbers"))])
    assert "**0 of 1 claims pass.**" in text
    assert "**FAIL**. Criterion: an impossible criterion." in text
