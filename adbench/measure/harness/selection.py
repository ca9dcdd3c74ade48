"""Which instances a run measures: ``--sizes`` parsing and the selection of
problems (named, or a suite) with their sizes."""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import numpy as np

from adbench.problem import Instance, Problem, ProblemDefinitionError
from adbench.registry import Registry

DEFAULT_TIMEOUT = 60.0
DEFAULT_SUITE = "quick"


class SizesError(ValueError):
    """A malformed ``--sizes`` option."""



def _number(text: str):
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        return float(text)


def parse_sizes(specs: Iterable[str]) -> dict[str, list]:
    """``["n=1,2,4", "m=8"]`` -> ``{"n": [1, 2, 4], "m": [8]}`` (a value given twice
    kept once, in the order first given); SizesError if malformed."""
    out: dict[str, list] = {}
    for spec in specs:
        name, eq, values = spec.partition("=")
        name = name.strip()
        if not eq or not name.isidentifier() or not values.strip():
            raise SizesError(f"malformed --sizes {spec!r}: expected NAME=V1,V2,... "
                             "such as n=1,2,4")
        try:
            parsed = [_number(v) for v in values.split(",")]
        except ValueError:
            raise SizesError(f"malformed --sizes {spec!r}: values must be numbers") from None
        known = out.setdefault(name, [])
        known.extend(v for v in dict.fromkeys(parsed) if v not in known)  # each value once
    return out


def as_problem_list(problems) -> list:
    """``problems`` as a list: one name, :class:`Problem` or :class:`Instance`, or a
    sequence of them (a Problem defined in the caller's own script needs no registry)."""
    if isinstance(problems, (str, Problem, Instance)):
        return [problems]
    items = list(problems or ())
    for item in items:
        if not isinstance(item, (str, Problem, Instance)):
            raise TypeError(f"problems: expected names, Problems or Instances, not "
                            f"{type(item).__name__} ({item!r})")
    return items


def problem_names(problems) -> list[str]:
    """The names of a selection of problems, as run.json records them."""
    return [p if isinstance(p, str) else p.name for p in as_problem_list(problems)]


def select(registry: Registry, suite: str | None = None, problems: Sequence = (),
           sizes: Mapping[str, Sequence] | None = None) -> list[Instance]:
    """The instances to run: the given problems (names looked up in ``registry``,
    :class:`Problem` objects, or :class:`Instance` objects taken as they are), with
    ``sizes`` overriding their defaults, or else a suite (default ``quick``)."""
    sizes = dict(sizes or {})
    problems = as_problem_list(problems)
    given = [p for p in problems if isinstance(p, Instance)]
    if given and sizes:
        raise ProblemDefinitionError("sizes cannot be combined with an Instance (it has its sizes)")
    if given and len(given) == len(problems):
        return _each_once(given)
    if given:
        raise ProblemDefinitionError("problems: give either Instances or names and Problems, "
                                     "not both")
    if problems:
        chosen = [registry.get(p) if isinstance(p, str) else p for p in problems]
        unused = set(sizes) - {k for p in chosen for k in p.sizes}
        if unused:
            raise ProblemDefinitionError(
                f"--sizes {', '.join(sorted(unused))}: no selected problem has this size "
                "parameter (" + "; ".join(f"{p.name}: {', '.join(p.sizes) or 'none'}"
                                          for p in chosen) + ")")
        pairs = [(p, {k: v for k, v in sizes.items() if k in p.sizes}) for p in chosen]
    else:
        pairs = registry.expand(registry.suite(suite or DEFAULT_SUITE))
        if sizes:
            unused = set(sizes) - {k for p, _ in pairs for k in p.sizes}
            if unused:
                raise ProblemDefinitionError(
                    f"--sizes {', '.join(sorted(unused))}: no problem of the suite has this "
                    "size parameter")
            pairs = [(p, {**s, **{k: v for k, v in sizes.items() if k in p.sizes}})
                     for p, s in pairs]
    return _each_once(registry.instances(pairs))


def _each_once(instances: Sequence[Instance]) -> list[Instance]:
    """``instances`` without repeats (a problem or a size value given twice is
    measured once: a row is keyed by problem, sizes and method); a
    ProblemDefinitionError if two different problems have the same name, or two
    instances of the same sizes different points x0."""
    first: dict[tuple, Instance] = {}
    for inst in instances:
        seen = first.setdefault((inst.name, inst.size_label), inst)
        if seen.problem is not inst.problem:
            raise ProblemDefinitionError(f"two different problems are named {inst.name!r}: "
                                         "rename one (a row is keyed by the problem's name)")
        if not np.array_equal(seen.x0, inst.x0):
            raise ProblemDefinitionError(f"two instances {inst.label} with different x0 (a row "
                                         "is keyed by the problem's name and sizes)")
    return list(first.values())

