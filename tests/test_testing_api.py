"""adbench.testing: assert_jacobian_close for a user's own tests, and the pytest plugin."""

import sys
from pathlib import Path

import pytest
import tomllib

from adbench import problem
from adbench.testing import assert_jacobian_close, jacobian_errors

pytest_plugins = ["pytester"]

WRONG_PROBLEM = '''
from adbench import problem

@problem(name="wrong-manual", n=3, m=2, x0=[1.0, 2.0, 3.0], description="a bad hand Jacobian")
def wrong_manual(x, xp):
    return [x[0] * x[1], xp.sin(x[2]) + x[0]]

@wrong_manual.manual
def _(x, xp):
    # d/dx2 of the first output should be x[0]; cos(x[2]) is right, the 1.5 is not
    return [[x[1], x[0] + 1e-3, 0.0], [1.5, 0.0, xp.cos(x[2])]]
'''


@pytest.fixture(scope="module")
def wrong_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wrong")
    (folder / "wrong.py").write_text(WRONG_PROBLEM)
    return folder


def test_built_in_problem_passes_at_machine_precision():
    checks = assert_jacobian_close("rosenbrock", "ad-reverse", rtol=1e-12, sizes={"n": [2, 3]})
    assert [c.label for c in checks] == ["rosenbrock[n=2]", "rosenbrock[n=3]"]
    assert all(c.max_error < 1e-15 for c in checks)


def test_wrong_jacobian_fails_with_the_entries_that_are_off(wrong_dir):
    with pytest.raises(AssertionError) as info:
        assert_jacobian_close("wrong-manual", "manual", rtol=1e-12, problems_dirs=[wrong_dir])
    message = str(info.value)
    lines = message.splitlines()
    assert lines[0].startswith("manual Jacobian of wrong-manual is off at 2 of 6 entries")
    assert "rtol=1e-12" in lines[0] and "(worst 0.2)" in lines[0]
    assert lines[1].split() == ["entry", "J", "reference", "error"]
    # worst first: [1, 0] is 1.5 against 1 (rho = 0.5 / 2.5), then [0, 1]
    assert lines[2].split() == ["[1,", "0]", "1.5", "1.0", "0.2"]
    assert lines[3].split()[:4] == ["[0,", "1]", "1.001", "1.0"]
    assert lines[4].strip() == "at x = [1., 2., 3.]"


def test_show_limits_the_listed_entries(wrong_dir):
    with pytest.raises(AssertionError, match=r"\.\.\. and 1 more"):
        assert_jacobian_close("wrong-manual", "manual", problems_dirs=[wrong_dir], show=1)


def test_a_problem_object_and_the_method_tolerance_default():
    @problem(name="cubic", n=2, x0=[0.5, -1.0])
    def cubic(x, xp):
        return x[0] ** 3 * x[1]

    assert_jacobian_close(cubic, "fd-central")      # within fd-central's own 1e-6
    with pytest.raises(AssertionError, match="fd-forward Jacobian of cubic is off"):
        assert_jacobian_close(cubic, "fd-forward", rtol=1e-12)
    (check,) = jacobian_errors(cubic, "symbolic", x=[2.0, 3.0])
    assert check.ok and check.reference.tolist() == [[36.0, 8.0]]


def test_unsupported_method_fails_with_its_reason():
    with pytest.raises(AssertionError, match="symbolic cannot differentiate piecewise: control "
                                             "flow depends on the input"):
        assert_jacobian_close("piecewise", "symbolic")


def test_wrong_point_length_is_an_error():
    with pytest.raises(ValueError, match="x has 3 entries; survey-example takes n = 2"):
        assert_jacobian_close("survey-example", "ad-forward", x=[1.0, 2.0, 3.0])


def test_pyproject_registers_the_pytest_plugin():
    root = Path(__file__).resolve().parents[1]
    meta = tomllib.loads((root / "pyproject.toml").read_text())
    assert meta["project"]["entry-points"]["pytest11"] == {"adbench": "adbench.testing"}


def test_plugin_fixtures_in_a_users_test_suite(pytester, wrong_dir, request):
    import adbench.testing

    pytester.makepyfile(test_user='''
        def test_reverse(assert_jacobian_close):
            assert_jacobian_close("survey-example", "ad-reverse", rtol=1e-12)

        def test_registry(adbench_registry):
            assert "wrong-manual" in adbench_registry.problems

        def test_wrong(assert_jacobian_close):
            assert_jacobian_close("wrong-manual", "manual")
    ''')
    args = ["-p", "no:cacheprovider", "--adbench-problems-dir", str(wrong_dir)]
    if not request.config.pluginmanager.is_registered(adbench.testing):
        args = ["-p", "adbench.testing", *args]  # not installed with its entry point yet
    # the worktree's adbench, not another installed copy
    pytester.syspathinsert(str(Path(adbench.testing.__file__).parents[1]))
    result = pytester.runpytest_inprocess(*args)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*manual Jacobian of wrong-manual is off at 2 of 6 entries*",
                                 "*entry*J*reference*error*"])
    assert sys.modules["adbench.testing"] is adbench.testing
