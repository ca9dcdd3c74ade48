"""Discovery of problem files and suites.

The built-in problems are the ``*.py`` files of the ``problems/`` folder; a
user adds folders of files written the same way (``--problems-dir``). Every
:class:`~adbench.problem.Problem` defined at the top level of such a file is
registered. A file that fails to import is an error naming the file: never a
silent skip. Suites are read from ``suites.toml`` files in the same folders.
"""

from __future__ import annotations

import difflib
import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from adbench.problem import Instance, Problem, ProblemDefinitionError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["Registry", "Suite", "ProblemFileError", "UnknownNameError", "builtin_problems_dir",
           "load_registry", "did_you_mean", "FILE_MODULES", "from_file", "problem_from_file"]


class ProblemFileError(Exception):
    """A problem or suite file could not be loaded; the message names the file."""


class UnknownNameError(LookupError):
    """An unknown problem, method or suite name; the message lists close matches."""


def did_you_mean(kind: str, name: str, known: Iterable[str]) -> str:
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(known)}"
    return f"unknown {kind} {name!r}{hint}"


def builtin_problems_dir() -> Path:
    """The folder of built-in problems, in an installed package or a source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "problems", here.parent / "problems"):
        if (candidate / "suites.toml").is_file():
            return candidate
    raise ProblemFileError(f"the built-in problems folder was not found near {here}")


@dataclass
class Suite:
    """A named selection of problems (with sizes) and optionally methods."""

    name: str
    description: str
    problems: dict  # problem name -> {size parameter: [values]}
    methods: list | None = None
    source: str = ""


@dataclass
class Registry:
    problems: dict[str, Problem] = field(default_factory=dict)
    suites: dict[str, Suite] = field(default_factory=dict)

    def add(self, prob: Problem) -> None:
        if prob.name in self.problems:
            other = self.problems[prob.name]
            raise ProblemFileError(
                f"{prob.source}: problem {prob.name!r} is already defined in {other.source}")
        self.problems[prob.name] = prob

    def get(self, name: str) -> Problem:
        try:
            return self.problems[name]
        except KeyError:
            raise UnknownNameError(did_you_mean("problem", name, self.problems)) from None

    def suite(self, name: str) -> Suite:
        try:
            return self.suites[name]
        except KeyError:
            raise UnknownNameError(did_you_mean("suite", name, self.suites)) from None

    def load_dir(self, folder: str | Path) -> None:
        """Import every ``*.py`` file of ``folder`` (not starting with ``_``), and
        its ``suites.toml`` if present."""
        folder = Path(folder)
        if not folder.is_dir():
            raise ProblemFileError(f"{folder}: problems folder does not exist")
        for path in sorted(folder.glob("*.py")):
            if not path.name.startswith("_"):
                for prob in load_problem_file(path):
                    self.add(prob)
        suites = folder / "suites.toml"
        if suites.is_file():
            for suite in load_suites(suites):
                self.suites[suite.name] = suite

    def expand(self, suite: Suite) -> list[tuple[Problem, dict]]:
        """(problem, sizes) pairs of a suite; ``"*"`` selects every problem."""
        if suite.problems == {"*": {}}:
            return [(p, {}) for p in self.problems.values()]
        try:
            return [(self.get(name), sizes) for name, sizes in suite.problems.items()]
        except UnknownNameError as exc:
            where = f" ({suite.source})" if suite.source else ""
            raise UnknownNameError(f"suite {suite.name!r}{where}: {exc}") from None

    def instances(self, selection: Sequence[tuple[Problem, Mapping]]) -> list[Instance]:
        out = []
        for prob, sizes in selection:
            out.extend(prob.instances(sizes))
        return out


#: The package under whose name problem files are imported (not importable by name
#: in another process: see :func:`problem_from_file`).
FILE_MODULES = "adbench_problems"


def load_problem_file(path: Path) -> list[Problem]:
    """Import one problem file; return the problems defined at its top level."""
    module_name = f"{FILE_MODULES}.{path.stem.replace('-', '_')}_{abs(hash(str(path))):x}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ProblemFileError(f"{path}: not an importable Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(module_name, None)
        raise ProblemFileError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from exc
    except SystemExit as exc:  # the file ended the interpreter: refused like any failure
        sys.modules.pop(module_name, None)
        raise ProblemFileError(f"{path}: import failed: it called sys.exit({exc.code!r}) "
                               "(a problem file must only define problems)") from None
    except ProblemDefinitionError as exc:  # it names the file and line already
        sys.modules.pop(module_name, None)
        raise ProblemFileError(str(exc) if str(exc).startswith(str(path)) else f"{path}: {exc}") \
            from exc
    except Exception as exc:
        sys.modules.pop(module_name, None)
        raise ProblemFileError(f"{path}: import failed: {type(exc).__name__}: {exc}") from exc
    problems = [v for v in vars(module).values() if isinstance(v, Problem)]
    for prob in problems:
        prob.source = str(path)
    return problems


def load_suites(path: Path) -> list[Suite]:
    """Read a ``suites.toml``::

        [quick]
        description = "..."
        methods = ["ad-forward", "ad-reverse"]   # optional
        [quick.problems]
        survey-example = {}
        logistic-map = { depth = [1, 2, 3] }
    """
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ProblemFileError(f"{path}: {exc}") from exc
    suites = []
    for name, body in data.items():
        if not isinstance(body, dict) or "problems" not in body:
            raise ProblemFileError(f"{path}: suite {name!r} needs a [{name}.problems] table")
        problems = body["problems"]
        if problems == "*":
            problems = {"*": {}}
        if not isinstance(problems, dict):
            raise ProblemFileError(f"{path}: suite {name!r}: problems must be a table or \"*\"")
        clean = {}
        for pname, sizes in problems.items():
            if not isinstance(sizes, dict):
                raise ProblemFileError(f"{path}: suite {name!r}, problem {pname!r}: "
                                       "sizes must be a table such as { n = [2, 4] }")
            clean[pname] = {k: (list(v) if isinstance(v, list) else [v]) for k, v in sizes.items()}
        suites.append(Suite(name, str(body.get("description", "")), clean,
                            body.get("methods"), str(path)))
    return suites


def from_file(problem: Problem) -> bool:
    """Whether ``problem`` was defined in a problem file (:func:`load_problem_file`)."""
    return getattr(problem.fn, "__module__", "").startswith(FILE_MODULES + ".")


def problem_from_file(path: str, name: str, version: str) -> Problem:
    """The problem ``name`` of the problem file at ``path``, imported again: how
    a problem travels to a process that did not load it (a pickle names its
    file, as its module cannot be imported by name). ProblemFileError if the
    file no longer defines it, or defines it otherwise than ``version``."""
    for problem in load_problem_file(Path(path)):
        if problem.name == name:
            if problem.version != version:
                raise ProblemFileError(f"{path}: problem {name!r} changed since it was "
                                       f"loaded (version {problem.version}, was {version})")
            return problem
    raise ProblemFileError(f"{path}: no longer defines problem {name!r}")


def load_registry(extra_dirs: Sequence[str | Path] = ()) -> Registry:
    """The built-in problems and suites plus those of ``extra_dirs``."""
    reg = Registry()
    reg.load_dir(builtin_problems_dir())
    for d in extra_dirs:
        reg.load_dir(d)
    return reg


__all__ += ["ProblemDefinitionError"]
