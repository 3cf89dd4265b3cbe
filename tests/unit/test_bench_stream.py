"""tools.bench.stream's parts that need no stack: an earlier version's jobs and the table."""

from __future__ import annotations

from tools.bench import stream


def run(rate, p50, p99, served=100):
    return {"rate": rate, "messages": 100, "served": served, "p50_s": p50, "p99_s": p99}


def test_the_table_has_a_row_per_rate_and_a_column_per_variant():
    figures = {
        "rates": [200, 1000],
        "variants": {
            "now": {
                "runs": [run(200, 0.3, 0.9), run(1000, 0.8, 2.5)],
                "highest_sustained_rate": 1000,
            },
            "als-subset": {"runs": [run(200, 2.4, 6.8, 90)], "highest_sustained_rate": None},
        },
    }
    lines = stream.table(figures).splitlines()
    assert lines[0] == "| rate | now: p50 / p99, served | als-subset: p50 / p99, served |"
    assert lines[2] == "| 200/s | 0.3 / 0.9 s, 100 of 100 | 2.4 / 6.8 s, 90 of 100 |"
    assert lines[3] == "| 1000/s | 0.8 / 2.5 s, 100 of 100 |  |"
    assert lines[4] == "| highest sustained | 1000 | None |"
