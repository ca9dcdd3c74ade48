"""Problems: a function written once, and the sizes it comes in.

A problem is ordinary Python over a numpy-like namespace ``xp``::

    @problem(name="survey-example", n=2, m=1, x0=[2.0, 5.0], tags=["paper"],
             description="ln x1 + x1 x2 - sin x2")
    def survey_example(x, xp):
        return xp.log(x[0]) + x[0] * x[1] - xp.sin(x[1])

    @survey_example.manual
    def _(x, xp):
        return [[1 / x[0] + x[1], x[0] - xp.cos(x[1])]]

A *family* has size parameters, listed with their default values in
``sizes``; then ``n``, ``m`` and ``x0`` may be functions of the size
parameters, and ``data`` a function of them returning fixed arrays (drawn from
a fixed seed) that are passed to ``f`` as keyword arguments::

    @problem(name="fan-in", sizes={"n": [1, 4, 16]}, n=lambda n: n, m=1,
             x0=lambda n: np.linspace(0.5, 1.5, n),
             data=lambda n: {"w": np.random.default_rng(0).random(n)})
    def fan_in(x, xp, w):
        return xp.sum(w * xp.sin(x))

``f`` receives, by keyword, those size parameters and data entries that its
signature names (or all of them if it takes ``**kwargs``).
"""

from __future__ import annotations

import hashlib
import inspect
import itertools
import types
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

__all__ = ["problem", "Problem", "Instance", "ProblemDefinitionError", "definition_text"]


def _is_count(value) -> bool:
    """Whether ``value`` is a size parameter's value: a positive integer (3 or 3.0, not True)."""
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, (int, np.integer)):
        return value >= 1
    return isinstance(value, (float, np.floating)) and float(value).is_integer() and value >= 1


class ProblemDefinitionError(ValueError):
    """A problem is declared inconsistently (bad sizes, x0 of the wrong length...)."""


def _where(fn: Callable) -> str:
    """``file:line`` of a function's definition, for error messages."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return repr(fn)
    return f"{code.co_filename}:{code.co_firstlineno}"


def check_takes_xp(fn: Callable, what: str) -> None:
    """ProblemDefinitionError unless ``fn`` can be called as ``fn(x, xp)``.

    Every interpretation passes its namespace as the second positional argument,
    so a function without one would fail only when first run, once per method.
    """
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin without a signature: nothing to check
        return
    try:
        sig.bind_partial(None, None)
        return
    except TypeError:
        pass
    named = sig.parameters.get("xp")
    hint = ("xp is keyword-only: make it the second positional parameter"
            if named is not None and named.kind is inspect.Parameter.KEYWORD_ONLY
            else "the namespace is passed as the second positional argument")
    raise ProblemDefinitionError(
        f"{_where(fn)}: {what} {getattr(fn, '__name__', fn)}{sig} does not take xp: "
        f"write it as def {getattr(fn, '__name__', 'f')}(x, xp, ...) ({hint})")


def _resolve(value, sizes: Mapping[str, Any]):
    return value(**sizes) if callable(value) else value


def _keywords_for(fn: Callable, available: Mapping[str, Any]) -> dict:
    params = inspect.signature(fn).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return dict(available)
    return {k: v for k, v in available.items() if k in params}


def _size_label(sizes: Mapping[str, Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in sizes.items())


@dataclass(eq=False)
class Instance:
    """A problem at concrete sizes: what a differentiator works on."""

    problem: "Problem"
    sizes: dict
    n: int
    m: int
    x0: np.ndarray
    params: dict = field(repr=False)

    @property
    def name(self) -> str:
        return self.problem.name

    @property
    def label(self) -> str:
        """``name`` or ``name[k=v,...]``: unique within a run."""
        return f"{self.name}[{self.size_label}]" if self.sizes else self.name

    @property
    def size_label(self) -> str:
        return _size_label(self.sizes)

    @property
    def has_manual(self) -> bool:
        return self.problem.manual_fn is not None

    def f(self, x, xp):
        """The problem's function at this size, ``x`` of length n."""
        return self.problem.fn(x, xp, **self._f_kwargs)

    def manual(self, x, xp):
        """The hand-written m x n Jacobian (a nested sequence or array)."""
        if self.problem.manual_fn is None:
            raise LookupError(f"problem {self.name!r} has no hand-written Jacobian")
        return self.problem.manual_fn(x, xp, **self._manual_kwargs)

    def __post_init__(self):
        self._f_kwargs = _keywords_for(self.problem.fn, self.params)
        self._manual_kwargs = (_keywords_for(self.problem.manual_fn, self.params)
                               if self.problem.manual_fn is not None else {})


