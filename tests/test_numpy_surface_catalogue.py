"""docs/numpy-surface.md is what `python -m adbench.report.surface` generates now."""

from adbench.interpret.xp import XP_FUNCTIONS
from adbench.report import surface


def test_the_committed_catalogue_is_the_generated_one():
    text = surface.render()
    committed = surface.DOC_PATH.read_text()
    listed = {line.split("`")[1] for line in committed.splitlines() if line.startswith("| `")}
    assert listed == set(XP_FUNCTIONS), (
        f"catalogue and xp differ: only listed {sorted(listed - set(XP_FUNCTIONS))}, "
        f"only in xp {sorted(set(XP_FUNCTIONS) - listed)}; run python -m adbench.report.surface")
    assert committed == text, "docs/numpy-surface.md is stale: run python -m adbench.report.surface"


def test_a_failing_interpretation_is_marked_no_with_its_reason():
    # sympy_xp.max refuses an axis: a probe built on it must say so
    surface.KINDS.insert(0, ("matrix along axis 0", lambda x, xp: (xp.reshape(x[:6], (2, 3)), 0),
                             True))
    try:
        desc, marks, note = surface.probe_row("max")
    finally:
        del surface.KINDS[0]
    assert desc == "matrix along axis 0"
    assert marks["float64"] == "yes" and marks["mpmath"] == "yes" and marks["SymPy"] == "no"
    assert note.startswith("SymPy: NotImplementedError")
