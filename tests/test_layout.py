"""The package layout: the stages as folders, and every path the README names imports."""

from __future__ import annotations

import ast
import importlib
import re
import textwrap
from pathlib import Path

import pytest

import adbench

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "adbench"
README = (ROOT / "README.md").read_text()

#: The stages, bottom-up, as the README's layout section lists them.
STAGES = ["interpret", "ad", "methods", "measure", "report", "studies", "cli"]


def _readme_paths() -> list[str]:
    """Every dotted ``adbench....`` path the README mentions, and every name its code imports."""
    paths = set(re.findall(r"\badbench(?:\.[A-Za-z_][A-Za-z0-9_]*)+", README))
    for block in re.findall(r"```python\n(.*?)```", README, flags=re.S):
        for node in ast.walk(ast.parse(textwrap.dedent(block))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("adbench"):
                paths.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                paths.update(a.name for a in node.names if a.name.startswith("adbench"))
    return sorted(paths)


def _resolve(path: str):
    """Import the longest module prefix of ``path``, then walk the attributes after it."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            obj = getattr(obj, name)
        return obj
    raise ModuleNotFoundError(path)


def test_the_readme_names_paths():
    assert len(_readme_paths()) > 20


@pytest.mark.parametrize("path", _readme_paths())
def test_every_path_the_readme_names_imports(path):
    assert _resolve(path) is not None


@pytest.mark.parametrize("old,new", sorted(adbench.MOVED.items()))
def test_an_old_module_path_is_the_module_at_its_new_path(old, new):
    assert importlib.import_module(old) is importlib.import_module(new)


def test_the_top_level_keeps_only_the_public_faces():
    modules = sorted(p.name for p in PACKAGE.glob("*.py")
                     if p.name not in ("__init__.py", "__main__.py"))
    assert len(modules) <= 6, modules


def test_the_stages_are_folders_in_the_readme_tree():
    for stage in STAGES:
        assert (PACKAGE / stage / "__init__.py").is_file(), stage
        assert re.search(rf"^\s*{stage}/\s", README, flags=re.M), f"{stage}/ not in the README tree"


def test_no_source_file_is_over_about_500_lines():
    long = {str(p.relative_to(ROOT)): n for p in sorted(PACKAGE.rglob("*.py"))
            if (n := len(p.read_text().splitlines())) > 520}
    assert not long, long
