"""The numpy functions HIPS autograd's tests differentiate, against xp.

tests/data/autograd_numpy_functions.txt lists them (read from autograd's
test_numpy.py, test_scalar_ops.py and test_systematic.py; its header says
which commit and what was counted). Each is in xp, excluded with a reason, or
not yet in xp; the last list is asserted to be exactly what xp lacks, so
adding a function to xp fails this test until its name leaves NOT_YET.

The names still missing:
    python -c "from tests.test_autograd_coverage import missing; print(missing())"
"""

from pathlib import Path

import numpy as np

from adbench.interpret.xp import XP_FUNCTIONS

LIST = Path(__file__).parent / "data" / "autograd_numpy_functions.txt"

_COMPLEX = "complex-valued (xp is real: its derivatives are of real functions)"
#: Listed names xp leaves out on purpose, each with its reason.
EXCLUDED = {
    "angle": _COMPLEX, "conj": _COMPLEX, "conjugate": _COMPLEX, "imag": _COMPLEX,
    "real": _COMPLEX, "real_if_close": _COMPLEX,
    "msort": "removed from numpy 2.0 (numpy.sort(a, axis=0) remains)",
}
#: Listed names not yet in xp (work to do): none. A function dropped from xp fails
#: test_every_listed_function_is_in_xp_or_excluded_or_known_missing, naming it.
NOT_YET: set[str] = set()


def listed() -> list[str]:
    lines = LIST.read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]


def missing() -> list[str]:
    """Listed names neither in xp nor excluded."""
    return sorted(set(listed()) - set(XP_FUNCTIONS) - set(EXCLUDED))


def test_the_list_is_sorted_unique_numpy_names():
    names = listed()
    assert names == sorted(set(names)) and len(names) > 100
    for name in names:  # each a numpy function (msort: numpy before 2.0)
        assert name == "msort" or callable(getattr(np, name, None)) or name in ("r_", "c_"), name


def test_every_listed_function_is_in_xp_or_excluded_or_known_missing():
    names = set(listed())
    assert set(EXCLUDED) <= names and NOT_YET <= names
    assert not set(EXCLUDED) & set(XP_FUNCTIONS), "an excluded name is in xp: drop it"
    assert all(reason.strip() for reason in EXCLUDED.values())
    assert set(missing()) == NOT_YET, (
        f"in xp now, remove from NOT_YET: {sorted(NOT_YET - set(missing()))}; "
        f"newly missing: {sorted(set(missing()) - NOT_YET)}")
    counts = {"listed": len(names), "in xp": len(names & set(XP_FUNCTIONS)),
              "excluded": len(EXCLUDED), "missing": len(missing())}
    assert sum(counts.values()) == 2 * counts["listed"]
    print(counts)
