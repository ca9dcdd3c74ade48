"""Bad input to the command line is one line naming what is wrong, with exit code
2, before any work is done; options that do not apply together are refused, not
silently ignored; a name or size given twice is measured once."""

from __future__ import annotations

import dataclasses

import click
import pytest
from test_cli import invoke

from adbench.cli import cli
from adbench.measure.harness import parse_sizes, read_results, select
from adbench.problem import ProblemDefinitionError, problem
from adbench.registry import load_registry


def _one_line_error(result, needle: str) -> None:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("adbench: error: "), result.output
    assert needle in lines[0], lines[0]


@pytest.mark.parametrize("args", [
    ["run", "--problem", "rosenbrock", "--time-budget", "nan"],
    ["report", "a.csv", "b.csv", "--time-threshold", "nan"],
    ["swell", "rosenbrock", "--simplify-budget", "nan"],
    ["bench", "engine", "--min-sample", "nan"],
])
def test_a_number_option_refuses_nan(args):
    # nan compares false with every bound, so a plain range check lets it through
    _one_line_error(invoke(args), "'nan' is not a number")


def test_fuzz_timeout_is_a_time_limit_like_the_other_commands():
    _one_line_error(invoke(["fuzz", "--examples", "1", "--timeout", "nan"]),
                    "nan is not a limit (inf means none)")
    result = invoke(["fuzz", "--examples", "1", "--timeout", "inf", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "checked 1 programs" in result.output


def test_the_benchmark_sample_length_must_be_finite():
    _one_line_error(invoke(["bench", "engine", "--min-sample", "inf"]),
                    "inf is not in the range 0<x<inf")


@pytest.mark.parametrize("args", [["list", "--wide", "--format", "md"],
                                  ["bench", "engine", "--wide", "--format", "md"]])
def test_wide_is_refused_with_markdown(args):
    _one_line_error(invoke(args), "--wide is for --format text")


def test_a_suite_and_problems_are_refused_together():
    _one_line_error(invoke(["run", "quick", "--problem", "rosenbrock"]),
                    "give a SUITE or --problem, not both")


@pytest.mark.parametrize("count,args,needle", [
    (1, ["--time-threshold", "2"], "--time-threshold compares two runs"),
    (2, ["--title", "T"], "--title is for the report of one run"),
    (2, ["--no-plots"], "--no-plots is for the report of one run"),
])
def test_a_report_option_of_the_other_mode_is_refused(tmp_path, count, args, needle):
    paths = [tmp_path / f"{i}.csv" for i in range(count)]
    for path in paths:
        path.write_text("")  # refused before the files are read
    _one_line_error(invoke(["report", *map(str, paths), *args]), needle)


@pytest.mark.parametrize("args", [
    ["report", "{csv}", "--out", "{out}"],
    ["fd-sweep", "logistic-map", "--out", "{out}"],
    ["swell", "rosenbrock", "--sizes", "n=2", "--out", "{out}"],
    ["reproduce", "survey", "--claim", "exactness", "--out", "{out}"],
])
def test_an_output_folder_that_cannot_be_made_is_named_before_the_work(tmp_path, args):
    (tmp_path / "plain").write_text("")
    csv = tmp_path / "results.csv"
    csv.write_text("")
    out = tmp_path / "plain" / "out"
    result = invoke([a.format(csv=csv, out=out) for a in args])
    _one_line_error(result, f"--out {out}: {tmp_path / 'plain'} is not a folder")


@pytest.mark.parametrize("command", [["trace", "survey-example"],
                                     ["fd-sweep", "logistic-map", "--sizes", "depth=2"]])
def test_a_point_must_be_finite_numbers_one_per_input(command):
    _one_line_error(invoke([*command, "--at", "nan" + ",1" * (command[0] == "trace")]),
                    "the values must be finite")
    _one_line_error(invoke([*command, "--at", "1,2,3"]), "got 3 values")
    _one_line_error(invoke([*command, "--at", "a"]), "comma-separated numbers")


@pytest.mark.parametrize("address", ["nonsense", "tcp://host", "tcp://host:port"])
def test_a_cluster_address_without_host_and_port_is_refused_at_once(address):
    pytest.importorskip("distributed")
    _one_line_error(invoke(["run", "--problem", "rosenbrock", "--cluster", address]),
                    f"--cluster {address}: not a scheduler address")


def test_a_name_or_size_given_twice_is_measured_once(tmp_path):
    out = tmp_path / "out"
    result = invoke(["run", "--problem", "rosenbrock", "--problem", "rosenbrock",
                     "--method", "ad-forward", "--method", "ad-forward", "--sizes", "n=2,2",
                     "--time-budget", "0", "--quiet", "--out", str(out)])
    assert result.exit_code == 0, result.output
    df = read_results(out / "results.csv")
    assert list(zip(df.problem, df.sizes, df.method)) == [("rosenbrock", "n=2", "ad-forward")]


def test_a_size_value_given_twice_is_kept_once_in_every_command():
    assert parse_sizes(["n=2,2,3", "n=3,4", "m=1"]) == {"n": [2, 3, 4], "m": [1]}


def test_two_problems_or_points_of_one_name_are_refused():
    def twin(scale):
        @problem(name="twin", x0=[1.0])
        def f(x, xp):
            return scale * x
        return f

    one, other = twin(1.0), twin(2.0)
    assert len(select(load_registry(), problems=[one, one])) == 1
    with pytest.raises(ProblemDefinitionError, match="two different problems are named 'twin'"):
        select(load_registry(), problems=[one, other])
    inst = one.instance()
    moved = dataclasses.replace(inst, x0=inst.x0 + 1.0)
    assert select(load_registry(), problems=[inst, dataclasses.replace(inst)]) == [inst]
    with pytest.raises(ProblemDefinitionError, match="two instances twin with different x0"):
        select(load_registry(), problems=[inst, moved])


def _options(command, path=()):
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _options(sub, (*path, name))
    for param in command.params:
        if isinstance(param, click.Option):
            yield " ".join(path), param


@pytest.mark.parametrize("where,option", list(_options(cli)),
                         ids=lambda v: v if isinstance(v, str) else v.opts[0])
def test_every_option_says_what_it_does(where, option):
    assert option.help, f"adbench {where} {option.opts[0]} has no help text"


def test_an_unknown_problem_of_a_suite_names_the_suite_and_its_file(tmp_path):
    (tmp_path / "suites.toml").write_text('[mine]\ndescription = "x"\n'
                                          '[mine.problems]\nnosuch = {}\n')
    result = invoke(["run", "mine", "--problems-dir", str(tmp_path)])
    _one_line_error(result, f"suite 'mine' ({tmp_path / 'suites.toml'}): unknown problem "
                            "'nosuch'")


def test_a_size_too_large_to_build_says_so():
    # x0 of 1e15 float64 values (8 PB) cannot be allocated: a MemoryError, here with
    # an empty message
    _one_line_error(invoke(["run", "--problem", "rosenbrock", "--sizes", "n=1000000000000000",
                            "--method", "ad-forward"]),
                    "problem 'rosenbrock' at n=1000000000000000: MemoryError: out of memory")