class Problem:
    """A registered problem: see the module docstring for how to write one."""

    def __init__(self, fn: Callable, *, name: str, n, m, x0, sizes: Mapping | None = None,
                 tags: Sequence[str] = (), description: str = "", data=None,
                 source: str = ""):
        if not name or not isinstance(name, str):
            raise ProblemDefinitionError(f"{fn.__name__}: a problem needs a name")
        check_takes_xp(fn, f"problem {name!r}: its function")
        self.fn = fn
        self.name = name
        self.n_spec, self.m_spec, self.x0_spec = n, m, x0
        self.sizes = {k: list(v) for k, v in (sizes or {}).items()}
        for k, v in self.sizes.items():
            if not v:
                raise ProblemDefinitionError(f"problem {name!r}: size {k!r} has no default values")
        self.tags = list(tags)
        self.description = description
        self.data = data
        self.source = source or inspect.getsourcefile(fn) or ""
        self.manual_fn: Callable | None = None
        self.doc = inspect.getdoc(fn) or ""
        self._cache: dict = {}
        self._version: str | None = None

    def __repr__(self) -> str:
        return f"<problem {self.name}>"

    def __call__(self, x, xp, **kwargs):
        return self.fn(x, xp, **kwargs)

    def manual(self, fn: Callable) -> Callable:
        """Decorator: register the hand-written m x n Jacobian ``fn(x, xp, ...)``."""
        check_takes_xp(fn, f"problem {self.name!r}: its hand-written Jacobian")
        self.manual_fn = fn
        self._cache.clear()
        self._version = None
        return fn

    @property
    def version(self) -> str:
        """A short hash of the definition, stored beside every result row.

        It covers the source of f, of the hand-written Jacobian and of x0 and
        data (or their values), and what these reach in their module: the
        functions and classes they call through global names (transitively),
        the module-level numbers, strings and arrays they read, and the values
        they close over (see :func:`definition_text`). A change anywhere there
        changes the version; ``adbench run --resume`` measures the rows of such
        a problem again. Not covered: code imported from other modules and
        files read at run time. Computed once per problem object, from the
        source as it was when first asked.
        """
        if self._version is None:
            text = definition_text([self.fn, self.manual_fn, self.data, self.x0_spec])
            self._version = hashlib.sha256(text.encode()).hexdigest()[:12]
        return self._version

    def default_sizes(self) -> list[dict]:
        """Every combination of the default size values (one empty dict if none)."""
        keys = list(self.sizes)
        return [dict(zip(keys, combo, strict=True))
                for combo in itertools.product(*(self.sizes[k] for k in keys))]

    def instance(self, **sizes) -> Instance:
        """The problem at the given size parameters (defaults: the first value of each)."""
        unknown = set(sizes) - set(self.sizes)
        if unknown:
            known = ", ".join(self.sizes) or "none"
            raise ProblemDefinitionError(
                f"problem {self.name!r} has no size parameter {', '.join(sorted(unknown))} "
                f"(its size parameters: {known})")
        for key, value in sizes.items():
            if not _is_count(value):
                raise ProblemDefinitionError(
                    f"problem {self.name!r}: size parameter {key}={value!r} is not allowed: "
                    "sizes are counts, positive integers (such as 1, 4, 16)")
        full = {k: int(sizes[k]) if k in sizes else v[0] for k, v in self.sizes.items()}
        key = tuple(full.items())
        if key not in self._cache:
            self._cache[key] = self._build(full)
        return self._cache[key]

    def instances(self, sizes: Mapping[str, Sequence] | None = None) -> list[Instance]:
        """Instances over the Cartesian product of sizes (defaults where not given)."""
        grid = {k: list((sizes or {}).get(k, v)) for k, v in self.sizes.items()}
        unknown = set(sizes or {}) - set(self.sizes)
        if unknown:
            return [self.instance(**{k: v[0] for k, v in (sizes or {}).items()})]  # raises
        keys = list(grid)
        return [self.instance(**dict(zip(keys, c, strict=True)))
                for c in itertools.product(*(grid[k] for k in keys))]

    def _build(self, sizes: dict) -> Instance:
        where = f"problem {self.name!r}" + (f" at {_size_label(sizes)}" if sizes else "")
        try:
            n = int(_resolve(self.n_spec, sizes))
            m = int(_resolve(self.m_spec, sizes))
            x0 = np.asarray(_resolve(self.x0_spec, sizes), dtype=float).reshape(-1)
            data = dict(_resolve(self.data, sizes) or {}) if self.data is not None else {}
        except ProblemDefinitionError:
            raise
        except Exception as exc:
            detail = str(exc) or ("out of memory" if isinstance(exc, MemoryError) else repr(exc))
            raise ProblemDefinitionError(f"{where}: {type(exc).__name__}: {detail}") from exc
        if n < 1 or m < 1:
            raise ProblemDefinitionError(f"{where}: n and m must be positive, got n={n}, m={m}")
        if x0.shape != (n,):
            raise ProblemDefinitionError(f"{where}: x0 has {x0.size} entries, n is {n}")
        clash = set(data) & set(sizes)
        if clash:
            raise ProblemDefinitionError(f"{where}: data and sizes share names {sorted(clash)}")
        return Instance(self, dict(sizes), n, m, x0, {**sizes, **data})


