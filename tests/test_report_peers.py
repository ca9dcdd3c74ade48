"""The report's section "adbench against the peers"."""

from __future__ import annotations

import numpy as np
import pandas as pd

from adbench.report.document import render_report
from adbench.report.peers import has_peers, peer_table, time_ratio_vs_size


def _rows():
    rows = []
    for method, status in (("ad-reverse", "ok"), ("jax-rev", "ok"), ("casadi", "unsupported"),
                           ("numdifftools", "inaccurate")):
        for n in (2, 10):
            scored = status in ("ok", "inaccurate")
            rows.append(dict(problem="rosenbrock", sizes=f"n={n}", n=n, m=1, method=method,
                             status=status, max_rel_error=2e-16 * n if scored else np.nan,
                             time_ratio=(3.0 if method == "ad-reverse" else 5.0) * n
                             if scored else np.nan, message=""))
    return pd.DataFrame(rows)


def test_the_peer_table_puts_error_and_time_ratio_of_every_method_side_by_side():
    table = peer_table(_rows(), "rosenbrock")
    assert list(table.columns) == ["method", "n=2", "n=10"]
    assert list(table["method"]) == ["ad-reverse", "jax-rev", "casadi", "numdifftools"]
    cells = table.set_index("method")
    assert cells.loc["ad-reverse", "n=10"] == "2e-15 / 30"
    assert cells.loc["jax-rev", "n=2"] == "4e-16 / 10"
    assert cells.loc["casadi", "n=2"] == "unsupported"
    assert cells.loc["numdifftools", "n=10"] == "2e-15 / 50 (inaccurate)"


def test_the_section_appears_only_with_peer_rows(tmp_path):
    df = _rows()
    assert has_peers(df) and not has_peers(df[df["method"] == "ad-reverse"])
    text = render_report(df, out=tmp_path)
    assert "## adbench against the peers" in text and "### rosenbrock (all tools)" in text
    assert (tmp_path / "plots" / "rosenbrock-tools-time.png").is_file()
    alone = render_report(df[df["method"] == "ad-reverse"])
    assert "against the peers" not in alone


def test_the_time_plot_draws_a_line_per_scored_tool():
    fig = time_ratio_vs_size(_rows(), "rosenbrock")
    ax = fig.axes[0]
    drawn = {line.get_label() for line in ax.get_lines()}
    # numdifftools' points are jax-rev's: drawn as a band under it, and labelled so
    assert drawn == {"ad-reverse", "jax-rev", "numdifftools (same as jax-rev)"}
    assert time_ratio_vs_size(_rows()[lambda d: d["sizes"] == "n=2"], "rosenbrock") is None
