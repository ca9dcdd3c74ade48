"""The README's Python API examples run, and the values their comments show are true.

The ```python blocks of the section "Python API" (up to "Testing your derivatives") are
run in order in one namespace, as a reader would type them into one session. A statement
whose comment begins with a value (``grad(f)(x)   # array([5.5, 1.71633781])``, ``# 1.0``,
``# {'calls': 2, ...}``) is checked against it: an expression's value equals the value
shown (to the digits shown, for floats), and a comment that is itself a true-or-false
expression about the names (``# H["W"]["b"].shape == (3, 2) + (2,)``) holds. The block
that compiles to C runs only where a C compiler works.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest

from adbench.ad import native

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
SECTION = README[README.index("\n## Python API\n"):README.index("\n### Testing your derivatives")]
BLOCKS = re.findall(r"```python\n(.*?)```", SECTION, re.S)

#: The start of a comment that shows a value: an array, a dict, a list or a number.
SHOWN = re.compile(r"^(array\(\[[^\]]*\]\)|\{[^}]*\}|\[[^\]]*\]|-?\d+(?:\.\d+)?(?:e-?\d+)?)")
#: What a shown value may name, besides the session's own names.
VALUES = {"array": np.array, "dtype": np.dtype}


def _comments(source: str) -> dict[int, str]:
    """{line number: the text of its comment}."""
    out = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            out[tok.start[0]] = tok.string[1:].strip()
    return out


def _equal(value, shown) -> bool:
    """``value`` is ``shown``, floats to the digits the README prints (8 significant)."""
    if isinstance(shown, dict):
        return (isinstance(value, dict) and value.keys() == shown.keys()
                and all(_equal(value[k], shown[k]) for k in shown))
    if isinstance(shown, (list, np.ndarray, float, int)):
        value = np.asarray(value)
        shown = np.asarray(shown)
        return value.shape == shown.shape and bool(np.allclose(value, shown, rtol=1e-8, atol=0))
    return value == shown


def _compiles_c() -> bool:
    try:
        native.compiler()
    except native.NotNative:
        return False
    return True


def _run(blocks: list[str]) -> list[str]:
    """Run the blocks in one namespace; the claims checked, as ``line  # comment``."""
    namespace: dict = {}
    checked = []
    for block in blocks:
        if 'backend="c"' in block and not _compiles_c():
            continue
        comments = _comments(block)
        lines = block.splitlines()
        for statement in ast.parse(block).body:
            code = ast.get_source_segment(block, statement)
            with redirect_stdout(io.StringIO()):
                if isinstance(statement, ast.Expr):
                    value = eval(compile(code, "<README>", "eval"), namespace)
                else:
                    exec(compile(code, "<README>", "exec"), namespace)
                    value = None
            comment = comments.get(statement.end_lineno)
            if comment is None:
                continue
            claim = f"{lines[statement.end_lineno - 1].split('#')[0].strip()}  # {comment}"
            match = SHOWN.match(comment)
            if match and isinstance(statement, ast.Expr):
                shown = eval(match.group(1), dict(VALUES))
                assert _equal(value, shown), f"{claim}: the value is {value!r}"
                checked.append(claim)
                continue
            try:  # a comment that is a statement about the names: it must hold
                holds = eval(comment, {**VALUES, **namespace})
            except Exception:  # noqa: BLE001 - prose, not an expression
                continue
            if isinstance(holds, (bool, np.bool_)):
                assert holds, f"{claim}: does not hold"
                checked.append(claim)
    return checked


def test_the_python_api_section_has_its_examples():
    assert len(BLOCKS) >= 6, len(BLOCKS)


def test_the_python_api_examples_run_and_show_true_values():
    checked = _run(BLOCKS)
    # the claims of the engine, checkpoint, compile_grad and pytree examples; one more
    # per C example line where a compiler works
    assert len(checked) >= 9, checked


def test_a_false_value_in_a_comment_is_caught():
    wrong = ("import numpy as np\nfrom adbench.ad import grad\n"
             "f = lambda x, xp: x[0] * x[1]\n"
             "grad(f)(np.array([2.0, 5.0]))   # array([5.0, 2.5])\n")
    with pytest.raises(AssertionError, match=r"array\(\[5\.0, 2\.5\]\)"):
        _run([wrong])
    right = wrong.replace("2.5", "2.0")
    assert _run([right]) == ["grad(f)(np.array([2.0, 5.0]))  # array([5.0, 2.0])"]