# --------------------------------------------------------------------------
# The text a definition's version is a hash of
# --------------------------------------------------------------------------

#: Module-level values a definition may read, by text (anything else, such as
#: an object whose repr holds its address, would not be stable across runs).
_VALUE_TYPES = (bool, int, float, complex, str, bytes, type(None), tuple, list, dict, set,
                frozenset, np.ndarray, np.generic)


def _value_text(value) -> str:
    """A text of a value that is the same in every process: arrays by their
    bytes (repr elides long ones), sets sorted (their order depends on the
    process's string hashing)."""
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return f"array(object, {value.shape}, {_value_text(value.tolist())})"
        digest = hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()
        return f"array({value.dtype.str}, {value.shape}, {digest})"
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__}({', '.join(map(_value_text, value))})"
    if isinstance(value, (set, frozenset)):
        return f"{type(value).__name__}({', '.join(sorted(map(_value_text, value)))})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_value_text(k)}: {_value_text(v)}"
                               for k, v in value.items()) + "}"
    return repr(value)


def _code_names(code: types.CodeType) -> list[str]:
    """The global (and attribute) names a code object and the code nested in
    it (lambdas, inner functions, comprehensions) refer to, sorted."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names.update(_code_names(const))
    return sorted(names)


def _source(fn) -> str:
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):  # defined where no source is kept (exec, the REPL)
        code = getattr(fn, "__code__", None)
        body = hashlib.sha256(code.co_code).hexdigest() if code is not None else ""
        return f"{getattr(fn, '__qualname__', type(fn).__name__)} {body}"


def definition_text(roots) -> str:
    """What a problem's version is a hash of.

    ``roots`` are callables (f, its Jacobian, the x0 and data functions) or
    plain values (an x0 written as a list). For a callable: its source, then,
    for each global name its code refers to (in its module's namespace), the
    source of a function or class of the same module (followed in turn), the
    definition of another problem, or the value of a number, string, array or
    container of them; and the same for the values it closes over. Modules
    (numpy, math) and objects of other kinds are left out.
    """
    parts: list[str] = []
    seen: set[int] = set()
    todo = list(roots)
    while todo:
        obj = todo.pop(0)
        if isinstance(obj, Problem):
            obj = obj.fn
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if not callable(obj):
            parts.append(_value_text(obj))
            continue
        parts.append(_source(obj))
        if not isinstance(obj, types.FunctionType):
            continue
        reached = [(name, obj.__globals__[name]) for name in _code_names(obj.__code__)
                   if name in obj.__globals__]
        cells = zip(obj.__code__.co_freevars, obj.__closure__ or (), strict=True)
        for name, cell in cells:
            try:
                reached.append((name, cell.cell_contents))
            except ValueError:  # a cell not filled yet
                continue
        for name, value in reached:
            if isinstance(value, Problem) or (
                    isinstance(value, (types.FunctionType, type))
                    and value.__module__ == obj.__module__):
                todo.append(value)
            elif isinstance(value, _VALUE_TYPES):
                parts.append(f"{name} = {_value_text(value)}")
    return "\n".join(parts)


def problem(*, name: str, n=None, m=1, x0, sizes: Mapping | None = None,
            tags: Sequence[str] = (), description: str = "", data=None) -> Callable:
    """Decorator declaring a problem; see the module docstring.

    Parameters
    ----------
    name : the problem's name on the command line (``kebab-case``).
    n, m : input and output dimension, ints or functions of the size parameters.
        ``n`` defaults to ``len(x0)``.
    x0 : the default point, a sequence or a function of the size parameters.
    sizes : ``{parameter: [default values]}`` for a family.
    tags : free labels (``paper``, ``scalar``, ``control-flow``...).
    description : one line: the formula and its source.
    data : function of the size parameters returning ``{name: array}``.
    """
    def decorate(fn: Callable) -> Problem:
        n_spec = n
        if n_spec is None:
            def n_spec(**s):
                return len(np.asarray(_resolve(x0, s)).reshape(-1))
        return Problem(fn, name=name, n=n_spec, m=m, x0=x0, sizes=sizes, tags=tags,
                       description=description, data=data)
    return decorate
