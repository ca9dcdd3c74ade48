"""``adbench report`` (one CSV: the report; two: the regression view) and the
progress display of ``adbench run``."""

import io

import pytest
from synthetic_results import synthetic_results
from test_cli import invoke

from adbench.cli.run import _Progress
from adbench.measure.harness import BASE_COLUMNS


@pytest.fixture
def run_folder(tmp_path):
    """A run folder with the foundation's columns: logistic-map at three depths."""
    df = synthetic_results()
    df = df[(df["problem"] == "logistic-map") & df["sizes"].isin(["depth=1", "depth=2",
                                                                  "depth=3"])]
    folder = tmp_path / "run"
    folder.mkdir()
    df[BASE_COLUMNS].to_csv(folder / "results.csv", index=False)
    return folder


def _one_line(result):
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


def test_report_regenerates_report_and_plots_from_a_csv(run_folder, tmp_path):
    out = tmp_path / "out"
    result = invoke(["report", str(run_folder / "results.csv"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"wrote {out / 'report.md'} and 2 plots in {out / 'plots'}" in result.output
    text = (out / "report.md").read_text()
    assert "## logistic-map" in text and "](plots/logistic-map-error.png)" in text
    assert (out / "plots" / "errors-by-method.png").stat().st_size > 10_000
    assert not (run_folder / "report.md").exists()  # --out, not beside the CSV


def test_report_accepts_a_run_folder_and_writes_beside_the_csv(run_folder):
    result = invoke(["report", str(run_folder), "--no-plots", "--title", "Nightly"])
    assert result.exit_code == 0, result.output
    assert (run_folder / "report.md").read_text().startswith("# Nightly\n")
    assert not (run_folder / "plots").exists()


@pytest.mark.parametrize("content,needle", [
    (b"\xff\xfe\x00\x01garbage", "not a results.csv (it contains NUL bytes"),
    (b"a,b\n1,2\n", "not an adbench results file (missing columns"),
    (b"", "empty (no header line)"),
])
def test_corrupt_csv_is_one_line_and_exit_code_2(tmp_path, content, needle):
    (tmp_path / "results.csv").write_bytes(content)
    result = invoke(["report", str(tmp_path / "results.csv")])
    assert result.exit_code == 2
    line = _one_line(result)
    assert line.startswith("adbench: error: ") and needle in line


@pytest.mark.parametrize("args,needle", [
    (["report", "nowhere.csv"], "nowhere.csv: no such file"),
    (["report", "a.csv", "b.csv", "c.csv"], "not 3"),
])
def test_bad_report_arguments(args, needle):
    result = invoke(args)
    assert result.exit_code == 2
    assert needle in _one_line(result)


def test_folder_without_results_csv(tmp_path):
    result = invoke(["report", str(tmp_path)])
    assert result.exit_code == 2 and "a folder without results.csv" in _one_line(result)


def test_two_csvs_show_the_differences_and_check_fails_on_a_regression(run_folder, tmp_path):
    old = run_folder / "results.csv"
    df = synthetic_results()
    df = df[(df["problem"] == "logistic-map") & df["sizes"].isin(["depth=1", "depth=2",
                                                                  "depth=3"])][BASE_COLUMNS]
    df.loc[df["method"] == "fd-central", "max_rel_error"] *= 100
    new = tmp_path / "new.csv"
    df.to_csv(new, index=False)

    result = invoke(["report", str(old), str(new), "--out", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    assert "3 values worse" in result.output and "## Worse" in result.output
    assert "| logistic-map | depth=2 | fd-central | max_rel_error |" in result.output
    assert (tmp_path / "d" / "diff.md").read_text().startswith("# Changes from")

    checked = invoke(["report", str(old), str(new), "--check"])
    assert checked.exit_code == 1
    assert "adbench: regression: 24 rows compared, 3 values worse" in checked.output

    same = invoke(["report", str(old), str(old), "--check"])
    assert same.exit_code == 0 and "no differences (24 rows compared)" in same.output


# --------------------------------------------------------------------------
# Progress display
# --------------------------------------------------------------------------

class _Terminal(io.StringIO):
    def isatty(self):
        return True


def _drive(progress):
    for done in range(3):
        progress(done, 3, f"rosenbrock[n={done}] ad-reverse")
    progress(3, 3, "done")


def test_progress_prints_nothing_when_stderr_is_not_a_terminal():
    stream = io.StringIO()
    _drive(_Progress(quiet=False, stream=stream))
    assert stream.getvalue() == ""


def test_progress_is_silenced_by_quiet():
    stream = _Terminal()
    _drive(_Progress(quiet=True, stream=stream))
    assert stream.getvalue() == ""


def test_progress_on_a_terminal_shows_bar_label_and_time_left():
    stream = _Terminal()
    ticks = iter([0.0, 0.0, 10.0, 20.0, 30.0])
    _drive(_Progress(stream=stream, clock=lambda: next(ticks)))
    frames = stream.getvalue().split("\r")[1:]
    assert len(frames) == 4 and stream.getvalue().endswith("\n")
    assert "0/3" in frames[0] and "rosenbrock[n=0] ad-reverse" in frames[0]
    assert "left" not in frames[0]              # nothing measured yet: no estimate
    assert "1/3  about 20 s left  rosenbrock[n=1]" in frames[1]   # 10 s each, 2 to go
    assert "[########################] 3/3" in frames[3] and "done" in frames[3]


def test_run_without_a_terminal_writes_no_progress(tmp_path):
    result = invoke(["run", "--problem", "survey-example", "--method", "ad-reverse",
                     "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert "\r" not in result.output and "[#" not in result.output


def test_time_left_is_written_for_people():
    from adbench.cli.run import _duration

    assert [_duration(s) for s in (0.2, 42, 185, 3720)] == [
        "under 1 s", "42 s", "3 min 05 s", "1 h 02 min"]
